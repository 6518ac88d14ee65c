"""`LReLUSlopeHyperModel`: a zoo network with LReLU, its slope a keras-tuner hyper-parameter.

Sec. 2.1 and Table 2: a fixed LReLU slope chosen by cross-validation can match ReLU "but
needs tedious, repeated training"; PReLU learns the slope instead. The hyper-model is that
repeated training: each trial builds the training config's network with LReLU at the
trial's slope (`slope`, in [0, 1]; optionally the first learning rate, `learning_rate`),
compiled as `keras_prelu.training.train` compiles it, and trains it as a run of the run
machinery (`prepare_run`, `fit_epochs`: per-epoch data, checkpoints and exact resume,
learning-rate stages, divergence stop, logs) in a directory of its own.

Each execution of a trial is a run: `train_run` prepares it (seed, precision, its directory
checked) before its model is built, so the seed fixes the initial weights, and a finished
run trains nothing again. The tuners of `keras_prelu.tuning.tuners` call it with each
execution's directory under the tuner's trial directory.
"""

import csv
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import keras
import keras_tuner
import tensorflow as tf

from keras_prelu.data import catalog
from keras_prelu.training import TrainConfig, build_model, fit_epochs, learned_slopes, prepare_run
from keras_prelu.training.classifier import compile_model, load_data
from keras_prelu.training.inputs import load as load_inputs
from keras_prelu.training.run_directory import write_text
from keras_prelu.tuning.settings import check_learning_rate_range, check_slope_range

# The task of every run of a search (a trial's execution or a reference), in its run.json.
RUN_TASK = "slope_search_run"
# Where a run that diverged records why (its checkpoints hold the weights from before).
FAILURE_FILE = "failure.json"
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "recipes" / "configs" / "fashion_mnist.toml"
# The hyper-parameters' names.
SLOPE = "slope"
LEARNING_RATE = "learning_rate"
# The rectifiers trained beside the search on its budget: ReLU is slope 0; PReLU learns the
# slopes, channel-wise or one per layer (Sec. 2.1, Table 2).
REFERENCES = ("relu", "prelu", "prelu_shared")


def default_config():
    """The demo's training config (`recipes/configs/fashion_mnist.toml`, read as it is now):
    a small zoo network on Fashion-MNIST, the local default data.

    Raises:
        FileNotFoundError: not run from a source checkout (the recipes are not installed).
    """
    return TrainConfig.load(DEMO_CONFIG)


