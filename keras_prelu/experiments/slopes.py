"""Experiment 3, Table 1: the learned PReLU slopes per layer, from experiment 2's runs of
both PReLU variants, beside the paper's, and whether Table 1's pattern holds.

No training and no settings of its own: it reads experiment 2's results.
"""

import dataclasses
import os
from pathlib import Path

from keras_prelu import paper, plotting
from keras_prelu.experiments import activations, common
from keras_prelu.settings import Settings as SettingsBase
from keras_prelu.zoo.registry import CardTable

NAME = "slopes"
KIND = "measurement"  # of its jobs, for the time estimates (common.Progress)
TITLE = "Learned coefficients (Table 1)"
SOURCE = "activations"
SOURCES = (SOURCE,)  # the experiments whose results it reads
VARIANTS = dict(zip(activations.PRELU, (0, 1), strict=True))  # Table 1's columns
LABELS = {"prelu_shared": "channel-shared", "prelu": "channel-wise (mean over channels)"}
CHECKS = {
    "conv1_largest": "conv1 has the largest slope of the layer groups (conv1, conv2_x, "
                     "conv3_x, fc)",
    "deeper_smaller": "the conv3_x slopes are smaller than the conv2_x ones (means)",
    "fc_smallest": "the fc slopes are the smallest group (means)",
    "wise_above_shared_deep": "channel-wise slopes are above channel-shared in conv3_x (means)",
}


@dataclasses.dataclass(frozen=True)
class Settings(SettingsBase):
    """None: the slopes are those of experiment 2's runs."""


def describe(settings):
    """What the experiment does, for its progress line."""
    return f"the slopes of {SOURCE}'s PReLU runs, no training"


def prepare(settings, runs_dir):
    return None


def plan(settings, data):
    return 0


def _group(layer):
    """conv1, conv2, conv3, ... or fc: a layer's stage (Table 1's rows)."""
    return "fc" if layer.startswith("fc") else layer.split("_")[0]


def _group_means(values):
    groups = {}
    for layer, value in values.items():
        groups.setdefault(_group(layer), []).append(value)
    return {group: sum(v) / len(v) for group, v in groups.items()}


def pattern(shared, wise):
    """Table 1's pattern on per-layer slopes {layer: value} of both variants, on the means
    of the layer groups conv1, conv2_x, conv3_x, fc.

    Returns:
        {check: {"channel-shared": bool, "channel-wise": bool}} for the checks on each
        variant (`conv1_largest`, `deeper_smaller`, `fc_smallest`), and
        {"wise_above_shared_deep": bool}.
    """
    result = {}
    for label, values in (("channel-shared", shared), ("channel-wise", wise)):
        means = _group_means(values)
        others = [v for group, v in means.items() if group != "conv1"]
        result.setdefault("conv1_largest", {})[label] = means["conv1"] > max(others)
        result.setdefault("deeper_smaller", {})[label] = means["conv3"] < means["conv2"]
        rest = [v for group, v in means.items() if group != "fc"]
        result.setdefault("fc_smallest", {})[label] = means["fc"] < min(rest)
    result["wise_above_shared_deep"] = (_group_means(wise)["conv3"]
                                        > _group_means(shared)["conv3"])
    return result


def run(settings, data, context):
    """Copies the PReLU runs' learned slopes out of the activations' results."""
    source = context.results.get(SOURCE)
    if source is None:
        raise ValueError(f"The slopes experiment reads the results of {SOURCE}: run it first.")
    runs = [{"activation": r["activation"], "seed": r["seed"],
             "slopes": [[layer, slope] for layer, _, slope in r["slopes"]]}
            for r in source["runs"] if r["activation"] in VARIANTS]
    missing = set(VARIANTS) - {r["activation"] for r in runs}
    if missing:
        raise ValueError(f"{SOURCE} has no {sorted(missing)} runs: train both PReLU variants.")
    return {"model": source["settings"]["model"], "runs": runs,
            "source_settings": source["settings"], "wall_time_s": 0.0, "load_average": None,
            "cpus": os.cpu_count()}


def derive(results):
    """Per variant and layer: mean and std over seeds of the learned slope (mean over
    channels for channel-wise), Table 1's value, and the pattern's checks on both."""
    layers, ours = None, {}
    for variant in VARIANTS:
        per_layer = {}
        for record in (r for r in results["runs"] if r["activation"] == variant):
            for layer, slope in record["slopes"]:
                per_layer.setdefault(layer, []).append(slope)
        layers = list(per_layer)
        ours[variant] = {layer: dict(zip(("mean", "std"), common.mean_std(values),
                                         strict=True)) | {"seeds": len(values)}
                         for layer, values in per_layer.items()}
    table1 = {variant: {layer: slopes[column] for layer, slopes in paper.TABLE1_SLOPES.items()}
              for variant, column in VARIANTS.items()}
    means = {variant: {layer: v["mean"] for layer, v in ours[variant].items()}
             for variant in VARIANTS}
    return {"summary": {
        "layers": layers,
        "ours": ours,
        "table1": table1,
        "pattern": pattern(means["prelu_shared"], means["prelu"]),
        "table1_pattern": pattern(table1["prelu_shared"], table1["prelu"]),
    }}


