"""A zoo model cut at its spatial pyramid: convolutional trunk, pyramid, fc head.

Dense testing (Sec. 3, `keras_prelu.evaluation`) runs the trunk once on a whole image and
the head on the pyramid of every window; a Fast R-CNN detector (Table 8) runs the trunk
on the image and fc1, fc2 on the pyramid of every proposal.
"""

from typing import NamedTuple

import keras

from keras_prelu.layers import SpatialPyramidPooling
from keras_prelu.zoo.shapes import chain


class Split(NamedTuple):
    """A model cut at its pyramid; the three parts share the model's layers and weights.

    Attributes:
        trunk: `keras.Model`, images `(None, None, channels)` of any size at least the
            model's minimum -> the last conv's rectified map.
        spp: the model's `SpatialPyramidPooling` layer (its `levels`, `min_size`).
        head: `keras.Model`, pooled features `(batch, channels * sum(n * n))` -> the
            model's outputs. Its layers are the model's after the pyramid, in order:
            `head.layers[1:]` is `[fc1, fc1_act, fc1_dropout, fc2, fc2_act, fc2_dropout,
            fc3]`; reach one by name, `head.get_layer("fc2")`.
    """

    trunk: keras.Model
    spp: SpatialPyramidPooling
    head: keras.Model


def split(model):
    """Cuts a zoo model (with its SPP head) at its pyramid layer.

    Training or loading weights into the model changes the parts too: they are views of
    the same layers.

    Args:
        model: a chain of layers with a `SpatialPyramidPooling` layer with channels last:
            every zoo model built with `include_top=True` (vgg19 with its default
            `head="spp"`).

    Returns:
        A `Split` (trunk, spp, head); `head(spp(trunk(images)))` is `model(images)`.

    Raises:
        ValueError: if the model is not a chain, has no pyramid layer, or its pyramid
            is not the zoo's kind (adaptive bins, channels last).

    Example:

    >>> trunk, spp, head = split(keras_prelu.zoo.model_a())
    >>> features = keras.Sequential(head.layers[1:-1])  # fc1 ... fc2_dropout, 4096-d
    """
    layers = chain(model)
    cut = [i for i, layer in enumerate(layers) if isinstance(layer, SpatialPyramidPooling)]
    if not cut:
        raise ValueError(
            f"Model {model.name!r} has no SpatialPyramidPooling layer ('spp') to split at; "
            "build it with include_top=True (vgg19 with head='spp')."
        )
    spp = layers[cut[0]]
    if spp.bin_rule != "adaptive" or spp.data_format != "channels_last":
        raise ValueError(
            f"split needs the zoo's pyramid (bin_rule='adaptive', channels_last); "
            f"{model.name!r}'s {spp.name!r} has bin_rule={spp.bin_rule!r}, "
            f"data_format={spp.data_format!r}."
        )
    images = keras.Input((None, None, model.inputs[0].shape[-1]))
    x = images
    for layer in layers[: cut[0]]:
        x = layer(x)
    features = keras.Input(spp.compute_output_shape(x.shape)[1:])
    scores = features
    for layer in layers[cut[0] + 1 :]:
        scores = layer(scores)
    return Split(
        keras.Model(images, x, name=f"{model.name}_trunk"),
        spp,
        keras.Model(features, scores, name=f"{model.name}_head"),
    )
