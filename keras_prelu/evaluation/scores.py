"""Class scores of a batch of images by one testing method (Sec. 3 "Testing", Sec. 4).

`"center"`: the centre crop (Figure 4's validation error). `"ten_view"`: the four corners and
the centre, and their flips (Tables 2, 5). `"dense"`: every window of the conv map of the
whole image and of its flip (Tables 4, 6). Scores are softmax probabilities, averaged over
views with equal weights; averaging over scales is the caller's (`evaluate`).
"""

import keras
import numpy as np
from keras import ops

from keras_prelu.evaluation.dense import dense_scores
from keras_prelu.evaluation.views import center_view, ten_views
from keras_prelu.zoo.shapes import chain, min_input_size, output_shapes
from keras_prelu.zoo.split import split

METHODS = ("center", "ten_view", "dense")


class Scorer:
    """Scores batches of same-size images by one method.

    The mean is subtracted from the network's inputs: a per-pixel mean image (e.g. the
    training run's `mean.npy`) must be the views' size for "center" and "ten_view"; dense
    testing subtracts it from whole images of its size and its per-channel average from
    images of any other size (a per-pixel mean has no meaning there).

    Args:
        model: A trained chain model (every zoo model); outputs are taken as logits unless
            its last layer applies a softmax.
        method: One of `METHODS`.
        crop_size: Side of the views ("center", "ten_view"); for "dense" it sets the
            default window, the conv-map size of a `crop_size` input (14 for model A at 224).
        window: Dense testing's window side in conv-map cells; None for the default.
        mean: Scalar, per-channel vector or (H, W, C) mean image, on the images' 0..255 scale.

    Attributes:
        min_scale: The smallest image side the method accepts: `crop_size` for the views,
            the model's minimum input for "dense".

    Raises:
        ValueError: Unknown method; a model without the zoo's pyramid for "dense"; a
            `crop_size` below the model's minimum input; a window smaller than the
            pyramid's largest level, or a window for another method; a malformed mean, or a
            mean image that is not `crop_size` square for the views.
    """

    def __init__(self, model, method, *, crop_size, window=None, mean=0.0):
        if method not in METHODS:
            raise ValueError(f"Unknown testing method {method!r}; use one of {METHODS}.")
        model = probabilities_model(model)
        layers = chain(model)
        channels = model.inputs[0].shape[-1]
        need = min_input_size(layers, channels)
        if crop_size < need:
            raise ValueError(
                f"crop_size={crop_size} is smaller than {model.name!r}'s minimum input "
                f"{need}x{need}."
            )
        self.model, self.method, self.crop_size = model, method, crop_size
        self.mean = _check_mean(mean, channels)
        if method != "dense" and self.mean.ndim == 3 and self.mean.shape[:2] != (
                crop_size, crop_size):
            raise ValueError(
                f"The mean image is {self.mean.shape[0]}x{self.mean.shape[1]}, but the "
                f"{method!r} views are {crop_size}x{crop_size}: give the mean.npy of a run "
                f"trained on {crop_size}-pixel crops, or its per-channel average "
                "(mean.mean(axis=(0, 1))).")
        self.min_scale = crop_size
        if method == "dense":
            try:
                self.split = split(model)
            except ValueError as error:
                raise ValueError(
                    f"{error} Dense testing pools every window with the pyramid; evaluate "
                    f"{model.name!r} with method='center' or 'ten_view' instead."
                ) from None
            cut = layers.index(self.split.spp)
            default = min(output_shapes(layers[:cut], (crop_size, crop_size, channels))[-1][1:3])
            self.window = default if window is None else window
            if self.window < self.split.spp.min_size:
                raise ValueError(
                    f"window={self.window} is smaller than the pyramid's largest level "
                    f"{self.split.spp.min_size}."
                )
            self.min_scale = need
        elif window is not None:
            raise ValueError(f"window is a parameter of method='dense', not {method!r}.")

    def __call__(self, images):
        """Scores one batch.

        Args:
            images: float (B, H, W, C), values on the 0..255 scale, mean not subtracted,
                min(H, W) >= `min_scale`.

        Returns:
            float32 array (B, classes) of probabilities averaged over the views.
        """
        images = ops.convert_to_tensor(images, "float32")
        # predict_on_batch: the compiled forward pass (1.3x the eager call's speed here), of
        # a model bound to no tf.distribute strategy (`probabilities_model`).
        if self.method == "center":
            views = self._centred(center_view(images, self.crop_size))
            return self.model.predict_on_batch(views)
        if self.method == "ten_view":
            views = ten_views(images, self.crop_size)
            batch = ops.reshape(views, (-1, *views.shape[2:]))
            scores = self.model.predict_on_batch(self._centred(batch))
            return scores.reshape(10, -1, scores.shape[-1]).mean(axis=0)
        return ops.convert_to_numpy(dense_scores(self.split, self._centred(images), self.window))

    def _centred(self, images):
        mean = self.mean
        if mean.ndim == 3 and mean.shape[:2] != tuple(images.shape[1:3]):
            mean = mean.mean(axis=(0, 1))
        return images - mean


def probabilities_model(model):
    """`model` as a new functional model on its weights, ending in softmax probabilities
    (a softmax appended unless its last layer applies one).

    Made outside a tf.distribute strategy's scope (as `train` makes it, after the fit),
    it belongs to no strategy, so its `predict_on_batch` runs each batch once on one
    device: a model built in a MirroredStrategy's scope runs a plain batch on every
    replica and returns every copy (2 replicas, 2x the rows).
    """
    last = model.layers[-1]
    scores = model.outputs[0]
    if not (isinstance(last, keras.layers.Softmax)
            or getattr(last, "activation", None) is keras.activations.softmax):
        scores = keras.layers.Softmax(name="scores")(scores)
    return keras.Model(model.inputs, scores, name=model.name)


def _check_mean(mean, channels):
    mean = np.asarray(mean, np.float32)
    if mean.ndim not in (0, 1, 3) or (mean.ndim and mean.shape[-1] not in (1, channels)):
        raise ValueError(
            f"mean must be a scalar, a per-channel vector or an (H, W, {channels}) mean "
            f"image, got shape {mean.shape}."
        )
    return mean
