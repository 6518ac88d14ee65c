"""`search(TuneConfig)`: the slope search, its reference runs and its report.

The search directory belongs to one search, as a run directory belongs to one run
(`RunDirectory`): its run.json records the search's identity (search space, tuner,
objective and every training setting); a search with other settings pointed at it is
refused before anything is written, naming what differs (`--start-over` moves the old one
aside). Inside it:

- `keras_tuner/`: keras-tuner's project (oracle.json, trial_<id>/trial.json) with each
  execution's run in `trial_<id>/execution<k>/`;
- `references/<relu|prelu|prelu_shared>/execution<k>/`: the same budget with ReLU (slope
  0) and PReLU, channel-wise and channel-shared;
- `results.json`, `results.md` (the table) and `slope_search.png` (the plot).

On several machines (keras-tuner's chief/worker mode: KERASTUNER_TUNER_ID,
KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT; the directory on storage they all share)
the chief claims the directory and serves the trials, the workers wait for its claim,
check their settings against it and run trials; the chief then trains the references and
writes the report.
"""

import dataclasses
import os
import time
from pathlib import Path

import keras_tuner

from keras_prelu.training import choose_strategy, default_output_dir
from keras_prelu.training.run_directory import IDENTITY_FILE, RunDirectory
from keras_prelu.tuning import report
from keras_prelu.tuning.hypermodel import REFERENCES, LReLUSlopeHyperModel
from keras_prelu.tuning.tuners import TUNER_CLASSES

SEARCH_TASK = "lrelu_slope_search"
PROJECT = "keras_tuner"
# How long a worker waits for the chief to claim the search directory: as long as
# keras-tuner's clients wait for the chief's oracle (keras-team/keras-tuner#990).
CHIEF_WAIT_SECONDS = 3600
_ENVIRONMENT = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


@dataclasses.dataclass
class SearchResult:
    """What a search found (on the chief, or the one machine).

    Attributes:
        directory: the search directory.
        trials: `report.TrialResult`s, by trial id.
        references: {activation: `report.ReferenceResult`}.
        best: the completed trial with the lowest objective, or None.
        seconds: wall time of this invocation (a resumed search's: the part it ran).
        table: the Markdown table of `results.md`.
        plot: the path of the PNG plot.
    """

    directory: Path
    trials: list
    references: dict
    best: object
    seconds: float
    table: str
    plot: Path


def distributed_role():
    """"single" without keras-tuner's distribution variables, else "chief" (a tuner id
    containing "chief", keras-tuner's convention) or "worker".

    Raises:
        ValueError: some of the three variables set, not all.
    """
    given = [name for name in _ENVIRONMENT if os.environ.get(name)]
    if not given:
        return "single"
    if len(given) < len(_ENVIRONMENT):
        missing = sorted(set(_ENVIRONMENT) - set(given))
        raise ValueError(
            f"A distributed search needs all of {', '.join(_ENVIRONMENT)}; {', '.join(missing)} "
            "not set (README, 'Tuning the LReLU slope').")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def make_tuner(config, hypermodel, directory, strategy, *, distributed):
    """The keras-tuner tuner of `config.tuner` over `hypermodel`, in `directory`/keras_tuner.

    A distributed search has no limit of consecutive failed trials: reached on the chief,
    keras-tuner raises inside its gRPC handler, which kills the worker reporting the trial
    and leaves the chief waiting for it forever (keras-team/keras-tuner#915, #927).
    """
    common = {
        "hypermodel": hypermodel,
        "objective": keras_tuner.Objective(config.objective, "min"),
        "seed": config.seed,
        "executions_per_trial": config.executions_per_trial,
        "distribution_strategy": strategy,
        "max_consecutive_failed_trials": (
            None if distributed else config.max_consecutive_failed_trials),
        "directory": str(directory),
        "project_name": PROJECT,
        "overwrite": False,  # resume: never delete a search (nor another process's trials)
    }
    if config.tuner == "hyperband":
        return TUNER_CLASSES["hyperband"](max_epochs=config.epochs, **common)
    return TUNER_CLASSES[config.tuner](max_trials=config.max_trials, **common)


