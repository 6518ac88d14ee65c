"""weights=: a zoo model's weights from a .weights.h5 or .keras file written by the test."""

import re

import keras
import numpy as np
import pytest

import keras_prelu.zoo as zoo

# Small variants: the paper's layers at 1/16 width, grayscale, any input size.
TINY = {
    "width": 1 / 16,
    "stem": "small",
    "spp_levels": (2, 1),
    "fc_units": 8,
    "classes": 5,
    "input_shape": (None, None, 1),
}


def trained(name="model_a", seed=0, **kwargs):
    """A zoo model whose every weight (kernels, biases, PReLU slopes) is drawn anew, so
    that no freshly built model has them."""
    model = zoo.get(name, **{**TINY, **kwargs})
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
    return model


def outputs(model, images):
    return np.asarray(model(images, training=False))


@pytest.fixture
def images():
    return np.random.default_rng(1).normal(size=(2, 32, 40, 1)).astype("float32")


@pytest.mark.parametrize("name", zoo.names())
@pytest.mark.parametrize("extension", [".weights.h5", ".keras"])
def test_a_saved_model_reloads_exactly(tmp_path, images, name, extension):
    model = trained(name)
    path = tmp_path / f"{name}{extension}"
    model.save_weights(path) if extension == ".weights.h5" else model.save(path)
    loaded = zoo.get(name, weights=path, **TINY)
    np.testing.assert_array_equal(outputs(loaded, images), outputs(model, images))
    assert not np.array_equal(outputs(zoo.get(name, **TINY), images), outputs(model, images))


def test_the_training_recipes_model_keras(tmp_path, images):
    # As the recipe writes it: compiled, trained (optimizer state in the file), saved with
    # input shape (None, None, C); loaded by name and path, into a fixed input size too.
    keras.utils.set_random_seed(0)
    model = zoo.get("model_a", activation="prelu_shared", dropout=0.0, **TINY)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy"
    )
    labels = np.arange(2) % 5
    model.fit(images * 100, labels, epochs=3, verbose=0)
    (tmp_path / "runs" / "x").mkdir(parents=True)
    model.save(tmp_path / "runs" / "x" / "model.keras")
    path = str(tmp_path / "runs" / "x" / "model.keras")
    loaded = zoo.get("model_a", weights=path, activation="prelu_shared", dropout=0.0, **TINY)
    np.testing.assert_array_equal(outputs(loaded, images), outputs(model, images))
    fixed = zoo.model_a(
        weights=path, activation="prelu_shared", dropout=0.0, **{**TINY, "input_shape": (32, 40, 1)}
    )
    np.testing.assert_array_equal(outputs(fixed, images), outputs(model, images))


@pytest.mark.parametrize("extension", [".weights.h5", ".keras"])
@pytest.mark.parametrize("pooling", [None, "avg"])
def test_the_trunk_loads_from_a_full_models_file(tmp_path, images, extension, pooling):
    model = trained("vgg19")
    path = tmp_path / f"vgg19{extension}"
    model.save_weights(path) if extension == ".weights.h5" else model.save(path)
    trunk = zoo.vgg19(include_top=False, pooling=pooling, weights=path, **TINY)
    maps = outputs(zoo.split(model).trunk, images)
    expected = maps if pooling is None else maps.mean(axis=(1, 2))
    np.testing.assert_allclose(outputs(trunk, images), expected, rtol=1e-6, atol=1e-6)
    if pooling is None:
        np.testing.assert_array_equal(outputs(trunk, images), maps)


def saved(tmp_path, model, extension):
    path = tmp_path / f"saved{extension}"
    model.save_weights(path) if extension == ".weights.h5" else model.save(path)
    return path


