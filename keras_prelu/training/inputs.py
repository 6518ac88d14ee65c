"""A classifier's data: the settings' dataset as per-epoch training input, validation
and test sets (`keras_prelu.data` and its catalog do the work)."""

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from keras_prelu import data

# ImageNet's per-pixel mean is estimated from this many training images (centre views);
# more changes it by well under a grey level.
MEAN_IMAGES = 10_000
# Fixed split of held-out validation examples, the same in every run.
VALIDATION_SPLIT_SEED = 0


@dataclasses.dataclass
class TrainingData:
    """What `train` needs to know about a dataset.

    Attributes:
        input_shape: (height, width, channels) of the training crops.
        classes: number of classes.
        class_names: the name of each class, by label.
        num_train: training examples per epoch.
        mean: the per-pixel mean image subtracted from every input (Sec. 3).
        train: `train(epoch, input_context)` -> that epoch's tf.data pipeline for one
            input pipeline (for `distribute_datasets_from_function`).
        validation: batches for the per-epoch validation error (plateau detection).
        test: batches for the final error (the validation batches again for image
            datasets, whose validation split is the test set).
        test_set: that split itself, `(images, labels)` arrays or an `ImageSource`, for
            the paper's other testing methods (`keras_prelu.evaluation`).
        pad: the zero padding of the training crops (array datasets; 0 for images).
    """

    input_shape: tuple
    classes: int
    class_names: tuple
    num_train: int
    mean: np.ndarray
    train: Callable
    validation: tf.data.Dataset
    test: tf.data.Dataset
    test_set: object
    pad: int


def load(config, entry, seed, mean=None):
    """The training data of `config.dataset` (its catalog `entry`).

    Args:
        config: the task's settings (`ClassificationData` fields).
        entry: `keras_prelu.data.catalog.get(config.dataset)`.
        seed: the run's seed (epoch order and augmentation).
        mean: the per-pixel mean a resumed run already computed, or None.

    Raises:
        keras_prelu.data.DatasetNotFoundError: the dataset is not where it should be.
        ValueError: a validation_size the training split cannot spare.
    """
    train, validation = entry.load_training(config.data_dir, config.on_corrupt)
    if entry.arrays:
        return _arrays(config, entry, train, seed)
    return _images(config, train, validation, seed, mean)


def _arrays(config, entry, train, seed):
    (x, y), (x_test, y_test) = train, entry.load_test(config.data_dir)
    augment = {"pad": entry.crop_pad(config.pad), "flip": entry.flip}
    if not 0 < config.validation_size < len(x):
        raise ValueError(
            f"validation_size must be in (0, {len(x)}) for {config.dataset}, got "
            f"{config.validation_size}."
        )
    held_out = np.random.default_rng(VALIDATION_SPLIT_SEED).permutation(len(x))
    val, train = held_out[:config.validation_size], held_out[config.validation_size:]
    x_val, y_val, x, y = x[val], y[val], x[train], y[train]
    mean = data.mean_image(x)
    batch = config.global_batch_size

    def train_fn(epoch, input_context=None):
        return data.make_array_dataset(x, y, batch, training=True, mean=mean, seed=seed,
                                       epoch=epoch, input_context=input_context, **augment)

    return TrainingData(
        input_shape=x.shape[1:],
        classes=int(max(y.max(), y_test.max()) + 1),
        class_names=entry.class_names,
        num_train=len(x),
        mean=mean,
        train=train_fn,
        validation=data.make_array_dataset(x_val, y_val, batch, training=False, mean=mean),
        test=data.make_array_dataset(x_test, y_test, batch, training=False, mean=mean),
        test_set=(x_test, y_test),
        pad=augment["pad"],
    )


def _images(config, train, validation, seed, mean):
    if mean is None:
        mean = data.mean_image(train, scale=config.scale_min, crop_size=config.crop_size,
                               max_images=MEAN_IMAGES)
    batch = config.global_batch_size
    scale = (config.scale_min, config.scale_max)

    def train_fn(epoch, input_context=None):
        return data.make_image_dataset(train, batch, mode="train", mean=mean, scale=scale,
                                       crop_size=config.crop_size, seed=seed, epoch=epoch,
                                       input_context=input_context)

    validation_batches = data.make_image_dataset(
        validation, batch, mode="center", mean=mean, scale=config.scale_min,
        crop_size=config.crop_size)
    return TrainingData(
        input_shape=(config.crop_size, config.crop_size, 3),
        classes=len(train.class_names),
        class_names=tuple(train.class_names),
        num_train=train.num_examples,
        mean=mean,
        train=train_fn,
        validation=validation_batches,
        test=validation_batches,  # the validation set is the test set (ImageNet's val, Sec. 4)
        test_set=validation,
        pad=0,
    )
