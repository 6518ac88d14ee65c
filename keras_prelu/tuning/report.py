"""A slope search's report: every trial and reference, as results.json, a Markdown table
(results.md) and a plot of the objective against the slope (slope_search.png)."""

import dataclasses
import json
from pathlib import Path

import numpy as np

from keras_prelu import plotting
from keras_prelu.training.callbacks import format_duration
from keras_prelu.training.run_directory import IDENTITY_FILE, write_json, write_text
from keras_prelu.tuning.hypermodel import FAILURE_FILE, LEARNING_RATE, SLOPE

RESULTS_FILE = "results.json"
TABLE_FILE = "results.md"
PLOT_FILE = "slope_search.png"
REFERENCE_NAMES = {"relu": "ReLU", "prelu": "PReLU, channel-wise",
                   "prelu_shared": "PReLU, channel-shared"}
PLOT_NAMES = {"relu": "ReLU (slope 0)", "prelu": "PReLU channel-wise",
              "prelu_shared": "PReLU channel-shared"}
METRIC_NAMES = {"val_top1_error": "validation top-1 error",
                "val_top5_error": "validation top-5 error", "val_loss": "validation loss",
                "top1_error": "training top-1 error", "top5_error": "training top-5 error",
                "loss": "training loss"}


@dataclasses.dataclass
class TrialResult:
    """One trial of the search.

    Attributes:
        trial_id: keras-tuner's id.
        slope: its LReLU slope.
        learning_rate: its first learning rate, when searched, else None.
        epochs: the epochs it trained (Hyperband's trials train fewer).
        status: keras-tuner's: COMPLETED, FAILED (diverged, or broke), RUNNING, ...
        metrics: its last epoch's logs, averaged over executions ({} unless completed).
        reason: why it failed (the divergence step), or None.
        continues: the trial it continues (Hyperband), or None.
    """

    trial_id: str
    slope: float
    learning_rate: float | None
    epochs: int
    status: str
    metrics: dict
    reason: str | None
    continues: str | None

    @property
    def completed(self):
        return self.status == "COMPLETED"


@dataclasses.dataclass
class ReferenceResult:
    """A reference run on the search's budget (averaged over executions).

    Attributes:
        activation: relu, prelu or prelu_shared.
        metrics: its last epoch's logs ({} if it diverged).
        mean_slope: PReLU's learned slopes, mean over layers (and channels), else None.
        steps: optimizer steps each of its runs took (None if it diverged).
        reason: why it failed, or None.
    """

    activation: str
    metrics: dict
    mean_slope: float | None
    steps: int | None
    reason: str | None


def _failure(run_dirs):
    for run_dir in run_dirs:
        path = Path(run_dir) / FAILURE_FILE
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))["reason"]
    return None


def trial_result(trial, tuner):
    """The `TrialResult` of a keras-tuner trial; the failure reason is read from its runs'
    directories (keras-tuner's message does not travel to a distributed search's chief)."""
    values = trial.hyperparameters.values
    run_dirs = [tuner.execution_dir(trial.trial_id, k) for k in range(tuner.executions_per_trial)]
    metrics = {}
    if trial.status == "COMPLETED":
        metrics = {name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics}
    reason = _failure(run_dirs)
    if reason is None and trial.status not in ("COMPLETED", "RUNNING") and trial.message:
        reason = trial.message.strip().splitlines()[-1]
    return TrialResult(trial.trial_id, float(values[SLOPE]), values.get(LEARNING_RATE),
                       int(values.get("tuner/epochs", tuner.hypermodel.config.epochs)),
                       trial.status, metrics, reason, values.get("tuner/trial_id"))


def reference_result(activation, run_dirs):
    """The `ReferenceResult` of a reference's runs (one per execution), from their run.json."""
    reason = _failure(run_dirs)
    if reason is not None:
        return ReferenceResult(activation, {}, None, None, reason)
    results = [json.loads((Path(run_dir) / IDENTITY_FILE).read_text(encoding="utf-8"))["results"]
               for run_dir in run_dirs]
    metrics = {name: float(np.mean([result["logs"][name] for result in results]))
               for name in results[0]["logs"]}
    slopes = [slope for result in results for _, _, slope in result["slopes"]]
    return ReferenceResult(activation, metrics, float(np.mean(slopes)) if slopes else None,
                           results[0]["steps"], None)


def _value(name, metrics):
    if name not in metrics:
        return "-"
    return f"{100 * metrics[name]:.2f}%" if "error" in name else f"{metrics[name]:.4f}"


