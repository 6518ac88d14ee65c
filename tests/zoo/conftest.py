"""Fixtures: the full-size zoo models, each built once and summarised, then freed."""

import functools
from typing import NamedTuple

import keras
import pytest

import keras_prelu.zoo as zoo
from keras_prelu.layers import PReLU
from keras_prelu.zoo.shapes import chain, min_input_size

# Every registered model, built with no arguments as a user would (model C: ~3.3e8
# weights).
BUILDERS = {name: functools.partial(zoo.get, name) for name in zoo.names()}


class Built(NamedTuple):
    """What the tests need of a full-size model."""

    convs: dict  # name -> (kernel, stride, filters, padding), in order
    layer_names: list
    complexity: zoo.Complexity
    params: int
    slopes: int  # PReLU parameters
    min_size: int


@pytest.fixture(scope="session")
def full_size():
    """name -> Built, for every registered model built with its defaults."""
    built = {}
    for name, builder in BUILDERS.items():
        model = builder()
        convs = {
            layer.name: (layer.kernel_size[0], layer.strides[0], layer.filters, layer.padding)
            for layer in model.layers
            if isinstance(layer, keras.layers.Conv2D)
        }
        built[name] = Built(
            convs,
            [layer.name for layer in model.layers],
            zoo.complexity(model),
            model.count_params(),
            sum(layer.count_params() for layer in model.layers if isinstance(layer, PReLU)),
            min_input_size(chain(model)),
        )
        del model
    return built
