"""A finished classification run's pictures, drawn by `keras_prelu.plotting` into its directory.

`learning_curves.png` (loss and top-1 errors per epoch, learning-rate switches marked),
`slopes.png` (each PReLU layer's learned slopes beside Table 1's channel-wise means),
`predictions.png` (test images with predicted and true classes, mistakes marked) and
`confusion_matrix.png` (on the whole test split; only up to `CONFUSION_MAX_CLASSES`
classes, beyond which a matrix is unreadable). Each file is written atomically.
"""

import importlib.util

import numpy as np

from keras_prelu import paper
from keras_prelu.evaluation.scores import probabilities_model
from keras_prelu.training.slopes import layer_slopes

CONFUSION_MAX_CLASSES = 20
GRID_IMAGES = 32
TABLE1_REFERENCE = {name: wise for name, (_, wise) in paper.TABLE1_SLOPES.items()}


def _predict(model, dataset, mean, limit=None):
    """(images with the mean added back, labels, predicted classes) of `dataset`'s batches,
    up to `limit` examples; with no `model`, no predicted classes (None)."""
    # One device, compiled (see probabilities_model): a plain call is eager, 2.4x as slow.
    forward = None if model is None else probabilities_model(model)
    images, labels, predictions = [], [], []
    for x, y in dataset:
        images.append(np.asarray(x) + mean)
        labels.append(np.asarray(y))
        if forward is not None:
            predictions.append(np.argmax(forward.predict_on_batch(x), axis=-1))
        if limit is not None and sum(map(len, labels)) >= limit:
            break
    images, labels = (np.concatenate(parts)[:limit] for parts in (images, labels))
    return images, labels, None if model is None else np.concatenate(predictions)[:limit]


def write_figures(run, model, data, *, title, predictions=None):
    """Draws the run's figures into its directory (chief only).

    Args:
        run: the `Run`, after training (its `history.csv` written).
        model: the trained model.
        data: the run's `TrainingData` (its test split, mean and class names).
        title: what was trained, for the figures' titles, e.g. "plain9 on fashion_mnist".
        predictions: the final test's `(labels, predicted classes)` of the whole test
            split in its order (10-view testing's), drawn as they are; None: the centre
            views' classes, predicted here.

    Returns:
        The paths written; none without matplotlib (the `plots` extra), which is said.
    """
    if importlib.util.find_spec("matplotlib") is None:
        print("No figures: matplotlib is not installed (pip install 'keras-prelu[plots]').")
        return []
    from keras_prelu import plotting

    if not run.chief:
        return []
    mean = np.asarray(data.mean, dtype=np.float32)
    with_confusion = data.classes <= CONFUSION_MAX_CLASSES
    if predictions is None:
        # One pass: the whole test split when the confusion matrix is drawn (its first
        # images are the grid's), else only the grid's images.
        images, labels, predictions = _predict(
            model, data.test, mean, limit=None if with_confusion else GRID_IMAGES)
    else:
        labels, predictions = predictions
        images, grid_labels, _ = _predict(None, data.test, mean, limit=GRID_IMAGES)
        if not np.array_equal(grid_labels, labels[:GRID_IMAGES]):
            raise ValueError("The predictions given are not of the test split's images in "
                             "its order (their labels differ).")
    paths = [run.write_figure("learning_curves.png", lambda path: plotting.learning_curves(
        run.path / "history.csv", path, title=f"Learning curves: {title}"))]
    slopes = layer_slopes(model)
    if slopes:
        paths.append(run.write_figure("slopes.png", lambda path: plotting.slope_distributions(
            slopes, path, reference=TABLE1_REFERENCE, title=f"Learned PReLU slopes: {title}",
            reference_label="Table 1 (14 layers, ImageNet)")))
    shown = np.clip(images[:GRID_IMAGES], 0, 255).astype(np.uint8)
    paths.append(run.write_figure("predictions.png", lambda path: plotting.prediction_grid(
        shown, labels[:GRID_IMAGES], predictions[:GRID_IMAGES], data.class_names, path,
        title=f"Test images: {title}")))
    if with_confusion:
        paths.append(run.write_figure("confusion_matrix.png", lambda path: (
            plotting.confusion_matrix(labels, predictions, data.class_names, path,
                                      title=f"Confusion matrix, test split: {title}"))))
    return paths
