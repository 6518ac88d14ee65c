"""The training recipe in-process: outputs, logs, errors before training, config files."""

import csv
import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_prelu.data import CorruptImageError, DatasetNotFoundError, load_digits
from keras_prelu.layers import PReLU
from keras_prelu.training import TrainConfig, format_slope_table, learned_slopes, train
from tests.training.conftest import TINY as SUBPROCESS_TINY

# Runs in this process need not be bit-identical: spare them deterministic kernels.
TINY = {**SUBPROCESS_TINY, "deterministic": False}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("run")
    config = TrainConfig.from_dict({**TINY, "epochs": 2, "output_dir": str(output_dir)})
    return config, train(config)


def test_errors_are_recomputed_from_the_saved_model_on_the_test_set(finished_run):
    config, result = finished_run
    (_, _), (x_test, y_test) = load_digits()
    mean = np.load(result.output_dir / "mean.npy")
    model = keras.models.load_model(result.output_dir / "model.keras", safe_mode=True)
    scores = model.predict(x_test.astype("float32") - mean, verbose=0)
    # A label's rank: the classes scoring at least as much (ties count against it).
    rank = np.sum(scores >= scores[np.arange(len(y_test)), y_test][:, None], axis=1) - 1
    top1, top5 = np.mean(rank >= 1), np.mean(rank >= 5)
    assert result.errors["top1_error"] == pytest.approx(top1, abs=1e-6)
    assert result.errors["top5_error"] == pytest.approx(top5, abs=1e-6)
    saved = json.loads((result.output_dir / "results.json").read_text())
    assert saved["top1_error"] == pytest.approx(top1, abs=1e-6)
    assert saved["steps"] == result.steps == 2 * ((1437 - 200) // 32)


def test_ten_view_testing_averages_the_padded_images_corner_and_centre_views(tmp_path):
    config = TrainConfig.from_dict({**TINY, "epochs": 1, "pad": 1, "test_method": "ten_view",
                                    "output_dir": str(tmp_path)})
    result = train(config)
    (_, _), (x_test, y_test) = load_digits()
    mean = np.load(result.output_dir / "mean.npy")
    model = keras.models.load_model(result.output_dir / "model.keras", safe_mode=True)
    # Reference: the 8x8 views of the 1-px zero-padded 10x10 image at its four corners and
    # centre (the training crops' extreme and middle offsets), each also mirrored.
    padded = np.pad(x_test, [(0, 0), (1, 1), (1, 1), (0, 0)]).astype("float32")
    views = [padded[:, top : top + 8, left : left + 8]
             for top, left in ((0, 0), (0, 2), (2, 0), (2, 2), (1, 1))]
    views += [view[:, :, ::-1] for view in views]
    scores = np.mean([model.predict(view - mean, verbose=0) for view in views], axis=0)
    rank = np.sum(scores >= scores[np.arange(len(y_test)), y_test][:, None], axis=1) - 1
    assert result.errors["top1_error"] == pytest.approx(np.mean(rank >= 1), abs=1e-6)
    assert result.errors["top5_error"] == pytest.approx(np.mean(rank >= 5), abs=1e-6)
    centre = model.predict(x_test.astype("float32") - mean, verbose=0)
    # After one epoch at the paper's small fc stds the scores are near-uniform, yet the
    # views move them far beyond float rounding: the centre view alone is not the test.
    assert np.abs(scores - centre).max() > 1e-5


def test_logs_hold_errors_learning_rate_and_slopes(finished_run):
    config, result = finished_run
    with open(result.output_dir / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    for column in ("loss", "top1_error", "top5_error", "val_top1_error", "learning_rate"):
        assert column in rows[0]
    assert float(rows[0]["learning_rate"]) == config.learning_rates[0]

    events = tf.data.TFRecordDataset(
        [str(p) for p in (result.output_dir / "tensorboard" / "slopes").glob("events.*")])
    tags = set()
    for record in events:
        event = tf.compat.v1.Event.FromString(record.numpy())
        tags.update(value.tag for value in event.summary.value)
    prelus = [layer.name for layer in result.model.layers if isinstance(layer, PReLU)]
    assert tags == {f"slopes/{name}" for name in prelus}
    assert any(p.name.startswith("events") for p in (result.output_dir / "tensorboard" /
                                                      "train").iterdir())


def test_slope_table_reports_each_layers_mean_slope(finished_run):
    _, result = finished_run
    rows = learned_slopes(result.model)
    prelus = [layer for layer in result.model.layers if isinstance(layer, PReLU)]
    assert [name for name, _, _ in rows] == [p.name.removesuffix("_act") for p in prelus]
    for (_, _, slope), layer in zip(rows, prelus, strict=True):
        assert slope == pytest.approx(float(np.mean(np.asarray(layer.alpha))))
    assert rows[0][1] == "3x3, 8" and rows[-1][1] == "32"  # conv1 (small stem), fc2
    table = format_slope_table(result.model)
    assert table.splitlines()[2].startswith("| conv1 | 3x3, 8 |")
    assert (result.output_dir / "slopes.md").read_text().strip() == table


def test_the_schedule_steps_down_when_validation_error_plateaus(tmp_path):
    config = TrainConfig.from_dict({
        **TINY, "epochs": 3, "learning_rates": [0.01, 0.001], "plateau_patience": 1,
        # An improvement of more than 100% never happens: every epoch is a plateau.
        "plateau_min_delta": 1.0, "output_dir": str(tmp_path)})
    result = train(config)
    assert result.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.001])


