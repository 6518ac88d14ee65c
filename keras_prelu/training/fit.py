"""Fitting epochs with the recipe's guarantees, for any task's compiled model and data.

`fit_epochs(run, model, epoch_data, steps_per_epoch=...)` restores the run's last
checkpoint, then trains the remaining epochs: each epoch's data is `epoch_data(epoch,
input_context)`, a function of (seed, epoch) only, so a resumed run skips exactly the
batches its checkpoint had trained on and sees what an uninterrupted run would. The
learning rate steps through its stages (on a plateau of the validation error or at fixed
epochs), a non-finite loss stops the run at once, checkpoints are saved every
`checkpoint_every` steps and at each epoch end, and the logs (history.csv, TensorBoard,
PReLU slopes) and a progress line per epoch are written.
"""

import keras

from keras_prelu.training import callbacks as run_callbacks
from keras_prelu.training.checkpoint import TrainingCheckpoint


def fit_epochs(run, model, epoch_data, *, steps_per_epoch, validation_data=None,
               monitor="val_top1_error", callbacks=()):
    """Trains `model` for the run's remaining epochs; resumes from its last checkpoint.

    Args:
        run: the prepared `Run` (its settings give the epochs, schedule, checkpointing and
            verbosity).
        model: a model compiled in `run.strategy.scope()`, its optimizer built.
        epoch_data: `epoch_data(epoch, input_context)` -> the `tf.data.Dataset` of that
            epoch for one input pipeline (see `tf.distribute.InputContext`), a function of
            (run seed, epoch) only, with at least `steps_per_epoch` global batches.
        steps_per_epoch: optimizer steps per epoch (each epoch is cut to exactly this).
        validation_data: batches evaluated after every epoch (the plateau rule needs them),
            or None.
        monitor: the logged validation error whose plateau switches the learning rate.
        callbacks: more Keras callbacks (e.g. a tuner's), called after the run's own.

    Returns:
        The per-epoch logs of the epochs trained by this call: {name: [value, ...]}.

    Raises:
        ValueError: a plateau schedule without validation data.
        FloatingPointError: the training diverged (see `StopOnDivergence`).
    """
    settings = run.settings
    if validation_data is None and settings.switch_epochs is None and len(
            settings.learning_rates) > 1:
        raise ValueError(
            "Switching the learning rate on a plateau needs validation data; give "
            "switch_epochs (the epochs where each next rate starts) instead.")
    with run.strategy.scope():
        schedule = run_callbacks.LearningRateStages(
            settings.learning_rates, settings.plateau_patience, settings.plateau_min_delta,
            settings.switch_epochs, monitor=monitor, warmup_steps=settings.warmup_steps)
    checkpoint = TrainingCheckpoint(str(run.path / "checkpoints"), model, schedule.variables,
                                    run.strategy)
    epoch, done = divmod(checkpoint.restore(), steps_per_epoch)
    fit_callbacks = [
        schedule,
        run_callbacks.StopOnDivergence(),
        run_callbacks.Checkpointing(checkpoint, settings.checkpoint_every),
        run_callbacks.EpochProgress(settings.epochs),
    ]
    if run.chief:
        fit_callbacks += [
            run_callbacks.HistoryFile(run.path / "history.csv", first_epoch=epoch),
            run_callbacks.SlopeLogger(str(run.path / "tensorboard" / "slopes")),
            keras.callbacks.TensorBoard(str(run.path / "tensorboard")),
        ]
    fit_callbacks += list(callbacks)
    replicas = run.strategy.num_replicas_in_sync
    history = {}
    while epoch < settings.epochs:
        # An epoch resumed mid-way is fitted on its own (it has fewer steps left); the
        # other epochs in one call, as one iterator over their data.
        last = epoch + 1 if done else settings.epochs

        def dataset(input_context, first=epoch, last=last, skip=done):
            # A global step takes one batch per replica: this pipeline's share of them.
            per_pipeline = replicas // input_context.num_input_pipelines
            data = epoch_data(first, input_context).skip(skip * per_pipeline).take(
                (steps_per_epoch - skip) * per_pipeline)
            for later in range(first + 1, last):
                data = data.concatenate(
                    epoch_data(later, input_context).take(steps_per_epoch * per_pipeline))
            return data

        logs = model.fit(
            run.strategy.distribute_datasets_from_function(dataset),
            initial_epoch=epoch,
            epochs=last,
            steps_per_epoch=steps_per_epoch - done,
            validation_data=validation_data,
            callbacks=fit_callbacks,
            shuffle=False,  # each epoch's order is its data's own
            verbose=settings.verbose,
        ).history
        for name, values in logs.items():
            history.setdefault(name, []).extend(values)
        epoch, done = last, 0
    return history
