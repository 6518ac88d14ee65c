"""Figures of training runs: learning curves, learned slopes, predictions, confusions; and
the reproduction's figures (`curve_panels`: lines per panel; `seed_comparison`: settings
over seeds beside a reference).

matplotlib is an optional dependency (the `plots` extra: `pip install keras-prelu[plots]`);
it is imported at the first call, so the rest of the package works without it. Figures are
drawn with matplotlib's object API on an Agg canvas, the non-interactive PNG backend: no
pyplot, so no global backend switch, no window and no open figure left behind.

Every figure shares one style (`new_figure`, `save`): 8 inches wide at 150 dpi, 1200 px,
so 10-point text is about 14 px tall when the README shows it 800 px wide. Recipes add
their own plots with the same two helpers.

Example:

>>> from keras_prelu import plotting
>>> plotting.learning_curves("runs/demo-fashion_mnist/history.csv", "curves.png",
...                          title="plain9 on Fashion-MNIST")
PosixPath('curves.png')
"""

import csv
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from keras_prelu import paper

WIDTH = 8.0  # inches
DPI = 150
FONT_SIZE = 10  # points
MISTAKE_COLOR = "#d62728"  # matplotlib's red
HISTORY_COLUMNS = ("loss", "top1_error", "val_top1_error", "learning_rate")


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "keras_prelu.plotting needs matplotlib: pip install matplotlib (or the package's "
            "`plots` extra, pip install 'keras-prelu[plots]')."
        ) from None
    return Figure, FigureCanvasAgg


