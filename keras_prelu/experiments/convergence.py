"""Experiment 4, Figure 4: model A with ReLU and with channel-wise PReLU, trained alike;
the training and validation error per epoch ("PReLU converges faster than ReLU ... lower
train error and val error than ReLU throughout the training procedure", Sec. 4).
"""

import dataclasses
from pathlib import Path

from keras_prelu import paper, plotting
from keras_prelu.experiments import common
from keras_prelu.experiments.initialisation import passes
from keras_prelu.settings import setting
from keras_prelu.zoo.options import ACTIVATIONS
from keras_prelu.zoo.registry import CardTable

NAME = "convergence"
KIND = "training"  # of its jobs, for the time estimates (common.Progress)
TITLE = "Convergence (Figure 4)"
LABELS = {"relu": "ReLU", "prelu": "PReLU", "prelu_shared": "PReLU, channel-shared",
          "lrelu": "LReLU"}
COLORS = {"relu": "C3", "prelu": "C0", "prelu_shared": "C2", "lrelu": "C1"}  # Figure 4: red, blue
# Table 5 (model A, 10-view top-1): the paper's final errors beside ours.
TABLE5 = {activation: next(e.top1 for e in paper.ERRORS["model_a"]
                           if e.setting == LABELS[activation] and e.source.startswith("Table 5"))
          for activation in ("relu", "prelu")}


