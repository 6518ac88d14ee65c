"""Spatial pyramid pooling (He et al., SPP-net, ECCV 2014), used by Tables 1 and 3."""

import math

import keras
import numpy as np
from keras import ops

from keras_prelu.layers._common import (
    checked,
    nan_where,
    standardize_data_format,
    xla_compiling,
)

BIN_RULES = ("adaptive", "sppnet")


def bin_bounds(size, bins, rule):
    """Start (inclusive) and end (exclusive) of each of `bins` bins along a side.

    `"adaptive"`: bin i spans [floor(i*size/bins), ceil((i+1)*size/bins)), exactly
    `bins` bins for every size >= bins (the official SPP-net code). `"sppnet"`: window
    ceil(size/bins) moved by stride floor(size/bins), as written in the SPP-net paper.

    `size` is a Python int (static shapes: NumPy arrays are returned) or a scalar
    integer tensor (sizes known only at run time).
    """
    i = np.arange(bins) if isinstance(size, int) else ops.arange(bins, dtype="int32")
    if rule == "adaptive":
        return (i * size) // bins, ((i + 1) * size + bins - 1) // bins
    window, stride = (size + bins - 1) // bins, size // bins
    return i * stride, i * stride + window


def sppnet_bin_count(size, bins):
    """How many windows the "sppnet" rule fits on a side (it should be `bins`)."""
    window, stride = (size + bins - 1) // bins, size // bins
    # A side shorter than `bins` has stride 0; it is rejected by the minimum-size check.
    stride = max(stride, 1) if isinstance(size, int) else ops.maximum(stride, 1)
    return (size - window) // stride + 1


def window_max(x, start, end, axis):
    """Max of `x` over [start[i], end[i]) along `axis`, for every bin i at once.

    One gather of each bin's positions, padded to the longest bin by repeating its last
    position (a repeat does not change a max), then one reduction: no per-bin slicing.
    The bin axis replaces `axis`.
    """
    if isinstance(start, np.ndarray):
        offsets = np.arange(int(np.max(end - start)))
        index = np.minimum(start[:, None] + offsets, end[:, None] - 1)
    else:
        offsets = ops.arange(ops.max(end - start), dtype="int32")
        index = ops.minimum(ops.expand_dims(start, 1) + offsets, ops.expand_dims(end, 1) - 1)
    return ops.max(ops.take(x, index, axis=axis), axis=axis + 1)


