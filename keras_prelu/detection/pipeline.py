"""Fast R-CNN's training minibatches as a tf.data pipeline whose epochs depend on (seed, epoch).

Each step takes `global_batch_size` images (Fast R-CNN: 2) and `rois_per_image` rois of
each (64). An epoch visits the training images in the order `keras_prelu.data.order`
draws for (seed, epoch), shared out among input pipelines by position; image i of epoch
e is flipped (probability 1/2) and its rois sampled with `numpy.random.default_rng([seed,
e, i])`, so a resumed run sees exactly what an uninterrupted one would, on any number of
replicas. Images are read and sampled in NumPy (`keras_prelu.detection.data`, Fast
R-CNN's own code path); the rois are checked (`RoIPooling.check_rois`) before they reach
the training step.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from keras_prelu.data.order import epoch_order
from keras_prelu.detection.data import (
    flip_boxes,
    image_scale,
    read_image,
    resize,
    sample_rois,
)
from keras_prelu.layers import RoIPooling


@dataclasses.dataclass(frozen=True)
class Sampling:
    """How each training image is scaled and its rois sampled (Fast R-CNN's cfg.TRAIN).

    Attributes:
        channels: 3 (RGB) or 1 (grey, the mean of R, G, B).
        scale: the shorter side (SCALES: 600).
        max_size: the cap of the longer side (MAX_SIZE: 1000).
        rois_per_image: BATCH_SIZE / IMS_PER_BATCH (64).
        fg_fraction: FG_FRACTION (0.25).
        fg_threshold: FG_THRESH (0.5).
        bg_range: (BG_THRESH_LO, BG_THRESH_HI) ((0.1, 0.5)).
    """

    channels: int
    scale: int
    max_size: int
    rois_per_image: int
    fg_fraction: float
    fg_threshold: float
    bg_range: tuple


def training_example(image, rois, sampling, rng):
    """One image of a minibatch: its pixels at the training scale and its sampled rois.

    Args:
        image: a `DetectionImage`.
        rois: its `TrainingRois`.
        sampling: a `Sampling`.
        rng: the image's `numpy.random.Generator` for this epoch (flip, then rois).

    Returns:
        (pixels (h, w, channels) float32, (h, w) int32, rois (R, 4) float32 in the scaled
        image's pixels, labels (R,) int32, targets (R, 4) float32); see `sample_rois`.
    """
    flip = rng.random() < 0.5  # Fast R-CNN's USE_FLIPPED
    pixels = read_image(image.path, sampling.channels)
    gt_boxes = image.boxes
    if flip:
        pixels = pixels[:, ::-1]
        gt_boxes = flip_boxes(gt_boxes, image.width)
        rois = dataclasses.replace(rois, boxes=flip_boxes(rois.boxes, image.width))
    boxes, labels, targets = sample_rois(
        rois, gt_boxes, rng, count=sampling.rois_per_image, fg_fraction=sampling.fg_fraction,
        fg_threshold=sampling.fg_threshold, bg_range=sampling.bg_range)
    factor = image_scale(image.height, image.width, sampling.scale, sampling.max_size)
    pixels = resize(np.ascontiguousarray(pixels), factor)
    return (pixels, np.asarray(pixels.shape[:2], np.int32), (boxes * factor).astype(np.float32),
            labels, targets)


def check_rois(rois):
    """`rois` (R, 4) of one image, once `RoIPooling.check_rois` passes them (finite)."""
    rows = tf.concat([tf.zeros_like(rois[:, :1]), rois], axis=1)
    return RoIPooling.check_rois(rows, batch_size=1)[:, 1:]


def training_dataset(images, rois, sampling, global_batch_size, *, seed, epoch,
                     input_context=None):
    """One epoch of Fast R-CNN minibatches for one input pipeline.

    Args:
        images: the training `DetectionImage`s.
        rois: their `TrainingRois`, in the same order.
        sampling: a `Sampling`.
        global_batch_size: images per step, summed over replicas.
        seed: the run's seed.
        epoch: the epoch.
        input_context: a `tf.distribute.InputContext`: this pipeline's share of the
            epoch and the per-replica batch.

    Returns:
        A dataset of (x, y): x {"images": (B, max_size, max_size, C) float32, each image
        in the top-left corner, "image_shape": (B, 2) int32, "rois": (B, R, 4) float32}, y
        {"labels": (B, R) int32, "targets": (B, R, 4) float32}; B images per replica, the
        last partial batch dropped.
    """
    batch = (global_batch_size if input_context is None
             else input_context.get_per_replica_batch_size(global_batch_size))
    count, channels = sampling.rois_per_image, sampling.channels

    def example(index):
        index = int(index)
        rng = np.random.default_rng([seed, epoch, index])
        return training_example(images[index], rois[index], sampling, rng)

    def load(position, index):
        del position
        pixels, shape, boxes, labels, targets = tf.numpy_function(
            example, [index], [tf.float32, tf.int32, tf.float32, tf.int32, tf.float32],
            stateful=False)
        pixels.set_shape((None, None, channels))
        shape.set_shape((2,))
        boxes.set_shape((count, 4))
        labels.set_shape((count,))
        targets.set_shape((count, 4))
        return pixels, shape, check_rois(boxes), labels, targets

    def as_inputs(pixels, shape, boxes, labels, targets):
        return ({"images": pixels, "image_shape": shape, "rois": boxes},
                {"labels": labels, "targets": targets})

    data = epoch_order(len(images), shuffle=True, seed=seed, epoch=epoch,
                       input_context=input_context)
    data = data.map(load, num_parallel_calls=2, deterministic=True)
    # Every batch is padded to one canvas (max_size x max_size): replicas' batches then
    # have one shape, which Keras needs under tf.distribute (`fit` averages the replicas'
    # first batches to build the model); the padding never reaches the trunk.
    canvas = (sampling.max_size, sampling.max_size, channels)
    data = data.padded_batch(batch, padded_shapes=(canvas, (2,), (count, 4), (count,), (count, 4)),
                             drop_remainder=True).map(as_inputs)
    return data.prefetch(2)
