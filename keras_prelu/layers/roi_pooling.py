"""Region-of-interest max pooling (Girshick, Fast R-CNN, ICCV 2015)."""

import keras
import numpy as np
from keras import ops

from keras_prelu.layers._common import (
    checked,
    nan_where,
    standardize_data_format,
    xla_compiling,
)

# Doubling levels built when the feature map's size is unknown until run time: windows
# of up to 2**(UNKNOWN_SIZE_LEVELS - 1) cells, enough for bins of up to 128 cells (maps
# up to 128 x 7 cells, far beyond a 1000-pixel image at stride 16).
UNKNOWN_SIZE_LEVELS = 7


def round_half_away(values):
    """C's round(), as Fast R-CNN uses (keras.ops.round rounds half to even)."""
    magnitude = ops.abs(values)
    whole = ops.floor(magnitude)
    return ops.sign(values) * (whole + ops.cast(magnitude - whole >= 0.5, values.dtype))


# Roi sides (in feature-map cells) whose bin edges come from a table of Fast R-CNN's
# float32 arithmetic; longer sides, far beyond any real map, use exact fractions.
TABLED_SIDES = 4096


def fast_rcnn_bin_edges(pool_size):
    """floor and ceil of q * float32(L / P) for sides L < TABLED_SIDES and q = 0..P.

    Fast R-CNN (like torchvision's roi_pool) computes bin edges in float32, which
    sometimes puts an edge a cell away from the exact q * L / P: a 31-cell side at
    P = 7 gets a last bin ending at cell 32. Computing it in the graph is not reliable
    (XLA and Grappler turn x / P into x * (1 / P), which rounds differently), so the
    edges are tabled here with NumPy's IEEE float32 arithmetic.
    """
    sides = np.maximum(np.arange(TABLED_SIDES, dtype=np.float32), 1)
    edges = (sides / np.float32(pool_size))[:, None] * np.arange(pool_size + 1, dtype=np.float32)
    return np.floor(edges).astype("int32"), np.ceil(edges).astype("int32")


def roi_bins(start, end, size, pool_size):
    """Fast R-CNN's bins along one side: (R, pool_size) starts and ends, clipped to the map.

    The roi spans cells [start, end] (inclusive, at least one cell); bin p covers
    [floor(p * L / P), ceil((p + 1) * L / P)) from `start`, L / P in float32.
    """
    side = ops.maximum(end - start + 1, 1)
    floors, ceils = fast_rcnn_bin_edges(pool_size)
    tabled = ops.minimum(side, TABLED_SIDES - 1)
    q = ops.arange(pool_size + 1, dtype="int32")
    exact = ops.expand_dims(side, 1) * q
    lo = ops.where(
        ops.expand_dims(side < TABLED_SIDES, 1),
        ops.take(floors, tabled, axis=0)[:, :-1],
        exact[:, :-1] // pool_size,
    )
    hi = ops.where(
        ops.expand_dims(side < TABLED_SIDES, 1),
        ops.take(ceils, tabled, axis=0)[:, 1:],
        (exact[:, 1:] + pool_size - 1) // pool_size,
    )
    start = ops.expand_dims(start, 1)
    return ops.clip(lo + start, 0, size), ops.clip(hi + start, 0, size)


def doubling_maxima(x, axis, levels):
    """[m_0, ..., m_{levels-1}]: m_k[i] = max of x over [i, i + 2**k) along `axis`.

    Positions whose window runs past the end hold wrapped-around values; they are never
    read (every window looked up lies inside the map).
    """
    maxima = [x]
    for k in range(levels - 1):
        x = ops.maximum(x, ops.roll(x, -(2**k), axis=axis))
        maxima.append(x)
    return maxima


NOT_FINITE = "RoIPooling: rois contain NaN or infinite values; drop or fix those proposals."
BAD_BATCH_INDEX = (
    "RoIPooling: a roi's batch index (column 0) is not an integer in [0, batch size) "
    "of the feature maps; rows must be (batch_index, x1, y1, x2, y2)."
)


def roi_faults(rois, batch_size):
    """Two (R,) masks: rois with a NaN or infinite value; rois whose batch index is not
    an integer in [0, batch_size)."""
    rois = ops.cast(rois, "float32")
    index = rois[:, 0]
    index_ok = (index >= 0) & (index < ops.cast(batch_size, "float32"))
    return ~ops.all(ops.isfinite(rois), axis=1), ~(index_ok & (index == ops.floor(index)))


