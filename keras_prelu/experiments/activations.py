"""Experiment 2, Table 2: the 14-layer model with ReLU, LReLU (a = 0.25), channel-shared
and channel-wise PReLU, trained alike (same epochs, schedule and seeds).

Each activation is trained once per seed; a seed fixes the initial weights' draws and the
data order, so the runs of one seed are paired and the differences to the first
activation (ReLU) are taken seed by seed.
"""

import dataclasses
from pathlib import Path

from keras_prelu import paper, plotting
from keras_prelu.experiments import common
from keras_prelu.settings import setting
from keras_prelu.zoo.options import ACTIVATIONS
from keras_prelu.zoo.registry import CardTable

NAME = "activations"
KIND = "training"  # of its jobs, for the time estimates (common.Progress)
TITLE = "Activations (Table 2)"
LABELS = {"relu": "ReLU", "lrelu": "LReLU (a = 0.25)", "prelu_shared": "PReLU, channel-shared",
          "prelu": "PReLU, channel-wise"}
PRELU = ("prelu_shared", "prelu")
# Table 2's rows (ImageNet val top-1 error, 10-view) by the activation that gives them.
TABLE2 = {activation: next(e.top1 for e in paper.ERRORS["small14"] if e.setting == label)
          for activation, label in LABELS.items()}


@dataclasses.dataclass(frozen=True)
class Settings(common.TrainedExperiment):
    """The training settings every run shares and the activations compared."""

    ARM_FIELDS = ("activation",)

    activations: tuple[str, ...] = setting(
        ("relu", "lrelu", "prelu_shared", "prelu"),
        f"the activations compared, among {ACTIVATIONS}; differences are to the first")

    def __post_init__(self):
        super().__post_init__()
        common.check_choices("activations", self.activations, ACTIVATIONS)
        if len(self.activations) < 2 or len(self.seeds) < 2:
            raise ValueError("The comparison needs at least 2 activations and 2 seeds (a "
                             f"spread), got {self.activations} and seeds {self.seeds}.")

    def quick(self):
        """`TrainedExperiment.quick`, with the baseline and the PReLU variants only (those
        the slopes experiment reads)."""
        kept = (self.activations[0], *(a for a in self.activations[1:] if a in PRELU))
        return super().quick().replace(activations=kept)

    def arms(self):
        """One `Arm` per seed and activation (all activations of a seed, then the next)."""
        return common.activation_arms(self)


describe = common.describe_activation_arms
prepare = common.prepare_trained
plan = common.plan_trained


def run(settings, data, context):
    """Trains (or measures) everything; returns the results' measurements (JSON-compatible)."""
    runs = common.train_arms(NAME, settings, data, context)
    return {"runs": runs, **common.run_facts(runs)}


def derive(results):
    """What the results JSON states beside the runs: their `summarise`."""
    return {"summary": summarise(results["runs"], tuple(results["settings"]["activations"]))}


def summarise(runs, activations):
    """Per activation: the test errors by seed, mean and std; paired differences to the
    first activation; whether each difference exceeds the seed-to-seed spread (its mean
    larger than the std of the errors of either activation)."""
    errors = {a: {r["seed"]: r["test_top1_error"] for r in runs if r["activation"] == a}
              for a in activations}
    baseline = activations[0]
    seeds = sorted(errors[baseline])
    summary = {"baseline": baseline, "seeds": seeds, "activations": {}}
    for activation in activations:
        values = [errors[activation][seed] for seed in seeds]
        mean, std = common.mean_std(values)
        entry = {"errors": values, "mean": mean, "std": std}
        if activation != baseline:
            difference = common.paired(
                [errors[activation][seed] - errors[baseline][seed] for seed in seeds])
            spread = max(std, summary["activations"][baseline]["std"])
            entry["difference"] = {**difference, "spread": spread,
                                   "exceeds_spread": abs(difference["mean"]) > spread}
        summary["activations"][activation] = entry
    return summary


def _points(value):
    return f"{100 * value:+.2f}"


def figures(results):
    """The file names of the PNGs `plot` draws for `results`."""
    return ["activations.png"]


def plot(results, folder):
    """Draws `figures(results)` into `folder` from the results alone; returns their paths."""
    summary = results["summary"]
    activations = list(summary["activations"])
    baseline = summary["baseline"]
    return [plotting.seed_comparison(
        [LABELS[a] for a in activations],
        [[100 * e for e in summary["activations"][a]["errors"]] for a in activations],
        Path(folder) / figures(results)[0],
        reference=[TABLE2.get(a) for a in activations],
        title="Table 2: the 14-layer model with ReLU, LReLU and PReLU",
        xlabel="activation", ylabel=f"{results['data']['dataset']} test top-1 error (%)",
        reference_label="Table 2 (ImageNet val, 10-view)",
        baseline=activations.index(baseline))]