def format_table(config, trials, references, best):
    """The Markdown table: the references, then every trial by slope, then the best slope."""
    metrics = list(dict.fromkeys([config.objective, "val_top1_error", "val_top5_error"]))
    searched_rate = config.learning_rate_range is not None
    hyperband = config.tuner == "hyperband"
    header = ["run", "slope"] + (["first learning rate"] if searched_rate else []) + (
        ["epochs"] if hyperband else []) + [
        METRIC_NAMES[name] + (" (objective)" if name == config.objective else "")
        for name in metrics] + ["status"]
    rows = []
    for activation, reference in references.items():
        slope = ("0" if activation == "relu" else
                 "learned" if reference.mean_slope is None else
                 f"learned, mean {reference.mean_slope:.3f}")
        rows.append([REFERENCE_NAMES[activation], slope]
                    + ([f"{config.learning_rates[0]:g}"] if searched_rate else [])
                    + ([str(config.epochs)] if hyperband else [])
                    + [_value(name, reference.metrics) for name in metrics]
                    + [f"reference; diverged: {reference.reason}" if reference.reason
                       else "reference"])
    for trial in sorted(trials, key=lambda trial: (trial.slope, trial.trial_id)):
        status = trial.status.lower()
        if trial.continues is not None:
            status += f", continues trial {trial.continues}"
        if trial.reason:
            status += f": {trial.reason}"
        rows.append([f"trial {trial.trial_id}" + (" (best)" if trial is best else ""),
                     f"{trial.slope:.3f}"]
                    + ([f"{trial.learning_rate:.3g}"] if searched_rate else [])
                    + ([str(trial.epochs)] if hyperband else [])
                    + [_value(name, trial.metrics) for name in metrics] + [status])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if best is None:
        lines += ["", "No trial completed."]
    else:
        lines += ["", f"Best slope {best.slope:.3f} (trial {best.trial_id}): "
                      f"{METRIC_NAMES[config.objective]} {_value(config.objective, best.metrics)}."]
    return "\n".join(lines)


def plot(path, config, trials, references, best):
    """The objective against the slope: every trial, PReLU's as lines, ReLU at slope 0."""
    full = [trial for trial in trials if trial.completed and trial.epochs == config.epochs]
    short = [trial for trial in trials if trial.completed and trial.epochs < config.epochs]
    failed = [trial.slope for trial in trials if not trial.completed]
    lines = {PLOT_NAMES[a]: (reference.metrics[config.objective], reference.mean_slope)
             for a, reference in references.items() if a != "relu" and reference.metrics}
    relu = references.get("relu")
    points = {} if relu is None or not relu.metrics else {
        PLOT_NAMES["relu"]: (0.0, relu.metrics[config.objective])}
    return plotting.slope_search(
        path,
        slopes=[trial.slope for trial in full],
        values=[trial.metrics[config.objective] for trial in full],
        learning_rates=([trial.learning_rate for trial in full]
                        if config.learning_rate_range is not None else None),
        short_runs=[(trial.slope, trial.metrics[config.objective]) for trial in short],
        failed_slopes=failed,
        reference_lines=lines,
        reference_points=points,
        best=None if best is None else (best.slope, best.metrics[config.objective]),
        ylabel=METRIC_NAMES[config.objective],
        percent="error" in config.objective,
        title=f"LReLU slope search ({config.tuner}, {len(trials)} trials, "
              f"{config.epochs} epochs each) on {config.dataset}, {config.model}",
    )


def write(directory, config, trials, references, best, seconds):
    """Writes results.json, results.md and slope_search.png into `directory`; returns the
    text of results.md (the table, the best slope and the budget)."""
    directory = Path(directory)
    table = format_table(config, trials, references, best)
    steps = next((r.steps for r in references.values() if r.steps is not None), None)
    budget = (f"Budget: {len(trials)} trials ({config.tuner} search, slopes in "
              f"[{config.slope_min:g}, {config.slope_max:g}]) and {len(references)} references, "
              f"{config.executions_per_trial} execution(s) each, of {config.epochs} epochs"
              + ("" if steps is None else
                 f" ({steps} steps of {config.global_batch_size} images in all)")
              + f" on {config.dataset}; "
              f"{format_duration(seconds)} of wall time in this invocation.")
    write_text(directory / TABLE_FILE, f"{table}\n\n{budget}\n")
    write_json(directory / RESULTS_FILE, {
        "objective": config.objective,
        "trials": [dataclasses.asdict(trial) for trial in trials],
        "references": {a: dataclasses.asdict(r) for a, r in references.items()},
        "best": None if best is None else dataclasses.asdict(best),
        "seconds": seconds,
    })
    plot(directory / PLOT_FILE, config, trials, references, best)
    return f"{table}\n\n{budget}"