def search(config, strategy=None):
    """Runs, or resumes, the LReLU slope search of `config`, then its references and report.

    Everything that can be wrong with the settings (the search space, the tuner, the
    objective, a directory holding another search or run, the data, the batch against the
    replicas, the model for the images) is an error before anything is written. Running
    the same settings again resumes: finished trials and references are not trained again.

    Args:
        config: a `TuneConfig`.
        strategy: each trial's `tf.distribute.Strategy` (keras-tuner's
            `distribution_strategy`); default `choose_strategy()`: MirroredStrategy
            over the local GPUs when there are several.

    Returns:
        A `SearchResult`, or None on a worker of a distributed search.

    Raises:
        ValueError: TF_CONFIG is set (trials are distributed with keras-tuner's
            chief/worker mode, not MultiWorkerMirroredStrategy), or a bad setting.
        RunDirectoryError: the directory holds another search.
        RuntimeError: keras-tuner's limit of consecutive failed trials was reached.

    Example:

    >>> result = search(TuneConfig.load("recipes/configs/tune_lrelu_quick.toml"))
    >>> print(result.table)  # also in result.directory / "results.md"
    """
    role = distributed_role()
    if os.environ.get("TF_CONFIG"):
        raise ValueError(
            "TF_CONFIG is set: a search runs its trials on one machine each and spreads them "
            "over machines with keras-tuner's chief/worker mode (KERASTUNER_* variables, "
            "README); unset TF_CONFIG.")
    directory = Path(config.output_dir or default_output_dir(
        "tune_lrelu", config, config.dataset, config.model))
    if role == "worker":
        _wait_for_claim(directory)
    # A worker never moves a search aside: it checks its settings against the chief's.
    search_dir = RunDirectory(directory, SEARCH_TASK, config.identity(),
                              start_over=config.start_over and role != "worker")
    strategy = strategy or choose_strategy()
    hypermodel = LReLUSlopeHyperModel(config, slope_range=(config.slope_min, config.slope_max),
                                      learning_rate_range=config.learning_rate_range)
    hypermodel.check(reference_dir(directory, REFERENCES[0], 0), strategy)
    if role != "worker":
        search_dir.claim(config.seed, config.to_dict())
    started = time.monotonic()
    tuner = make_tuner(config, hypermodel, directory, strategy, distributed=role != "single")
    tuner.search(verbose=config.verbose)
    if role == "worker":
        return None
    references = {}
    for activation in REFERENCES:
        run_dirs = [reference_dir(directory, activation, k)
                    for k in range(config.executions_per_trial)]
        for k, run_dir in enumerate(run_dirs):
            try:
                hypermodel.train_run(hypermodel.reference_config(activation, run_dir, k),
                                     strategy=strategy)
            except keras_tuner.errors.FailedTrialError:
                pass  # diverged: the report shows its failure.json
        references[activation] = report.reference_result(activation, run_dirs)
    trials = [report.trial_result(trial, tuner) for trial in
              sorted(tuner.oracle.trials.values(), key=lambda trial: trial.trial_id)]
    best = min((trial for trial in trials if trial.completed),
               key=lambda trial: trial.metrics[config.objective], default=None)
    seconds = time.monotonic() - started
    table = report.write(directory, config, trials, references, best, seconds)
    return SearchResult(directory, trials, references, best, seconds, table,
                        directory / report.PLOT_FILE)


def reference_dir(directory, activation, execution):
    """The run directory of execution `execution` of the reference run of `activation`."""
    return Path(directory) / "references" / activation / f"execution{execution}"


def _wait_for_claim(directory):
    """Waits until the chief has claimed the search directory (its run.json exists)."""
    deadline = time.monotonic() + CHIEF_WAIT_SECONDS
    if not (directory / IDENTITY_FILE).exists():
        print(f"Waiting for the chief to claim {directory} ...", flush=True)
    while not (directory / IDENTITY_FILE).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"The chief has not claimed {directory} in {CHIEF_WAIT_SECONDS} s: start the "
                "chief (KERASTUNER_TUNER_ID=chief) with the same settings and --output-dir.")
        time.sleep(1)
