import keras
import numpy as np
import pytest

import keras_prelu
from keras_prelu.layers import PReLU
from tests.helpers import check_keras_layer, layer_gradients, numpy

RNG = np.random.default_rng(0)


def reference(x, slope):
    """Eqn 1 in NumPy: y for y > 0, a * y otherwise."""
    return np.where(x > 0, x, slope * x)


def reference_gradients(x, slope, upstream, reduce_axes):
    """Eqns 2-3: dE/dy = g * (1 or a); dE/da = sum of g * y * [y <= 0] over shared axes."""
    grad_x = np.where(x > 0, upstream, slope * upstream)
    grad_slope = (upstream * np.where(x <= 0, x, 0)).sum(axis=reduce_axes, keepdims=True)[0]
    return grad_x, grad_slope


def build_with_slopes(layer, shape, slopes):
    layer.build(shape)
    layer.alpha.assign(np.asarray(slopes, "float32").reshape(layer.alpha.shape))
    return layer


CASES = [
    # (input shape, layer kwargs, slope shape, axes summed for dE/da)
    ((3, 7, 5, 4), {}, (1, 1, 4), (0, 1, 2)),
    ((3, 4, 7, 5), {"data_format": "channels_first"}, (4, 1, 1), (0, 2, 3)),
    ((6, 9), {}, (9,), (0,)),
    ((2, 11, 3), {}, (1, 3), (0, 1)),
    ((2, 3, 4, 5, 6), {}, (1, 1, 1, 6), (0, 1, 2, 3)),
    ((3, 7, 5, 4), {"mode": "channel_shared"}, (1, 1, 1), (0, 1, 2, 3)),
    ((3, 5, 6), {"mode": "channel_shared"}, (1, 1), (0, 1, 2)),
]


@pytest.mark.parametrize("shape, kwargs, slope_shape, reduce_axes", CASES)
def test_forward_and_gradients_match_numpy(shape, kwargs, slope_shape, reduce_axes):
    x = RNG.standard_normal(shape).astype("float32")
    # Slopes below 0, in (0, 1), at 1 and above 1: Eqn 1 must be exact for all of them.
    slopes = RNG.choice([-0.3, 0.0, 0.25, 1.0, 1.7, 6.0], size=slope_shape).astype("float32")
    layer = build_with_slopes(PReLU(**kwargs), shape, slopes)
    assert tuple(layer.alpha.shape) == slope_shape
    np.testing.assert_allclose(numpy(layer(x)), reference(x, slopes), rtol=1e-6, atol=0)

    upstream = RNG.standard_normal(shape).astype("float32")
    grad_x, (grad_slope,) = layer_gradients(layer, x, upstream)
    want_x, want_slope = reference_gradients(x, slopes, upstream, reduce_axes)
    np.testing.assert_allclose(grad_x, want_x, rtol=1e-6)
    np.testing.assert_allclose(grad_slope, want_slope, rtol=1e-4, atol=1e-4)


def test_initial_slope_is_the_papers_quarter():
    layer = PReLU()
    layer.build((None, 5, 5, 8))
    np.testing.assert_array_equal(numpy(layer.alpha), np.full((1, 1, 8), 0.25, "float32"))
    other = PReLU(alpha_initializer=keras.initializers.Constant(0.1))
    other.build((None, 8))
    np.testing.assert_allclose(numpy(other.alpha), 0.1)


def test_positive_inputs_pass_through_and_nothing_is_nan_for_huge_slopes():
    x = np.array([[-3.0, -1e-30, 0.0, 1e-30, 2.5, 3e38]], "float32")
    for slope in (np.inf, 1e30, 1e5):
        layer = build_with_slopes(PReLU(), x.shape, np.full(6, slope))
        y = numpy(layer(x))
        assert not np.isnan(y).any(), (slope, y)
        np.testing.assert_array_equal(y[0, 2:], x[0, 2:])
    y = numpy(layer(x))  # slope 1e5: exact products below 0
    np.testing.assert_allclose(y[0, :2], 1e5 * x[0, :2], rtol=1e-6)


