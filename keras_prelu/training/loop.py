"""`train(config)`: the paper's training recipe (Sec. 3) on Keras `fit` and tf.distribute."""

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_prelu import zoo
from keras_prelu.data.order import draw_seed
from keras_prelu.metrics import TopKError
from keras_prelu.training import callbacks, inputs
from keras_prelu.training.checkpoint import TrainingCheckpoint, is_chief, write_json_atomically
from keras_prelu.training.multi_worker import patch_keras_for_multi_worker
from keras_prelu.training.slopes import format_slope_table, learned_slopes
from keras_prelu.training.strategy import choose_strategy, per_replica_batch_size
from keras_prelu.zoo.shapes import chain


@dataclasses.dataclass
class TrainResult:
    """What a finished run produced.

    Attributes:
        model: the trained model.
        history: per-epoch logs of this invocation (resumed epochs only, after a restart).
        errors: {"top1_error": ..., "top5_error": ...} on the test set (ImageNet: val).
        slopes: `learned_slopes(model)`, Table 1's columns.
        steps: optimizer steps taken in all, across restarts.
        replicas: how many replicas trained in sync (GPUs, devices or workers).
        output_dir: where the checkpoints, logs, mean, model and results are.
    """

    model: keras.Model
    history: dict
    errors: dict
    slopes: list
    steps: int
    replicas: int
    output_dir: Path


def _run_seed(config, output_dir):
    """The configured seed, or one drawn once per run and kept in `run.json`, so that a
    resumed run continues the same data order."""
    if config.seed is not None:
        return config.seed
    path = output_dir / "run.json"
    if path.exists():
        return json.loads(path.read_text())["seed"]
    seed = draw_seed()
    write_json_atomically(path, {"seed": seed})
    return seed


def build_model(config, training_data):
    """The zoo model of `config` for `training_data`'s images and classes.

    Raises:
        ValueError: unknown model or arguments, or images smaller than the model accepts.
    """
    channels = training_data.input_shape[-1]
    model = zoo.get(
        config.model,
        input_shape=(None, None, channels),
        classes=training_data.classes,
        activation=config.activation,
        width=config.width,
        stem=config.stem,
        fc_units=config.fc_units,
        spp_levels=config.spp_levels,
        small_fc_init=config.small_fc_init,
        dropout=config.dropout,
        weight_decay=config.weight_decay,
    )
    need = zoo.min_input_size(chain(model), channels)
    if min(training_data.input_shape[:2]) < need:
        raise ValueError(
            f"{config.model} with stem={config.stem!r} needs inputs of at least {need}x{need} "
            f"pixels; {config.dataset} gives {training_data.input_shape[0]}x"
            f"{training_data.input_shape[1]}. Use stem='small' or smaller spp_levels for small "
            "images, or a larger crop_size."
        )
    return model


def train(config, strategy=None):
    """Trains `config.model` on `config.dataset` by the paper's recipe; resumes if stopped.

    Everything that can be wrong with the setup (a batch that does not split among the
    replicas, a missing dataset, images too small for the model) is an error before the
    first step. A run restarted with the same `output_dir` continues from its last
    checkpoint; with `deterministic=True` it ends with the very weights of a run that was
    never interrupted.

    Args:
        config: a `TrainConfig`.
        strategy: a `tf.distribute.Strategy`; default `choose_strategy()`.

    Returns:
        A `TrainResult`.
    """
    strategy = strategy or choose_strategy()
    per_replica_batch_size(config.global_batch_size, strategy)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        patch_keras_for_multi_worker()
    chief = is_chief(strategy)
    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    seed = _run_seed(config, output_dir)
    keras.utils.set_random_seed(seed)  # the initial weights, dropout masks and data order
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if config.mixed_precision:
        gpu = bool(tf.config.list_logical_devices("GPU"))
        keras.config.set_dtype_policy("mixed_float16" if gpu else "mixed_bfloat16")

    training_data = inputs.load(config, seed)
    steps_per_epoch = config.steps_per_epoch or training_data.num_train // config.global_batch_size
    if steps_per_epoch < 1:
        raise ValueError(
            f"{training_data.num_train} training examples make no batch of "
            f"{config.global_batch_size}."
        )
    if chief:
        np.save(output_dir / "mean.npy", training_data.mean)
        write_json_atomically(output_dir / "config.json", config.to_dict())

    with strategy.scope():
        model = build_model(config, training_data)
        model.compile(
            optimizer=keras.optimizers.SGD(config.learning_rates[0], momentum=config.momentum),
            loss="sparse_categorical_crossentropy",
            metrics=[TopKError(1), TopKError(5)],
            jit_compile=config.xla,
        )
        model.optimizer.build(model.trainable_variables)
        schedule = callbacks.LearningRateStages(
            config.learning_rates, config.plateau_patience, config.plateau_min_delta,
            config.switch_epochs)
    checkpoint = TrainingCheckpoint(str(output_dir / "checkpoints"), model, schedule.variables,
                                    strategy)
    step = checkpoint.restore()

    fit_callbacks = [schedule, callbacks.StopOnDivergence(),
                     callbacks.Checkpointing(checkpoint, config.checkpoint_every)]
    if chief:
        fit_callbacks += [
            callbacks.SlopeLogger(str(output_dir / "tensorboard" / "slopes")),
            keras.callbacks.CSVLogger(str(output_dir / "history.csv"), append=True),
            keras.callbacks.TensorBoard(str(output_dir / "tensorboard")),
        ]
    history = {}
    epoch, done = divmod(step, steps_per_epoch)
    while epoch < config.epochs:
        # One epoch per fit call: its data are a function of (seed, epoch), and a resumed
        # epoch skips the batches its checkpoint already trained on.
        def epoch_data(input_context, epoch=epoch, skip=done):
            per_pipeline = strategy.num_replicas_in_sync // input_context.num_input_pipelines
            return training_data.train(epoch, input_context).skip(skip * per_pipeline)

        logs = model.fit(
            strategy.distribute_datasets_from_function(epoch_data),
            initial_epoch=epoch,
            epochs=epoch + 1,
            steps_per_epoch=steps_per_epoch - done,
            validation_data=training_data.validation,
            callbacks=fit_callbacks,
            shuffle=False,  # the epoch's order is the dataset's own
            verbose=config.verbose,
        ).history
        for name, values in logs.items():
            history.setdefault(name, []).extend(values)
        epoch, done = epoch + 1, 0

    evaluation = training_data.test if training_data.test is not None else training_data.validation
    scores = model.evaluate(evaluation, verbose=0, return_dict=True)
    errors = {name: float(scores[name]) for name in ("top1_error", "top5_error")}
    result = TrainResult(model, history, errors, learned_slopes(model),
                         int(model.optimizer.iterations.numpy()),
                         strategy.num_replicas_in_sync, output_dir)
    if chief:
        model.save(output_dir / "model.keras")
        (output_dir / "slopes.md").write_text(format_slope_table(model) + "\n")
        write_json_atomically(output_dir / "results.json",
                              {**errors, "steps": result.steps, "slopes": result.slopes})
    return result
