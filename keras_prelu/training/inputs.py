"""The training recipe's data: a config's dataset as per-epoch training input and
validation / test sets (`keras_prelu.data` does the work)."""

import dataclasses
from collections.abc import Callable
from pathlib import Path

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
        num_train: training examples per epoch.
        mean: the per-pixel mean image subtracted from every input (Sec. 3).
        train: `train(epoch, input_context)` -> that epoch's tf.data pipeline for one
            input pipeline (for `distribute_datasets_from_function`).
        validation: batches for the per-epoch validation error (plateau detection).
        test: batches for the final error (None when validation is the test, as ImageNet
            val is in the paper).
    """

    input_shape: tuple
    classes: int
    num_train: int
    mean: np.ndarray
    train: Callable
    validation: tf.data.Dataset
    test: tf.data.Dataset | None


def load(config, seed):
    """Loads `config.dataset`; raises `keras_prelu.data.DatasetNotFoundError` if missing."""
    if config.dataset in ("fashion_mnist", "digits"):
        return _arrays(config, seed)
    return _images(config, seed)


def _arrays(config, seed):
    if config.dataset == "fashion_mnist":
        (x, y), (x_test, y_test) = data.load_fashion_mnist(config.data_dir)
        augment = {"pad": 4, "flip": True}
    else:
        (x, y), (x_test, y_test) = data.load_digits()
        augment = {"pad": 1, "flip": False}  # mirrored digits are other digits
    if config.pad is not None:
        augment["pad"] = config.pad
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
        num_train=len(x),
        mean=mean,
        train=train_fn,
        validation=data.make_array_dataset(x_val, y_val, batch, training=False, mean=mean),
        test=data.make_array_dataset(x_test, y_test, batch, training=False, mean=mean),
    )


def _images(config, seed):
    if config.data_dir is None:
        raise data.DatasetNotFoundError(
            f"dataset={config.dataset!r} needs --data-dir: ImageNet's manual dir (the official "
            "tars) or an image folder with train/ and val/ class subfolders."
        )
    if config.dataset == "imagenet2012":
        train = data.imagenet2012("train", manual_dir=config.data_dir)
        validation = data.imagenet2012("validation", manual_dir=config.data_dir)
    else:
        root = Path(config.data_dir)
        for split in ("train", "val"):
            if not (root / split).is_dir():
                raise data.DatasetNotFoundError(
                    f"{root / split} is missing: an image folder for training needs "
                    f"{root}/train/<class>/<image> and {root}/val/<class>/<image>."
                )
        train, validation = (data.image_folder(root / split, on_corrupt=config.on_corrupt)
                             for split in ("train", "val"))
    if validation.class_names != train.class_names:
        raise ValueError("The training and validation sets have different classes.")
    mean_path = Path(config.output_dir) / "mean.npy"
    if mean_path.exists():
        mean = np.load(mean_path)
    else:
        mean = data.mean_image(train, scale=config.scale_min, crop_size=config.crop_size,
                               max_images=MEAN_IMAGES)
    batch = config.global_batch_size
    scale = (config.scale_min, config.scale_max)

    def train_fn(epoch, input_context=None):
        return data.make_image_dataset(train, batch, mode="train", mean=mean, scale=scale,
                                       crop_size=config.crop_size, seed=seed, epoch=epoch,
                                       input_context=input_context)

    return TrainingData(
        input_shape=(config.crop_size, config.crop_size, 3),
        classes=len(train.class_names),
        num_train=train.num_examples,
        mean=mean,
        train=train_fn,
        validation=data.make_image_dataset(validation, batch, mode="center", mean=mean,
                                           scale=config.scale_min, crop_size=config.crop_size),
        test=None,
    )
