"""What the experiments share: their settings base, training their runs, statistics, timing.

A trained experiment's settings are a `TrainConfig` (every setting of the training recipe,
with the same names in its config file) plus the experiment's own fields: `seeds`, and the
arms it compares (models, initialisations, activations). Each arm and seed is one run of
`keras_prelu.training.train` in its own directory, so an interrupted experiment resumes its
unfinished run from its checkpoint and reads its finished runs back without training.
"""

import csv
import dataclasses
import functools
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import NamedTuple

import keras

from keras_prelu import zoo
from keras_prelu.data import catalog
from keras_prelu.settings import setting
from keras_prelu.training import TrainConfig, train
from keras_prelu.training.callbacks import format_duration
from keras_prelu.training.run_directory import write_json

# Multiply-adds per second on the shared 2-core development machine, by kind of job: a
# training step of these small nets (a training image costs 3 forward passes), and a
# full-size network built and measured at initialisation (building dominates). The time
# estimates start from these and follow the measured speeds (`Progress`).
PRIOR_SPEEDS = {"training": 1.1e10, "measurement": 2e9}
HISTORY = ("epoch", "loss", "top1_error", "val_top1_error", "learning_rate")
TIMING_FILE = "timing.json"


@dataclasses.dataclass(frozen=True)
class TrainedExperiment(TrainConfig):
    """The settings of an experiment that trains runs: the training recipe's settings,
    shared by every run, plus the seeds. A subclass names the fields its arms set
    (`ARM_FIELDS`) and adds the lists of values it compares.

    Raises:
        ValueError: `seed` or `output_dir` given (the experiment sets them per run), an
            arm field changed from its default (the experiment's lists set it), or no
            seeds, or a seed repeated.
    """

    ARM_FIELDS = ()

    seeds: tuple[int, ...] = setting(
        (1,), "one run per seed and arm; a seed fixes the initial weights and the data order")

    def __post_init__(self):
        super().__post_init__()
        for name in ("seed", "output_dir"):
            if getattr(self, name) is not None:
                raise ValueError(f"Setting {name} is set per run by the experiment; give "
                                 "seeds (the runs' folders are under the runs directory).")
        defaults = {field.name: field.default for field in dataclasses.fields(TrainConfig)}
        for name in self.ARM_FIELDS:
            if getattr(self, name) != defaults[name]:
                raise ValueError(f"Setting {name} is set per run by this experiment's arms "
                                 f"({', '.join(self.ARM_FIELDS)}); remove it.")
        _check_distinct("seeds", self.seeds)

    def run_config(self, output_dir, seed, **arm):
        """The `TrainConfig` of one run: these settings with the arm's values.

        Raises:
            ValueError: the arm's values are not valid settings.
        """
        shared = {field.name: getattr(self, field.name)
                  for field in dataclasses.fields(TrainConfig)}
        return TrainConfig.from_dict({**shared, **arm, "seed": seed,
                                      "output_dir": str(output_dir)})

    def quick(self):
        """These settings cut down to seconds a run (the driver's quick mode, a check of the
        whole pipeline): scikit-learn's 8x8 digits with a {2, 1} pyramid, the first two
        seeds, 2 epochs of 2 steps of 32 images, 1/8 of the width, 16 fc units; the first
        two learning rates, switched after the first epoch."""
        rates = self.learning_rates[:2]
        return self.replace(
            dataset="digits", validation_size=200, spp_levels=(2, 1), seeds=self.seeds[:2],
            epochs=2, steps_per_epoch=2, global_batch_size=32, width=self.width / 8,
            fc_units=16, learning_rates=rates, switch_epochs=None if len(rates) == 1 else (1,))


def _check_distinct(name, values):
    if not values or len(set(values)) != len(values):
        raise ValueError(f"Setting {name} must hold distinct values, at least one; got "
                         f"{values}.")


def check_choices(name, values, choices):
    """Raises ValueError unless `values` are distinct members of `choices`, at least one."""
    _check_distinct(name, values)
    unknown = [value for value in values if value not in choices]
    if unknown:
        raise ValueError(f"Setting {name} takes values among {tuple(choices)}, got {unknown}.")


class Arm(NamedTuple):
    """One run of an experiment: its name (its folder), the settings it changes, its seed."""

    name: str
    changes: dict
    seed: int


def activation_arms(settings):
    """One `Arm` per seed and activation of `settings` (all activations of a seed, then the
    next): the runs of the experiments that compare rectifiers."""
    return [Arm(f"{settings.model}-{activation}-s{seed}", {"activation": activation}, seed)
            for seed in settings.seeds for activation in settings.activations]


def describe_activation_arms(settings):
    """What an experiment of `activation_arms` does, for its progress line."""
    return (f"{len(settings.arms())} runs: {settings.model} x {', '.join(settings.activations)}"
            f" x seeds {list(settings.seeds)}")


class DataShape(NamedTuple):
    """What the planning needs of a dataset: image shape, classes, split sizes."""

    input_shape: tuple
    classes: int
    train: int
    test: int


