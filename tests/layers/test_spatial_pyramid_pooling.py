import math

import keras
import numpy as np
import pytest

from keras_prelu.layers import SpatialPyramidPooling
from keras_prelu.layers.spatial_pyramid_pooling import bin_bounds
from tests.helpers import check_failure, check_keras_layer, gradients, numpy, run

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
    got = numpy(layer(x))
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
    np.testing.assert_array_equal(numpy(first), numpy(last))


def test_output_is_channel_major_within_each_level():
    # Channel c holds the constant c + 1: each level is n*n copies of 1, then of 2, ...
    x = np.broadcast_to(np.arange(1, 4, dtype="float32"), (1, 8, 8, 3))
    got = numpy(SpatialPyramidPooling((2, 1))(x))[0]
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
    got = numpy(SpatialPyramidPooling((7, 3, 2, 1), bin_rule="sppnet")(x))
    np.testing.assert_array_equal(got, reference(x, (7, 3, 2, 1), "sppnet")[0])


def test_sppnet_rule_rejects_sizes_with_the_wrong_bin_count():
    with pytest.raises(ValueError, match="height of 13 gives 12 bins instead of 7 at level 7"):
        SpatialPyramidPooling(bin_rule="sppnet")(np.zeros((1, 13, 14, 2), "float32"))
    with pytest.raises(ValueError, match="width of 13 gives 12 bins instead of 7"):
        SpatialPyramidPooling(bin_rule="sppnet").build((None, 14, 13, 2))


TOO_SMALL = "feature map of the last conv layer, must be at least 7 cells high and wide"
SPP = SpatialPyramidPooling((7, 3, 2, 1))
SPPNET = SpatialPyramidPooling(bin_rule="sppnet")


def spp(x):
    """One layer and function for every size, so each mode compiles it once."""
    return SPP(x)


def sppnet(x):
    return SPPNET(x)


def test_undefined_sizes_are_checked_when_called():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, SPP(inputs))
    assert model.output.shape == (None, 63 * 3)
    for size in ((7, 7), (12, 19)):
        x = RNG.standard_normal((1, *size, 3)).astype("float32")
        np.testing.assert_array_equal(run("graph", model, x), reference(x, (7, 3, 2, 1))[0])


# Bad sizes: (layer function, input shape, message); TensorFlow graphs learn the size
# at run time, JAX and torch when tracing.
BAD_SIZES = [
    (spp, (1, 6, 9, 3), f"{TOO_SMALL} .the largest level.; got a height of (6|less than 7)"),
    (spp, (2, 9, 2, 3), "got a width of (2|less than 7). The image is too small for this model"),
    (sppnet, (1, 13, 14, 3), "height of (13 gives 12|this size gives a wrong number of) bins"),
]


@pytest.mark.parametrize("mode", ["eager", "graph"])
@pytest.mark.parametrize("fn, shape, message", BAD_SIZES)
def test_sizes_too_small_are_clear_errors(fn, shape, message, mode):
    static = mode == "eager" or keras.backend.backend() != "tensorflow"
    with pytest.raises(ValueError if static else check_failure(mode), match=message):
        run(mode, fn, np.zeros(shape, "float32"))


@pytest.mark.parametrize("mode", ["eager", "graph"])
@pytest.mark.parametrize("fn, shape, message", BAD_SIZES)
def test_the_public_size_check(fn, shape, message, mode):
    layer = SPPNET if fn is sppnet else SPP

    def check(sizes):
        layer.check_input_size(sizes[0], sizes[1])
        return sizes

    with pytest.raises(check_failure(mode), match=message):
        run(mode, check, np.array(shape[1:3], "int32"))
    good = np.array([14, 21], "int32")
    np.testing.assert_array_equal(run(mode, check, good), good)


@pytest.mark.parametrize("fn, shape, message", BAD_SIZES)
def test_under_xla_a_map_too_small_gives_nan_and_the_public_check_stops_it_before(
    fn, shape, message
):
    # XLA drops assertion ops: the layer cannot raise, so its whole output is NaN.
    assert np.isnan(run("xla", fn, np.ones(shape, "float32"))).all()
    x = RNG.standard_normal((shape[0], 14, 21, 3)).astype("float32")
    rule = "sppnet" if fn is sppnet else "adaptive"
    np.testing.assert_array_equal(run("xla", fn, x), reference(x, (7, 3, 2, 1), rule)[0])

    import tensorflow as tf

    layer = SPPNET if fn is sppnet else SPP

    def check(x):
        layer.check_input_size(tf.shape(x)[0], tf.shape(x)[1])
        return x

    dataset = tf.data.Dataset.from_tensors(np.ones(shape[1:], "float32")).map(check)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        list(dataset)


@pytest.mark.parametrize(
    "kwargs, shape, message",
    [
        ({"levels": ()}, None, "levels must be positive integers"),
        ({"levels": (7, 0)}, None, "levels must be positive integers"),
        ({"bin_rule": "floor"}, None, "unknown bin_rule 'floor'"),
        ({}, (None, 6, 30, 8), "at least 7 cells high and wide .the largest level.; got a "
         "height of 6. The image is too small for this model"),
        ({}, (None, 30, 5, 8), "got a width of 5. The image is too small"),
        ({}, (None, 30, 30, None), "known channel count"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, shape, message):
    with pytest.raises(ValueError, match=message):
        SpatialPyramidPooling(**kwargs).build(shape)


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({"levels": (6, 3, 2, 1), "bin_rule": "sppnet", "name": "spp"}, (2, 12, 18, 3)),
        ({}, (2, 9, 12, 3)),
        ({"data_format": "channels_first"}, (2, 3, 9, 12)),
    ],
)
def test_keras_contract(kwargs, shape, tmp_path):
    x = RNG.standard_normal(shape).astype("float32")
    channels_first = kwargs.get("data_format") == "channels_first"
    check_keras_layer(SpatialPyramidPooling, kwargs, x, tmp_path,
                      input_shapes=[(3, None, None) if channels_first else (None, None, 3)])