def test_fixed_switch_epochs_step_down_whatever_the_error(tmp_path):
    config = TrainConfig.from_dict({
        **TINY, "epochs": 4, "learning_rates": [0.01, 0.001, 0.0001], "switch_epochs": [1, 3],
        # Every epoch would be a plateau: fixed epochs take precedence.
        "plateau_patience": 1, "plateau_min_delta": 1.0, "output_dir": str(tmp_path)})
    result = train(config)
    assert result.history["learning_rate"] == pytest.approx([0.01, 0.001, 0.001, 0.0001])


class RecordRates(keras.callbacks.Callback):
    """The learning rate each step trains with (called after the run's own callbacks)."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def test_warmup_ramps_the_first_rate_linearly_then_holds_it(tmp_path):
    config = TrainConfig.from_dict({**TINY, "epochs": 1, "steps_per_epoch": 8,
                                    "learning_rates": [0.02], "warmup_steps": 5,
                                    "output_dir": str(tmp_path)})
    recorder = RecordRates()
    train(config, callbacks=[recorder])
    expected = [0.02 * min(1, (k + 1) / 5) for k in range(8)]  # step k of 8, from 0
    assert recorder.rates == pytest.approx(expected, rel=1e-6)


def test_a_resumed_warmup_continues_from_the_optimizers_step():
    from keras_prelu.training.callbacks import LearningRateStages

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1.0), "mse")
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(3)  # as a checkpoint restores it, 3 steps trained
    schedule = LearningRateStages([0.1], patience=3, min_delta=0.0, warmup_steps=5)
    recorder = RecordRates()
    model.fit(np.ones((6, 2)), np.ones(6), batch_size=2, epochs=1, verbose=0,
              callbacks=[schedule, recorder])
    assert recorder.rates == pytest.approx([0.1 * 4 / 5, 0.1 * 5 / 5, 0.1], rel=1e-6)


def test_a_finished_run_draws_its_figures_from_the_test_split(finished_run, tmp_path):
    from keras_prelu.training.figures import GRID_IMAGES, _predict

    config, result = finished_run
    names = ["learning_curves.png", "slopes.png", "predictions.png", "confusion_matrix.png"]
    assert [path.name for path in result.figures] == names
    for path in result.figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((result.output_dir / "results.json").read_text())["figures"] == names
    # The grid shows the first test images as they are (the mean added back), labelled.
    (_, _), (x_test, y_test) = load_digits()
    mean = np.load(result.output_dir / "mean.npy")
    test = tf.data.Dataset.from_tensor_slices(
        (x_test.astype("float32") - mean, y_test)).batch(10)
    images, labels, predictions = _predict(result.model, test, mean, limit=GRID_IMAGES)
    np.testing.assert_allclose(images, x_test[:GRID_IMAGES], atol=1e-4)
    np.testing.assert_array_equal(labels, y_test[:GRID_IMAGES])
    scores = result.model.predict(x_test[:GRID_IMAGES].astype("float32") - mean, verbose=0)
    np.testing.assert_array_equal(predictions, scores.argmax(axis=1))


def test_figures_refuse_predictions_that_are_not_of_the_test_split_in_order(finished_run):
    from keras_prelu.data import catalog
    from keras_prelu.training import inputs
    from keras_prelu.training.figures import write_figures
    from keras_prelu.training.run import prepare_run

    config, result = finished_run
    run = prepare_run(config, "classification", default_dir=result.output_dir)
    data = inputs.load(config, catalog.get(config.dataset), config.seed)
    drawn = {path: path.read_bytes() for path in result.figures}
    labels = np.asarray(data.test_set[1])[::-1]
    with pytest.raises(ValueError, match="not of the test split's images in its order"):
        write_figures(run, result.model, data, title="t", predictions=(labels, labels))
    assert {path: path.read_bytes() for path in result.figures} == drawn


def test_a_diverging_run_stops_without_checkpointing_nan(tmp_path):
    config = TrainConfig.from_dict({**TINY, "epochs": 1, "checkpoint_every": 1,
                                    "learning_rates": [1e9], "output_dir": str(tmp_path)})
    with pytest.raises(FloatingPointError, match=r"Training diverged: .* at step (\d+)") as error:
        train(config)
    stopped_at = int(re.search(r"at step (\d+)", str(error.value)).group(1))
    latest = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    assert int(latest.rsplit("-", 1)[1]) < stopped_at
    reader = tf.train.load_checkpoint(latest)
    weights = [name for name in reader.get_variable_to_shape_map()
               if name.startswith(("model/", "optimizer/"))]
    assert weights
    for name in weights:
        assert np.all(np.isfinite(reader.get_tensor(name))), name


def test_mixed_precision_and_xla_flags_train(tmp_path):
    config = TrainConfig.from_dict({**TINY, "epochs": 1, "steps_per_epoch": 2,
                                    "mixed_precision": "on", "xla": True,
                                    "output_dir": str(tmp_path)})
    # As a deterministic run earlier in the process leaves it (it would turn XLA off).
    tf.config.experimental.enable_op_determinism()
    try:
        result = train(config)
    finally:
        keras.config.set_dtype_policy("float32")
    assert result.model.jit_compile is True
    assert result.model.get_layer("conv1").compute_dtype == "bfloat16"
    assert result.model.get_layer("fc3").compute_dtype == "float32"
    assert result.model.get_layer("conv1_act").alpha.dtype == "float32"
    assert result.steps == 2


@pytest.mark.parametrize(
    "settings, error, message",
    [
        ({"model": "model_a", "stem": "imagenet"}, ValueError,
         r"needs images of at least \d+x\d+ pixels; digits gives 8x8: use stem='small'"),
        ({"model": "model_a", "spp_levels": [7, 3, 2, 1]}, ValueError,
         r"digits gives 8x8: use smaller spp_levels or a larger crop_size\.$"),
        ({"model": "resnet50"}, ValueError, "Unknown model 'resnet50'"),
        ({"dataset": "image_folder", "data_dir": "/nonexistent"}, DatasetNotFoundError,
         "/nonexistent/train is missing"),
        ({"dataset": "imagenet2012"}, DatasetNotFoundError, "needs --data-dir"),
        ({"validation_size": 5000}, ValueError, r"validation_size must be in \(0, 1437\)"),
    ],
)
def test_setup_errors_come_before_training(tmp_path, settings, error, message):
    config = TrainConfig.from_dict({**TINY, **settings, "output_dir": str(tmp_path)})
    with pytest.raises(error, match=message):
        train(config)
    assert not (tmp_path / "checkpoints").exists()


def _image_folder_with_a_corrupt_file(root):
    """train/ and val/ of two classes: crops of scikit-image's photographs, one bad JPEG."""
    from skimage import data as photos

    for split, count in (("train", 6), ("val", 2)):
        for label, photo in enumerate((photos.astronaut(), photos.coffee())):
            (root / split / f"class{label}").mkdir(parents=True)
            for i in range(count):
                crop = photo[40 * i:40 * i + 48, 40 * i:40 * i + 56]
                tf.io.write_file(str(root / split / f"class{label}" / f"{i}.jpg"),
                                 tf.io.encode_jpeg(crop))
    corrupt = root / "train" / "class1" / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not a JPEG")
    return corrupt