@functools.cache
def _dataset(dataset, data_dir, on_corrupt):
    """(image shape, classes, training images, test images) of an array dataset."""
    entry = catalog.get(dataset)
    if not entry.arrays:
        raise ValueError(f"The experiments train on array datasets (fashion_mnist, digits), "
                         f"not {dataset}.")
    (images, labels), _ = entry.load_training(data_dir, on_corrupt)
    test_images, test_labels = entry.load_test(data_dir)
    classes = int(max(labels.max(), test_labels.max()) + 1)
    return tuple(images.shape[1:]), classes, len(images), len(test_images)


def data_shape(config):
    """The `DataShape` of `config.dataset` (array datasets: Fashion-MNIST, digits).

    Raises:
        keras_prelu.data.DatasetNotFoundError: the dataset is not where it should be.
        ValueError: a dataset that is not held in arrays, or too few training images for
            the validation split.
    """
    shape, classes, train_images, test_images = _dataset(config.dataset, config.data_dir,
                                                         config.on_corrupt)
    if not 0 < config.validation_size < train_images:
        raise ValueError(f"validation_size must be in (0, {train_images}) for "
                         f"{config.dataset}, got {config.validation_size}.")
    return DataShape(shape, classes, train_images - config.validation_size, test_images)


def prepare_trained(settings, runs_dir):
    """Checks a trained experiment's runs can all start; returns the dataset's `DataShape`.

    Raises:
        keras_prelu.data.DatasetNotFoundError: the dataset is not where it should be.
        ValueError: a run that cannot start (see `check_run`).
    """
    data = data_shape(settings)
    for arm in settings.arms():
        check_run(settings.run_config(Path(runs_dir) / arm.name, arm.seed, **arm.changes), data)
    return data


def plan_trained(settings, data):
    """Multiply-adds of all of a trained experiment's runs (for the time estimates)."""
    return sum(training_macs(settings.run_config("-", arm.seed, **arm.changes), data)
               for arm in settings.arms())


@functools.cache
def _image_macs(model, options, input_shape, classes):
    with keras.StatelessScope(initialize_variables=False):  # shapes only, no weights drawn
        built = zoo.get(model, input_shape=input_shape, classes=classes,
                        **dataclasses.asdict(options))
        return zoo.complexity(built, input_shape).macs


def image_macs(config, data):
    """Multiply-adds of the run's model per image (built once per model and options).

    Raises:
        ValueError: the model cannot take the dataset's images (the zoo's error).
    """
    return _image_macs(config.model, config.model_options(), tuple(data.input_shape),
                       data.classes)


def check_run(config, data):
    """Checks that a run can start: its model takes the images, an epoch holds its steps.

    Raises:
        ValueError: as `keras_prelu.training.train` would, before anything is written.
    """
    image_macs(config, data)
    batches = data.train // config.global_batch_size
    if batches < 1 or (config.steps_per_epoch or 1) > batches:
        raise ValueError(f"{data.train} training images hold {batches} batches of "
                         f"{config.global_batch_size}, fewer than steps_per_epoch="
                         f"{config.steps_per_epoch}.")


def training_macs(config, data):
    """Multiply-adds of a run: 3 forward passes per training image, 1 per validation image
    each epoch and per test image."""
    steps = config.steps_per_epoch or data.train // config.global_batch_size
    images = config.epochs * (3 * steps * config.global_batch_size + config.validation_size)
    return image_macs(config, data) * (images + data.test)


class Progress:
    """Progress lines and estimates of the time left, from each job's multiply-adds.

    An experiment's speed (multiply-adds per second) is its own once one of its jobs has
    run in this process, else that measured on the other experiments of its kind, else
    its kind's prior (`PRIOR_SPEEDS`).

    Args:
        work: {experiment name: multiply-adds of its jobs still to do}, in order.
        kinds: {experiment name: "training" or "measurement"}.
    """

    def __init__(self, work, kinds):
        self.left = dict(work)
        self.kinds = dict(kinds)
        self.measured = {name: [0.0, 0.0] for name in work}  # multiply-adds, seconds

    def speed(self, name):
        own = self.measured[name]
        if own[1]:
            return own[0] / own[1]
        kin = [self.measured[n] for n in self.measured if self.kinds[n] == self.kinds[name]]
        macs, seconds = sum(m[0] for m in kin), sum(m[1] for m in kin)
        return macs / seconds if seconds else PRIOR_SPEEDS[self.kinds[name]]

    def _left(self, names):
        return format_duration(sum(self.left[n] / self.speed(n) for n in names))

    def start(self, name, what):
        """Prints the line that starts experiment `name`: what it does, its time left."""
        index = list(self.left).index(name) + 1
        print(f"[{index}/{len(self.left)}] {name}: {what}; about {self._left([name])} for it, "
              f"{self._left(self.left)} left in all (estimated)", flush=True)

    def done(self, name, macs, seconds, line):
        """Counts a job of `name` done; `seconds` it took here, 0 if done before."""
        self.left[name] = max(0.0, self.left[name] - macs)
        if seconds > 0:
            self.measured[name][0] += macs
            self.measured[name][1] += seconds
        print(f"  {line}; about {self._left(self.left)} left in all", flush=True)

    def skip(self, name, line):
        """Experiment `name` is finished already."""
        self.left[name] = 0.0
        index = list(self.left).index(name) + 1
        print(f"[{index}/{len(self.left)}] {name}: {line}", flush=True)


