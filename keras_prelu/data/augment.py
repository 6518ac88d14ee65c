"""Image preprocessing of the paper (Sec. 3, "Training" and "Testing"), and for small images.

Training: resize so the shorter side is s, s ~ U[256, 512]; take a random 224x224 crop; flip
horizontally with p = 0.5; "random color altering" (Krizhevsky et al. 2012, PCA colour jitter);
subtract the per-pixel mean. Testing: the shorter side resized to s and a centre crop, or the
full image resized to one or several scales (dense testing).

Decoding and cropping are fused: the crop window is computed in original-image pixels
(side = 224 * shorter / s) and for JPEG only that window is decoded
(`tf.io.decode_and_crop_jpeg`, with libjpeg's DCT-domain 1/2, 1/4, 1/8 scaling for large
windows), then resized to 224x224. This equals resize-then-crop up to sub-pixel rounding of the
window and costs less than decoding the whole image (bench/pipeline.py). Other formats (PNG,
GIF, BMP) are decoded whole, then cropped. Resizing is bilinear, as in Caffe and Torch, with an
antialiasing filter only where it would shrink more than 2x.

All randomness is stateless: every random function of one encoded image takes a `seed` of
shape [2], so the same seed gives the same result. Small in-memory images are augmented a
batch at a time (`pad_crop_flip`), from random draws given per image.
"""

import tensorflow as tf

from keras_prelu import paper

CROP = paper.CROP_SIZE
TEST_SCALE = paper.TEST_SCALES["center"][0]

# Principal components of ImageNet RGB pixel values on the 0..255 scale (as used by AlexNet and
# fb.resnet.torch): the columns of IMAGENET_EIGVEC are the eigenvectors p_i, IMAGENET_EIGVAL the
# eigenvalues lambda_i (the [0, 1]-scale values 0.2175, 0.0188, 0.0045 times 255).
IMAGENET_EIGVAL = (55.46, 4.794, 1.148)
IMAGENET_EIGVEC = (
    (-0.5675, 0.7192, 0.4009),
    (-0.5808, -0.0045, -0.8140),
    (-0.5836, -0.6948, 0.4203),
)
# Per-channel RGB mean of the ImageNet training set, a common stand-in for the mean image.
IMAGENET_RGB_MEAN = (123.68, 116.779, 103.939)
COLOR_JITTER_STDDEV = 0.1  # alpha_i ~ N(0, 0.1), Krizhevsky et al. 2012, Sec. 4.1.


def decode_rgb(encoded: tf.Tensor) -> tf.Tensor:
    """Decodes a JPEG, PNG, GIF or BMP to RGB.

    Greyscale is replicated to 3 channels, CMYK JPEG converted to RGB, PNG alpha dropped, and
    only the first frame of an animated GIF kept.

    Args:
        encoded: Scalar string tensor, the file's bytes.

    Returns:
        uint8 tensor (H, W, 3).
    """
    return tf.io.decode_image(encoded, channels=3, expand_animations=False)


def random_crop_window(
    image_size: tf.Tensor, seed: tf.Tensor, *, scale_range=paper.SCALE_JITTER, crop_size: int = CROP
) -> tf.Tensor:
    """Samples the paper's training crop (Sec. 3) in original-image pixels.

    The image is notionally resized so that its shorter side is s, s uniform on the integers of
    `scale_range`, and a `crop_size` square is taken at a uniformly random position; the
    returned window is that square mapped back to the original image.

    Args:
        image_size: int32 [height, width] of the original image.
        seed: Stateless seed, shape [2].
        scale_range: (smin, smax), both inclusive.
        crop_size: Side of the crop in the resized image.

    Returns:
        int32 [offset_y, offset_x, side, side].
    """
    height, width = image_size[0], image_size[1]
    # One draw for the three choices: per-op overhead is not negligible next to decoding.
    u = tf.random.stateless_uniform([3], seed)
    s = scale_range[0] + _uniform_int(u[0], scale_range[1] - scale_range[0] + 1)
    side = _window_side(tf.minimum(height, width), s, crop_size)
    y = _uniform_int(u[1], height - side + 1)
    x = _uniform_int(u[2], width - side + 1)
    return tf.stack([y, x, side, side])


def _uniform_int(u, n):
    """Uniform integer in [0, n) from u ~ U[0, 1)."""
    return tf.minimum(tf.cast(u * tf.cast(n, tf.float32), tf.int32), n - 1)


