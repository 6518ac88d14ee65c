"""split(model): the trunk, the pyramid and the head of a zoo model, sharing its layers."""

import re

import keras
import numpy as np
import pytest

import keras_prelu.zoo as zoo
from keras_prelu.layers import SpatialPyramidPooling

TINY = {"width": 1 / 16, "stem": "small", "spp_levels": (3, 2, 1), "fc_units": 8, "classes": 5}
HEAD = ["fc1", "fc1_act", "fc1_dropout", "fc2", "fc2_act", "fc2_dropout", "fc3"]


@pytest.mark.parametrize("name", zoo.names())
def test_trunk_and_head_compose_to_the_model_at_any_size(name):
    keras.utils.set_random_seed(0)
    model = zoo.get(name, input_shape=(52, 60, 3), **TINY)  # a fixed size, too
    trunk, spp, head = zoo.split(model)
    assert isinstance(spp, SpatialPyramidPooling) and spp is model.get_layer("spp")
    assert trunk.input.shape == (None, None, None, 3)
    images = np.random.default_rng(0).uniform(-100, 100, (2, 52, 60, 3)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(head(spp(trunk(images)))), np.asarray(model(images)), rtol=1e-5, atol=1e-7
    )
    last_conv = [layer for layer in model.layers if layer.name.endswith("_act")][-3]
    assert trunk.layers[-1] is last_conv
    assert trunk(np.zeros((1, 64, 75, 3), "float32")).shape[-1] == last_conv.output.shape[-1]


def test_the_parts_share_the_models_layers_and_weights():
    model = zoo.model_a(**TINY)
    parts = zoo.split(model)
    assert [layer.name for layer in parts.head.layers[1:]] == HEAD
    for part in (parts.trunk, parts.head):
        for layer in part.layers[1:]:
            assert layer is model.get_layer(layer.name)
    # Weights set in the model afterwards (trained or loaded) are the parts' weights.
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
    images = rng.normal(size=(1, 20, 24, 3)).astype("float32")
    conv_map = keras.Model(model.input, model.get_layer("conv4_5_act").output)
    np.testing.assert_array_equal(np.asarray(parts.trunk(images)), np.asarray(conv_map(images)))


def test_the_fc_features_for_a_detector():
    # Fast R-CNN takes fc1 ... fc2_dropout (the 4096-d feature; here 8) of every pooled
    # proposal and replaces fc3.
    model = zoo.model_a(**TINY)
    head = zoo.split(model).head
    features = keras.Sequential(head.layers[1:-1])
    pooled = np.random.default_rng(0).normal(size=(4, head.input.shape[-1])).astype("float32")
    fc2 = model.get_layer("fc2_act")(
        model.get_layer("fc2")(model.get_layer("fc1_act")(model.get_layer("fc1")(pooled)))
    )
    np.testing.assert_allclose(np.asarray(features(pooled)), np.asarray(fc2), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [{"include_top": False}, {"head": "flatten", "input_shape": (64, 64, 3)}],
)
def test_models_without_a_pyramid_cannot_be_split(kwargs):
    model = zoo.vgg19(**{**TINY, **kwargs})
    message = (
        "Model 'vgg19' has no SpatialPyramidPooling layer ('spp') to split at; build it with "
        "include_top=True (vgg19 with head='spp')."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        zoo.split(model)


def test_only_the_zoo_pyramid_is_supported():
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, name="conv1")(inputs)
    x = SpatialPyramidPooling((2, 1), bin_rule="sppnet", name="spp")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="fc3")(x), name="sppnet")
    message = (
        "split needs the zoo's pyramid (bin_rule='adaptive', channels_last); 'sppnet''s 'spp' "
        "has bin_rule='sppnet', data_format='channels_last'."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        zoo.split(model)


def test_a_model_that_is_not_a_chain_cannot_be_split():
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.Add()([x, keras.layers.Conv2D(4, 3, padding="same")(x)])
    model = keras.Model(inputs, SpatialPyramidPooling((2, 1), name="spp")(x), name="branchy")
    with pytest.raises(ValueError, match="not a chain of layers"):
        zoo.split(model)
