import math

import keras
import numpy as np
import pytest

from keras_prelu.layers import SpatialPyramidPooling
from keras_prelu.layers.spatial_pyramid_pooling import bin_bounds
from tests.helpers import gradients, graph_call

RNG = np.random.default_rng(1)


def numpy_bins(size, n, rule):
    if rule == "adaptive":
        return [(i * size // n, math.ceil((i + 1) * size / n)) for i in range(n)]
    window, stride = math.ceil(size / n), size // n
    return [(i * stride, i * stride + window) for i in range(n)]


def reference(x, levels, rule="adaptive"):
    """Per-bin loops in NumPy, channels last; returns outputs and each bin's arg-max."""
    batch, height, width, channels = x.shape
    outputs, argmax = [], []
    for n in levels:
        level = np.zeros((batch, channels, n, n), x.dtype)
        for i, (h0, h1) in enumerate(numpy_bins(height, n, rule)):
            for j, (w0, w1) in enumerate(numpy_bins(width, n, rule)):
                window = x[:, h0:h1, w0:w1, :]
                level[:, :, i, j] = window.max(axis=(1, 2))
                flat = window.reshape(batch, -1, channels).argmax(axis=1)
                rows, cols = np.unravel_index(flat, (h1 - h0, w1 - w0))
                argmax.append((h0 + rows, w0 + cols))
        outputs.append(level.reshape(batch, -1))  # channel-major: all bins of channel 0 first
    return np.concatenate(outputs, axis=1), argmax


def reference_gradient(x, levels, upstream, rule="adaptive"):
    batch, height, width, channels = x.shape
    _, argmax = reference(x, levels, rule)
    grad = np.zeros_like(x)
    offset, k = 0, 0
    b, c = np.meshgrid(np.arange(batch), np.arange(channels), indexing="ij")
    for n in levels:
        g = upstream[:, offset:offset + channels * n * n].reshape(batch, channels, n, n)
        for i in range(n):
            for j in range(n):
                rows, cols = argmax[k]
                np.add.at(grad, (b, rows, cols, c), g[:, :, i, j])
                k += 1
        offset += channels * n * n
    return grad


@pytest.mark.parametrize(
    "shape, levels",
    [
        ((2, 13, 17, 5), (7, 3, 2, 1)),
        ((1, 7, 7, 3), (7, 3, 2, 1)),  # the minimum size
        ((3, 10, 9, 4), (6, 3, 2, 1)),  # Table 1's pyramid
        ((2, 31, 22, 2), (7, 3, 2, 1)),
        ((2, 5, 8, 3), (4, 2)),
    ],
)
def test_matches_per_bin_numpy_reference_with_gradients(shape, levels):
    x = RNG.standard_normal(shape).astype("float32")
    layer = SpatialPyramidPooling(levels)
    want, _ = reference(x, levels)
    got = np.asarray(layer(x))
    assert got.shape == (shape[0], shape[-1] * sum(n * n for n in levels))
    np.testing.assert_array_equal(got, want)

    upstream = RNG.standard_normal(want.shape).astype("float32")
    (grad,) = gradients(layer, [x], upstream)
    # Summation order differs where overlapping bins share an arg-max.
    np.testing.assert_allclose(grad, reference_gradient(x, levels, upstream), rtol=1e-6, atol=1e-6)


def test_channels_first_gives_the_same_vector():
    x = RNG.standard_normal((2, 11, 9, 4)).astype("float32")
    last = SpatialPyramidPooling(data_format="channels_last")(x)
    first = SpatialPyramidPooling(data_format="channels_first")(np.transpose(x, (0, 3, 1, 2)))
    np.testing.assert_array_equal(np.asarray(first), np.asarray(last))


def test_output_is_channel_major_within_each_level():
    # Channel c holds the constant c + 1: each level is n*n copies of 1, then of 2, ...
    x = np.broadcast_to(np.arange(1, 4, dtype="float32"), (1, 8, 8, 3))
    got = np.asarray(SpatialPyramidPooling((2, 1))(x))[0]
    np.testing.assert_array_equal(got, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 2, 3])


def test_adaptive_rule_gives_exactly_n_covering_bins_for_every_size():
    for n in (1, 2, 3, 6, 7):
        for size in range(n, 80):
            start, end = bin_bounds(size, n, "adaptive")
            assert len(start) == n and (end > start).all()
            assert start[0] == 0 and end[-1] == size and (start[1:] <= end[:-1]).all()
            bins = [tuple(b) for b in zip(start, end, strict=True)]
            assert bins == numpy_bins(size, n, "adaptive")


def test_sppnet_rule_matches_its_formula_where_the_bin_count_is_right():
    x = RNG.standard_normal((2, 14, 21, 3)).astype("float32")
    got = np.asarray(SpatialPyramidPooling((7, 3, 2, 1), bin_rule="sppnet")(x))
    np.testing.assert_array_equal(got, reference(x, (7, 3, 2, 1), "sppnet")[0])


def test_sppnet_rule_rejects_sizes_with_the_wrong_bin_count():
    with pytest.raises(ValueError, match="13 gives 12 bins instead of 7 at level 7"):
        SpatialPyramidPooling(bin_rule="sppnet")(np.zeros((1, 13, 14, 2), "float32"))
    with pytest.raises(ValueError, match="13 gives 12 bins instead of 7"):
        SpatialPyramidPooling(bin_rule="sppnet").build((None, 14, 13, 2))


def test_undefined_sizes_are_checked_when_called():
    layer = SpatialPyramidPooling((7, 3, 2, 1))
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, layer(inputs))
    assert model.output.shape == (None, 63 * 3)
    for size in ((7, 7), (12, 19)):
        x = RNG.standard_normal((1, *size, 3)).astype("float32")
        np.testing.assert_array_equal(graph_call(model, x), reference(x, (7, 3, 2, 1))[0])
    with pytest.raises(Exception, match="must be at least 7, the largest level"):
        graph_call(model, np.zeros((1, 6, 9, 3), "float32"))
    sppnet = SpatialPyramidPooling(bin_rule="sppnet")
    with pytest.raises(Exception, match="instead of 7 at level 7|wrong number of bins"):
        graph_call(sppnet, np.zeros((1, 13, 14, 3), "float32"))


@pytest.mark.parametrize(
    "kwargs, shape, message",
    [
        ({"levels": ()}, None, "levels must be positive integers"),
        ({"levels": (7, 0)}, None, "levels must be positive integers"),
        ({"bin_rule": "floor"}, None, "unknown bin_rule 'floor'"),
        ({}, (None, 6, 30, 8), "height must be at least 7, the largest level, got 6"),
        ({}, (None, 30, 5, 8), "width must be at least 7, the largest level, got 5"),
        ({}, (None, 30, 30, None), "known channel count"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, shape, message):
    with pytest.raises(ValueError, match=message):
        SpatialPyramidPooling(**kwargs).build(shape)


def test_config_round_trip_and_keras_file(tmp_path):
    layer = SpatialPyramidPooling((6, 3, 2, 1), bin_rule="sppnet", name="spp")
    assert SpatialPyramidPooling.from_config(layer.get_config()).get_config() == layer.get_config()
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Dense(4)(SpatialPyramidPooling()(inputs)))
    model.save(tmp_path / "spp.keras")
    reloaded = keras.models.load_model(tmp_path / "spp.keras", safe_mode=True)
    x = RNG.standard_normal((2, 9, 12, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(reloaded(x)), np.asarray(model(x)))
