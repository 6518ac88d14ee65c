"""Figures of training runs: learning curves, learned slopes, predictions, confusions.

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
from collections.abc import Mapping
from pathlib import Path

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
