import keras
import numpy as np
import pytest

from keras_prelu.layers import RoIPooling
from keras_prelu.layers.roi_pooling import TABLED_SIDES, roi_bins
from tests.helpers import check_failure, check_keras_layer, gradients, numpy, run

RNG = np.random.default_rng(2)
F32 = np.float32


def c_round(v):
    return int(np.sign(v) * np.floor(np.abs(v) + F32(0.5)))


def reference(features, rois, pool_size, scale):
    """Fast R-CNN's roi_pooling_layer forward, loop by loop, in float32 like its CUDA code.
    Returns the output and each bin's arg-max (or None for an empty bin)."""
    _, height, width, channels = features.shape
    out = np.zeros((len(rois), pool_size, pool_size, channels), features.dtype)
    argmax = {}
    for r, (b, x1, y1, x2, y2) in enumerate(rois.astype(F32)):
        start_w, start_h, end_w, end_h = (c_round(v * F32(scale)) for v in (x1, y1, x2, y2))
        bin_h = F32(max(end_h - start_h + 1, 1)) / F32(pool_size)
        bin_w = F32(max(end_w - start_w + 1, 1)) / F32(pool_size)
        for ph in range(pool_size):
            for pw in range(pool_size):
                h0 = min(max(int(np.floor(F32(ph) * bin_h)) + start_h, 0), height)
                h1 = min(max(int(np.ceil(F32(ph + 1) * bin_h)) + start_h, 0), height)
                w0 = min(max(int(np.floor(F32(pw) * bin_w)) + start_w, 0), width)
                w1 = min(max(int(np.ceil(F32(pw + 1) * bin_w)) + start_w, 0), width)
                if h1 <= h0 or w1 <= w0:
                    continue
                window = features[int(b), h0:h1, w0:w1].reshape(-1, channels)
                out[r, ph, pw] = window.max(axis=0)
                rows, cols = np.unravel_index(window.argmax(axis=0), (h1 - h0, w1 - w0))
                argmax[r, ph, pw] = (int(b), h0 + rows, w0 + cols)
    return out, argmax


def reference_gradient(features, rois, pool_size, scale, upstream):
    """Fast R-CNN's backward: each bin's gradient goes to its arg-max."""
    _, argmax = reference(features, rois, pool_size, scale)
    grad = np.zeros_like(features)
    channels = np.arange(features.shape[-1])
    for (r, ph, pw), (b, rows, cols) in argmax.items():
        np.add.at(grad, (b, rows, cols, channels), upstream[r, ph, pw])
    return grad


def random_rois(count, batch, image_height, image_width):
    """Proposals of every kind: inside, across and outside the image, degenerate
    (x2 < x1), tiny and larger than the image."""
    x1 = RNG.uniform(-0.2 * image_width, image_width, count)
    y1 = RNG.uniform(-0.2 * image_height, image_height, count)
    x2 = x1 + RNG.uniform(-20, 1.3 * image_width, count)
    y2 = y1 + RNG.uniform(-20, 1.3 * image_height, count)
    rois = np.stack([RNG.integers(0, batch, count), x1, y1, x2, y2], axis=1).astype("float32")
    # A 31-cell roi at scale 1: Fast R-CNN's float32 arithmetic ends its last bin one
    # cell past the roi; the layer must do the same.
    rois[0] = [0, 0, 0, 30, 30]
    return rois