def test_a_keras_file_of_another_model_names_both(tmp_path):
    path = saved(tmp_path, trained("model_b"), ".keras")
    message = (
        f"{path} holds model_b (5 classes, 1 input channel), not model_a (5 classes, 1 input "
        "channel); build the model it was saved from, or give this model's file."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        zoo.model_a(weights=path, **TINY)


@pytest.mark.parametrize(
    "kwargs, ours",
    [
        ({"classes": 7}, "model_a (7 classes, 1 input channel)"),
        ({"input_shape": (None, None, 3)}, "model_a (5 classes, 3 input channels)"),
    ],
)
def test_a_keras_file_of_other_classes_or_channels_names_both(tmp_path, kwargs, ours):
    path = saved(tmp_path, trained(), ".keras")
    message = f"{path} holds model_a (5 classes, 1 input channel), not {ours}"
    with pytest.raises(ValueError, match=re.escape(message)):
        zoo.model_a(weights=path, **{**TINY, **kwargs})


def test_a_trunk_file_has_no_classifier_to_load(tmp_path):
    path = saved(tmp_path, trained(include_top=False), ".keras")
    message = f"{path} holds model_a (no classifier, 1 input channel), not model_a (5 classes"
    with pytest.raises(ValueError, match=re.escape(message)):
        zoo.model_a(weights=path, **TINY)
    zoo.model_a(weights=path, include_top=False, **TINY)  # a trunk loads a trunk's file


@pytest.mark.parametrize("extension", [".weights.h5", ".keras"])
def test_other_options_name_the_first_layer_whose_shapes_differ(tmp_path, extension):
    path = saved(tmp_path, trained(), extension)
    where = "the file" if extension == ".weights.h5" else "model_a (5 classes, 1 input channel)"
    message = (
        f"{path} does not fit model_a (5 classes, 1 input channel): layer 'conv1' has weights "
        f"of shapes [(3, 3, 1, 12), (12,)] here and [(3, 3, 1, 6), (6,)] in {where}; build it "
        "with the options the saved model was built with (width, stem, fc_units, spp_levels, "
        "activation, ...)."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        zoo.model_a(weights=path, **{**TINY, "width": 1 / 8})


def test_a_weights_file_of_other_classes_names_fc3(tmp_path):
    path = saved(tmp_path, trained(), ".weights.h5")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "layer 'fc3' has weights of shapes [(8, 7), (7,)] here and [(8, 5), (5,)] in the file"
        ),
    ):
        zoo.model_a(weights=path, **{**TINY, "classes": 7})


def test_a_weights_file_of_another_depth(tmp_path):
    # Keras's .weights.h5 has no layer names: its entries are matched in order, and a file
    # with a layer more or less than the model is an error.
    deeper = saved(tmp_path, trained("plain10"), ".weights.h5")
    message = (
        f"{deeper} holds plain9 (5 classes, 1 input channel) and more: weights of 1 layer it "
        "lacks (conv2d_6); it was saved from another architecture."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        zoo.get("plain9", weights=deeper, **TINY)
    shallower = saved(tmp_path, trained("plain9"), ".weights.h5")
    with pytest.raises(ValueError, match=re.escape("layer 'conv3_2' has weights of shapes")):
        zoo.get("plain10", weights=shallower, **TINY)


@pytest.mark.parametrize(
    "weights, error, message",
    [
        (
            "imagenet",
            ValueError,
            "weights='imagenet' is not a .weights.h5 or .keras file; the zoo has no pretrained "
            "weights to download: give None or the path of a file you saved.",
        ),
        ("model.h5", ValueError, "weights='model.h5' is not a .weights.h5 or .keras file"),
        (3, ValueError, "weights must be None or the path of a .weights.h5 or .keras file, got 3."),
        (
            "missing.keras",
            FileNotFoundError,
            "weights file missing.keras does not exist; give the path of a file saved from "
            "this model.",
        ),
    ],
)
def test_bad_weights_arguments(weights, error, message):
    with pytest.raises(error, match=re.escape(message)):
        zoo.model_a(weights=weights, **TINY)


@pytest.mark.parametrize("extension", [".weights.h5", ".keras"])
def test_a_file_that_is_not_a_keras_file(tmp_path, extension):
    path = tmp_path / f"broken{extension}"
    path.write_bytes(b"not a model")
    with pytest.raises(ValueError, match=re.escape(f"{path} is not a Keras {extension} file (")):
        zoo.model_a(weights=path, **TINY)