def new_figure(*, title, height=4.5, nrows=1, ncols=1, **subplots):
    """A figure in the module's style, on an Agg canvas, with a grid of axes.

    Args:
        title: The figure's title (`suptitle`).
        height: Height in inches; the width is `WIDTH`.
        nrows: Rows of axes.
        ncols: Columns of axes.
        **subplots: Passed to `Figure.subplots` (e.g. `sharey=True`).

    Returns:
        (figure, axes): axes as `Figure.subplots` returns them.

    Raises:
        ImportError: matplotlib is not installed.

    Example:

    >>> figure, axes = new_figure(title="error against slope")
    >>> axes.plot([0.1, 0.25], [7.9, 7.7], label="top-1")
    >>> save(figure, "tuning.png")
    """
    figure_class, canvas_class = _matplotlib()
    figure = figure_class(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    canvas_class(figure)
    figure.suptitle(title, fontsize=FONT_SIZE + 2)
    axes = figure.subplots(nrows, ncols, **subplots)
    for ax in np.ravel(axes):
        ax.tick_params(labelsize=FONT_SIZE - 1)
        ax.xaxis.label.set_size(FONT_SIZE)
        ax.yaxis.label.set_size(FONT_SIZE)
        ax.title.set_size(FONT_SIZE)
    return figure, axes


def save(figure, path):
    """Writes `figure` as a PNG of exactly its size (`WIDTH` x height inches at `DPI`).

    Args:
        figure: A figure from `new_figure`.
        path: Where to write; must end in ".png". Missing parent folders are created.

    Returns:
        The path, as a `pathlib.Path`.

    Raises:
        ValueError: `path` does not end in ".png".

    Example:

    >>> save(new_figure(title="empty")[0], "empty.png")
    PosixPath('empty.png')
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"The figures are PNG files; give a path ending in .png, got {path}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI)
    figure.clear()
    return path


def read_history(history):
    """The per-epoch training logs as a dict of float arrays, checked.

    Args:
        history: The dict of per-epoch lists the training writes to `history.csv`
            (`loss`, `top1_error`, `val_top1_error`, `learning_rate` needed; `epoch`,
            counted from 0 as in history.csv, defaults to 0, 1, ...), or the path of
            that CSV file.

    Returns:
        {column: float array} with an `epoch` column.

    Raises:
        FileNotFoundError: The CSV file does not exist.
        ValueError: No epochs, a needed column is missing, the columns differ in length,
            or a value is not a number.

    Example:

    >>> read_history({"loss": [0.5], "top1_error": [0.2], "val_top1_error": [0.18],
    ...               "learning_rate": [0.01]})["epoch"]
    array([0.])
    """
    source = "history"
    if isinstance(history, (str, os.PathLike)):
        source = str(history)
        with open(history, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        history = {name: [row[name] for row in rows] for name in (rows[0] if rows else {})}
    if not history or not any(len(values) for values in history.values()):
        raise ValueError(f"{source} has no epochs to plot.")
    missing = [name for name in HISTORY_COLUMNS if name not in history]
    if missing:
        raise ValueError(f"{source} lacks the column(s) {missing}; the training's history.csv "
                         f"has {('epoch', *HISTORY_COLUMNS)}.")
    lengths = {name: len(history[name]) for name in ("epoch", *HISTORY_COLUMNS)
               if name in history}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"The columns of {source} differ in length: {lengths}.")
    columns = {}
    for name in lengths:
        try:
            columns[name] = np.asarray(history[name], dtype=float)
        except ValueError:
            raise ValueError(f"Column {name!r} of {source} holds a value that is not a "
                             f"number: {history[name]}.") from None
    columns.setdefault("epoch", np.arange(len(columns["loss"]), dtype=float))
    return columns


def learning_curves(history, path, *, title):
    """Training loss, and training and validation top-1 error, against epochs trained.

    Two panels: the loss (left) and the top-1 error in % (right). A point at x = k is the
    value at the end of the k-th epoch (the CSV's `epoch` + 1); a dashed line at x = k
    marks a new learning rate starting with the next epoch, labelled with that rate.

    Args:
        history: The training's per-epoch logs, a dict or the path of `history.csv`
            (see `read_history`).
        path: The PNG to write.
        title: The figure's title.

    Returns:
        The PNG's path.

    Raises:
        FileNotFoundError: `history` is a path that does not exist.
        ValueError: An empty or malformed history (see `read_history`), or a bad `path`.
        ImportError: matplotlib is not installed.

    Example:

    >>> learning_curves("runs/demo-fashion_mnist/history.csv", "curves.png",
    ...                 title="plain9 (PReLU) on Fashion-MNIST")
    """
    columns = read_history(history)
    trained = columns["epoch"] + 1
    figure, (loss_ax, error_ax) = new_figure(title=title, ncols=2, sharex=True)
    loss_ax.plot(trained, columns["loss"], "o-", color="C0", label="training loss")
    loss_ax.set_ylabel("loss, as trained (nats)")
    error_ax.plot(trained, 100 * columns["top1_error"], "o-", color="C0", label="training")
    error_ax.plot(trained, 100 * columns["val_top1_error"], "s-", color="C1", label="validation")
    error_ax.set_ylabel("top-1 error (%)")
    rates = columns["learning_rate"]
    switches = [i for i in range(1, len(rates)) if rates[i] != rates[i - 1]]
    for ax in (loss_ax, error_ax):
        for n, i in enumerate(switches):
            ax.axvline(trained[i] - 1, color="0.4", linestyle="--", linewidth=1,
                       label=f"new learning rate (from {rates[0]:g})" if n == 0 else None)
            ax.annotate(f"lr {rates[i]:g}", (trained[i] - 1, 1), xycoords=("data", "axes fraction"),
                        xytext=(2, -4), textcoords="offset points", ha="left", va="top",
                        rotation=90, fontsize=FONT_SIZE - 2, color="0.3",
                        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
        ax.set_xlabel("epochs trained")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=FONT_SIZE - 1)
    loss_ax.xaxis.get_major_locator().set_params(integer=True)
    return save(figure, path)


def _as_slopes(name, values):
    values = np.asarray(values, dtype=float)
    if values.ndim > 1 and values.size == max(values.shape):
        values = values.ravel()  # PReLU.alpha of a conv is (1, 1, channels)
    if values.ndim > 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(
            f"Layer {name!r}: expected its slopes as a non-empty vector of finite numbers "
            f"(one per channel, or one for channel-shared), got shape {values.shape}"
            + ("" if values.ndim > 1 or values.size == 0 else " with non-finite values") + "."
        )
    return values.reshape(-1)


def slope_distributions(slopes, path, *, reference=None, reference_label="reference", title):
    """The learned PReLU slopes of each layer, beside a reference pattern in its own panel.

    Left panel, the layers in the order given: a box plot of the channels' slopes for a
    channel-wise layer (with their mean as a diamond, the figure Table 1 reports), a point
    for a channel-shared one; the initial slope 0.25 as a dotted line. Right panel, if
    `reference` is given: its per-layer values along its own layers, on the same slope axis.
    The reference is never matched to our layers by name: two networks' `conv1` may be
    different layers (the demo's 3x3 stem against Table 1's 7x7, stride-2 conv1).

    Args:
        slopes: {layer name: that layer's slopes}, in layer order; a value is a vector
            (one slope per channel), or a single number or 1-vector (channel-shared).
        path: The PNG to write.
        reference: {layer name: slope}, in that network's layer order, e.g. Table 1's
            channel-wise means, `{name: wise for name, (shared, wise) in
            paper.TABLE1_SLOPES.items()}`.
        reference_label: What the reference is, for its panel's title and the legend.
        title: The figure's title.

    Returns:
        The PNG's path.

    Raises:
        ValueError: no layers, a layer with no slopes, non-finite slopes or a matrix of
            them, an empty reference or one whose values are not single numbers, or a bad
            `path`.
        ImportError: matplotlib is not installed.

    Example:

    >>> slopes = {layer.name.removesuffix("_act"): layer.alpha.numpy()
    ...           for layer in model.layers if isinstance(layer, PReLU)}
    >>> table1 = {name: wise for name, (shared, wise) in paper.TABLE1_SLOPES.items()}
    >>> slope_distributions(slopes, "slopes.png", reference=table1, title="plain9 slopes",
    ...                     reference_label="Table 1: 14 layers, ImageNet")
    """
    if not isinstance(slopes, Mapping) or not slopes:
        raise ValueError("slopes must map at least one layer name to its slopes.")
    values = {name: _as_slopes(name, v) for name, v in slopes.items()}
    if reference is not None:
        if not isinstance(reference, Mapping) or not reference:
            raise ValueError("reference must map at least one layer name to a slope.")
        bad = {name: v for name, v in reference.items()
               if not isinstance(v, numbers.Real) or not math.isfinite(v)}
        if bad:
            raise ValueError(
                f"reference values must be single finite numbers, got {bad}; for Table 1 pick "
                "a column: {name: wise for name, (shared, wise) in "
                "paper.TABLE1_SLOPES.items()}."
            )
    figure, axes = new_figure(title=title, ncols=1 if reference is None else 2, sharey=True,
                              width_ratios=None if reference is None else
                              (len(values) + 1, len(reference) + 1))
    ours, theirs = (axes, None) if reference is None else axes
    positions = np.arange(1, len(values) + 1)
    wise = [i for i, v in enumerate(values.values()) if v.size > 1]
    shared = [i for i, v in enumerate(values.values()) if v.size == 1]
    series = list(values.values())
    if wise:
        ours.boxplot([series[i] for i in wise], positions=positions[wise], widths=0.6,
                     flierprops={"markersize": 3}, medianprops={"color": "C0"})
        ours.plot(positions[wise], [series[i].mean() for i in wise], "D", color="C1",
                  label="channel-wise: mean over channels (box: quartiles)")
    if shared:
        ours.plot(positions[shared], [series[i][0] for i in shared], "o", color="C2",
                  label="channel-shared slope")
    ours.axhline(paper.PRELU_INITIAL_SLOPE, color="0.5", linestyle=":",
                 label=f"initial slope {paper.PRELU_INITIAL_SLOPE}")
    ours.set_xticks(positions, list(values), rotation=45, ha="right")
    ours.set_xlim(0.4, len(values) + 0.6)
    ours.set_xlabel("layer (input to output)")
    ours.set_ylabel("learned slope a (dimensionless)")
    if theirs is not None:
        ours.set_title("this network")
        ref_positions = np.arange(1, len(reference) + 1)
        theirs.plot(ref_positions, list(reference.values()), "D-", color="C3",
                    label=f"{reference_label}, per layer")
        theirs.axhline(paper.PRELU_INITIAL_SLOPE, color="0.5", linestyle=":")
        theirs.set_xticks(ref_positions, list(reference), rotation=45, ha="right")
        theirs.set_xlim(0.4, len(reference) + 0.6)
        theirs.set_xlabel("layer of the reference network (input to output)")
        theirs.set_title(f"{reference_label} (its own layers)")
        theirs.grid(axis="y", alpha=0.3)
    ours.grid(axis="y", alpha=0.3)
    handles = [h for ax in np.ravel(axes) for h in ax.get_legend_handles_labels()[0]]
    figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 2),
                  fontsize=FONT_SIZE - 1)
    return save(figure, path)


def _check_classes(labels, predictions, class_names):
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.ndim != 1 or predictions.ndim != 1:
        raise ValueError(
            f"labels and predictions must be vectors of class indices, got shapes "
            f"{labels.shape} and {predictions.shape}; for scores use scores.argmax(axis=1)."
        )
    if len(labels) != len(predictions):
        raise ValueError(f"{len(labels)} labels but {len(predictions)} predictions.")
    if not len(labels):
        raise ValueError("No examples: labels and predictions are empty.")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"{name} must be integer class indices, got {values.dtype}.")
        outside = values[(values < 0) | (values >= len(class_names))]
        if outside.size:
            raise ValueError(
                f"{name} hold classes {sorted(set(outside.tolist()))} outside "
                f"0..{len(class_names) - 1} ({len(class_names)} class names)."
            )
    return labels, predictions


def prediction_grid(images, labels, predictions, class_names, path, *, title):
    """Images with their predicted and true classes; mistakes in red, framed in red.

    Eight images a row. A correct prediction is captioned with its class; a mistake with
    the predicted class over the true one, both in red, and the image gets a red frame.

    Args:
        images: (N, H, W), (N, H, W, 1) or (N, H, W, 3) images, uint8 or floats in [0, 1].
        labels: (N,) true class indices.
        predictions: (N,) predicted class indices.
        class_names: The name of each class index.
        path: The PNG to write.
        title: The figure's title.

    Returns:
        The PNG's path.

    Raises:
        ValueError: images that are not such an array, lengths that differ, no images,
            class indices outside `class_names`, or a bad `path`.
        ImportError: matplotlib is not installed.

    Example:

    >>> (_, _), (x, y) = keras_prelu.data.load_fashion_mnist()
    >>> predicted = model.predict(x[:16] - mean).argmax(axis=1)
    >>> prediction_grid(x[:16], y[:16], predicted, CLASS_NAMES, "grid.png", title="test")
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
        raise ValueError(
            f"images must be (N, H, W), (N, H, W, 1) or (N, H, W, 3), got {images.shape}.")
    labels, predictions = _check_classes(labels, predictions, class_names)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    columns = 8
    rows = math.ceil(len(images) / columns)
    figure, axes = new_figure(title=title, height=0.6 + 1.3 * rows, nrows=rows, ncols=columns,
                              squeeze=False)
    for ax in axes.ravel()[len(images):]:
        ax.set_axis_off()
    for ax, image, label, predicted in zip(axes.ravel(), images, labels, predictions,
                                           strict=False):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None,
                  vmin=0, vmax=255 if images.dtype == np.uint8 else 1)
        ax.set_xticks([])
        ax.set_yticks([])
        wrong = label != predicted
        caption = (f"{class_names[predicted]}\n(true: {class_names[label]})" if wrong
                   else class_names[label])
        ax.set_title(caption, fontsize=FONT_SIZE - 2, color=MISTAKE_COLOR if wrong else "black")
        for spine in ax.spines.values():
            spine.set_visible(bool(wrong))
            spine.set_color(MISTAKE_COLOR)
            spine.set_linewidth(3)
    return save(figure, path)


def confusion_counts(labels, predictions, num_classes):
    """How often each true class (row) was predicted as each class (column).

    Args:
        labels: (N,) true class indices in 0..num_classes - 1.
        predictions: (N,) predicted class indices in 0..num_classes - 1.
        num_classes: Number of classes.

    Returns:
        int64 array (num_classes, num_classes); row i sums to the count of label i.

    Raises:
        ValueError: lengths that differ, no examples, or indices out of range.

    Example:

    >>> confusion_counts([0, 1, 1], [0, 0, 1], 2)
    array([[1, 0],
           [1, 1]])
    """
    labels, predictions = _check_classes(labels, predictions, range(num_classes))
    flat = labels.astype(np.int64) * num_classes + predictions
    return np.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def confusion_matrix(labels, predictions, class_names, path, *, title):
    """The confusion matrix: each cell's count, coloured by its share of the true class.

    Rows are true classes, columns predicted ones; a row's colours are its counts divided
    by the row's total (the diagonal is each class's recall). The overall top-1 error is
    in the panel's title.

    Args:
        labels: (N,) true class indices.
        predictions: (N,) predicted class indices.
        class_names: The name of each class index.
        path: The PNG to write.
        title: The figure's title.

    Returns:
        The PNG's path.

    Raises:
        ValueError: lengths that differ, no examples, class indices outside
            `class_names`, or a bad `path`.
        ImportError: matplotlib is not installed.

    Example:

    >>> confusion_matrix(y_test, predicted, CLASS_NAMES, "confusion.png", title="test set")
    """
    counts = confusion_counts(labels, predictions, len(class_names))
    totals = counts.sum(axis=1, keepdims=True)
    share = 100 * counts / np.maximum(totals, 1)
    figure, ax = new_figure(title=title, height=7.0)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=100)
    colorbar = figure.colorbar(image, ax=ax, shrink=0.8)
    colorbar.set_label("share of the true class (%)", fontsize=FONT_SIZE)
    size = max(5, FONT_SIZE - 1 - len(class_names) // 8)
    for (row, column), count in np.ndenumerate(counts):
        ax.text(column, row, str(count), ha="center", va="center", fontsize=size,
                color="white" if share[row, column] > 50 else "black")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, list(class_names), rotation=45, ha="right")
    ax.set_yticks(ticks, list(class_names))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    error = 1 - np.trace(counts) / counts.sum()
    ax.set_title(f"{counts.sum()} examples, top-1 error {100 * error:.2f}% "
                 "(numbers: counts)")
    return save(figure, path)


class Curve(NamedTuple):
    """One line of a `curve_panels` panel.

    Attributes:
        label: its legend entry.
        x: its x values, or None for 1, 2, ... (a panel's `xticklabels` then name them).
        y: its y values; None for a missing point.
        color: a matplotlib colour ("C0", "#d62728", ...).
        linestyle: "-", "--", ":", ...
        marker: a matplotlib marker, or None for a plain line.
        yerr: None, or one error-bar half-length per point (e.g. a std over seeds).
    """

    label: str
    x: Sequence | None
    y: Sequence
    color: str = "C0"
    linestyle: str = "-"
    marker: str | None = "o"
    yerr: Sequence | None = None


class Panel(NamedTuple):
    """One axes of `curve_panels`: its title, curves, horizontal reference lines
    ((y, label) pairs) and, for curves without x, the names of the points 1, 2, ..."""

    title: str
    curves: tuple
    hlines: tuple = ()
    xticklabels: tuple | None = None


def _check_curve(panel, curve, log_y):
    if not isinstance(curve, Curve):
        raise ValueError(f"Panel {panel.title!r}: curves must be plotting.Curve, got "
                         f"{type(curve).__name__}.")
    count = len(curve.y)
    if not count:
        raise ValueError(f"Panel {panel.title!r}, curve {curve.label!r}: no points.")
    for name in ("x", "yerr"):
        values = getattr(curve, name)
        if values is not None and len(values) != count:
            raise ValueError(f"Panel {panel.title!r}, curve {curve.label!r}: {len(values)} "
                             f"{name} values for {count} y values.")
    if curve.x is None and panel.xticklabels is not None and count > len(panel.xticklabels):
        raise ValueError(f"Panel {panel.title!r}, curve {curve.label!r}: {count} points but "
                         f"{len(panel.xticklabels)} xticklabels.")
    values = np.array([np.nan if v is None else v for v in curve.y], dtype=float)
    if log_y:
        values[values <= 0] = np.nan  # no place on a log axis (e.g. an underflow to 0)
    if not np.any(np.isfinite(values)):
        raise ValueError(f"Panel {panel.title!r}, curve {curve.label!r}: no finite y value.")
    return values


def curve_panels(panels, path, *, title, xlabel, ylabel, log_y=False, height=4.5, nrows=1,
                 ncols=None, sharey=False):
    """Lines in one or more panels, one legend per panel (e.g. an error against epochs, or
    a value per layer).

    Args:
        panels: `Panel`s, laid out row by row.
        path: The PNG to write.
        title: The figure's title (name the paper's figure or table it reproduces).
        xlabel: The x axis label, with its unit.
        ylabel: The y axis label, with its unit.
        log_y: A logarithmic y axis; non-positive values are left out (the line breaks).
        height: Height in inches.
        nrows: Rows of panels.
        ncols: Columns of panels; default all panels in `nrows` rows.
        sharey: Whether the panels share their y axis.

    Returns:
        The PNG's path.

    Raises:
        ValueError: no panels, more panels than the grid, a curve without points or whose
            x, yerr or xticklabels do not match its y, or a bad `path`.
        ImportError: matplotlib is not installed.

    Example:

    >>> curves = (Curve("He", [1, 2, 3], [60, 30, 20], "C3"),
    ...           Curve("Xavier", [1, 2, 3], [90, 90, 90], "C0"))
    >>> curve_panels([Panel("plain30", curves)], "init.png", title="Figure 3",
    ...              xlabel="epochs", ylabel="top-1 error (%)")
    """
    panels = list(panels)
    if not panels:
        raise ValueError("curve_panels needs at least one panel.")
    ncols = math.ceil(len(panels) / nrows) if ncols is None else ncols
    if len(panels) > nrows * ncols:
        raise ValueError(f"{len(panels)} panels do not fit {nrows} x {ncols}.")
    values = [[_check_curve(panel, curve, log_y) for curve in panel.curves]
              for panel in panels]
    figure, axes = new_figure(title=title, height=height, nrows=nrows, ncols=ncols,
                              squeeze=False, sharey=sharey)
    for ax in axes.ravel()[len(panels):]:
        ax.set_axis_off()
    for ax, panel, ys in zip(axes.ravel(), panels, values, strict=False):
        for curve, y in zip(panel.curves, ys, strict=True):
            x = np.arange(1, len(y) + 1) if curve.x is None else np.asarray(curve.x, float)
            style = {"color": curve.color, "linestyle": curve.linestyle,
                     "marker": curve.marker, "markersize": 4, "label": curve.label}
            if curve.yerr is None:
                ax.plot(x, y, **style)
            else:
                ax.errorbar(x, y, yerr=np.asarray(curve.yerr, float), capsize=3, **style)
        for y, label in panel.hlines:
            ax.axhline(y, color="0.5", linestyle="-.", linewidth=1, label=label)
        if panel.xticklabels is not None:
            ticks = np.arange(1, len(panel.xticklabels) + 1)
            ax.set_xticks(ticks, list(panel.xticklabels), rotation=90,
                          fontsize=max(5, FONT_SIZE - 1 - len(ticks) // 10))
        if log_y:
            ax.set_yscale("log")
        ax.set_title(panel.title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=FONT_SIZE - 3)
    return save(figure, path)


def seed_comparison(labels, values, path, *, reference, title, xlabel, ylabel,
                    reference_label, baseline=0):
    """Settings compared over seeds, beside a reference (e.g. Table 2): two panels.

    Left: each setting's value per seed (dots) and their mean +- sample std (bar). Right:
    the differences to the `baseline` setting, seed by seed (paired: the same seed's runs),
    as dots and mean +- std, beside the reference's differences (diamonds).

    Args:
        labels: The settings' names, in order.
        values: Per setting, its value for each seed, the seeds in the same order.
        path: The PNG to write.
        reference: Per setting, the reference's value, or None where it has none.
        title: The figure's title.
        xlabel: What the settings are (e.g. "activation").
        ylabel: The values' axis label, with its unit (the differences are in its points).
        reference_label: What the reference is (legend).
        baseline: Index of the setting the differences are taken to.

    Returns:
        The PNG's path.

    Raises:
        ValueError: labels and values (or reference) of different lengths, fewer than two
            seeds, seeds that differ in number between settings, non-finite values, a
            `baseline` outside the settings, or a bad `path`.
        ImportError: matplotlib is not installed.

    Example:

    >>> seed_comparison(["ReLU", "PReLU"], [[9.1, 9.3, 9.0], [8.8, 8.9, 8.7]], "t2.png",
    ...                 reference=[33.82, 32.64], title="Table 2", ylabel="test error (%)",
    ...                 reference_label="Table 2 (ImageNet)")
    """
    if len(labels) != len(values) or len(labels) != len(reference):
        raise ValueError(f"{len(labels)} labels, {len(values)} value lists and "
                         f"{len(reference)} reference values: give one of each per setting.")
    if not 0 <= baseline < len(labels):
        raise ValueError(f"baseline={baseline} is not one of the {len(labels)} settings.")
    runs = [np.asarray(v, dtype=float) for v in values]
    if len({len(v) for v in runs}) != 1 or len(runs[0]) < 2:
        raise ValueError("Every setting needs the same number of seeds, at least 2; got "
                         f"{[len(v) for v in runs]}.")
    if not all(np.all(np.isfinite(v)) for v in runs):
        raise ValueError("The values must be finite numbers.")
    figure, (ax, diff_ax) = new_figure(title=title, height=4.8, ncols=2)
    positions = np.arange(len(labels))
    jitter = np.linspace(-0.12, 0.12, len(runs[0]))
    for i, v in enumerate(runs):
        ax.plot(positions[i] + jitter, v, "o", color="0.55", markersize=4,
                label="one seed" if i == 0 else None)
        ax.errorbar(positions[i] + 0.3, v.mean(), yerr=v.std(ddof=1), fmt="s", color="C0",
                    capsize=4, label="mean +- std over seeds" if i == 0 else None)
    ax.set_ylabel(ylabel)
    differences = [v - runs[baseline] for v in runs]
    others = [i for i in range(len(labels)) if i != baseline]
    for n, i in enumerate(others):
        d = differences[i]
        diff_ax.plot(positions[n] + jitter, d, "o", color="0.55", markersize=4,
                     label="one seed (paired)" if n == 0 else None)
        diff_ax.errorbar(positions[n] + 0.3, d.mean(), yerr=d.std(ddof=1), fmt="s",
                         color="C0", capsize=4, label="mean +- std" if n == 0 else None)
        if reference[i] is not None and reference[baseline] is not None:
            diff_ax.plot(positions[n] - 0.3, reference[i] - reference[baseline], "D",
                         color="C3", label=reference_label if n == 0 else None)
    diff_ax.axhline(0, color="0.5", linewidth=1)
    diff_ax.set_ylabel(f"difference to {labels[baseline]} (points)")
    for axis, ticks in ((ax, labels), (diff_ax, [labels[i] for i in others])):
        axis.set_xticks(np.arange(len(ticks)), ticks, rotation=20, ha="right")
        axis.set_xlim(-0.6, len(ticks) - 0.4)
        axis.set_xlabel(xlabel)
        axis.grid(axis="y", alpha=0.3)
        axis.legend(fontsize=FONT_SIZE - 2)
    ax.set_title("error per setting")
    diff_ax.set_title(f"paired difference to {labels[baseline]}")
    return save(figure, path)


def detection_grid(images, detections, ground_truth, class_names, path, *, title,
                   min_score=0.5):
    """Images with their detections (solid, captioned) and ground-truth boxes (dashed).

    Three images a row. Each detection scoring at least `min_score` is drawn in its
    class's colour with "class score" above it; each ground-truth box in the same colour,
    dashed. Boxes are (x1, y1, x2, y2) in 0-based inclusive pixels, so a box covers
    x1 - 0.5 to x2 + 0.5 on the image.

    Args:
        images: (H, W, 3) uint8 RGB images.
        detections: per image, (boxes (D, 4), scores (D,), labels (D,)), e.g.
            `keras_prelu.detection.Detections`.
        ground_truth: per image, (boxes (N, 4), labels (N,)).
        class_names: The name of each class index.
        path: The PNG to write.
        title: The figure's title.
        min_score: The lowest score drawn.

    Returns:
        The PNG's path.

    Raises:
        ValueError: lists of different lengths, no images, images that are not (H, W, 3),
            class indices outside `class_names`, or a bad `path`.
        ImportError: matplotlib is not installed.

    Example:

    >>> detection_grid([image], [detector_output], [(boxes, labels)], names, "det.png",
    ...                title="test images")
    """
    if not images or len({len(images), len(detections), len(ground_truth)}) != 1:
        raise ValueError(f"Give one detection set and one ground truth per image, got "
                         f"{len(images)} images, {len(detections)} detection sets and "
                         f"{len(ground_truth)} ground truths.")
    columns = min(3, len(images))
    rows = math.ceil(len(images) / columns)
    figure, axes = new_figure(title=title, height=0.5 + 2.1 * rows, nrows=rows,
                              ncols=columns, squeeze=False)
    for ax in axes.ravel()[len(images):]:
        ax.set_axis_off()
    colors = [f"C{i % 10}" for i in range(len(class_names))]
    for _, _, labels in detections:
        _check_labels(labels, class_names)
    for _, labels in ground_truth:
        _check_labels(labels, class_names)
    for ax, image, (boxes, scores, labels), (gt_boxes, gt_labels) in zip(
            axes.ravel(), images, detections, ground_truth, strict=False):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"images must be (H, W, 3) RGB, got {image.shape}.")
        ax.imshow(image)
        ax.set_xticks([])
        ax.set_yticks([])
        for box, label in zip(np.reshape(gt_boxes, (-1, 4)), gt_labels, strict=True):
            ax.add_patch(_box(box, colors[label], linestyle="--", linewidth=1.2))
        shown = np.asarray(scores) >= min_score
        for box, score, label in zip(np.reshape(boxes, (-1, 4))[shown],
                                     np.asarray(scores)[shown],
                                     np.asarray(labels)[shown], strict=True):
            ax.add_patch(_box(box, colors[label], linestyle="-", linewidth=1.8))
            ax.text(box[0] - 0.5, box[1] - 1.5, f"{class_names[label]} {score:.2f}",
                    fontsize=FONT_SIZE - 4, color="white", va="bottom",
                    bbox={"facecolor": colors[label], "edgecolor": "none", "pad": 1})
        ax.set_xlim(-0.5, image.shape[1] - 0.5)
        ax.set_ylim(image.shape[0] - 0.5, -0.5)
    return save(figure, path)


def _check_labels(labels, class_names):
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"Class indices must be in [0, {len(class_names)}), got "
                         f"{labels.min()} .. {labels.max()}.")


def _box(box, color, *, linestyle, linewidth):
    from matplotlib.patches import Rectangle

    x1, y1, x2, y2 = (float(v) for v in box)
    return Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1 + 1, y2 - y1 + 1, fill=False,
                     edgecolor=color, linestyle=linestyle, linewidth=linewidth)