class Context(NamedTuple):
    """What an experiment runs with.

    Attributes:
        runs_dir: the folder of the experiments' training runs.
        progress: the `Progress` of all experiments.
        results: {experiment name: results} of the experiments already finished.
    """

    runs_dir: Path
    progress: Progress
    results: dict


def read_history(path):
    """history.csv of a run as {column: [float, ...]} (epochs counted from 0)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {name: [float(row[name]) for row in rows] for name in HISTORY}


def load_average():
    """The 1-minute load average: processes running or waiting for one of os.cpu_count()
    cores."""
    return round(os.getloadavg()[0], 2)


def train_arms(experiment, settings, data, context, callbacks=lambda config: ()):
    """Trains, resumes or reads back every arm's run; returns one record per run.

    The seconds each run trained are kept in `<runs_dir>/<experiment>/timing.json`, added
    up over the invocations that trained it (one killed mid-run does not count).

    Args:
        experiment: the experiment's name (its folder under `context.runs_dir`).
        settings: its `TrainedExperiment` (with `arms()`).
        data: the dataset's `DataShape`.
        context: the `Context`.
        callbacks: `callbacks(config)` -> more Keras callbacks for a run.

    Returns:
        Per run: its name, seed, arm values, directory, test errors, history, learned
        slopes, steps, training seconds and the load averages at the end of its trainings.
    """
    folder = context.runs_dir / experiment
    timing_path = folder / TIMING_FILE
    timing = json.loads(timing_path.read_text("utf-8")) if timing_path.exists() else {}
    arms = settings.arms()
    records = []
    for number, arm in enumerate(arms, start=1):
        config = settings.run_config(folder / arm.name, arm.seed, **arm.changes)
        began = time.monotonic()
        result = train(config, callbacks=callbacks(config))
        seconds = time.monotonic() - began
        trained = bool(result.history)
        if trained:
            entry = timing.setdefault(arm.name, {"seconds": 0.0, "load_average": []})
            entry["seconds"] = round(entry["seconds"] + seconds, 1)
            entry["load_average"].append(load_average())
            write_json(timing_path, timing)
        history = read_history(Path(config.output_dir) / "history.csv")
        records.append({
            "name": arm.name, "seed": arm.seed, **arm.changes,
            "output_dir": config.output_dir,
            "test_top1_error": result.errors["top1_error"],
            "test_top5_error": result.errors["top5_error"],
            "steps": result.steps,
            "history": history,
            "slopes": [list(row) for row in result.slopes],
            **timing.get(arm.name, {"seconds": None, "load_average": []}),
        })
        context.progress.done(
            experiment, training_macs(config, data), seconds if trained else 0.0,
            f"run {number}/{len(arms)} {arm.name}: test top-1 error "
            f"{100 * result.errors['top1_error']:.2f}%"
            + (f" ({format_duration(seconds)})" if trained else " (trained before)"))
    return records


def run_facts(records):
    """Wall time (the runs' training seconds added up) and the range of load averages."""
    seconds = [record["seconds"] for record in records]
    loads = [load for record in records for load in record["load_average"]]
    return {
        "wall_time_s": None if None in seconds else round(sum(seconds), 1),
        "load_average": [min(loads), max(loads)] if loads else None,
        "cpus": os.cpu_count(),
    }


def time_sentence(results):
    """'Wall time 12 min 03 s (load average 1.9-4.2 on 2 cores).' from run_facts."""
    seconds = results.get("wall_time_s")
    if seconds is None:
        return "Wall time: not recorded (runs trained in an interrupted invocation)."
    loads = results.get("load_average")
    cpus = results.get("cpus")
    busy = "" if loads is None else (
        f" (1-min load average {loads[0]:g}-{loads[1]:g} on {cpus} cores"
        + (": the machine was shared" if loads[1] > cpus else "") + ")")
    return f"Wall time {format_duration(seconds)}{busy}."


def data_sentence(results):
    """'fashion_mnist: 55,000 training images (5,000 more for validation), 10,000 test'."""
    d = results["data"]
    return (f"{d['dataset']}: {d['train']:,} training images ({d['validation']:,} more held "
            f"out for validation), {d['test']:,} test images")


def mean_std(values):
    """(mean, sample standard deviation) of the values; the std is 0 for a single value."""
    values = [float(v) for v in values]
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def paired(differences):
    """Summary of paired differences, one per seed.

    Returns:
        {"mean", "std" (sample), "t": mean / (std / sqrt(n)) (None for a zero std), "n",
        "negative": how many are below 0}.

    Example:

    >>> paired([-0.01, -0.02, 0.0])["negative"]
    2
    """
    mean, std = mean_std(differences)
    n = len(differences)
    return {"mean": mean, "std": std, "t": mean / (std / math.sqrt(n)) if std > 0 else None,
            "n": n, "negative": sum(1 for d in differences if d < 0)}
