"""tf.data input pipelines: epoch order, parallel augmentation, batching, prefetch, sharding.

Both builders take a global batch size and an optional `tf.distribute.InputContext`, so they
can be called from `strategy.distribute_datasets_from_function`: each input pipeline reads its
share of the epoch and batches `input_context.get_per_replica_batch_size(global_batch_size)`.

Training order and augmentation follow `keras_prelu.data.order`: they are a function of
(seed, epoch) only, and a global batch holds the same examples, augmented alike, whatever the
number of replicas or workers. With a `seed` the pipeline is also deterministic in its output
order (`tf.data.Options().deterministic`); without one a seed is drawn and the parallel map
may yield out of order, which is faster. Evaluation datasets keep the source order.
"""

import numpy as np
import tensorflow as tf

from keras_prelu import paper
from keras_prelu.data import augment
from keras_prelu.data.order import draw_seed, epoch_order, example_draws, example_seed
from keras_prelu.data.source import ImageSource

MODES = ("train", "center", "full")
EVAL_SCALE = paper.TEST_SCALES["center"][0]  # Sec. 3: single-scale testing at 256


def make_array_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    global_batch_size: int,
    *,
    training: bool,
    mean,
    pad: int = 4,
    flip: bool = True,
    seed: int | None = None,
    epoch: int = 0,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """One epoch of batches of small in-memory images (e.g. Fashion-MNIST).

    Training: the epoch's order (`order.epoch_order`), `augment.pad_crop_flip` per batch
    with each example's draws (`order.example_draws`), partial last batch dropped. Both:
    float32 images minus `mean`.

    Args:
        images: uint8 array (N, H, W, C).
        labels: Integer array (N,).
        global_batch_size: Batch size summed over replicas.
        training: Shuffle and augment.
        mean: Subtracted; broadcastable to (H, W, C) (see `mean_image`), 0 for none.
        pad: Zero padding of the random crop (4 suits 28-32 px images, 1 the 8 px digits).
        flip: Random horizontal flips; False for digits and other data mirroring changes.
        seed: The run's seed: with it the dataset is deterministic.
        epoch: Which epoch's order and augmentation (training only).
        input_context: Shard for this input pipeline and batch per replica.

    Returns:
        Dataset of (float32 (B, H, W, C), int32 (B,)).

    Raises:
        ValueError: Bad shapes or dtype, or a mean that does not broadcast.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(
            f"images must be a uint8 array of shape (N, H, W, C), got {images.dtype} "
            f"{images.shape}; add a channel axis to greyscale images with images[..., None]"
        )
    if labels.shape != images.shape[:1]:
        raise ValueError(
            f"labels must have shape ({len(images)},) to match the images, got {labels.shape}"
        )
    mean = _check_mean(mean, images.shape[1:])
    batch_size = _per_replica(global_batch_size, input_context)
    images, labels = tf.constant(images), tf.constant(labels.astype(np.int32))
    seed = draw_seed() if seed is None else seed
    ds = epoch_order(len(labels), shuffle=training, seed=seed, epoch=epoch,
                     input_context=input_context)
    # Whole batches are gathered and augmented (about 5x less CPU than a map per image, which
    # competes with the training step for the cores), each example by its position's draws.
    draws = example_draws(len(labels), 3, seed=seed, epoch=epoch) if training else None

    def batch(positions, index):
        batch_images = tf.gather(images, index)
        if training:
            batch_images = augment.pad_crop_flip(batch_images, tf.gather(draws, positions),
                                                 pad=pad, flip=flip)
        return tf.cast(batch_images, tf.float32) - mean, tf.gather(labels, index)

    ds = ds.batch(batch_size, drop_remainder=training).map(batch)
    # In-memory arrays need no autotuning, and its model thread made deleting an epoch's
    # iterator stall for ~35 s in about half the epochs of `make demo` (2 cores): train()
    # starts an iterator per epoch.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(1).with_options(options)


def make_image_dataset(
    source: ImageSource,
    global_batch_size: int,
    *,
    mode: str,
    mean,
    scale: int | tuple[int, int] | None = None,
    crop_size: int = paper.CROP_SIZE,
    seed: int | None = None,
    epoch: int = 0,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """One epoch of batches of decoded, preprocessed images from an image folder or ImageNet.

    Modes (Sec. 3 of the paper):
        "train": shuffled; `augment.paper_train_augment` (shorter side jittered in `scale`,
            default (256, 512), random crop, flip, colour jitter); partial last batch dropped.
        "center": shorter side resized to `scale` (default 256), centre crop.
        "full": the whole image resized to shorter side `scale` (default 256), for dense
            multi-scale testing; sizes differ, so the per-replica batch size must be 1.

    Args:
        source: An `ImageSource` (`image_folder(...)`, `imagenet2012(...)`).
        global_batch_size: Batch size summed over replicas.
        mode: One of `MODES`.
        mean: Subtracted; broadcastable to (crop_size, crop_size, 3) (a mean image, see
            `mean_image`) or, for "full", a per-channel vector. 0 for none.
        scale: (smin, smax) for "train", an int otherwise; None for the paper's default.
        crop_size: Side of the "train" and "center" crops.
        seed: The run's seed: with it the dataset is deterministic.
        epoch: Which epoch's order and augmentation ("train" only).
        input_context: Shard for this input pipeline and batch per replica.

    Returns:
        Dataset of (float32 (B, H, W, 3), int32 (B,)).

    Raises:
        ValueError: Unknown mode, bad scale, a mean that does not broadcast, or a batch size
            other than 1 for "full".
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    batch_size = _per_replica(global_batch_size, input_context)
    training = mode == "train"
    if training:
        scale = paper.SCALE_JITTER if scale is None else tuple(scale)
        if len(scale) != 2 or not crop_size <= scale[0] <= scale[1]:
            raise ValueError(
                f"mode='train' needs scale=(smin, smax) with crop_size={crop_size} <= smin <= "
                f"smax, got {scale}"
            )
    else:
        scale = EVAL_SCALE if scale is None else scale
        smallest = crop_size if mode == "center" else 1
        if not isinstance(scale, (int, np.integer)) or scale < smallest:
            raise ValueError(f"mode={mode!r} needs an integer scale >= {smallest}, got {scale!r}")
    if mode == "full":
        mean = _check_mean(mean, (1, 1, 3), "a per-channel vector (the images vary in size)")
        if batch_size != 1:
            raise ValueError(
                f"mode='full' yields whole images of different sizes, so the per-replica batch "
                f"size must be 1, got {batch_size}"
            )
    else:
        mean = _check_mean(mean, (crop_size, crop_size, 3))

    deterministic = not training or seed is not None
    seed = draw_seed() if seed is None else seed
    ds = source.records(input_context, shuffle=training, seed=seed, epoch=epoch)

    def example(position, key, label):
        encoded = source.load(key)
        if training:
            image = augment.paper_train_augment(
                encoded, example_seed(seed, epoch, position), mean=mean, scale_range=scale,
                crop_size=crop_size)
        elif mode == "center":
            image = augment.subtract_mean(
                augment.center_crop(encoded, scale=scale, crop_size=crop_size), mean)
        else:
            image = augment.subtract_mean(augment.resize_shorter(encoded, scale), mean)
        return image, tf.cast(label, tf.int32)

    ds = ds.map(example, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(ds, batch_size, training, deterministic)


def mean_image(
    data, *, scale: int = EVAL_SCALE, crop_size: int = paper.CROP_SIZE,
    max_images: int | None = None,
) -> np.ndarray:
    """The per-pixel mean image of a training set (Sec. 3: "per-pixel mean subtracted").

    Args:
        data: uint8 array (N, H, W, C), or an `ImageSource`, whose images are taken as
            "center" views (shorter side `scale`, centre `crop_size` crop).
        scale: Shorter side of the views of an `ImageSource`.
        crop_size: Side of the views of an `ImageSource`.
        max_images: Use only the first `max_images` images.

    Returns:
        float32 array (H, W, C), or (crop_size, crop_size, 3) for an `ImageSource`.

    Raises:
        ValueError: An array that is not (N, H, W, C).
    """
    if not hasattr(data, "records"):
        data = np.asarray(data)
        if data.ndim != 4:
            raise ValueError(f"images must have shape (N, H, W, C), got {data.shape}")
        return data[:max_images].mean(axis=0, dtype=np.float64).astype(np.float32)
    ds = make_image_dataset(data, 64, mode="center", mean=0.0, scale=scale, crop_size=crop_size)
    total, count = np.zeros((crop_size, crop_size, 3)), 0
    for images, _ in ds.unbatch().take(-1 if max_images is None else max_images).batch(64):
        total += images.numpy().sum(axis=0, dtype=np.float64)
        count += len(images)
    return (total / count).astype(np.float32)


def _per_replica(global_batch_size: int, input_context) -> int:
    if input_context is None:
        return global_batch_size
    return input_context.get_per_replica_batch_size(global_batch_size)


def _check_mean(mean, shape, expected: str = "a mean image of that shape or a per-channel vector"):
    mean = np.asarray(mean, np.float32)
    try:
        ok = np.broadcast_shapes(mean.shape, tuple(shape)) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"mean of shape {mean.shape} does not broadcast to images of shape {tuple(shape)}; "
            f"pass {expected}"
        )
    return tf.constant(mean)


def _finish(ds: tf.data.Dataset, batch_size: int, training: bool, deterministic: bool):
    options = tf.data.Options()
    options.deterministic = deterministic
    ds = ds.batch(batch_size, drop_remainder=training)
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)