def test_mixed_precision_keeps_float32_slopes(mixed_precision):
    layer = PReLU()
    x = RNG.standard_normal((2, 6, 6, 3)).astype("float16")
    y = layer(x)
    assert layer.alpha.dtype == "float32"
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    np.testing.assert_allclose(numpy(y).astype("float32"), reference(x, 0.25), rtol=1e-3)
    # A slope that overflows float16 (1e5 > 65504) still gives no NaN.
    layer.alpha.assign(np.full((1, 1, 3), 1e5, "float32"))
    x[0, 0, 0] = 0.0
    assert not np.isnan(numpy(layer(x)).astype("float32")).any()
    upstream = np.ones(x.shape, "float16")
    layer.alpha.assign(np.full((1, 1, 3), 0.25, "float32"))
    _, (grad_slope,) = layer_gradients(layer, x, upstream)
    assert grad_slope.dtype == np.float32
    want = np.minimum(x.astype("float32"), 0).sum(axis=(0, 1, 2))
    np.testing.assert_allclose(grad_slope.ravel(), want, rtol=1e-3)


def test_undefined_spatial_sizes():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, PReLU()(keras.layers.Conv2D(4, 3)(inputs)))
    for size in ((9, 9), (6, 17)):
        x = RNG.standard_normal((2, *size, 3)).astype("float32")
        conv = numpy(model.layers[1](x))
        np.testing.assert_allclose(numpy(model(x)), reference(conv, 0.25), rtol=1e-5)


def test_shared_axes_have_keras_meaning_and_port_weights():
    x = RNG.standard_normal((2, 4, 5, 3)).astype("float32")
    for shared_axes in ([1, 2], [1, 2, 3], [1], [2, 3]):
        theirs = keras.layers.PReLU(shared_axes=shared_axes)
        theirs.build(x.shape)
        theirs.alpha.assign(RNG.uniform(-1, 2, theirs.alpha.shape).astype("float32"))
        ours = PReLU(shared_axes=shared_axes)
        ours.build(x.shape)
        ours.set_weights(theirs.get_weights())
        np.testing.assert_allclose(numpy(ours(x)), numpy(theirs(x)), rtol=1e-6)
    assert PReLU(shared_axes=[1, 2], mode="channel_wise")(x).shape == x.shape
    assert PReLU(shared_axes=[1, 2, 3], mode="channel_shared")(x).shape == x.shape


@pytest.mark.parametrize(
    "kwargs, shape, message",
    [
        ({"mode": "channelwise"}, None, "unknown mode 'channelwise'"),
        ({"shared_axes": [0]}, None, "axis 0 is the batch"),
        ({"data_format": "NHWC"}, None, "Unknown data_format 'NHWC'"),
        ({"mode": "channel_shared", "shared_axes": [1, 2]}, (2, 4, 5, 3), "contradicts"),
        ({"mode": "channel_wise", "shared_axes": [1, 2, 3]}, (2, 4, 5, 3), "contradicts"),
        ({"shared_axes": [4]}, (2, 4, 5, 3), "beyond the input's rank"),
        ({"shared_axes": [3]}, (None, None, None, 3), "unknown size"),
        ({}, (None, 4, None), "unknown size"),
        ({}, (7,), "rank >= 2"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, shape, message):
    with pytest.raises(ValueError, match=message):
        PReLU(**kwargs).build(shape)


@pytest.mark.parametrize(
    "kwargs, shape, input_shape",
    [
        ({"mode": "channel_shared", "alpha_constraint": "non_neg", "name": "act"},
         (2, 8, 7, 3), (None, None, 3)),
        ({"name": "wise"}, (2, 8, 7, 3), (None, None, 3)),
        ({"shared_axes": [1]}, (3, 5, 4), (5, 4)),
        ({"data_format": "channels_first"}, (2, 3, 6, 5), (3, None, None)),
    ],
)
def test_keras_contract(kwargs, shape, input_shape, tmp_path):
    x = RNG.standard_normal(shape).astype("float32")
    check_keras_layer(PReLU, kwargs, x, tmp_path, input_shapes=[input_shape])
    assert keras_prelu.layers.PReLU is PReLU