@pytest.mark.parametrize("pool_size", [7, 6, 3])
def test_bin_edges_follow_fast_rcnn_float32_arithmetic_for_every_side(pool_size):
    sides = np.arange(1, 5000, dtype="int32")
    start = np.full_like(sides, 3)
    lo, hi = (np.asarray(v) for v in roi_bins(start, start + sides - 1, 10**6, pool_size))
    bin_size = sides.astype(F32) / F32(pool_size)
    p = np.arange(pool_size, dtype=F32)
    tabled = sides < TABLED_SIDES
    want_lo = np.floor(p * bin_size[:, None]).astype(int) + 3
    want_hi = np.ceil((p + 1) * bin_size[:, None]).astype(int) + 3
    np.testing.assert_array_equal(lo[tabled], want_lo[tabled])
    np.testing.assert_array_equal(hi[tabled], want_hi[tabled])
    # Beyond the table: the exact fractions.
    q = np.arange(pool_size)
    np.testing.assert_array_equal(lo[~tabled], 3 + q * sides[~tabled, None] // pool_size)
    np.testing.assert_array_equal(
        hi[~tabled], 3 + -(-(q + 1) * sides[~tabled, None] // pool_size)
    )


@pytest.mark.parametrize(
    "batch, height, width, channels, pool_size, scale",
    [
        (2, 13, 19, 3, 7, 1 / 16),
        (1, 38, 50, 4, 7, 1 / 16),  # a VOC image's conv5 map
        (3, 9, 6, 2, 3, 1 / 8),
        (1, 40, 33, 2, 6, 1.0),
    ],
)
def test_matches_fast_rcnn_reference_with_gradients(batch, height, width, channels,
                                                   pool_size, scale):
    features = RNG.standard_normal((batch, height, width, channels)).astype("float32")
    rois = random_rois(60, batch, height / scale, width / scale)
    layer = RoIPooling(pool_size, scale)
    want, _ = reference(features, rois, pool_size, scale)
    for mode in ("eager", "graph"):
        np.testing.assert_array_equal(run(mode, lambda f, r: layer([f, r]), features, rois), want)

    upstream = RNG.standard_normal(want.shape).astype("float32")
    grad, _ = gradients(lambda f, r: layer([f, r]), [features, rois], upstream)
    np.testing.assert_allclose(
        grad, reference_gradient(features, rois, pool_size, scale, upstream), rtol=1e-5, atol=1e-5
    )


def test_rounding_is_half_away_from_zero_and_empty_bins_are_zero():
    # Values fall from left to right, so a bin's max sits in its leftmost column.
    features = (36 - np.arange(36, dtype="float32")).reshape(1, 6, 6, 1)
    # x1 = 2.5 rounds to 3 (half to even would give 2); the roi, columns 3-9, runs past
    # the map's right edge: bin 0 covers [3, 3 + ceil(3.5)) = columns 3-5, bin 1 is empty.
    rois = np.array([[0, 2.5, 0, 9, 1]], "float32")
    got = numpy(RoIPooling(2, 1.0)([features, rois]))[0, :, :, 0]
    np.testing.assert_array_equal(got, [[features[0, 0, 3, 0], 0.0], [features[0, 1, 3, 0], 0.0]])
    np.testing.assert_array_equal(got, reference(features, rois, 2, 1.0)[0][0, :, :, 0])


def test_channels_first():
    features = RNG.standard_normal((2, 10, 12, 3)).astype("float32")
    rois = random_rois(20, 2, 160, 192)
    last = RoIPooling(data_format="channels_last")([features, rois])
    first = RoIPooling(data_format="channels_first")([np.transpose(features, (0, 3, 1, 2)), rois])
    np.testing.assert_array_equal(numpy(first), np.transpose(numpy(last), (0, 3, 1, 2)))


def test_thousands_of_rois_in_a_functional_model():
    features_in = keras.Input((None, None, 8), batch_size=1)
    rois_in = keras.Input((5,), batch_size=None)
    pooled = RoIPooling(7, 1 / 16)([features_in, rois_in])
    model = keras.Model([features_in, rois_in], pooled)
    assert tuple(model.output.shape) == (None, 7, 7, 8)
    features = RNG.standard_normal((1, 38, 50, 8)).astype("float32")
    rois = random_rois(2000, 1, 600, 800)
    got = numpy(model([features, rois]))
    assert got.shape == (2000, 7, 7, 8)
    sample = RNG.choice(2000, 40, replace=False)
    np.testing.assert_array_equal(got[sample], reference(features, rois[sample], 7, 1 / 16)[0])


BAD_ROIS = [
    ([0, np.nan, 0, 10, 10], "NaN or infinite"),
    ([0, 0, 0, np.inf, 10], "NaN or infinite"),
    ([np.nan, 0, 0, 10, 10], "NaN or infinite"),
    ([2, 0, 0, 10, 10], "batch index"),
    ([-1, 0, 0, 10, 10], "batch index"),
    ([0.5, 0, 0, 10, 10], "batch index"),
]


def with_bad_roi(roi):
    """Two good rois, one per image of a batch of 2, around a bad one."""
    return np.array([[0, 0, 0, 50, 50], roi, [1, 8, 0, 30, 20]], "float32")


POOL = RoIPooling(2, 1 / 8)


def pool(features, rois):
    """One layer and function for all bad rois, so each mode compiles it once."""
    return POOL([features, rois])


def check_rois(rois):
    return RoIPooling.check_rois(rois, 2)


@pytest.mark.parametrize("mode", ["eager", "graph"])
@pytest.mark.parametrize("roi, message", BAD_ROIS)
def test_bad_rois_are_clear_errors(roi, message, mode):
    features = np.zeros((2, 8, 8, 1), "float32")
    with pytest.raises(check_failure(mode), match=message):
        run(mode, pool, features, with_bad_roi(roi))
    # The same check, public, for the input pipeline.
    with pytest.raises(check_failure(mode), match=message):
        run(mode, check_rois, with_bad_roi(roi))


@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_the_public_check_passes_good_rois_through(mode):
    rois = random_rois(30, 2, 100, 100)
    np.testing.assert_array_equal(run(mode, check_rois, rois), rois)


@pytest.mark.parametrize("roi, message", BAD_ROIS)
def test_under_xla_a_bad_roi_gives_nan_rows_and_the_public_check_stops_it_before(roi, message):
    features = RNG.standard_normal((2, 8, 8, 3)).astype("float32")
    rois = with_bad_roi(roi)
    # XLA drops assertion ops: the layer cannot raise, so the bad roi's output is NaN.
    got = run("xla", pool, features, rois)
    assert np.isnan(got[1]).all()
    np.testing.assert_array_equal(got[[0, 2]], reference(features, rois[[0, 2]], 2, 1 / 8)[0])

    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensors(rois).map(check_rois)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        list(dataset)


def test_the_public_check_raises_under_torch_compile():
    if keras.backend.backend() != "torch":
        pytest.skip("torch only")
    import torch

    # The "eager" backend runs the captured graph as is: the assertion op is in it.
    check = torch.compile(RoIPooling.check_rois, backend="eager")
    for roi, message in BAD_ROIS[0], BAD_ROIS[3]:
        with pytest.raises(RuntimeError, match=message):
            check(torch.tensor(with_bad_roi(roi)), 2)
    rois = with_bad_roi([1, 0, 0, 10, 10])
    np.testing.assert_array_equal(numpy(check(torch.tensor(rois), 2)), rois)


@pytest.mark.parametrize("mode", ["graph", "xla"])
def test_bins_beyond_the_unknown_size_limit_are_an_error(mode):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("only TensorFlow graphs have sizes unknown until run time")
    features = RNG.standard_normal((1, 300, 4, 1)).astype("float32")
    rois = np.array([[0, 0, 0, 3, 299], [0, 0, 0, 3, 99]], "float32")

    def pool(f, r):
        return RoIPooling(1, 1.0)([f, r])

    if mode == "graph":
        with pytest.raises(check_failure(mode), match="exceeds 128 feature-map cells"):
            run(mode, pool, features, rois)
        return
    got = run(mode, pool, features, rois)
    assert np.isnan(got[0]).all()
    np.testing.assert_array_equal(got[1], reference(features, rois[1:], 1, 1.0)[0][0])


def test_mixed_precision_keeps_float32_rois():
    # float16 would hold x1 = 999.8 as 1000: at scale 1/16 the corner would round to
    # cell 63 (62.5) instead of 62 (62.49). Values fall from left to right, so each
    # bin's max sits in its leftmost column.
    features = np.broadcast_to(-np.arange(70, dtype="float32")[:, None], (1, 4, 70, 1))
    rois = np.array([[0, 999.8, 0, 1100, 60]], "float32")
    got = RoIPooling(2, 1 / 16, dtype="mixed_float16")([features, rois])
    assert keras.backend.standardize_dtype(got.dtype) == "float16"
    want = reference(features.astype("float16"), rois, 2, 1 / 16)[0]
    assert want[0, 0, 0, 0] == -62
    np.testing.assert_array_equal(numpy(got), want)


@pytest.mark.parametrize(
    "kwargs, shapes, message",
    [
        ({"pool_size": 0}, None, "pool_size must be a positive integer"),
        ({"spatial_scale": 0}, None, "spatial_scale must be positive"),
        ({}, [(1, 8, 8), (4, 5)], "features must be 4D"),
        ({}, [(1, 8, 8, 3), (4, 4)], r"rois must have shape \(R, 5\)"),
        ({}, [(1, 8, 8, 3)], r"list \[features, rois\]"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, shapes, message):
    with pytest.raises(ValueError, match=message):
        RoIPooling(**kwargs).build(shapes)


@pytest.mark.parametrize(
    "kwargs, shapes",
    [
        ({"pool_size": 6, "spatial_scale": 1 / 8, "name": "roi_pool"}, (1, 10, 11, 3)),
        ({"pool_size": 3, "spatial_scale": 1 / 4}, (1, 10, 11, 3)),
        ({"data_format": "channels_first"}, (2, 3, 10, 11)),
    ],
)
def test_keras_contract(kwargs, shapes, tmp_path):
    features = RNG.standard_normal(shapes).astype("float32")
    rois = random_rois(15, shapes[0], 40, 44)
    channels_first = kwargs.get("data_format") == "channels_first"
    features_shape = (3, None, None) if channels_first else (None, None, 3)
    check_keras_layer(RoIPooling, kwargs, [features, rois], tmp_path,
                      input_shapes=[features_shape, (5,)])
