"""Model cards: one Markdown page per zoo model, written from the code and its records.

    python -m keras_prelu.zoo.cards zoo    # what `make cards` runs

writes `zoo/<name>.md` for every registered model and `zoo/README.md`, an index. Each
card holds the architecture table at 224 x 224 (from the built model), the depth,
multiply-adds beside Table 3's figure, exact parameter counts, the minimum input size,
the paper's reported errors, the extras of the model's `ModelRecord` (other builds,
tables, its family) and our measured results: the tables the reproduction's experiments
make of their results JSON (`results/`, `keras_prelu.experiments.card_tables`), a family
member's (plain22) on its family's card. A test regenerates the cards and fails when a
committed one is stale.
"""

import argparse
import inspect
import pathlib

import keras

from keras_prelu import paper
from keras_prelu.layers import PReLU, SpatialPyramidPooling
from keras_prelu.zoo.complexity import complexity
from keras_prelu.zoo.registry import get, names, record
from keras_prelu.zoo.shapes import chain, min_input_size, output_shapes

SIZE = (224, 224, 3)
# The reproduction's committed results (`make reproduce`), read for the measured tables.
RESULTS = pathlib.Path(__file__).resolve().parents[2] / "results"
HEADER = "<!-- Written by `make cards` (python -m keras_prelu.zoo.cards zoo); do not edit. -->"
# The activations whose parameter counts a card states (LReLU's are ReLU's).
COUNTED = ("relu", "prelu", "prelu_shared")
ACTIVATION_NAMES = {
    "relu": "ReLU",
    "lrelu": "LReLU",
    "prelu": "channel-wise PReLU",
    "prelu_shared": "channel-shared PReLU",
}


def _size(shape):
    return "×".join(str(side) for side in shape[1:])


def _describe(layer):
    """Type and configuration of a layer for the architecture table, or None to skip it."""
    if isinstance(layer, keras.layers.Conv2D):
        (kernel, _), (stride, _) = layer.kernel_size, layer.strides
        stride = f", /{stride}" if stride > 1 else ""
        return f"conv {kernel}×{kernel}, {layer.filters}{stride}, {layer.padding} padding"
    if isinstance(layer, keras.layers.MaxPooling2D):
        return f"max pool {layer.pool_size[0]}×{layer.pool_size[1]}, /{layer.strides[0]}"
    if isinstance(layer, SpatialPyramidPooling):
        return "spp {" + ", ".join(map(str, layer.levels)) + "}"
    if isinstance(layer, keras.layers.Dense):
        activation = keras.activations.serialize(layer.activation)
        return f"fc {layer.units}" + ("" if activation == "linear" else f", {activation}")
    if isinstance(layer, keras.layers.ZeroPadding2D):
        (top, bottom), (left, right) = layer.padding
        return f"zero padding: top {top}, bottom {bottom}, left {left}, right {right}"
    if isinstance(layer, keras.layers.Flatten):
        return "flatten"
    return None


