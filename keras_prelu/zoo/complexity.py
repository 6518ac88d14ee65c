"""Time complexity and size of a zoo model, counted as the paper counts them (Table 3).

Computed from the layers' configurations and static shapes at a given input size; no
forward pass. Only conv and fc layers count, as in Table 3's "depth (conv+fc)" and
"complexity" rows: pooling, rectifiers and dropout are left out.

Table 3's figures (operations, x 10^10) are multiply-adds: a k x k conv with c input
channels and d filters on an h x w output map costs h*w*k*k*c*d, an fc layer
inputs*units. Counting the fc layers with the convs reproduces all four figures within
1% (VGG-19 1.966, A 1.906, B 2.322, C 5.346); the convs alone do too (1.951, 1.891, 2.307,
5.321): the fc layers add at most 0.9% at 224 px. `Complexity.macs` counts both,
`Complexity.conv_macs` the convs alone.
"""

import math
from typing import NamedTuple

import keras

from keras_prelu.zoo.shapes import chain, output_shapes


class LayerCost(NamedTuple):
    """One conv or fc layer: name, kind ("conv" or "fc"), output shape (batch 1),
    multiply-adds and parameters."""

    name: str
    kind: str
    output_shape: tuple
    macs: int
    params: int


class Complexity(NamedTuple):
    """Per-layer costs of a model's conv and fc layers at one input size, and totals."""

    layers: tuple

    @property
    def macs(self):
        """Multiply-adds of all conv and fc layers (Table 3's "complexity")."""
        return sum(layer.macs for layer in self.layers)

    @property
    def conv_macs(self):
        """Multiply-adds of the conv layers alone."""
        return sum(layer.macs for layer in self.layers if layer.kind == "conv")

    @property
    def params(self):
        """Weights and biases of the conv and fc layers (PReLU slopes not counted)."""
        return sum(layer.params for layer in self.layers)

    @property
    def depth(self):
        """Number of conv and fc layers (Table 3's "depth (conv+fc)")."""
        return len(self.layers)


def complexity(model, input_shape=(224, 224, 3)):
    """Multiply-adds and parameters of every conv and fc layer of a zoo model.

    Args:
        model: a chain model (every zoo model is one).
        input_shape: `(height, width, channels)` at which to count; default 224 x 224 x 3,
            Table 3's size.

    Returns:
        A `Complexity`: `.layers` (one `LayerCost` per conv/fc layer, in order) and the
        totals `.macs`, `.conv_macs`, `.params`, `.depth`.

    Raises:
        ValueError: if the model is not a chain, takes a fixed input size other than
            `input_shape`, or `input_shape` is too small for it.

    Example:

    >>> cost = complexity(keras_prelu.zoo.model_c())
    >>> round(cost.macs / 1e10, 2), cost.depth  # Table 3: 5.30, 22
    (5.35, 22)
    """
    layers = chain(model)
    model_shape = tuple(model.inputs[0].shape[1:])
    if any(m is not None and m != s for m, s in zip(model_shape, input_shape, strict=True)):
        raise ValueError(
            f"Model {model.name!r} takes inputs of shape {model_shape}, not {tuple(input_shape)}."
        )
    shapes = output_shapes(layers, input_shape)
    in_shapes = [(1, *input_shape), *shapes[:-1]]
    costs = []
    for layer, in_shape, out_shape in zip(layers, in_shapes, shapes, strict=True):
        # Each output value costs one multiply-add per weight it sees.
        if isinstance(layer, keras.layers.Conv2D):
            kind, fan_in = "conv", math.prod(layer.kernel_size) * in_shape[-1] // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            kind, fan_in = "fc", in_shape[-1]
        else:
            continue
        macs = math.prod(out_shape[1:]) * fan_in
        costs.append(LayerCost(layer.name, kind, out_shape, macs, layer.count_params()))
    return Complexity(tuple(costs))