def precision_recall(precision, recall, ap, path, *, title):
    """One panel per class: its precision-recall curve, its AP in the panel's title.

    The curve is the precision after each detection by descending score against the
    recall then (VOC's), drawn as steps; the dotted line is VOC 2007's interpolated
    precision (at each recall, the best precision at that recall or more), whose mean at
    recalls 0, 0.1, ..., 1 is the 11-point AP. A class whose AP is NaN (no objects to
    find) says so in its title.

    Args:
        precision: {class name: (D,) precisions} (`evaluate_voc`'s "precision").
        recall: {class name: (D,) recalls}, the same classes.
        ap: {class name: AP}.
        path: The PNG to write.
        title: The figure's title.

    Returns:
        The PNG's path.

    Raises:
        ValueError: classes that differ between the mappings, no classes, curves of
            different lengths, or a bad `path`.
        ImportError: matplotlib is not installed.

    Example:

    >>> scores = keras_prelu.detection.evaluate_voc(detections, annotations)
    >>> precision_recall(scores["precision"], scores["recall"], scores["ap"], "pr.png",
    ...                  title="test set")
    """
    names = list(precision)
    if not names or set(names) != set(recall) or set(names) != set(ap):
        raise ValueError("precision, recall and ap must name the same classes (at least one).")
    columns = min(5, len(names))
    rows = math.ceil(len(names) / columns)
    figure, axes = new_figure(title=title, height=0.6 + 1.9 * rows, nrows=rows,
                              ncols=columns, squeeze=False, sharex=True, sharey=True)
    for ax in axes.ravel()[len(names):]:
        ax.set_axis_off()
    for ax, name in zip(axes.ravel(), names, strict=False):
        p = np.nan_to_num(np.asarray(precision[name], float), nan=0.0)
        r = np.asarray(recall[name], float)
        if p.shape != r.shape:
            raise ValueError(f"Class {name!r}: {p.size} precisions but {r.size} recalls.")
        if p.size:
            envelope = np.maximum.accumulate(p[::-1])[::-1]
            ax.step(np.concatenate([[0.0], r]), np.concatenate([[p[0]], p]), where="post",
                    color="C0", linewidth=1.2, label="precision after each detection")
            ax.step(r, envelope, where="post", color="C3", linestyle=":", linewidth=1.2,
                    label="interpolated precision (VOC 2007)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.set_title(f"{name}: AP {100 * ap[name]:.1f}" if not math.isnan(ap[name])
                     else f"{name}: no objects")
    for ax in axes[-1]:
        ax.set_xlabel("recall")
    for ax in axes[:, 0]:
        ax.set_ylabel("precision")
    handles = next((ax.get_legend_handles_labels()[0] for ax in axes.ravel()
                    if ax.get_legend_handles_labels()[0]), [])
    if handles:
        figure.legend(handles=handles, loc="outside lower center", ncols=2,
                      fontsize=FONT_SIZE - 2)
    return save(figure, path)


