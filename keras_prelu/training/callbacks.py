"""Callbacks of the run machinery: the paper's learning-rate steps, divergence stop,
checkpoints, progress, and the logs (history.csv, TensorBoard, PReLU slopes)."""

import csv
import io
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from keras_prelu.layers import PReLU
from keras_prelu.training.run_directory import write_text


class LearningRateStages(keras.callbacks.Callback):
    """Steps the learning rate through `learning_rates`: on a plateau, or at fixed epochs.

    Sec. 3: "The learning rate is 1e-2, 1e-3, and 1e-4, and is switched when the error
    plateaus." By default, after `patience` epochs without the monitored error improving
    by at least `min_delta`, the next rate is used. With `switch_epochs` (one epoch per
    switch, counted from 0), rate i + 1 starts at epoch `switch_epochs[i]` whatever the
    error does: a fixed budget, such as a short run's, then gets every stage. The state
    (stage, best error, epochs waited) lives in variables that the run's checkpoint saves,
    so a resumed run switches exactly when an uninterrupted one would. Adds
    `learning_rate` to the epoch logs.

    With `warmup_steps`, step k (from 0) of the first `warmup_steps` uses the rate times
    (k + 1) / warmup_steps: a linear warm-up (Goyal et al., 2017), not in the paper, that
    keeps the first steps on un-normalised input from diverging. It counts the optimizer's
    own steps, so a resumed run continues it exactly.
    """

    def __init__(self, learning_rates, patience, min_delta, switch_epochs=None,
                 monitor="val_top1_error", warmup_steps=0):
        super().__init__()
        self.learning_rates = tuple(learning_rates)
        self.warmup_steps = warmup_steps
        self._step = 0
        self.patience, self.min_delta, self.monitor = patience, min_delta, monitor
        self.switch_epochs = switch_epochs
        self.stage = tf.Variable(0, trainable=False, name="schedule_stage")
        self.best = tf.Variable(np.inf, trainable=False, name="schedule_best", dtype=tf.float64)
        self.waited = tf.Variable(0, trainable=False, name="schedule_waited")

    @property
    def variables(self):
        return [self.stage, self.best, self.waited]

    def on_train_begin(self, logs=None):
        self._step = int(self.model.optimizer.iterations.numpy())
        self.model.optimizer.learning_rate = self._rate(int(self.stage.numpy()))

    def on_train_batch_begin(self, batch, logs=None):
        if self._step < self.warmup_steps:
            self.model.optimizer.learning_rate = self._rate(int(self.stage.numpy()))
        self._step += 1

    def _rate(self, stage):
        """Stage `stage`'s rate at the current step, scaled while warming up."""
        return self.learning_rates[stage] * min(1.0, (self._step + 1) / max(self.warmup_steps, 1))

    def on_epoch_begin(self, epoch, logs=None):
        if self.switch_epochs is not None:
            stage = sum(epoch >= switch for switch in self.switch_epochs)
            if stage != int(self.stage.numpy()):
                self._switch(stage, f"Epoch {epoch + 1}: scheduled switch")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        stage = int(self.stage.numpy())
        logs["learning_rate"] = float(self.learning_rates[stage])
        error = logs.get(self.monitor)
        if self.switch_epochs is not None or error is None:
            return
        if error < self.best.numpy() - self.min_delta:
            self.best.assign(error)
            self.waited.assign(0)
            return
        self.waited.assign_add(1)
        if self.waited.numpy() >= self.patience and stage + 1 < len(self.learning_rates):
            self.waited.assign(0)
            self._switch(stage + 1, f"Epoch {epoch + 1}: {self.monitor} plateaued")

    def _switch(self, stage, reason):
        print(f"\n{reason}; learning rate {self.learning_rates[int(self.stage.numpy())]:g} "
              f"-> {self.learning_rates[stage]:g}")
        self.stage.assign(stage)
        self.model.optimizer.learning_rate = self._rate(stage)


