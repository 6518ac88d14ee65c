"""keras_prelu.plotting on real inputs: a training run's history and slopes, Fashion-MNIST."""

import csv
import sys

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

from keras_prelu import paper, plotting, zoo
from keras_prelu.data import load_fashion_mnist
from keras_prelu.data.fashion_mnist import CLASS_NAMES
from keras_prelu.layers import PReLU
from keras_prelu.training import TrainConfig, train
from tests.training.conftest import TINY

WIDTH_PX = 1200  # 8 inches at 150 dpi
TABLE1_WISE = {name: wise for name, (_, wise) in paper.TABLE1_SLOPES.items()}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Three epochs of the tiny training of tests/training (Table 1's model, 13 PReLUs), two
    learning-rate switches."""
    config = TrainConfig.from_dict({
        **TINY, "deterministic": False, "epochs": 3, "switch_epochs": [1, 2],
        "output_dir": str(tmp_path_factory.mktemp("run")),
    })
    return train(config)


@pytest.fixture(scope="module")
def fashion():
    """Fashion-MNIST's test images and a real classifier's predictions: the nearest class
    mean of the training images (about 68% right, so with mistakes in every class)."""
    (x, y), (x_test, y_test) = load_fashion_mnist()
    means = np.stack([x[y == c].reshape(-1, 784).mean(axis=0) for c in range(10)])
    flat = x_test.reshape(-1, 784).astype(np.float32)
    distances = (flat**2).sum(1)[:, None] - 2 * flat @ means.T + (means**2).sum(1)
    return x_test, y_test, distances.argmin(axis=1)


def model_slopes(model):
    return {layer.name.removesuffix("_act"): np.asarray(layer.alpha)
            for layer in model.layers if isinstance(layer, PReLU)}


def png(path, size):
    """The PNG at `path` as an RGB array, after checking it is a PNG of `size` (w, h)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 10, "the figure is blank"
    return pixels


def red_pixels(pixels):
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    return int(np.sum((r > 170) & (g < 90) & (b < 90)))


def test_learning_curves_from_history_csv_and_from_the_history_dict(run, tmp_path):
    csv_path = run.output_dir / "history.csv"
    from_csv = plotting.learning_curves(csv_path, tmp_path / "csv.png", title="tiny run")
    from_dict = plotting.learning_curves(run.history, tmp_path / "dict.png", title="tiny run")
    assert from_csv == tmp_path / "csv.png"
    # The CSV round-trips the logged floats, and its epochs 0, 1, 2 are the dict's default.
    np.testing.assert_array_equal(png(from_csv, (WIDTH_PX, 675)), png(from_dict, (WIDTH_PX, 675)))


def test_read_history_returns_the_logged_columns(run):
    columns = plotting.read_history(run.output_dir / "history.csv")
    np.testing.assert_array_equal(columns["epoch"], [0, 1, 2])
    np.testing.assert_array_equal(columns["learning_rate"], [1e-2, 1e-3, 1e-4])
    for name in plotting.HISTORY_COLUMNS:
        np.testing.assert_allclose(columns[name], run.history[name], rtol=1e-12)


def write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.mark.parametrize("history, message", [
    ({}, "no epochs"),
    ({name: [] for name in plotting.HISTORY_COLUMNS}, "no epochs"),
    ({"loss": [0.5], "top1_error": [0.2], "val_top1_error": [0.2]}, r"\['learning_rate'\]"),
    ({"loss": [0.5, 0.4], "top1_error": [0.2], "val_top1_error": [0.2],
      "learning_rate": [0.01]}, "differ in length"),
    ({"loss": ["nan?"], "top1_error": [0.2], "val_top1_error": [0.2],
      "learning_rate": [0.01]}, "'loss'.*not a number"),
])
def test_learning_curves_rejects_bad_histories(history, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        plotting.learning_curves(history, tmp_path / "c.png", title="t")


def test_learning_curves_rejects_an_empty_or_missing_csv_and_other_formats(run, tmp_path):
    header_only = write_csv(tmp_path / "h.csv", [["epoch", *plotting.HISTORY_COLUMNS]])
    with pytest.raises(ValueError, match="no epochs"):
        plotting.learning_curves(header_only, tmp_path / "c.png", title="t")
    with pytest.raises(FileNotFoundError):
        plotting.learning_curves(tmp_path / "none.csv", tmp_path / "c.png", title="t")
    with pytest.raises(ValueError, match=r"ending in \.png"):
        plotting.learning_curves(run.history, tmp_path / "c.jpg", title="t")


def test_slope_distributions_of_a_trained_and_a_channel_shared_model(run, tmp_path):
    slopes = model_slopes(run.model)
    assert len(slopes) == 13 and all(v.size > 1 for v in slopes.values())
    path = plotting.slope_distributions(slopes, tmp_path / "s.png", reference=TABLE1_WISE,
                                        reference_label="Table 1", title="tiny run")
    png(path, (WIDTH_PX, 675))
    shared = model_slopes(zoo.get("plain9", input_shape=(28, 28, 1), stem="small", width=0.25,
                                  fc_units=64, activation="prelu_shared"))
    assert all(v.size == 1 for v in shared.values())
    png(plotting.slope_distributions(shared, tmp_path / "shared.png", title="at init"),
        (WIDTH_PX, 675))


@pytest.mark.parametrize("slopes, reference, message", [
    ({}, None, "at least one layer"),
    ({"conv1": []}, None, "'conv1'.*non-empty vector"),
    ({"conv1": [0.2, np.nan]}, None, "'conv1'.*non-finite"),
    ({"conv1": np.full((2, 3), 0.25)}, None, r"'conv1'.*shape \(2, 3\)"),
    ({"conv1": [0.2]}, {}, "reference must map"),
    ({"conv1": [0.2]}, paper.TABLE1_SLOPES, "pick a column"),
])
def test_slope_distributions_rejects_bad_slopes(slopes, reference, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        plotting.slope_distributions(slopes, tmp_path / "s.png", reference=reference, title="t")


def test_prediction_grid_marks_exactly_the_mistakes_in_red(fashion, tmp_path):
    images, labels, predicted = (a[:16] for a in fashion)
    assert 0 < np.sum(predicted != labels) < 16
    size = (WIDTH_PX, 480)  # two rows of eight: (0.6 + 2 * 1.3) inches at 150 dpi
    with_mistakes = png(plotting.prediction_grid(images, labels, predicted, CLASS_NAMES,
                                                 tmp_path / "g.png", title="test"), size)
    all_right = png(plotting.prediction_grid(images[..., 0], labels, labels, CLASS_NAMES,
                                             tmp_path / "right.png", title="test"), size)
    assert red_pixels(all_right) == 0
    assert red_pixels(with_mistakes) > 1000  # a 3-px frame around each wrong image


def test_prediction_grid_rejects_bad_inputs(fashion, tmp_path):
    images, labels, predicted = (a[:8] for a in fashion)
    path = tmp_path / "g.png"
    with pytest.raises(ValueError, match="8 images but 7 labels"):
        plotting.prediction_grid(images, labels[:7], predicted[:7], CLASS_NAMES, path, title="t")
    with pytest.raises(ValueError, match="8 labels but 7 predictions"):
        plotting.prediction_grid(images, labels, predicted[:7], CLASS_NAMES, path, title="t")
    with pytest.raises(ValueError, match=r"classes \[10\] outside 0\.\.9"):
        plotting.prediction_grid(images, labels, np.full(8, 10), CLASS_NAMES, path, title="t")
    with pytest.raises(ValueError, match="argmax"):
        plotting.prediction_grid(images, labels, np.eye(10)[predicted], CLASS_NAMES, path,
                                 title="t")
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        plotting.prediction_grid(np.repeat(images, 2, axis=-1), labels, predicted, CLASS_NAMES,
                                 path, title="t")
    with pytest.raises(ValueError, match="empty"):
        plotting.prediction_grid(images[:0], labels[:0], predicted[:0], CLASS_NAMES, path,
                                 title="t")


def test_confusion_counts_match_scikit_learn(fashion):
    _, labels, predicted = fashion
    counts = plotting.confusion_counts(labels, predicted, 10)
    np.testing.assert_array_equal(counts, sklearn_confusion_matrix(labels, predicted,
                                                                   labels=range(10)))
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(labels, minlength=10))
    # A class nobody predicts or has still gets its row and column.
    np.testing.assert_array_equal(plotting.confusion_counts([0, 0, 2], [0, 2, 2], 4),
                                  [[1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]])


def test_confusion_matrix_writes_a_png_and_rejects_bad_inputs(fashion, tmp_path):
    _, labels, predicted = fashion
    png(plotting.confusion_matrix(labels, predicted, CLASS_NAMES, tmp_path / "c.png",
                                  title="test set"), (WIDTH_PX, 1050))
    with pytest.raises(ValueError, match="10000 labels but 9999 predictions"):
        plotting.confusion_matrix(labels, predicted[1:], CLASS_NAMES, tmp_path / "c.png",
                                  title="t")
    with pytest.raises(ValueError, match=r"labels hold classes \[9\] outside 0\.\.8"):
        plotting.confusion_matrix(labels, predicted, CLASS_NAMES[:9], tmp_path / "c.png",
                                  title="t")
    with pytest.raises(ValueError, match="integer class indices"):
        plotting.confusion_matrix(labels.astype(float), predicted, CLASS_NAMES,
                                  tmp_path / "c.png", title="t")


def test_without_matplotlib_the_package_imports_and_plotting_says_what_to_install(
        monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "keras_prelu.plotting")
    import keras_prelu.plotting as fresh

    assert fresh.confusion_counts([1], [1], 2).tolist() == [[0, 0], [0, 1]]
    with pytest.raises(ImportError, match="pip install matplotlib"):
        fresh.confusion_matrix([1], [1], ["a", "b"], tmp_path / "c.png", title="t")