def report(results, links):
    """The experiment's part of the README's Reproduction block (Markdown lines); `links`
    maps each figure's file name to its link from the README."""
    s = results["settings"]
    summary = results["summary"]
    baseline = summary["baseline"]
    base_paper = TABLE2.get(baseline)
    rows = ["| activation | test top-1 error (%), per seed | mean +- std | paired difference "
            "to ReLU (points) | Table 2 top-1 (%) | Table 2 difference |",
            "| --- | --- | ---: | ---: | ---: | ---: |"]
    for activation, entry in summary["activations"].items():
        difference = entry.get("difference")
        ours = ("" if difference is None else
                f"{_points(difference['mean'])} +- {100 * difference['std']:.2f}")
        theirs = TABLE2.get(activation)
        rows.append(
            f"| {LABELS[activation]} | {', '.join(f'{100 * e:.2f}' for e in entry['errors'])} | "
            f"{100 * entry['mean']:.2f} +- {100 * entry['std']:.2f} | {ours} | "
            f"{'-' if theirs is None else theirs} | "
            f"{'' if difference is None or theirs is None else f'{theirs - base_paper:+.2f}'} |")
    return [
        f"**Setup.** {s['model']} with the small stem, width {s['width']:g}, fc "
        f"{s['fc_units']}, He initialisation (Eqn 14, with each rectifier's initial slope), "
        f"fc stds 0.01/0.01/0.001; {s['epochs']} epochs of {s['steps_per_epoch']} steps of "
        f"{s['global_batch_size']} images, learning rates {list(s['learning_rates'])} switched "
        f"at epochs {list(s['switch_epochs'])}, momentum {s['momentum']:g}, weight decay "
        f"{s['weight_decay']:g}, dropout {s['dropout']:g}; seeds {s['seeds']}; "
        f"{common.data_sentence(results)}. Errors: the test split, one view (Table 2: 10 "
        f"views of ImageNet val). {common.time_sentence(results)}",
        "",
        *rows,
        "",
        f"![Table 2]({links['activations.png']})",
        "",
        *verdicts(summary),
    ]


def verdicts(summary):
    """One line per activation Table 2 has: the paper's difference to ReLU, ours (paired,
    over seeds), and whether ours confirms it (beyond the seed-to-seed spread)."""
    baseline = summary["baseline"]
    lines = []
    for activation, entry in summary["activations"].items():
        difference = entry.get("difference")
        if difference is None or activation not in TABLE2 or baseline not in TABLE2:
            continue
        paper_difference = TABLE2[activation] - TABLE2[baseline]
        n = difference["n"]
        ours = (f"{_points(difference['mean'])} +- {100 * difference['std']:.2f} points, lower in "
                f"{difference['negative']} of {n} seeds, paired t = "
                + ("undefined" if difference["t"] is None else f"{difference['t']:.2f}")
                + f"; seed-to-seed std up to {100 * difference['spread']:.2f} points")
        if abs(paper_difference) < 0.1:  # LReLU: "about the same" (Table 2)
            matches = not difference["exceeds_spread"]
            claim = f"about ReLU's error ({paper_difference:+.2f} points)"
        else:
            matches = difference["mean"] < 0 and difference["exceeds_spread"]
            claim = f"{paper_difference:+.2f} points against ReLU"
        verdict = ("Matches" if matches else
                   "Lower, but within the seed-to-seed spread: does not confirm it"
                   if difference["mean"] < 0 and abs(paper_difference) >= 0.1
                   else "Does not match")
        lines.append(f"- **{LABELS[activation]}**: paper {claim}; here {ours}. "
                     f"**{verdict}.**")
    return lines


def card_tables(results):
    """{model: [CardTable]}: the measured tables for the model cards (`keras_prelu.zoo.cards`)."""
    s = results["settings"]
    summary = results["summary"]
    rows = tuple(
        (LABELS[a], f"{100 * e['mean']:.2f} +- {100 * e['std']:.2f}", len(e["errors"]),
         "" if "difference" not in e else _points(e["difference"]["mean"]))
        for a, e in summary["activations"].items())
    return {s["model"]: [CardTable(
        f"Table 2 on {results['data']['dataset']} (width {s['width']:g}, small stem, "
        f"{s['epochs']} x {s['steps_per_epoch']} steps; results/activations.json)",
        ("activation", "test top-1 error (%), mean +- std", "seeds",
         "paired difference to ReLU (points)"), rows)]}
