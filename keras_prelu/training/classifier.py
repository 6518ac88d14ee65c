"""`train(TrainConfig)`: the paper's classification recipe (Sec. 3) on the run machinery.

The settings are three sections: the data (`ClassificationData`), the model
(`ModelSettings`: a zoo model and its options) and the run (`RunSettings`). Their
defaults are the paper's ImageNet recipe: model A with channel-wise PReLU, 224 crops of
images whose shorter side is jittered in [256, 512], batch 128, SGD with momentum 0.9,
learning rate 1e-2 -> 1e-3 -> 1e-4 on plateaus, weight decay 5e-4, dropout 0.5.
"""

import dataclasses
from pathlib import Path

import keras
import numpy as np

from keras_prelu import evaluation, paper, zoo
from keras_prelu.data import catalog
from keras_prelu.data.image_folder import ON_CORRUPT
from keras_prelu.evaluation.inputs import is_image_source
from keras_prelu.metrics import TopKError
from keras_prelu.settings import Settings, setting
from keras_prelu.training import inputs
from keras_prelu.training.figures import write_figures
from keras_prelu.training.fit import fit_epochs
from keras_prelu.training.model_settings import ModelSettings
from keras_prelu.training.run import default_output_dir, prepare_run
from keras_prelu.training.run_settings import RunSettings
from keras_prelu.training.slopes import format_slope_table, learned_slopes
from keras_prelu.zoo.shapes import chain

TASK = "classification"
# The final test's methods: `keras_prelu.evaluation`'s single views (dense testing has its
# own scales and windows: recipes/evaluate.py).
TEST_METHODS = ("center", "ten_view")


@dataclasses.dataclass(frozen=True)
class ClassificationData(Settings):
    """Which images a classifier trains on, and how they are cropped."""

    dataset: str = setting("imagenet2012", "the dataset", choices=catalog.NAMES)
    data_dir: str | None = setting(
        None, "where the dataset is: Fashion-MNIST's IDX files (none: the usual places), an "
        "image folder with train/ and val/, or ImageNet's manual dir with the official tars")
    validation_size: int = setting(
        5000, "images held out of the training split for validation (array datasets)")
    on_corrupt: str = setting(
        "raise", "undecodable files of an image folder: fatal, or skipped with a warning",
        choices=ON_CORRUPT)
    crop_size: int = setting(paper.CROP_SIZE, "side of the training crops and centre views "
                             "(image datasets; Sec. 3: 224)")
    pad: int | None = setting(
        None, "zero padding of the random crop of small images; none: the dataset's (4 for "
        "Fashion-MNIST, 1 for digits)")
    scale_min: int = setting(paper.SCALE_JITTER[0], "shortest shorter side of the scale "
                             "jitter (Sec. 3: 256); also the scale of the centre views")
    scale_max: int = setting(paper.SCALE_JITTER[1], "longest shorter side of the scale jitter "
                             "(Sec. 3: 512)")
    test_method: str = setting(
        "center", "how the final test views each test image: the centre view, or the four "
        "corners and centre of the training crops' range and their flips (Sec. 4's 10-view "
        "testing; scale_min for image datasets)", choices=TEST_METHODS)

    def __post_init__(self):
        super().__post_init__()
        if not 1 <= self.crop_size <= self.scale_min <= self.scale_max:
            raise ValueError(
                f"Need 1 <= crop_size <= scale_min <= scale_max, got {self.crop_size}, "
                f"{self.scale_min}, {self.scale_max}."
            )
        if self.pad is not None and self.pad < 0:
            raise ValueError(f"pad must be >= 0, got {self.pad}.")


@dataclasses.dataclass(frozen=True)
class TrainConfig(ClassificationData, ModelSettings, RunSettings):
    """The classification recipe's settings: data, model and run sections in one."""


@dataclasses.dataclass
class TrainResult:
    """What a finished run produced.

    Attributes:
        model: the trained model.
        history: per-epoch logs of this invocation (resumed epochs only, after a restart;
            empty when the run had already finished).
        errors: {"top1_error": ..., "top5_error": ...} on `evaluated_on`.
        evaluated_on: the split the errors are measured on: "test", or "validation" for
            image datasets whose validation split is the test set (ImageNet).
        slopes: `learned_slopes(model)`, Table 1's columns.
        steps: optimizer steps taken in all, across restarts.
        replicas: how many replicas trained in sync (GPUs, devices or workers).
        output_dir: where the checkpoints, logs, mean, model and results are.
        figures: the PNGs drawn there (`keras_prelu.training.figures`).
    """

    model: keras.Model
    history: dict
    errors: dict
    evaluated_on: str
    slopes: list
    steps: int
    replicas: int
    output_dir: Path
    figures: list


def build_model(config, training_data):
    """The zoo model of `config` for `training_data`'s images and classes.

    Raises:
        ValueError: unknown model or options, or images smaller than the model accepts.
    """
    channels = training_data.input_shape[-1]
    model = config.build_model(input_shape=(None, None, channels),
                               classes=training_data.classes)
    need = zoo.min_input_size(chain(model), channels)
    height, width = training_data.input_shape[:2]
    if min(height, width) < need:
        hint = ("use stem='small' for small images, smaller spp_levels, or a larger crop_size"
                if config.stem != "small" else "use smaller spp_levels or a larger crop_size")
        raise ValueError(
            f"{config.model} with stem={config.stem!r} needs images of at least {need}x{need} "
            f"pixels; {config.dataset} gives {height}x{width}: {hint}."
        )
    return model