@dataclasses.dataclass(frozen=True)
class Settings(common.TrainedExperiment):
    """The training settings both runs share and the activations compared."""

    ARM_FIELDS = ("activation",)

    activations: tuple[str, ...] = setting(
        ("relu", "prelu"), f"the activations compared, among {ACTIVATIONS}; the first is the "
        "baseline")

    def __post_init__(self):
        super().__post_init__()
        common.check_choices("activations", self.activations, ACTIVATIONS)
        if len(self.activations) < 2:
            raise ValueError(f"The comparison needs 2 activations, got {self.activations}.")

    def arms(self):
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
    """Per activation and seed: the final test error; per other activation and seed, in how
    many epochs its training and validation errors are below the baseline's."""
    baseline = activations[0]
    by = {(r["activation"], r["seed"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    summary = {"baseline": baseline, "seeds": seeds, "activations": {}}
    for activation in activations:
        entry = {"test_top1_error": [by[activation, s]["test_top1_error"] for s in seeds]}
        if activation != baseline:
            for column in ("top1_error", "val_top1_error"):
                below = [sum(ours < theirs for ours, theirs in zip(
                    by[activation, s]["history"][column], by[baseline, s]["history"][column],
                    strict=True)) for s in seeds]
                entry[f"epochs_{column}_below"] = below
            entry["epochs"] = len(by[activation, seeds[0]]["history"]["epoch"])
        summary["activations"][activation] = entry
    return summary


def figures(results):
    """The file names of the PNGs `plot` draws for `results`."""
    return ["convergence.png"]


def plot(results, folder):
    """Draws `figures(results)` into `folder` from the results alone; returns their paths."""
    batch = results["settings"]["global_batch_size"]
    curves = []
    for record in results["runs"]:
        activation = record["activation"]
        x = passes(record["history"], record["steps"], batch, results["data"]["train"])
        label = f"{LABELS[activation]}, seed {record['seed']}"
        curves += [
            plotting.Curve(f"{label}: training (running mean over the epoch)", x,
                           [100 * e for e in record["history"]["top1_error"]],
                           COLORS[activation], linestyle=":", marker=None),
            plotting.Curve(f"{label}: validation", x,
                           [100 * e for e in record["history"]["val_top1_error"]],
                           COLORS[activation])]
    return [plotting.curve_panels(
        [plotting.Panel(f"{results['settings']['model']} on {results['data']['dataset']}",
                        tuple(curves))],
        Path(folder) / figures(results)[0],
        title="Figure 4: convergence of ReLU (red) and PReLU (blue), model A scaled down",
        xlabel="passes over the training images (epochs)", ylabel="top-1 error (%)")]


def report(results, links):
    """The experiment's part of the README's Reproduction block (Markdown lines); `links`
    maps each figure's file name to its link from the README."""
    s = results["settings"]
    summary = results["summary"]
    rows = ["| activation | seed | test top-1 error (%) | epochs with lower training error | "
            "epochs with lower validation error | Table 5 top-1 (%) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for activation, entry in summary["activations"].items():
        for i, seed in enumerate(summary["seeds"]):
            below = ["" if f"epochs_{column}_below" not in entry else
                     f"{entry[f'epochs_{column}_below'][i]} of {entry['epochs']}"
                     for column in ("top1_error", "val_top1_error")]
            rows.append(
                f"| {LABELS[activation]} | {seed} | {100 * entry['test_top1_error'][i]:.2f} | "
                f"{below[0]} | {below[1]} | {TABLE5.get(activation, '-')} |")
    return [
        f"**Setup.** {s['model']} with the small stem, width {s['width']:g}, spp "
        f"{list(s['spp_levels'])}, fc {s['fc_units']}, He initialisation (Eqn 14), fc stds "
        f"0.01/0.01/0.001; {s['epochs']} epochs of {s['steps_per_epoch']} steps of "
        f"{s['global_batch_size']} images, learning rates {list(s['learning_rates'])} switched "
        f"at epochs {list(s['switch_epochs'])}, momentum {s['momentum']:g}, weight decay "
        f"{s['weight_decay']:g}, dropout {s['dropout']:g}; seeds {s['seeds']}; "
        f"{common.data_sentence(results)}. Validation error: the held-out images after each "
        f"epoch (Figure 4: ImageNet val, centre crops). {common.time_sentence(results)}",
        "",
        *rows,
        "",
        f"![Figure 4]({links['convergence.png']})",
        "",
        *verdicts(summary),
    ]


def verdicts(summary):
    """One line per activation against the baseline: Figure 4's finding (lower training
    and validation error throughout), ours, and whether they match."""
    baseline = summary["baseline"]
    lines = []
    for activation, entry in summary["activations"].items():
        if activation == baseline:
            continue
        epochs = entry["epochs"]
        throughout = all(b == epochs for b in entry["epochs_top1_error_below"]
                         + entry["epochs_val_top1_error_below"])
        lower = all(ours < theirs for ours, theirs in zip(
            entry["test_top1_error"], summary["activations"][baseline]["test_top1_error"],
            strict=True))
        verdict = ("Matches" if throughout and lower else
                   "Partly matches" if lower else "Does not match")
        lines.append(
            f"- **{LABELS[activation]} vs {LABELS[baseline]}**: paper (Figure 4): lower training "
            f"and validation error throughout, {TABLE5['prelu'] - TABLE5['relu']:+.2f} points "
            f"top-1 at the end (Table 5). Here: lower training error in "
            f"{_of(entry['epochs_top1_error_below'], epochs)}, lower validation error in "
            f"{_of(entry['epochs_val_top1_error_below'], epochs)} epochs; test error "
            f"{'lower' if lower else 'not lower'} "
            f"({_differences(entry, summary['activations'][baseline])} points). "
            f"**{verdict} the paper.**")
    return lines


def _of(counts, epochs):
    return ", ".join(f"{c} of {epochs}" for c in counts)


def _differences(entry, base):
    return ", ".join(f"{100 * (a - b):+.2f}" for a, b in zip(
        entry["test_top1_error"], base["test_top1_error"], strict=True))


def card_tables(results):
    """{model: [CardTable]}: the measured tables for the model cards (`keras_prelu.zoo.cards`)."""
    s = results["settings"]
    summary = results["summary"]
    rows = tuple((LABELS[a], ", ".join(f"{100 * e:.2f}" for e in entry["test_top1_error"]))
                 for a, entry in summary["activations"].items())
    return {s["model"]: [CardTable(
        f"Figure 4 on {results['data']['dataset']} (width {s['width']:g}, small stem, "
        f"{s['epochs']} x {s['steps_per_epoch']} steps; results/convergence.json)",
        ("activation", f"test top-1 error (%), seeds {summary['seeds']}"), rows)]}