class StopOnDivergence(keras.callbacks.Callback):
    """Raises `FloatingPointError` at the first step whose loss is NaN or infinite.

    Fails fast between checkpoints; `TrainingCheckpoint.save` also refuses to write weights
    that are not finite (a step can make them so before a loss shows it). The run then
    resumes from its last good checkpoint with, say, a lower learning rate.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if not np.isfinite(loss):
            step = int(self.model.optimizer.iterations.numpy())
            raise FloatingPointError(
                f"Training diverged: the loss is {loss} at step {step}. The checkpoints hold "
                "the weights from before; rerun with a lower learning rate (--learning-rates) "
                "to resume from the last of them."
            )


class Checkpointing(keras.callbacks.Callback):
    """Saves a `TrainingCheckpoint` every `every` optimizer steps and at each epoch end."""

    def __init__(self, checkpoint, every):
        super().__init__()
        self.checkpoint, self.every = checkpoint, every

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) % self.every == 0:
            self.checkpoint.save()

    def on_epoch_end(self, epoch, logs=None):
        self.checkpoint.save()


class SlopeLogger(keras.callbacks.Callback):
    """Writes each PReLU layer's mean slope to TensorBoard (`slopes/<layer>`) every epoch,
    to watch Table 1's pattern form (large slopes early, small ones deep)."""

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir
        self.writer = None

    def on_train_begin(self, logs=None):
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        with self.writer.as_default(step=epoch):
            for layer in self.model.layers:
                if isinstance(layer, PReLU):
                    tf.summary.scalar(f"slopes/{layer.name}",
                                      float(np.mean(keras.ops.convert_to_numpy(layer.alpha))))
        self.writer.flush()


class HistoryFile(keras.callbacks.Callback):
    """Writes the per-epoch logs to a CSV file, rewritten whole (atomically) every epoch.

    A resumed run keeps the rows of the epochs before `first_epoch` and replaces the
    rest, so the file never holds an epoch twice or half a row.
    """

    def __init__(self, path, first_epoch):
        super().__init__()
        self.path = path
        self.rows = []
        if path.exists():
            with open(path, newline="", encoding="utf-8") as handle:
                self.rows = [row for row in csv.DictReader(handle)
                             if int(row["epoch"]) < first_epoch]

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **(logs or {})})
        columns = list(dict.fromkeys(name for row in self.rows for name in row))
        text = io.StringIO()
        writer = csv.DictWriter(text, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.path, text.getvalue())


class EpochProgress(keras.callbacks.ProgbarLogger):
    """Keras's progress bar per epoch, headed "Epoch k/total" for the whole run, and after
    each epoch one line: its errors, the learning rate, its seconds and the time left.

    (Keras heads each bar with the epochs of one `fit` call, which a resumed run splits.)
    The time left is the median epoch of this invocation times the epochs left.
    """

    def __init__(self, total_epochs):
        super().__init__()
        self.total_epochs = total_epochs
        self.durations = []
        self.started = None

    def set_params(self, params):
        super().set_params(params)
        self.epochs = self.total_epochs

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose == 1:  # 2: only the line after each epoch
            super().on_epoch_begin(epoch, logs)
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose == 1:
            super().on_epoch_end(epoch, logs)
        self.durations.append(time.monotonic() - self.started)
        if self.verbose:
            print(epoch_summary(epoch, self.total_epochs, logs or {}, self.durations), flush=True)


def epoch_summary(epoch, total_epochs, logs, durations):
    """"Epoch 3/11: validation top-1 error 8.12%, ... 24.1 s; about 3 min 12 s left"."""
    parts = []
    for name, label in (("loss", "loss"), ("top1_error", "top-1 error"),
                        ("val_top1_error", "validation top-1 error")):
        if name in logs:
            value = float(logs[name])
            parts.append(f"{label} {value:.4f}" if name == "loss" else f"{label} {value:.2%}")
    if "learning_rate" in logs:
        parts.append(f"learning rate {float(logs['learning_rate']):g}")
    parts = [", ".join(parts)] if parts else []
    parts.append(f"{durations[-1]:.1f} s")
    if epoch + 1 < total_epochs:
        left = (total_epochs - epoch - 1) * statistics.median(durations)
        parts.append(f"about {format_duration(left)} left")
    return f"Epoch {epoch + 1}/{total_epochs}: " + "; ".join(parts)


def format_duration(seconds):
    """'45 s', '3 min 12 s', '2 h 05 min'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