def center_crop_window(
    image_size: tf.Tensor, *, scale: int = TEST_SCALE, crop_size: int = CROP
) -> tf.Tensor:
    """The centre `crop_size` square of the image resized to shorter side `scale`, in
    original-image pixels.

    Args:
        image_size: int32 [height, width] of the original image.
        scale: Shorter side of the notional resized image.
        crop_size: Side of the crop in the resized image.

    Returns:
        int32 [offset_y, offset_x, side, side].
    """
    height, width = image_size[0], image_size[1]
    side = _window_side(tf.minimum(height, width), scale, crop_size)
    return tf.stack([(height - side) // 2, (width - side) // 2, side, side])


def _window_side(shorter, scale, crop_size):
    side = tf.round(crop_size * tf.cast(shorter, tf.float32) / tf.cast(scale, tf.float32))
    return tf.clip_by_value(tf.cast(side, tf.int32), 1, shorter)


def decode_crop_resize(encoded: tf.Tensor, window_fn, crop_size: int = CROP) -> tf.Tensor:
    """Decodes only a window of an image and resizes it to `crop_size` squared.

    For JPEG, libjpeg decodes only the window's rows and, when the window is at least twice
    `crop_size`, also downscales by 2, 4 or 8 in the DCT domain (its scaled IDCT filters like an
    area average; the window's offset is then rounded down to a multiple of the factor, less
    than one output pixel); the remaining factor is below 2 (for windows up to 16 x
    `crop_size`), so a plain bilinear resize does not alias.

    Args:
        encoded: Scalar string tensor, the file's bytes (any format `decode_rgb` reads).
        window_fn: Maps int32 [height, width] to int32 [offset_y, offset_x, side, side].
        crop_size: Output side.

    Returns:
        float32 (crop_size, crop_size, 3), values in 0..255.
    """
    size = [crop_size, crop_size]

    def jpeg():
        # The header alone gives the size, so only the window's scanlines are decoded.
        window = window_fn(tf.image.extract_jpeg_shape(encoded)[:2])
        # ratio is an op attribute, hence one branch per ratio; its window is in scaled pixels.
        k = tf.reduce_sum(tf.cast(window[2] >= crop_size * tf.constant([2, 4, 8]), tf.int32))
        branches = [
            lambda r=r: tf.io.decode_and_crop_jpeg(encoded, window // r, channels=3, ratio=r)
            for r in (1, 2, 4, 8)
        ]
        return tf.image.resize(tf.switch_case(k, branches), size)

    def other():
        image = decode_rgb(encoded)
        y, x, h, w = tf.unstack(window_fn(tf.shape(image)[:2]))
        return _resize(image[y : y + h, x : x + w], size)

    # Control flow costs tens of microseconds per image: the JPEG path has just these two ops.
    image = tf.cond(tf.io.is_jpeg(encoded), jpeg, other)
    return tf.ensure_shape(image, [crop_size, crop_size, 3])


def _resize(image: tf.Tensor, size) -> tf.Tensor:
    """Bilinear resize (as in Caffe and Torch), antialiased only when shrinking more than 2x."""
    shrink = tf.reduce_max(tf.cast(tf.shape(image)[:2], tf.float32) / tf.cast(size, tf.float32))
    return tf.cond(
        shrink > 2,
        lambda: tf.image.resize(image, size, antialias=True),
        lambda: tf.image.resize(image, size),
    )


def pca_color_shift(seed: tf.Tensor) -> tf.Tensor:
    """AlexNet's "random color altering" (Sec. 3, citing Krizhevsky et al. 2012).

    The RGB shift sum_i alpha_i lambda_i p_i, alpha_i ~ N(0, 0.1), with ImageNet's eigenvalues
    lambda_i and eigenvectors p_i; it is added to every pixel of one image.

    Args:
        seed: Stateless seed, shape [2].

    Returns:
        float32 [3], on the 0..255 scale.
    """
    alpha = tf.random.stateless_normal([3], seed, stddev=COLOR_JITTER_STDDEV)
    return tf.linalg.matvec(tf.constant(IMAGENET_EIGVEC), alpha * tf.constant(IMAGENET_EIGVAL))


def paper_train_augment(
    encoded: tf.Tensor, seed: tf.Tensor, *, mean, scale_range=paper.SCALE_JITTER,
    crop_size: int = CROP,
) -> tf.Tensor:
    """The paper's full training augmentation (Sec. 3) of one encoded image.

    Scale-jittered random crop, horizontal flip with p = 0.5, PCA colour shift, mean
    subtraction.

    Args:
        encoded: Scalar string tensor, the file's bytes.
        seed: Stateless seed, shape [2].
        mean: Subtracted; broadcastable to (crop_size, crop_size, 3): a mean image or a
            per-channel vector.
        scale_range: (smin, smax) of the shorter side, inclusive.
        crop_size: Output side.

    Returns:
        float32 (crop_size, crop_size, 3); not clipped.
    """
    crop_seed, flip_seed, color_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    image = decode_crop_resize(
        encoded,
        lambda size: random_crop_window(
            size, crop_seed, scale_range=scale_range, crop_size=crop_size
        ),
        crop_size,
    )
    # Reverse axes [1] or []: a flip without a conditional (see decode_crop_resize).
    flip = tf.cast(tf.random.stateless_uniform([], flip_seed) < 0.5, tf.int32)
    image = tf.reverse(image, tf.range(1, 1 + flip))
    return _offset(image, pca_color_shift(color_seed), mean)


def subtract_mean(image: tf.Tensor, mean) -> tf.Tensor:
    """`image - mean`, fast for a per-channel mean.

    Args:
        image: float32 (H, W, C).
        mean: Broadcastable to `image`: a mean image or a per-channel vector.

    Returns:
        float32 (H, W, C).
    """
    return _offset(image, tf.zeros([tf.shape(image)[2]]), mean)


def _offset(image: tf.Tensor, shift: tf.Tensor, mean) -> tf.Tensor:
    """image + shift - mean for a [C] shift, computed on rows: (H, W * C) plus a (W * C) row.

    TensorFlow's CPU kernels broadcast a C-vector over the last axis about 5x slower than a
    long row over the first axis (160 vs 35 microseconds for 224 x 224 x 3).
    """
    h, w, c = tf.unstack(tf.shape(image))
    mean = tf.convert_to_tensor(mean, tf.float32)
    if mean.shape.rank >= 2 and mean.shape[:-1].num_elements() > 1:  # varies over pixels
        offset = tf.tile(shift, [w])[None] - tf.reshape(tf.broadcast_to(mean, [h, w, c]), [h, -1])
    else:
        offset = tf.tile(shift - tf.broadcast_to(tf.reshape(mean, [-1]), [c]), [w])[None]
    return tf.reshape(tf.reshape(image, [h, w * c]) + offset, tf.shape(image))


def center_crop(encoded: tf.Tensor, *, scale: int = TEST_SCALE, crop_size: int = CROP) -> tf.Tensor:
    """Evaluation view: resize so the shorter side is `scale`, take the centre square.

    Args:
        encoded: Scalar string tensor, the file's bytes.
        scale: Shorter side after resizing.
        crop_size: Output side.

    Returns:
        float32 (crop_size, crop_size, 3), values in 0..255.
    """
    return decode_crop_resize(
        encoded,
        lambda size: center_crop_window(size, scale=scale, crop_size=crop_size),
        crop_size,
    )


def resize_shorter(encoded: tf.Tensor, scale: int) -> tf.Tensor:
    """The full image resized so its shorter side is `scale` (the dense multi-scale test).

    Args:
        encoded: Scalar string tensor, the file's bytes.
        scale: Shorter side after resizing; the longer side keeps the aspect ratio (rounded).

    Returns:
        float32 (H, W, 3), min(H, W) == scale, values in 0..255.
    """
    image = decode_rgb(encoded)
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    new_size = tf.cast(tf.round(size * (scale / tf.reduce_min(size))), tf.int32)
    return _resize(image, new_size)


def pad_crop_flip(
    images: tf.Tensor, draws: tf.Tensor, *, pad: int = 4, flip: bool = True
) -> tf.Tensor:
    """Augmentation for batches of small images (28-64 px): zero-pad, random crop back, flip.

    The whole batch in four ops (two gathers for the crops, one reverse and one select for
    the flips) rather than a map over its images: on two cores a per-image map cost 4.9x the
    CPU time of this (bench/demo_profile.py, section 4).

    Args:
        images: (B, H, W, C) tensor, e.g. uint8.
        draws: (B, 3) floats uniform on [0, 1), one row per image (`order.example_draws`):
            the crop's row offset, its column offset, and the flip (mirrored if < 0.5).
        pad: Pixels of zeros added on every side; the offsets are uniform on 0..2*pad.
        flip: Mirror horizontally with p = 0.5; False for data that mirroring changes (digits).

    Returns:
        Same shape and dtype as `images`.
    """
    images, draws = tf.convert_to_tensor(images), tf.convert_to_tensor(draws)
    batch = images.shape[:1] if images.shape.rank == 4 else None
    if batch is None or not draws.shape.is_compatible_with(batch + [3]):
        raise ValueError(
            f"pad_crop_flip takes a (batch, height, width, channels) batch and (batch, 3) "
            f"draws, one row per image; got images of shape {images.shape} and draws of "
            f"shape {draws.shape}. Make the draws with order.example_draws.")
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    offsets = tf.minimum(tf.cast(draws[:, :2] * (2 * pad + 1), tf.int32), 2 * pad)
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    rows = offsets[:, :1] + tf.range(height)
    columns = offsets[:, 1:2] + tf.range(width)
    crops = tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), columns, axis=2,
                      batch_dims=1)
    if not flip:
        return crops
    return tf.where((draws[:, 2] < 0.5)[:, None, None, None], tf.reverse(crops, [2]), crops)