def test_corrupt_images_are_fatal_or_skipped_by_flag(tmp_path):
    corrupt = _image_folder_with_a_corrupt_file(tmp_path / "images")
    settings = {**TINY, "dataset": "image_folder", "data_dir": str(tmp_path / "images"),
                "crop_size": 32, "scale_min": 36, "scale_max": 44, "global_batch_size": 4,
                "epochs": 1}
    fatal = TrainConfig.from_dict({**settings, "output_dir": str(tmp_path / "fatal")})
    with pytest.raises(CorruptImageError, match=str(corrupt)):
        train(fatal)
    assert not (tmp_path / "fatal" / "checkpoints").exists()

    skip = TrainConfig.from_dict({**settings, "on_corrupt": "skip",
                                  "output_dir": str(tmp_path / "skip")})
    with pytest.warns(UserWarning, match=str(corrupt)):
        result = train(skip)
    assert result.steps == 12 // 4  # the 12 good training images, the broken one left out


def test_config_files_and_overrides(tmp_path):
    (tmp_path / "run.toml").write_text(
        'dataset = "digits"\nlearning_rates = [0.1, 0.01]\nspp_levels = [2, 1]\nseed = 3\n')
    config = TrainConfig.load(tmp_path / "run.toml", epochs=5)
    assert (config.dataset, config.learning_rates, config.spp_levels, config.epochs) == (
        "digits", (0.1, 0.01), (2, 1), 5)
    assert config.global_batch_size == 128 and config.weight_decay == 5e-4  # the paper's
    (tmp_path / "run.json").write_text('{"momentum": 0.5}')
    assert TrainConfig.load(tmp_path / "run.json").momentum == 0.5