def level_of(size, levels):
    """floor(log2(size)) for sizes >= 1, capped at levels - 1, exactly (no float log)."""
    powers = ops.convert_to_tensor([2**k for k in range(1, levels)], "int32")
    return ops.sum(ops.cast(ops.expand_dims(size, -1) >= powers, "int32"), axis=-1)


@keras.saving.register_keras_serializable(package="keras_prelu")
class RoIPooling(keras.layers.Layer):
    """Fast R-CNN's RoI max pooling: a one-level spatial pyramid on each proposal.

    Semantics are Fast R-CNN's `roi_pooling_layer` exactly: roi corners scaled by
    `spatial_scale` and rounded (half away from zero), roi side max(x2 - x1 + 1, 1)
    cells, bin p spanning [floor(p * side / P), ceil((p + 1) * side / P)) from the roi's
    corner, clipped to the map; the max over each bin, 0 for an empty bin.

    All rois are pooled at once: the layer builds maxima over power-of-two windows of
    the feature map (a sparse table, log2(H) x log2(W) maps) and reads each bin's max as
    the max of four overlapping windows, so the cost per roi does not depend on its
    size. Gradients reach the features (at each bin's arg-max), not the rois.

    Args:
        pool_size: bins per side (default 7, Fast R-CNN's VGG-16 setting).
        spatial_scale: feature-map cells per input pixel (default 1/16).
        data_format: `"channels_last"` or `"channels_first"` for the feature map and
            the output; defaults to `keras.config.image_data_format()`.
        **kwargs: base layer arguments.

    Input shape:
        A list `[features, rois]`: features `(batch, height, width, channels)` (or
        channels first); rois `(R, 5)` rows `(batch_index, x1, y1, x2, y2)` in input
        pixels. A roi that is not finite or whose batch index is not an integer in
        [0, batch) is an error (see `check_rois`); under XLA, where no check can stop
        the step, its output rows are NaN.

    Output shape:
        `(R, pool_size, pool_size, channels)` (or `(R, channels, pool_size, pool_size)`).

    Example:

    >>> features = keras.Input((None, None, 512), batch_size=1)
    >>> rois = keras.Input((5,), batch_size=None)
    >>> pooled = RoIPooling(7, 1 / 16)([features, rois])  # (R, 7, 7, 512)

    Reference:

    - [Girshick, 2015](https://arxiv.org/abs/1504.08083)
    """

    def __init__(self, pool_size=7, spatial_scale=1.0 / 16, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if int(pool_size) != pool_size or pool_size < 1:
            raise ValueError(f"RoIPooling: pool_size must be a positive integer, got {pool_size}.")
        if not spatial_scale > 0:
            raise ValueError(f"RoIPooling: spatial_scale must be positive, got {spatial_scale}.")
        self.pool_size = int(pool_size)
        self.spatial_scale = float(spatial_scale)
        self.data_format = standardize_data_format(data_format)
        # Under mixed precision only the features take the compute dtype (in `call`):
        # float16 rois would move corners (999.8 px is 1000 in float16).
        self.autocast = False

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError("RoIPooling is called on a list [features, rois].")
        features_shape, rois_shape = input_shape
        if len(features_shape) != 4:
            raise ValueError(
                f"RoIPooling: features must be 4D (batch, height, width, channels), "
                f"got shape {tuple(features_shape)}."
            )
        if len(rois_shape) != 2 or rois_shape[-1] not in (5, None):
            raise ValueError(
                "RoIPooling: rois must have shape (R, 5), rows (batch_index, x1, y1, x2, y2), "
                f"got shape {tuple(rois_shape)}."
            )

    @staticmethod
    def check_rois(rois, batch_size):
        """Returns `rois` if every row is finite with an integer batch index in
        [0, batch_size); fails otherwise: `ValueError` eagerly, `InvalidArgumentError`
        in a TensorFlow graph such as a `tf.data` map, `JaxRuntimeError` under `jax.jit`,
        `RuntimeError` under `torch.compile`, each with the same message.

        The layer runs this check on every call, but a TensorFlow function compiled with
        XLA cannot fail at run time: there the layer makes a bad roi's rows NaN instead.
        Run this check before such a step: in the input pipeline or eagerly.

        Example:

        >>> dataset = dataset.map(
        ...     lambda image, rois: (image, RoIPooling.check_rois(rois, batch_size=1)))
        """
        not_finite, bad_index = roi_faults(rois, batch_size)
        rois = checked(rois, ~ops.any(not_finite), NOT_FINITE)
        return checked(rois, ~ops.any(bad_index), BAD_BATCH_INDEX)

    def call(self, inputs):
        features, rois = inputs
        features = ops.cast(features, self.compute_dtype)
        if self.data_format == "channels_first":
            features = ops.transpose(features, (0, 2, 3, 1))
        batch, height, width, channels = ops.shape(features)
        rois = self.check_rois(ops.stop_gradient(ops.cast(rois, "float32")), batch)
        corners = ops.cast(round_half_away(rois[:, 1:] * self.spatial_scale), "int32")
        h_lo, h_hi = roi_bins(corners[:, 1], corners[:, 3], height, self.pool_size)
        w_lo, w_hi = roi_bins(corners[:, 0], corners[:, 2], width, self.pool_size)

        # Levels up to the largest bin: a bin never exceeds the map's side.
        levels, oversized = [], []
        for size, lo, hi, side in ((height, h_lo, h_hi, "height"), (width, w_lo, w_hi, "width")):
            if isinstance(size, int):
                levels.append(size.bit_length())
                continue
            levels.append(UNKNOWN_SIZE_LEVELS)
            oversized.append(ops.any(hi - lo > 2**UNKNOWN_SIZE_LEVELS, axis=1))
            rois = checked(
                rois,
                ~ops.any(oversized[-1]),
                f"RoIPooling: a bin's {side} exceeds {2**UNKNOWN_SIZE_LEVELS} feature-map "
                "cells, the most covered on maps whose size is unknown when the model is "
                "built; give the model a static input size.",
            )
        h_levels, w_levels = levels
        # One table of all doubling levels, (h_levels * w_levels * batch * height * width)
        # rows of channels, and a last row of zeros for the empty bins.
        table = ops.concatenate(
            [ops.reshape(maxima, (-1, channels))
             for rows in doubling_maxima(features, 1, h_levels)
             for maxima in doubling_maxima(rows, 2, w_levels)]
            + [ops.zeros((1, channels), features.dtype)],
            axis=0,
        )
        zero_row = h_levels * w_levels * batch * height * width

        # Each bin's max is the max of four windows of 2**k x 2**l cells at its corners.
        empty = ops.expand_dims(h_hi <= h_lo, 2) | ops.expand_dims(w_hi <= w_lo, 1)
        h_size, w_size = ops.maximum(h_hi - h_lo, 1), ops.maximum(w_hi - w_lo, 1)
        h_level, w_level = level_of(h_size, h_levels), level_of(w_size, w_levels)
        rows = [ops.minimum(h_lo, height - 1), ops.maximum(h_hi - 2**h_level, 0)]
        cols = [ops.minimum(w_lo, width - 1), ops.maximum(w_hi - 2**w_level, 0)]
        level = ops.expand_dims(h_level * w_levels, 2) + ops.expand_dims(w_level, 1)
        image = ops.reshape(ops.cast(rois[:, 0], "int32"), (-1, 1, 1))
        base = (level * batch + image) * height
        pooled = None
        for row in rows:
            for col in cols:
                index = (base + ops.expand_dims(row, 2)) * width + ops.expand_dims(col, 1)
                corner = ops.take(table, ops.where(empty, zero_row, index), axis=0)
                pooled = corner if pooled is None else ops.maximum(pooled, corner)
        if xla_compiling():
            # The checks above cannot stop an XLA step: a bad roi's output must not
            # look like features.
            bad = ops.any(ops.stack([*roi_faults(rois, batch), *oversized]), axis=0)
            pooled = nan_where(ops.reshape(bad, (-1, 1, 1, 1)), pooled)
        if self.data_format == "channels_first":
            pooled = ops.transpose(pooled, (0, 3, 1, 2))
        return pooled

    def compute_output_shape(self, input_shape):
        features_shape, rois_shape = input_shape
        p = self.pool_size
        if self.data_format == "channels_first":
            return (rois_shape[0], features_shape[1], p, p)
        return (rois_shape[0], p, p, features_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "pool_size": self.pool_size,
                "spatial_scale": self.spatial_scale,
                "data_format": self.data_format,
            }
        )
        return config