@keras.saving.register_keras_serializable(package="keras_prelu")
class SpatialPyramidPooling(keras.layers.Layer):
    """Spatial pyramid max pooling: a fixed-length vector from a map of any size.

    Each level n divides the feature map into n x n bins and max-pools each bin; the
    levels are concatenated. Models A/B/C use levels {7, 3, 2, 1} (63 bins, Table 3),
    the 14-layer model {6, 3, 2, 1} (Table 1).

    Output layout: level by level in the order given; within a level, channel-major
    (all n*n bins of channel 0 in row-major order, then channel 1, ...), as the
    official SPP-net code flattens its (channels, n, n) blobs, so fc weights ported
    from it line up. The output does not depend on `data_format`.

    Args:
        levels: bins per side of each pyramid level, default `(7, 3, 2, 1)`.
        bin_rule: `"adaptive"` (default; exactly n bins for every side >= n, as the
            official SPP-net code) or `"sppnet"` (window ceil(a/n), stride floor(a/n),
            as written in the SPP-net paper; sides where that gives the wrong number of
            bins, e.g. 13 at level 7, are an error).
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        **kwargs: base layer arguments.

    Input shape:
        4D `(batch, height, width, channels)` (or channels first): the last conv
        layer's feature map, with a known channel count and height, width >=
        max(levels). Sizes may be unknown until run time (`keras.Input((None, None,
        C))`) and are checked then (see `check_input_size`); under XLA, where no check
        can stop the step, the output for a map too small is NaN.

    Output shape:
        `(batch, channels * sum(n * n for n in levels))`.

    Example:

    >>> x = keras.Input((None, None, 256))
    >>> SpatialPyramidPooling((6, 3, 2, 1))(x).shape  # 50 bins x 256 channels
    (None, 12800)

    Reference:

    - [He et al., 2014](https://arxiv.org/abs/1406.4729)
    """

    def __init__(self, levels=(7, 3, 2, 1), bin_rule="adaptive", data_format=None, **kwargs):
        super().__init__(**kwargs)
        levels = tuple(levels)
        if not levels or any(not isinstance(n, (int, np.integer)) or n < 1 for n in levels):
            raise ValueError(
                f"SpatialPyramidPooling: levels must be positive integers, got {levels}."
            )
        if bin_rule not in BIN_RULES:
            raise ValueError(
                f"SpatialPyramidPooling: unknown bin_rule {bin_rule!r}; use one of {BIN_RULES}."
            )
        self.levels = tuple(int(n) for n in levels)
        self.bin_rule = bin_rule
        self.data_format = standardize_data_format(data_format)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    @property
    def min_size(self):
        """The smallest height and width the layer accepts."""
        return max(self.levels)

    def _spatial_axes(self):
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def _size_checks(self, size, side):
        """(condition, message) pairs that one side of the input map must pass."""
        got = size if isinstance(size, int) else f"less than {self.min_size}"
        checks = [(
            size >= self.min_size,
            f"SpatialPyramidPooling(levels={self.levels}): its input, the feature map of "
            f"the last conv layer, must be at least {self.min_size} cells high and wide (the "
            f"largest level); got a {side} of {got}. The image is too small for this model: "
            "feed larger images or use smaller levels.",
        )]
        if self.bin_rule == "sppnet":
            for n in self.levels:
                count = sppnet_bin_count(size, n)
                got_size, got_count = (
                    (size, count) if isinstance(size, int) else ("this size", "a wrong number of")
                )
                checks.append((
                    count == n,
                    f"SpatialPyramidPooling(bin_rule='sppnet'): a feature-map {side} of "
                    f"{got_size} gives {got_count} bins instead of {n} at level {n}; use "
                    "bin_rule='adaptive' or another image size.",
                ))
        return checks

    def check_input_size(self, height, width):
        """Fails unless the layer can pool a feature map of `height` x `width` cells.

        The sizes are those of the layer's input, the last conv layer's map (not the
        image's), as Python ints or scalar integer tensors. Fails as the layer's own
        checks do: `ValueError` eagerly, `InvalidArgumentError` in a TensorFlow graph
        such as a `tf.data` map, `JaxRuntimeError` under `jax.jit`.

        The layer runs this check on every call, but a TensorFlow function compiled with
        XLA cannot fail at run time: there the layer's whole output is NaN for a map too
        small instead. Run this check before such a step: in the input pipeline or
        eagerly.

        Example:

        >>> spp = SpatialPyramidPooling((7, 3, 2, 1))
        >>> spp.check_input_size(6, 9)  # a 6 x 9 conv5 map: ValueError
        """
        for size, side in ((height, "height"), (width, "width")):
            for condition, message in self._size_checks(size, side):
                checked(size, condition, message)

    def build(self, input_shape):
        channel_axis = -1 if self.data_format == "channels_last" else 1
        if input_shape[channel_axis] is None:
            raise ValueError(
                f"SpatialPyramidPooling needs a known channel count, got shape {input_shape}."
            )
        for axis, side in zip(self._spatial_axes(), ("height", "width"), strict=True):
            size = input_shape[axis]
            if size is not None:
                try:
                    for condition, message in self._size_checks(size, side):
                        checked(size, condition, message)
                except ValueError as error:
                    raise ValueError(f"{error} (input shape {tuple(input_shape)})") from None
        self.input_spec = keras.layers.InputSpec(
            ndim=4, axes={channel_axis: input_shape[channel_axis]}
        )

    def call(self, inputs):
        h_axis, w_axis = self._spatial_axes()
        shape = ops.shape(inputs)
        sizes = (shape[h_axis], shape[w_axis])
        checks = [check for size, side in zip(sizes, ("height", "width"), strict=True)
                  for check in self._size_checks(size, side)]
        for condition, message in checks:
            inputs = checked(inputs, condition, message)
        pooled = []
        for n in self.levels:
            level = window_max(inputs, *bin_bounds(sizes[0], n, self.bin_rule), axis=h_axis)
            level = window_max(level, *bin_bounds(sizes[1], n, self.bin_rule), axis=w_axis)
            if self.data_format == "channels_last":
                level = ops.transpose(level, (0, 3, 1, 2))
            pooled.append(ops.reshape(level, (-1, math.prod(level.shape[1:]))))
        pooled = ops.concatenate(pooled, axis=-1)
        run_time = [condition for condition, _ in checks if not isinstance(condition, bool)]
        if run_time and xla_compiling():
            # The checks above cannot stop an XLA step: pooling a map too small must not
            # give plausible features.
            pooled = nan_where(~ops.all(ops.stack(run_time)), pooled)
        return pooled

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1 if self.data_format == "channels_last" else 1]
        return (input_shape[0], channels * sum(n * n for n in self.levels))

    def get_config(self):
        config = super().get_config()
        config.update(
            {"levels": self.levels, "bin_rule": self.bin_rule, "data_format": self.data_format}
        )
        return config
