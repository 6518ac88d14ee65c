"""The registry: names(), get(name, **kwargs)."""

import keras
import pytest

import keras_prelu.zoo as zoo

SMALL = {"width": 0.125, "fc_units": 16}


def test_names():
    assert zoo.names() == ["small14", "plain30", "vgg19", "model_a", "model_b", "model_c"]


@pytest.mark.parametrize(
    "name, builder",
    [
        ("small14", zoo.small14),
        ("vgg19", zoo.vgg19),
        ("model_a", zoo.model_a),
        ("model_b", zoo.model_b),
        ("model_c", zoo.model_c),
    ],
)
def test_get_builds_the_named_model(name, builder):
    model = zoo.get(name, classes=3, **SMALL)
    reference = builder(classes=3, **SMALL)
    assert model.name == name
    assert [layer.get_config() | {"name": None} for layer in model.layers[1:]] == [
        layer.get_config() | {"name": None} for layer in reference.layers[1:]
    ]
    assert model.output.shape == (None, 3)


def test_get_plain30_is_the_30_layer_net():
    model = zoo.get("plain30", **SMALL)
    assert model.name == "plain30"
    weighted = (keras.layers.Conv2D, keras.layers.Dense)
    assert sum(isinstance(layer, weighted) for layer in model.layers) == 30


@pytest.mark.parametrize("depth", [9, 22])
def test_get_plain_depth_builds_that_plain_net(depth):
    model = zoo.get(f"plain{depth}", **SMALL)
    assert model.name == f"plain{depth}"
    weighted = (keras.layers.Conv2D, keras.layers.Dense)
    assert sum(isinstance(layer, weighted) for layer in model.layers) == depth
    with pytest.raises(ValueError, match="must be >= 9, got 8"):
        zoo.get("plain8")


def test_unknown_name_lists_the_registered_ones():
    message = r"Unknown model 'resnet50'; registered models: \['small14', 'plain30', 'vgg19', "
    with pytest.raises(ValueError, match=message):
        zoo.get("resnet50")


def test_builder_errors_pass_through():
    with pytest.raises(ValueError, match="Unknown activation 'elu'"):
        zoo.get("model_a", activation="elu")
