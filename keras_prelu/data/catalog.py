"""The classification datasets by name: one catalog for training, testing and the recipes.

>>> entry = catalog.get("fashion_mnist")
>>> (x, y), validation = entry.load_training(data_dir=None)   # validation: None, hold out
>>> x_test, y_test = entry.load_test(data_dir=None)
>>> entry.test_split   # the split whose errors a run reports
'test'

Array datasets (small images in memory, used at their native size) hold out validation
images from their training split and report errors on their test split. Image datasets
(encoded images, an `ImageSource`) have a validation split that is also their test set,
as ImageNet's validation set is the paper's (Sec. 4).
"""

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from keras_prelu.data.digits import load_digits
from keras_prelu.data.errors import DatasetNotFoundError
from keras_prelu.data.fashion_mnist import CLASS_NAMES as FASHION_MNIST_CLASSES
from keras_prelu.data.fashion_mnist import load_fashion_mnist
from keras_prelu.data.image_folder import image_folder
from keras_prelu.data.imagenet import imagenet2012


class Dataset(NamedTuple):
    """A dataset of the catalog.

    Attributes:
        name: its name in settings and on the command line.
        arrays: whether it loads as `(images, labels)` arrays (else as `ImageSource`s).
        test_split: "test" or "validation": the split the final errors are measured on.
        load_training: `(data_dir, on_corrupt)` -> `(train, validation)`; validation is
            None for array datasets (the trainer holds images out of train).
        load_test: `(data_dir)` -> the test set: arrays or an `ImageSource`.
        pad: the small-image augmentation's crop padding (array datasets).
        flip: whether training flips images (False where mirroring changes the class).
        class_names: the class names of an array dataset, by label (image datasets'
            sources carry their own).
    """

    name: str
    arrays: bool
    test_split: str
    load_training: Callable
    load_test: Callable
    pad: int | None = None
    flip: bool = True
    class_names: tuple = ()

    def crop_pad(self, pad):
        """`pad` (a run's setting), or this dataset's default crop padding when it is None."""
        return self.pad if pad is None else pad


def _require(data_dir, name, layout):
    if data_dir is None:
        raise DatasetNotFoundError(f"The {name} dataset needs --data-dir: {layout}.")
    return Path(data_dir)


_FOLDER = "a folder with train/<class>/<image> and val/<class>/<image>"
_IMAGENET = "ImageNet's manual dir, holding ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar"


def _folder_training(data_dir, on_corrupt):
    root = _require(data_dir, "image_folder", _FOLDER)
    for split in ("train", "val"):
        if not (root / split).is_dir():
            raise DatasetNotFoundError(f"{root / split} is missing: image_folder needs {_FOLDER}.")
    train, validation = (image_folder(root / split, on_corrupt=on_corrupt)
                         for split in ("train", "val"))
    if validation.class_names != train.class_names:
        raise ValueError(f"{root}/train and {root}/val have different class folders.")
    return train, validation


def _folder_test(data_dir):
    root = _require(data_dir, "image_folder", _FOLDER)
    if not (root / "val").is_dir():
        raise DatasetNotFoundError(f"{root / 'val'} is missing: image_folder needs {_FOLDER}.")
    return image_folder(root / "val")


def _imagenet_training(data_dir, on_corrupt):
    root = _require(data_dir, "imagenet2012", _IMAGENET)
    return (imagenet2012("train", manual_dir=root),
            imagenet2012("validation", manual_dir=root))


DATASETS = {
    entry.name: entry
    for entry in (
        Dataset("fashion_mnist", True, "test",
                lambda data_dir, on_corrupt: (load_fashion_mnist(data_dir)[0], None),
                lambda data_dir: load_fashion_mnist(data_dir)[1], pad=4,
                class_names=FASHION_MNIST_CLASSES),
        # Mirrored digits are other digits, and 8x8 images take a 1-pixel crop jitter.
        Dataset("digits", True, "test", lambda data_dir, on_corrupt: (load_digits()[0], None),
                lambda data_dir: load_digits()[1], pad=1, flip=False,
                class_names=tuple(str(digit) for digit in range(10))),
        Dataset("image_folder", False, "validation", _folder_training, _folder_test),
        Dataset("imagenet2012", False, "validation", _imagenet_training,
                lambda data_dir: imagenet2012("validation", manual_dir=data_dir)),
    )
}
NAMES = tuple(DATASETS)


def get(name):
    """The catalog's entry for `name`.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; use one of {NAMES}.")
    return DATASETS[name]
