"""The learned PReLU slopes per layer, reported like the paper's Table 1."""

import keras
import numpy as np

from keras_prelu.layers import PReLU


def _describe(layer):
    """Table 1's layer column: "7x7, 64, /2" for a conv, "4096" for an fc layer."""
    if isinstance(layer, keras.layers.Conv2D):
        (k, _), (stride, _) = layer.kernel_size, layer.strides
        return f"{k}x{k}, {layer.filters}" + (f", /{stride}" if stride > 1 else "")
    if isinstance(layer, keras.layers.Dense):
        return str(layer.units)
    return ""


def layer_slopes(model):
    """{layer: its PReLU slopes as a vector} for every PReLU of `model`, in layer order
    (named after the layer each follows: the zoo names a PReLU `<layer>_act`)."""
    return {layer.name.removesuffix("_act"): keras.ops.convert_to_numpy(layer.alpha).ravel()
            for layer in model.layers if isinstance(layer, PReLU)}


def learned_slopes(model):
    """[(layer, description, mean slope)] for every PReLU of `model`, in order.

    The mean is over channels for channel-wise PReLU (Table 1: "the average of {a_i} over
    the channels is shown"), the single slope for channel-shared. Each PReLU is matched
    to the layer it follows by name (the zoo names it `<layer>_act`).
    """
    names = {layer.name: layer for layer in model.layers}
    rows = []
    for layer in model.layers:
        if isinstance(layer, PReLU):
            source = names.get(layer.name.removesuffix("_act"))
            rows.append((
                source.name if source is not None else layer.name,
                _describe(source) if source is not None else "",
                float(np.mean(keras.ops.convert_to_numpy(layer.alpha))),
            ))
    return rows


def format_slope_table(model):
    """A Markdown table of `learned_slopes(model)`, or a note when the model has no PReLU."""
    rows = learned_slopes(model)
    if not rows:
        return "(no PReLU layers: nothing learned)"
    lines = ["| layer | filters | learned slope (mean over channels) |", "|---|---|---|"]
    lines += [f"| {name} | {desc} | {slope:.3f} |" for name, desc, slope in rows]
    return "\n".join(lines)