def slope_search(path, *, slopes, values, reference_lines, reference_points, title, ylabel,
                 percent=True, learning_rates=None, short_runs=(), failed_slopes=(), best=None):
    """A search over LReLU's slope: each trial's error against its slope, with references.

    Args:
        path: Where to write the PNG.
        slopes: The slopes of the completed trials, in [0, 1].
        values: Their errors (or losses), one per slope.
        reference_lines: {label: (value, slope or None)}: a dashed horizontal line at each
            value (PReLU, whose slopes are learned), with a diamond on it at `slope` (the
            mean learned slope) when given.
        reference_points: {label: (slope, value)}: single squares (ReLU at slope 0).
        title: The figure's title.
        ylabel: What the values are, e.g. "validation top-1 error".
        percent: The values are fractions, drawn and labelled in percent.
        learning_rates: None, or each trial's learning rate: the points are coloured by it
            (log scale, with a colour bar).
        short_runs: (slope, value) of trials trained on a smaller budget (Hyperband's),
            drawn hollow.
        failed_slopes: Slopes of trials that failed (diverged): crosses along the top.
        best: None, or the best trial's (slope, value), starred.

    Returns:
        The path of the PNG, as a `pathlib.Path`.

    Raises:
        ValueError: `slopes` and `values` (or `learning_rates`) differ in length, a slope
            outside [0, 1], or a value that is not finite.
        ImportError: matplotlib is not installed.

    Example:

    >>> slope_search("slopes.png", slopes=[0.1, 0.5], values=[0.081, 0.084],
    ...              reference_lines={"PReLU": (0.078, 0.24)},
    ...              reference_points={"ReLU (slope 0)": (0.0, 0.083)}, best=(0.1, 0.081),
    ...              title="LReLU slope search", ylabel="validation top-1 error")
    PosixPath('slopes.png')
    """
    slopes, values = np.asarray(slopes, float), np.asarray(values, float)
    if slopes.ndim != 1 or slopes.shape != values.shape:
        raise ValueError(f"slopes and values must be two lists of one length, got "
                         f"{slopes.shape} and {values.shape}.")
    if learning_rates is not None and len(learning_rates) != len(slopes):
        raise ValueError(f"learning_rates needs one rate per slope: {len(learning_rates)} "
                         f"for {len(slopes)}.")
    every_slope = np.concatenate([slopes, [s for s, _ in short_runs], list(failed_slopes),
                                  [s for s, _ in reference_points.values()],
                                  [s for _, s in reference_lines.values() if s is not None]])
    outside = every_slope[(every_slope < 0) | (every_slope > 1)]
    if outside.size:
        raise ValueError(f"Slopes must be in [0, 1], got {sorted(set(outside.tolist()))}.")
    every_value = np.concatenate([values, [v for _, v in short_runs],
                                  [v for v, _ in reference_lines.values()],
                                  [v for _, v in reference_points.values()]])
    if not np.all(np.isfinite(every_value)):
        raise ValueError(f"Values must be finite numbers, got {every_value.tolist()}.")
    scale = 100 if percent else 1

    def shown(value):
        return f"{scale * value:.2f}%" if percent else f"{value:.4f}"

    figure, axes = new_figure(title=title, height=5.5)
    order = np.argsort(slopes)
    axes.plot(slopes[order], scale * values[order], color="0.75", linewidth=1, zorder=1)
    trials = {"s": 30, "zorder": 3, "label": f"LReLU trials ({len(slopes)})"}
    if learning_rates is None:
        axes.scatter(slopes, scale * values, color="C0", **trials)
    else:
        dots = axes.scatter(slopes, scale * values, c=np.log10(learning_rates), cmap="viridis",
                            **trials)
        figure.colorbar(dots, ax=axes).set_label("log10 first learning rate", size=FONT_SIZE)
    if len(short_runs):
        short = np.asarray(short_runs, float)
        axes.scatter(short[:, 0], scale * short[:, 1], facecolors="none", edgecolors="C0",
                     s=30, zorder=3, label=f"LReLU, fewer epochs ({len(short)})")
    for index, (label, (value, slope)) in enumerate(reference_lines.items()):
        color = f"C{index + 2}"
        learned = "" if slope is None else f" (\u25c6 mean slope {slope:.2f})"
        axes.axhline(scale * value, color=color, linestyle="--", linewidth=1.2,
                     label=f"{label} {shown(value)}{learned}")
        if slope is not None:
            axes.plot([slope], [scale * value], marker="D", color=color, markersize=5, zorder=4)
    for label, (slope, value) in reference_points.items():
        axes.scatter([slope], [scale * value], marker="s", color="black", s=40, zorder=4,
                     label=f"{label} {shown(value)}")
    if len(failed_slopes):
        axes.scatter(failed_slopes, [0.97] * len(failed_slopes), marker="x",
                     color=MISTAKE_COLOR, s=40, zorder=4, transform=axes.get_xaxis_transform(),
                     label=f"failed ({len(failed_slopes)})")
    if best is not None:
        slope, value = best
        axes.scatter([slope], [scale * value], marker="*", color="gold", edgecolors="black",
                     s=160, zorder=5, label=f"best: slope {slope:.3f}, {shown(value)}")
    axes.set_xlim(-0.03, 1.03)
    axes.set_xlabel("LReLU slope a (Eqn 1 with a fixed a; 0 is ReLU)")
    axes.set_ylabel(f"{ylabel} (%)" if percent else ylabel)
    axes.grid(alpha=0.3)
    # Below the axes (the constrained layout makes room): no point or line is covered.
    figure.legend(*axes.get_legend_handles_labels(), loc="outside lower center", ncol=2,
                  fontsize=FONT_SIZE - 1, frameon=False)
    return save(figure, path)
