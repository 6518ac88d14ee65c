"""The order of examples in an epoch, and each example's augmentation seed.

Training order is a function of (seed, epoch) alone, not of how many times a dataset was
iterated, so a run resumed mid-training sees exactly the batches an uninterrupted run
would. Input pipelines (one per worker under multi-worker training) take every k-th
position of that one global order, and each example's augmentation seed depends only on
its position: a global batch is the same examples, augmented the same way, on one
device, on several replicas or on several machines.
"""

import numpy as np
import tensorflow as tf


def draw_seed():
    """A fresh random seed, for runs that did not ask for a fixed one."""
    return int(np.random.SeedSequence().generate_state(1, np.uint32)[0])


def epoch_order(num_examples, *, shuffle, seed, epoch, input_context=None):
    """(position, index) of this input pipeline's examples for one epoch.

    Args:
        num_examples: size of the dataset.
        shuffle: order the examples by a permutation seeded by (seed, epoch); otherwise
            keep them in order.
        seed: the run's seed (an int), needed when shuffling.
        epoch: the epoch (an int or scalar tensor).
        input_context: a `tf.distribute.InputContext`: keep positions
            `input_pipeline_id`, `input_pipeline_id + num_input_pipelines`, ...

    Returns:
        A dataset of int64 (position in the epoch's global order, example index).
    """
    index = tf.range(num_examples, dtype=tf.int64)
    if shuffle:
        index = tf.random.experimental.stateless_shuffle(
            index, seed=tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)]))
    positions = tf.data.Dataset.from_tensor_slices((tf.range(num_examples, dtype=tf.int64), index))
    if input_context is not None:
        positions = positions.shard(input_context.num_input_pipelines,
                                    input_context.input_pipeline_id)
    return positions


def example_seed(seed, epoch, position):
    """The stateless augmentation seed (shape [2]) of the example at `position` of `epoch`."""
    return tf.random.experimental.stateless_fold_in(
        tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)]), position)


def example_draws(num_examples, count, *, seed, epoch):
    """Uniform [0, 1) draws for every position of `epoch`: row p is the example at position p's.

    For augmentation applied to whole batches (`augment.pad_crop_flip`): gathering each
    batch's rows by position gives every example the draws it would have on one device.

    Returns:
        float32 tensor (num_examples, count).
    """
    return tf.random.stateless_uniform(
        [num_examples, count], seed=tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)]))
