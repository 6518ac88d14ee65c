"""Static shapes along a zoo model's chain of layers, and the smallest input it accepts.

Every zoo model is a chain: each layer takes the previous layer's output. Shapes are
derived from the layers' configurations (`compute_output_shape`), never by running them.
"""

import keras

from keras_prelu.layers import SpatialPyramidPooling

# The minimum-size search gives up beyond this side length.
MAX_SIZE = 4096


def chain(model):
    """The layers of a chain model, in order, without its input layer.

    Raises:
        ValueError: if `model` is not a single-input, single-output chain of layers.
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    previous = model.inputs[0] if len(model.inputs) == 1 else None
    for layer in layers:
        if previous is None or layer.input is not previous:
            raise ValueError(
                f"Model {model.name!r} is not a chain of layers (at layer {layer.name!r}); "
                "the zoo's tools need each layer to take the previous layer's output."
            )
        previous = layer.output
    if len(model.outputs) != 1 or model.outputs[0] is not previous:
        raise ValueError(f"Model {model.name!r} is not a chain ending at its single output.")
    return layers


def output_shapes(layers, input_shape):
    """The output shape of each layer of a chain for one `(height, width, channels)` input.

    Returns:
        A list of shapes, one per layer, each with a leading batch axis of 1.

    Raises:
        ValueError: naming the layer, if the input is too small for a convolution or pool
            (nothing left) or for a spatial pyramid (a side shorter than its largest level).
    """
    shape = (1, *input_shape)
    shapes = []
    for layer in layers:
        if isinstance(layer, SpatialPyramidPooling) and min(shape[1:3]) < layer.min_size:
            raise ValueError(
                f"layer {layer.name!r} gets a {shape[1]}x{shape[2]} map, smaller than its "
                f"largest pyramid level {layer.min_size}"
            )
        try:
            shape = tuple(layer.compute_output_shape(shape))
        except ValueError as error:
            raise ValueError(f"layer {layer.name!r}: {error}") from None
        shapes.append(shape)
    return shapes


def min_input_size(layers, channels=3):
    """The smallest side length of a square input that every layer of the chain accepts.

    Sides are independent (all kernels are square), so a `h x w` input works exactly when
    both `h` and `w` are at least this size.

    Args:
        layers: the chain's layers, in order (see `chain`).
        channels: input channels.

    Returns:
        The minimum side in pixels.
    """
    for size in range(1, MAX_SIZE + 1):
        try:
            output_shapes(layers, (size, size, channels))
        except ValueError:
            continue
        return size
    raise ValueError(f"No input side up to {MAX_SIZE} fits these layers.")