def figures(results):
    """The file names of the PNGs `plot` draws for `results`."""
    return ["slopes.png"]


def plot(results, folder):
    """Draws `figures(results)` into `folder` from the results alone; returns their paths."""
    summary = results["summary"]
    layers = summary["layers"]
    panels = []
    for variant in VARIANTS:
        ours = summary["ours"][variant]
        panels.append(plotting.Panel(LABELS[variant], (
            plotting.Curve(f"ours: mean +- std over {ours[layers[0]]['seeds']} seeds", None,
                           [ours[layer]["mean"] for layer in layers], "C0",
                           yerr=[ours[layer]["std"] for layer in layers]),
            plotting.Curve("Table 1 (ImageNet)", None,
                           [summary["table1"][variant].get(layer) for layer in layers], "C3",
                           marker="D", linestyle="--")),
            hlines=((paper.PRELU_INITIAL_SLOPE, f"initial slope {paper.PRELU_INITIAL_SLOPE}"),),
            xticklabels=tuple(layers)))
    return [plotting.curve_panels(
        panels, Path(folder) / figures(results)[0],
        title=f"Table 1: learned PReLU slopes of {results['model']}, ours beside the paper's",
        xlabel="layer (input to output)", ylabel="learned slope a (dimensionless)",
        ncols=2, sharey=True)]


def _row(label, values):
    return f"| {label} | " + " | ".join(values) + " |"


def report(results, links):
    """The experiment's part of the README's Reproduction block (Markdown lines); `links`
    maps each figure's file name to its link from the README."""
    summary = results["summary"]
    layers = summary["layers"]
    ours, table1 = summary["ours"], summary["table1"]
    s = results["source_settings"]
    rows = ["| layer | channel-shared: ours | Table 1 | channel-wise: ours | Table 1 |",
            "| --- | ---: | ---: | ---: | ---: |"]
    for layer in layers:
        cells = []
        for variant in VARIANTS:
            mine = ours[variant][layer]
            cells += [f"{mine['mean']:.3f} +- {mine['std']:.3f}",
                      f"{table1[variant].get(layer, '-')}"]
        rows.append(_row(layer, cells))
    checks = ["| Table 1's pattern | ours: shared | wise | Table 1: shared | wise |",
              "| --- | --- | --- | --- | --- |"]
    mark = {True: "yes", False: "**no**"}
    for check, text in CHECKS.items():
        mine, theirs = summary["pattern"][check], summary["table1_pattern"][check]
        if isinstance(mine, bool):
            checks.append(_row(text, [mark[mine], "", mark[theirs], ""]))
        else:
            checks.append(_row(text, [mark[mine["channel-shared"]], mark[mine["channel-wise"]],
                                      mark[theirs["channel-shared"]],
                                      mark[theirs["channel-wise"]]]))
    held = [_flatten(summary["pattern"][c]) for c in CHECKS]
    return [
        f"**Setup.** The slopes of experiment 2's {s['model']} runs (width {s['width']:g}, "
        f"small stem: its conv1 is 3x3 at stride 1, Table 1's 7x7 at stride 2), mean +- std "
        f"over seeds {s['seeds']}; the channel-wise value of a run is its mean over channels, "
        "as in Table 1.",
        "",
        *rows,
        "",
        *checks,
        "",
        f"![Table 1]({links['slopes.png']})",
        "",
        f"- **Verdict**: {sum(all(h) for h in held)} of {len(CHECKS)} checks of Table 1's "
        "pattern hold for both variants here (all hold on Table 1's own values). "
        f"**{'Matches' if all(all(h) for h in held) else 'Does not fully match'} the paper.**",
    ]


def _flatten(check):
    return [check] if isinstance(check, bool) else list(check.values())


def card_tables(results):
    """{model: [CardTable]}: the measured tables for the model cards (`keras_prelu.zoo.cards`)."""
    summary = results["summary"]
    rows = tuple((layer, *(f"{summary['ours'][v][layer]['mean']:.3f}" for v in VARIANTS))
                 for layer in summary["layers"])
    s = results["source_settings"]
    return {results["model"]: [CardTable(
        f"Learned slopes on {s['dataset']} (mean over seeds {s['seeds']}; width "
        f"{s['width']:g}; results/slopes.json)",
        ("layer", "channel-shared", "channel-wise (mean)"), rows)]}