def load_data(config, run):
    """The run's training data and its optimizer steps per epoch.

    A resumed run subtracts the per-pixel mean it recorded (`mean.npy`), not a new estimate.

    Args:
        config: the task's settings (`ClassificationData` and `RunSettings` fields).
        run: the prepared `Run`.

    Returns:
        (`inputs.TrainingData`, steps per epoch).

    Raises:
        keras_prelu.data.DatasetNotFoundError: the dataset is not where it should be.
        ValueError: no full batch in the training split, or more steps per epoch than an
            epoch holds.
    """
    mean_path = run.path / "mean.npy"
    stored_mean = np.load(mean_path) if run.directory.resuming and mean_path.exists() else None
    data = inputs.load(config, catalog.get(config.dataset), run.seed, stored_mean)
    batches = data.num_train // config.global_batch_size
    if batches < 1:
        raise ValueError(
            f"{data.num_train} training images make no batch of {config.global_batch_size}.")
    steps_per_epoch = config.steps_per_epoch or batches
    if steps_per_epoch > batches:
        raise ValueError(
            f"steps_per_epoch={steps_per_epoch} is more than one epoch holds: {batches} "
            f"batches of {config.global_batch_size} from {data.num_train} images. Use at most "
            f"{batches}, or none for one full pass.")
    return data, steps_per_epoch


def compile_model(model, config):
    """Compiles `model` by the recipe (Sec. 3): SGD with momentum at the first learning rate,
    cross-entropy, top-1 and top-5 error; builds the optimizer (checkpoints need its
    variables). Call it in the run's `strategy.scope()`."""
    model.compile(
        optimizer=keras.optimizers.SGD(config.learning_rates[0], momentum=config.momentum),
        loss="sparse_categorical_crossentropy",
        metrics=[TopKError(1), TopKError(5)],
        jit_compile=config.xla,
    )
    model.optimizer.build(model.trainable_variables)


def final_test(model, data, config):
    """The final test of `data`'s test split by `config.test_method`: the centre views by
    `model.evaluate` (in the run's strategy), 10-view testing by `keras_prelu.evaluation`
    (array images padded as the training crops were).

    Returns:
        (`{"top1_error": ..., "top5_error": ...}`, the figures' `predictions`: 10-view
        testing's (labels, predicted classes), None for the centre views).
    """
    if config.test_method == "center":
        scores = model.evaluate(data.test, verbose=0, return_dict=True)
        return {name: float(scores[name]) for name in ("top1_error", "top5_error")}, None
    arrays = not is_image_source(data.test_set)
    result = evaluation.evaluate(
        model, data.test_set, config.test_method, mean=data.mean,
        scales=None if arrays else (config.scale_min,),
        crop_size=None if arrays else config.crop_size, pad=data.pad)
    errors = {"top1_error": result.top1_error, "top5_error": result.top5_error}
    return errors, (result.labels, result.predictions)


def train(config, strategy=None, callbacks=()):
    """Trains `config.model` on `config.dataset` by the paper's recipe; resumes if stopped.

    Everything that can be wrong with the setup (an output directory holding another run,
    a batch that does not split among the replicas, a missing dataset, images too small
    for the model, more steps per epoch than an epoch holds) is an error before anything
    is written. Rerunning the same settings resumes from the last checkpoint (with
    `deterministic=True`, to the very weights of a run never interrupted); rerunning a
    finished run trains nothing and returns its results.

    Args:
        config: a `TrainConfig`.
        strategy: a `tf.distribute.Strategy`; default `choose_strategy()`.
        callbacks: more Keras callbacks for the fit (e.g. an experiment's measurement
            before the first step), called after the run's own.

    Returns:
        A `TrainResult`.
    """
    entry = catalog.get(config.dataset)
    run = prepare_run(
        config, TASK, strategy=strategy,
        default_dir=default_output_dir(TASK, config, config.dataset, config.model))
    if run.finished is not None:
        return _finished(run)
    data, steps_per_epoch = load_data(config, run)

    with run.strategy.scope():
        model = build_model(config, data)
        compile_model(model, config)
    run.claim()
    run.save_array("mean.npy", data.mean)
    history = fit_epochs(run, model, data.train, steps_per_epoch=steps_per_epoch,
                         validation_data=data.validation, callbacks=callbacks)

    errors, predictions = final_test(model, data, config)
    steps = int(model.optimizer.iterations.numpy())
    slopes = learned_slopes(model)
    run.save_model(model)
    run.write_text("slopes.md", format_slope_table(model) + "\n")
    figures = write_figures(run, model, data, title=f"{config.model} on {config.dataset}",
                            predictions=predictions)
    run.finish({**errors, "evaluated_on": entry.test_split, "steps": steps,
                "replicas": run.strategy.num_replicas_in_sync, "slopes": slopes,
                "figures": [path.name for path in figures]})
    return TrainResult(model, history, errors, entry.test_split, slopes, steps,
                       run.strategy.num_replicas_in_sync, run.path, figures)


def _finished(run):
    """The result of a run that already finished, read back from its directory."""
    results = run.finished
    print(f"{run.path} holds this run, finished: nothing to train (--start-over trains it "
          "afresh, moving this one aside).")
    model = keras.models.load_model(run.path / "model.keras", safe_mode=True)
    errors = {name: results[name] for name in ("top1_error", "top5_error")}
    return TrainResult(model, {}, errors, results["evaluated_on"],
                       [tuple(row) for row in results["slopes"]], results["steps"],
                       results["replicas"], run.path,
                       [run.path / name for name in results["figures"]])