@pytest.mark.parametrize(
    "values, message",
    [
        ({"epoch": 3}, r"Unknown setting\(s\) \['epoch'\]"),
        ({"epochs": "many"}, "Setting epochs must be an integer, got 'many'"),
        ({"epochs": 2.9}, "Setting epochs must be an integer, got 2.9"),
        ({"width": True}, "Setting width must be a number, got True"),
        ({"dataset": "mnist"}, r"Setting dataset must be one of \('fashion_mnist', "),
        ({"on_corrupt": "ignore"}, "on_corrupt must be one of"),
        ({"switch_epochs": [5]}, r"switch_epochs must be 2 increasing epochs"),
        ({"switch_epochs": [5, 3]}, r"switch_epochs must be 2 increasing epochs"),
        ({"switch_epochs": [0, 3]}, r"switch_epochs must be 2 increasing epochs"),
        ({"deterministic": True}, "needs a seed"),
        ({"deterministic": True, "seed": 1, "xla": True}, "choose --deterministic or --xla"),
        ({"learning_rates": [0.1, -1]}, "learning_rates must be positive"),
        ({"scale_min": 100}, "crop_size <= scale_min <= scale_max"),
    ],
)
def test_bad_settings_are_clear_errors(values, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict(values)


def test_bad_config_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Cannot read the settings file"):
        TrainConfig.load(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("epochs = = 3")
    with pytest.raises(ValueError, match="broken.toml is not valid TOML"):
        TrainConfig.load(tmp_path / "broken.toml")
