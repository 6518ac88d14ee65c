"""The registry: one ModelRecord per model; names(), record(name), get(name, **kwargs)."""

import re

import keras
import pytest

import keras_prelu.zoo as zoo
from keras_prelu import paper
from keras_prelu.zoo.registry import register_model

SMALL = {"width": 0.125, "fc_units": 16}
REGISTERED = ["small14", "plain30", "vgg19", "model_a", "model_b", "model_c"]
KNOWN = (
    "registered models: ['small14', 'plain30', 'vgg19', 'model_a', 'model_b', 'model_c'], "
    "or plain<depth>."
)


def weighted_layers(model):
    weighted = (keras.layers.Conv2D, keras.layers.Dense)
    return sum(isinstance(layer, weighted) for layer in model.layers)


def test_names():
    assert zoo.names() == REGISTERED


def test_records_hold_the_papers_facts():
    # Table 3's depths and complexities, Table 1 and Sec. 2.2's depths; errors as reported.
    expected = {
        "small14": (14, None, "Table 1"),
        "plain30": (30, None, "Sec. 2.2"),
        "vgg19": (19, 1.96e10, "Table 3, VGG-19"),
        "model_a": (19, 1.90e10, "Table 3, model A"),
        "model_b": (22, 2.32e10, "Table 3, model B"),
        "model_c": (22, 5.30e10, "Table 3, model C"),
    }
    for name, (depth, complexity, source) in expected.items():
        record = zoo.record(name)
        assert isinstance(record, zoo.ModelRecord)
        assert (record.name, record.depth, record.complexity) == (name, depth, complexity)
        assert record.source.startswith(source)
        assert all(isinstance(error, paper.Error) for error in record.errors)
    # Table 6's single-model result of model C, Table 2's of the 14-layer PReLU model.
    assert paper.Error("PReLU, multi-scale", 21.59, 5.71, "Table 6") in zoo.record("model_c").errors
    assert ("PReLU, channel-wise", 32.64, 12.75) in [e[:3] for e in zoo.record("small14").errors]


def test_records_are_frozen():
    with pytest.raises(AttributeError):
        zoo.record("model_a").activation = "relu"


@pytest.mark.parametrize("name", REGISTERED)
def test_get_builds_the_records_model(name):
    record = zoo.record(name)
    model = zoo.get(name, classes=3, **SMALL)
    if record.family is None:
        reference = record.builder(classes=3, **SMALL)
    else:
        reference = record.builder(int(name.removeprefix(record.family)), classes=3, **SMALL)
    assert model.name == name
    assert [layer.get_config() | {"name": None} for layer in model.layers[1:]] == [
        layer.get_config() | {"name": None} for layer in reference.layers[1:]
    ]
    assert model.output.shape == (None, 3)
    assert weighted_layers(model) == record.depth


@pytest.mark.parametrize("depth", [9, 22])
def test_get_plain_depth_builds_that_plain_net(depth):
    model = zoo.get(f"plain{depth}", **SMALL)
    assert model.name == f"plain{depth}"
    assert weighted_layers(model) == depth
    with pytest.raises(ValueError, match="must be >= 9, got 8"):
        zoo.get("plain8")


@pytest.mark.parametrize(
    "name, message",
    [
        (None, f"A model name must be a string, got None; {KNOWN}"),
        (3, f"A model name must be a string, got 3; {KNOWN}"),
        ("resnet50", f"Unknown model 'resnet50'; {KNOWN}"),
        ("plain", f"Unknown model 'plain'; {KNOWN}"),
        ("plain3.5", f"Unknown model 'plain3.5'; {KNOWN}"),
        ("30", f"Unknown model '30'; {KNOWN}"),
    ],
)
def test_unknown_names_list_the_registered_ones(name, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        zoo.get(name)
    with pytest.raises(ValueError, match=re.escape(message)):
        zoo.record(name)


def test_a_family_member_has_no_record_of_its_own():
    with pytest.raises(ValueError, match=re.escape(f"Unknown model 'plain22'; {KNOWN}")):
        zoo.record("plain22")


def test_builder_errors_pass_through():
    with pytest.raises(ValueError, match="Setting activation must be one of .*, got 'elu'"):
        zoo.get("model_a", activation="elu")


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="A model named 'model_a' is already registered"):
        register_model(activation="relu")(zoo.model_a)
    assert zoo.names() == REGISTERED


def test_only_models_the_paper_describes_are_registered():
    def resnet50():
        pass

    with pytest.raises(ValueError, match="keras_prelu.paper does not describe 'resnet50'"):
        register_model(activation="relu")(resnet50)
    assert zoo.names() == REGISTERED
