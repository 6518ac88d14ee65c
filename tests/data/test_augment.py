import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_prelu.data import augment

from .imaging import bilinear, encode, pil_decode

# Krizhevsky et al. 2012 / fb.resnet.torch ImageNet PCA, [0, 1] pixel scale; columns = p_i.
EIGVAL_01 = np.array([0.2175, 0.0188, 0.0045])
EIGVEC = np.array(
    [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
)


def over_seeds(fn, n):
    """fn(seed) for seeds [i, 7], i < n, run inside tf.data (fast, graph mode)."""
    ds = tf.data.Dataset.range(n).map(lambda i: fn(tf.stack([i, tf.constant(7, tf.int64)])))
    return next(iter(ds.batch(n))).numpy()


def test_random_crop_window_follows_scale_jitter():
    height, width = 375, 500
    windows = over_seeds(
        lambda s: augment.random_crop_window(tf.constant([height, width]), s), 3000
    )
    y, x, side, side2 = windows.T
    np.testing.assert_array_equal(side, side2)
    # side = 224 * shorter / s with s uniform on [256, 512] (Sec. 3).
    assert side.min() >= round(224 * 375 / 512) and side.max() <= round(224 * 375 / 256)
    s = 224 * 375 / side
    assert s.mean() == pytest.approx(384, abs=4)
    assert np.quantile(s, 0.25) == pytest.approx(320, abs=8)
    assert (y >= 0).all() and (y + side <= height).all()
    assert (x >= 0).all() and (x + side <= width).all()
    # Offsets uniform over the valid range, reaching both ends.
    assert (x / (width - side)).mean() == pytest.approx(0.5, abs=0.03)
    assert (y == 0).any() and (x == width - side).any()


def test_center_crop_window():
    window = augment.center_crop_window(tf.constant([375, 500]), scale=256, crop_size=224)
    side = round(224 * 375 / 256)  # 328
    np.testing.assert_array_equal(window, [(375 - side) // 2, (500 - side) // 2, side, side])


def window_fn(window):
    return lambda size: tf.constant(window, tf.int32)


def test_decode_crop_resize_jpeg_matches_full_decode_then_crop(photos):
    data = encode(photos["coffee"], quality=90)
    window = [37, 101, 250, 250]
    out = augment.decode_crop_resize(tf.constant(data), window_fn(window), 224).numpy()
    y, x, h, w = window
    full = tf.io.decode_jpeg(data, channels=3).numpy()
    assert out.shape == (224, 224, 3) and out.dtype == np.float32
    # Only chroma upsampling at the window's border may differ.
    assert np.abs(out - bilinear(full[y : y + h, x : x + w], 224, 224)).mean() < 0.05


def test_decode_crop_resize_png_is_exact(photos):
    image = photos["chelsea"]
    window = [10, 200, 120, 150]
    out = augment.decode_crop_resize(tf.constant(encode(image, "PNG")), window_fn(window), 96)
    np.testing.assert_allclose(out, bilinear(image[10:130, 200:350], 96, 96), atol=0.01)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_large_windows_are_shrunk_without_aliasing(photos, fmt):
    # A 380-pixel window to 64 pixels: JPEG shrinks 4x in the DCT domain (the offsets are
    # multiples of 4, whole pixels at that scale), PNG is resized with an antialiasing filter;
    # both are close to Pillow's antialiased reduction, unlike plain bilinear sampling.
    data = encode(photos["coffee"], fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    out = augment.decode_crop_resize(tf.constant(data), window_fn([12, 52, 380, 380]), 64)
    crop = Image.fromarray(pil_decode(data)[12:392, 52:432])
    reference = np.asarray(crop.resize((64, 64), Image.BILINEAR), np.float64)
    aliased = bilinear(pil_decode(data)[12:392, 52:432], 64, 64)
    assert np.abs(out - reference).mean() < 2.5
    assert np.abs(out - reference).mean() < np.abs(aliased - reference).mean() / 2


@pytest.mark.parametrize(
    "mode, fmt, tolerance",
    [
        ("L", "JPEG", 1.5),
        ("CMYK", "JPEG", 2.5),
        ("RGBA", "PNG", 0),
        ("P", "GIF", 0),
        ("RGB", "BMP", 0),
    ],
)
def test_decode_rgb_converts_to_three_channels(photos, mode, fmt, tolerance):
    data = encode(photos["astronaut"], fmt, mode=mode)
    out = augment.decode_rgb(tf.constant(data)).numpy()
    reference = pil_decode(data)
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - reference).mean() <= tolerance
    if mode == "L":
        np.testing.assert_array_equal(out[..., 0], out[..., 2])
    if mode == "RGBA":
        np.testing.assert_array_equal(out, photos["astronaut"])  # alpha dropped


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_cropped_jpeg_decoding_converts_grey_and_cmyk(photos, mode):
    data = encode(photos["chelsea"], mode=mode, quality=95)
    out = augment.center_crop(tf.constant(data)).numpy()
    # Reference: Pillow's RGB conversion, stored losslessly, through the same view.
    reference = augment.center_crop(tf.constant(encode(pil_decode(data), "PNG"))).numpy()
    assert np.abs(out - reference).mean() < 2.5


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_center_crop_is_resize_shorter_side_then_crop(photos, fmt):
    # 400 x 600 -> 256 x 384 -> centre 224 x 224; the window (25, 125, 350, 350) of the
    # original maps exactly onto whole pixels of the resized image.
    data = encode(photos["coffee"], fmt)
    out = augment.center_crop(tf.constant(data), scale=256).numpy()
    decoded = tf.io.decode_image(data, channels=3).numpy()
    reference = bilinear(decoded, 256, 384)[16:240, 80:304]
    assert out.shape == (224, 224, 3)
    # The border samples clamp at the window instead of reading its neighbours.
    tolerance = 0.01 if fmt == "PNG" else 0.05
    np.testing.assert_allclose(out[1:-1, 1:-1], reference[1:-1, 1:-1], atol=tolerance)
    assert np.abs(out - reference).mean() < tolerance


def test_resize_shorter(photos):
    data = encode(photos["coffee"], "PNG")  # 400 x 600
    assert augment.resize_shorter(tf.constant(data), 256).shape == (256, 384, 3)
    assert augment.resize_shorter(tf.constant(data), 500).shape == (500, 750, 3)
    np.testing.assert_array_equal(augment.resize_shorter(tf.constant(data), 400), photos["coffee"])


def test_pca_color_shift():
    eigvec = np.array(augment.IMAGENET_EIGVEC)
    np.testing.assert_allclose(eigvec, EIGVEC)
    np.testing.assert_allclose(augment.IMAGENET_EIGVAL, EIGVAL_01 * 255, rtol=1e-3)
    np.testing.assert_allclose(eigvec.T @ eigvec, np.eye(3), atol=2e-3)
    shifts = over_seeds(augment.pca_color_shift, 2000)
    # shift = sum_i alpha_i lambda_i p_i: recover alpha with the eigenvectors.
    alpha = shifts @ np.linalg.inv(EIGVEC).T / (EIGVAL_01 * 255)
    assert alpha.mean(axis=0) == pytest.approx([0, 0, 0], abs=0.01)
    assert alpha.std(axis=0) == pytest.approx([0.1, 0.1, 0.1], abs=0.008)


@pytest.mark.parametrize("mean_shape", [(), (3,), (1, 1, 3), (5, 7, 3), (5, 1, 1)])
def test_subtract_mean_broadcasts_like_numpy(mean_shape):
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (5, 7, 3)).astype(np.float32)
    mean = rng.uniform(0, 255, mean_shape).astype(np.float32)
    np.testing.assert_allclose(augment.subtract_mean(image, mean), image - mean, atol=1e-4)


def test_paper_train_augment_scale_flip_and_mean():
    # A horizontal ramp (value = column / 2): the output's slope reveals the crop scale and
    # its sign the flip, independently of the colour shift, which is constant per image.
    ramp = np.tile(np.arange(600, dtype=np.float64)[None, :, None] / 2.4, (400, 1, 3))
    data = tf.constant(encode(ramp.astype(np.uint8), "PNG"))
    out = over_seeds(lambda s: augment.paper_train_augment(data, s, mean=0.0), 400)
    assert out.shape == (400, 224, 224, 3) and out.dtype == np.float32
    slope = (out[:, :, 200:210].mean(axis=(1, 2, 3)) - out[:, :, 14:24].mean(axis=(1, 2, 3))) / 186
    flipped = slope < 0
    assert flipped.mean() == pytest.approx(0.5, abs=0.08)
    # Output slope = (1 / 2.4) * side / 224 and side = 224 * 400 / s, so s = 400 / (2.4 slope).
    s = 400 / (2.4 * np.abs(slope))
    assert s.min() > 250 and s.max() < 520
    assert s.mean() == pytest.approx(384, abs=12)
    # Colour jitter: channels shifted differently; mean subtracted last.
    assert np.abs(out[:, 100, 100, 0] - out[:, 100, 100, 2]).max() > 1
    mean = np.random.default_rng(0).uniform(0, 255, (224, 224, 3)).astype(np.float32)
    seed = tf.constant([3, 4], tf.int64)
    np.testing.assert_allclose(
        augment.paper_train_augment(data, seed, mean=mean),
        augment.paper_train_augment(data, seed, mean=0.0) - mean,
        atol=1e-3,
    )


def test_paper_train_augment_same_seed_same_output(photos):
    data = tf.constant(encode(photos["chelsea"]))
    a = augment.paper_train_augment(data, tf.constant([1, 2]), mean=0.0)
    b = augment.paper_train_augment(data, tf.constant([1, 2]), mean=0.0)
    c = augment.paper_train_augment(data, tf.constant([1, 3]), mean=0.0)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1


def test_pad_crop_flip_crops_and_flips_each_image_of_a_batch_by_its_draws(photos):
    image = photos["astronaut"][100:128, 200:228]  # 28 x 28 x 3, no symmetries
    rng = np.random.default_rng(0)
    draws = rng.random((2000, 3)).astype(np.float32)
    draws[:4] = [[0, 0, 0.9], [0.9999, 0.9999, 0.1], [0.5, 0.2, 0.5], [0.11, 0.12, 0.49]]
    images = np.stack([image, image[::-1]] * 1000)  # two different images in the batch
    out = augment.pad_crop_flip(tf.constant(images), tf.constant(draws), pad=4).numpy()
    assert out.shape == images.shape and out.dtype == np.uint8
    # Reference: offsets floor(u * 9) on each side, mirrored when u < 0.5.
    padded = np.pad(images, [(0, 0), (4, 4), (4, 4), (0, 0)])
    dy, dx = np.floor(draws[:, 0] * 9).astype(int), np.floor(draws[:, 1] * 9).astype(int)
    windows = [padded[i, dy[i] : dy[i] + 28, dx[i] : dx[i] + 28] for i in range(len(images))]
    for i, window in enumerate(windows):
        np.testing.assert_array_equal(out[i], window[:, ::-1] if draws[i, 2] < 0.5 else window)
    assert dy[:2].tolist() == dx[:2].tolist() == [0, 8]  # both extreme offsets occur
    assert len(set(zip(dy, dx, draws[:, 2] < 0.5, strict=True))) == 9 * 9 * 2

    unflipped = augment.pad_crop_flip(tf.constant(images), tf.constant(draws), pad=4,
                                      flip=False).numpy()
    np.testing.assert_array_equal(unflipped, np.stack(windows))


@pytest.mark.parametrize(
    "images_shape, draws_shape",
    [((8, 28, 28, 1), (8, 2)), ((8, 28, 28, 1), (7, 3)), ((28, 28, 1), (28, 3))],
)
def test_pad_crop_flip_names_draws_that_do_not_match_the_batch(images_shape, draws_shape):
    with pytest.raises(ValueError, match=r"\(batch, 3\) draws.*order.example_draws"):
        augment.pad_crop_flip(tf.zeros(images_shape, tf.uint8), tf.zeros(draws_shape))