def _architecture(model, cost):
    layers = chain(model)
    costs = {layer.name: layer for layer in cost.layers}
    rows = [
        "| layer | type | output | multiply-adds | parameters |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for layer, shape in zip(layers, output_shapes(layers, SIZE), strict=True):
        description = _describe(layer)
        if description is None:
            continue
        weighted = costs.get(layer.name)
        macs, params = (f"{weighted.macs:,}", f"{weighted.params:,}") if weighted else ("", "")
        rows.append(f"| {layer.name} | {description} | {_size(shape)} | {macs} | {params} |")
    return rows


def _summary(model_record, model, cost):
    name = model_record.name
    rows = ["| | ours | paper |", "| --- | --- | --- |"]
    rows.append(f"| depth (conv + fc) | {cost.depth} | {model_record.depth} |")
    reported = model_record.complexity
    if reported is None:
        figure = "not reported"
    else:
        figure = f"{reported / 1e10:.2f}e10 (Table 3); ours {cost.macs / reported - 1:+.1%}"
    rows += [
        f"| multiply-adds at 224×224, conv + fc | {cost.macs / 1e10:.3f}e10 | {figure} |",
        f"| multiply-adds at 224×224, conv only | {cost.conv_macs / 1e10:.3f}e10 | |",
    ]
    for activation in COUNTED:
        built = model if activation == model_record.activation else get(name, activation=activation)
        slopes = sum(layer.count_params() for layer in built.layers if isinstance(layer, PReLU))
        label = f"parameters, {activation}" + (
            " (default)" if activation == model_record.activation else ""
        )
        count = f"{built.count_params():,}" + (f" (+{slopes:,} slopes)" if slopes else "")
        rows.append(f"| {label} | {count} | |")
    for variant in model_record.card_variants:
        built = get(name, **variant.arguments)
        rows.append(
            f"| {variant.label}, at 224×224 | "
            f"{complexity(built, SIZE).macs / 1e10:.3f}e10 multiply-adds, "
            f"{built.count_params():,} parameters | |"
        )
    small = get(name, stem="small")
    rows.append(
        f"| minimum input | {min_input_size(chain(model))} px; "
        f'stem="small": {min_input_size(chain(small))} px | |'
    )
    return rows


def _table(table):
    return [
        f"## {table.title}",
        "",
        "| " + " | ".join(table.columns) + " |",
        "| --- |" + " ---: |" * (len(table.columns) - 1),
        *("| " + " | ".join(map(str, row)) + " |" for row in table.rows),
        "",
    ]


def _family(model_record):
    """The sentence on the model's family, or None."""
    if model_record.family is None:
        return None
    builder = model_record.builder
    parameter = next(iter(inspect.signature(builder).parameters))
    summary = inspect.getdoc(builder).split("\n\n")[0].replace("\n", " ")
    return (
        f'The {model_record.family} family: `keras_prelu.zoo.get("{model_record.family}'
        f'<{parameter}>")` is `{builder.__name__}({parameter})`, {summary[0].lower()}'
        f"{summary[1:]}"
    )


def _defaults(model_record):
    fc = paper.SMALL_FC_STDS
    return (
        f"Defaults: {ACTIVATION_NAMES[model_record.activation]}, He initialisation (Eqn 14) "
        f"of the convs, fc1 and fc2 drawn with std {fc['fc1']} and fc3 with {fc['fc3']} "
        "(Sec. 2.2), any input size from the minimum up."
    )


def render(model_record, model, cost, measured=()):
    """The Markdown card of a registered model.

    Args:
        model_record: its `ModelRecord`.
        model: the model built with its defaults (`get(name)`).
        cost: `complexity(model, (224, 224, 3))`.
        measured: `CardTable`s of our measured results for the model.

    Returns:
        The card's Markdown text.
    """
    name = model_record.name
    lines = [
        f"# {name}",
        "",
        HEADER,
        "",
        f"{model_record.source}. Build it with `keras_prelu.zoo.get({name!r})`; every "
        "conv and fc1, fc2 is followed by its rectifier (`<layer>_act`), fc1 and fc2 by "
        f"dropout. {_defaults(model_record)}",
        "",
    ]
    family = _family(model_record)
    if family is not None:
        lines += [family, ""]
    lines += [
        "## Summary",
        "",
        *_summary(model_record, model, cost),
        "",
        "## Architecture at 224×224×3",
        "",
        *_architecture(model, cost),
        "",
    ]
    for table in model_record.card_tables:
        lines += _table(table)
    lines += [
        "## Reported errors (ImageNet 2012 val, %)",
        "",
        "| setting | top-1 | top-5 | source |",
        "| --- | ---: | ---: | --- |",
        *(
            f"| {e.setting} | {'-' if e.top1 is None else e.top1} | {e.top5} | {e.source} |"
            for e in model_record.errors
        ),
        "",
        "## Our measured results",
        "",
    ]
    if not measured:
        lines.append("None yet.")
    for table in measured:
        lines += ["#" + line if line.startswith("## ") else line for line in _table(table)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _card_of(name):
    """The registered model whose card shows results of the model `name`: itself, or the
    registered model of its family (`plain22`: plain30, the plain family's card)."""
    if name in names():
        return name
    for registered in names():
        family = record(registered).family
        suffix = name.removeprefix(family) if family else name
        if family and name.startswith(family) and suffix.isascii() and suffix.isdigit():
            return registered
    return None


def measured_tables(results=RESULTS):
    """{registered model: [CardTable, ...]}: our measured results from the reproduction's
    results JSON in `results` (`keras_prelu.experiments.card_tables`) and from Table 8's
    (`keras_prelu.detection.experiment.card_tables`, `results/detection`)."""
    from keras_prelu.experiments import card_tables  # the experiments import the zoo

    measured = card_tables(results)
    if (pathlib.Path(results) / "detection").is_dir():  # the detection package needs OpenCV
        from keras_prelu.detection.experiment import card_tables as detection_tables

        for name, model_tables in detection_tables(results).items():
            measured.setdefault(name, []).extend(model_tables)
    tables = {}
    for name, model_tables in measured.items():
        card = _card_of(name)
        if card is not None:
            tables.setdefault(card, []).extend(model_tables)
    return tables


def pages(results=RESULTS):
    """Every card and the index, as {file name: Markdown text}; the measured results from
    the reproduction's results JSON in `results`."""
    measured = measured_tables(results)
    written = {}
    lines = [
        "# Model zoo",
        "",
        HEADER,
        "",
        "| model | from the paper | depth | default activation | multiply-adds at 224 | "
        "parameters |",
        "| --- | --- | ---: | --- | ---: | ---: |",
    ]
    families = []
    for name in names():
        model_record = record(name)
        model = get(name)
        cost = complexity(model, SIZE)
        written[f"{name}.md"] = render(model_record, model, cost, measured.get(name, ()))
        lines.append(
            f"| [{name}]({name}.md) | {model_record.source} | {cost.depth} | "
            f"{ACTIVATION_NAMES[model_record.activation]} | {cost.macs / 1e10:.3f}e10 | "
            f"{model.count_params():,} |"
        )
        family = _family(model_record)
        if family is not None:
            families.append(family)
    written["README.md"] = "\n".join([*lines, "", *families]).rstrip("\n") + "\n"
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=pathlib.Path, help="where to write the cards")
    parser.add_argument("--results", type=pathlib.Path, default=RESULTS,
                        help="the reproduction's results JSON (default: %(default)s)")
    args = parser.parse_args(argv)
    folder = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    # Cards need shapes and counts, not weights: build without drawing them (model C
    # alone has 3e8). The variables stay uninitialised; this process ends right after.
    with keras.StatelessScope(initialize_variables=False):
        written = pages(args.results)
    for filename, text in written.items():
        (folder / filename).write_text(text, encoding="utf-8")
        print(folder / filename)


if __name__ == "__main__":
    main()