class LReLUSlopeHyperModel(keras_tuner.HyperModel):
    """The training config's zoo network with LReLU at a searched slope.

    Args:
        config: a `TrainConfig` (or a `TuneConfig`, of which its training part is used):
            what every trial trains and for how long; its activation and negative_slope are
            the search's. Default `default_config()`, the demo's network on Fashion-MNIST.
        slope_range: (lowest, highest) slope of the `slope` hyper-parameter, in [0, 1].
        learning_rate_range: None, or (lowest, highest) first learning rate, searched
            log-uniformly as `learning_rate`; the later stages keep their ratios to it.
        name: the hyper-model's name.

    Raises:
        ValueError: a slope range outside [0, 1], empty or inverted; a bad learning-rate
            range.

    Example:

    >>> import keras_tuner
    >>> from keras_prelu.tuning import LReLUSlopeHyperModel, RandomSearch
    >>> tuner = RandomSearch(LReLUSlopeHyperModel(), objective=keras_tuner.Objective(
    ...     "val_top1_error", "min"), max_trials=4, directory="runs/slopes")
    >>> tuner.search()
    """

    def __init__(self, config=None, *, slope_range=(0.0, 1.0), learning_rate_range=None,
                 name="lrelu_slope"):
        super().__init__(name=name)
        config = default_config() if config is None else config
        self.config = TrainConfig.from_dict(
            {field.name: getattr(config, field.name) for field in dataclasses.fields(TrainConfig)})
        self.slope_range = check_slope_range(*slope_range)
        self.learning_rate_range = check_learning_rate_range(learning_rate_range)
        self._shapes = None

    def trial_config(self, hp, directory=None, execution=0):
        """The run settings of one execution of a trial.

        Args:
            hp: the trial's `keras_tuner.HyperParameters` (registers `slope`, and
                `learning_rate` when searched). Hyperband's `tuner/epochs`, when set, is
                the run's epochs: its first epochs of the full schedule, the learning-rate
                switches after them dropped.
            directory: the run's output directory.
            execution: which execution of the trial: its seed is the config's + execution.

        Returns:
            A `TrainConfig`.
        """
        slope = hp.Float(SLOPE, *self.slope_range)
        config = self.config
        rates = config.learning_rates
        if self.learning_rate_range is not None:
            first = hp.Float(LEARNING_RATE, *self.learning_rate_range, sampling="log")
            rates = tuple(first * rate / rates[0] for rate in rates)
        epochs = hp.values.get("tuner/epochs", config.epochs)
        switches = config.switch_epochs
        if switches is not None:
            switches = tuple(epoch for epoch in switches if epoch < epochs)
            rates = rates[:len(switches) + 1]
        return config.replace(
            output_dir=None if directory is None else str(directory), start_over=False,
            activation="lrelu", negative_slope=slope, learning_rates=rates, epochs=epochs,
            switch_epochs=switches or None,
            seed=None if config.seed is None else config.seed + execution)

    def reference_config(self, activation, directory, execution=0):
        """The run settings of a reference run: the same budget, another rectifier."""
        config = self.config
        return config.replace(
            output_dir=str(directory), start_over=False, activation=activation,
            negative_slope=None, seed=None if config.seed is None else config.seed + execution)

    def check(self, run_dir, strategy=None):
        """Checks what every run of a search needs, writing nothing: the global batch
        against the replicas, the dataset, the steps per epoch and the model for its images,
        on the settings of a reference run in `run_dir` (the directory checked too).

        Raises:
            ValueError: a global batch that does not split among the replicas, more steps
                per epoch than an epoch holds, images smaller than the model accepts.
            keras_prelu.data.DatasetNotFoundError: the dataset is not there.
            RunDirectoryError: `run_dir` holds another run.
        """
        config = self.reference_config(REFERENCES[0], run_dir)
        run = prepare_run(config, RUN_TASK, default_dir=config.output_dir,
                          strategy=strategy or tf.distribute.get_strategy())
        load_data(config, run)
        self.build_config(config)

    def build(self, hp):
        """The trial's zoo model with LReLU at `hp`'s slope, compiled by the recipe."""
        return self.build_config(self.trial_config(hp))

    def build_config(self, config):
        """The zoo model of a run's settings for the dataset's images, compiled by the
        recipe (`keras_prelu.training.classifier.compile_model`).

        Raises:
            keras_prelu.data.DatasetNotFoundError: the dataset is not there.
            ValueError: images smaller than the model accepts.
        """
        if self._shapes is None:  # the images' shape and the classes; the seed is unused
            self._shapes = load_inputs(self.config, catalog.get(self.config.dataset), seed=0)
        model = build_model(config, self._shapes)
        compile_model(model, config)
        return model

    def fit(self, hp, model, *, run, callbacks=(), start_from=None):
        """Trains `model` as `run`, a prepared run of the run machinery (`train_run`).

        Args:
            hp: the trial's hyper-parameters (None for a reference run); `run.settings`
                already holds what they set.
            model: the model `build` made in `run.strategy.scope()`.
            run: the prepared `Run`.
            callbacks: keras-tuner's callbacks, passed to `fit_epochs`.
            start_from: the run directory of the trial Hyperband continues: the run starts
                from its last checkpoint (weights, momenta, schedule) and history.

        Returns:
            The last epoch's logs, {name: value} (losses and errors, validation ones too):
            what keras-tuner reads the objective from.

        Raises:
            keras_tuner.errors.FailedTrialError: the training diverged; the reason is in
                the error and in the run's failure.json.
        """
        settings = run.settings
        data, steps_per_epoch = load_data(settings, run)
        run.claim()
        run.save_array("mean.npy", data.mean)
        if start_from is not None and not (run.path / "checkpoints").exists():
            _continue(Path(start_from), run.path)
        try:
            fit_epochs(run, model, data.train, steps_per_epoch=steps_per_epoch,
                       validation_data=data.validation, callbacks=callbacks)
        except FloatingPointError as error:
            run.write_json(FAILURE_FILE, {"reason": str(error)})
            raise keras_tuner.errors.FailedTrialError(f"{run.path}: {error}") from error
        logs = last_logs(run.path)
        run.finish({"logs": logs, "steps": int(model.optimizer.iterations.numpy()),
                    "replicas": run.strategy.num_replicas_in_sync,
                    "slopes": learned_slopes(model)})
        return logs

    def train_run(self, config, hp=None, *, strategy=None, callbacks=(), start_from=None):
        """One run of a search, a trial's execution (`hp` given) or a reference: prepared
        before its model is built, in a fresh Keras session as keras-tuner builds each
        model; a run that already finished trains nothing.

        Args:
            config: the run's settings (`trial_config` or `reference_config`).
            hp: the trial's hyper-parameters, or None for a reference run.
            strategy: the trial's `tf.distribute.Strategy` (keras-tuner's
                `distribution_strategy`); default the default strategy.
            callbacks: keras-tuner's callbacks.
            start_from: see `fit`.

        Returns:
            The last epoch's logs (see `fit`).

        Raises:
            keras_tuner.errors.FailedTrialError: the training diverged.
            RunDirectoryError: the directory holds another run.
        """
        keras.backend.clear_session()
        run = prepare_run(config, RUN_TASK, default_dir=config.output_dir,
                          strategy=strategy or tf.distribute.get_strategy())
        if run.finished is not None:
            return run.finished["logs"]
        with run.strategy.scope():
            model = self.build_config(config) if hp is None else self.build(hp)
        return self.fit(hp, model, run=run, callbacks=callbacks, start_from=start_from)


def last_logs(run_dir):
    """The last epoch's logs of a run, from its history.csv (every epoch, across restarts)."""
    with open(Path(run_dir) / "history.csv", newline="", encoding="utf-8") as handle:
        last = list(csv.DictReader(handle))[-1]
    return {name: float(value) for name, value in last.items()
            if name not in ("epoch", "learning_rate")}


def _continue(past, run_dir):
    """Starts a run where the finished run in `past` ended: its history, then its
    checkpoints, each copied whole (a run killed while copying copies again)."""
    write_text(run_dir / "history.csv", (past / "history.csv").read_text(encoding="utf-8"))
    scratch = Path(tempfile.mkdtemp(prefix=".checkpoints.", dir=run_dir))
    shutil.copytree(past / "checkpoints", scratch, dirs_exist_ok=True)
    os.replace(scratch, run_dir / "checkpoints")
