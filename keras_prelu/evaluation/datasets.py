"""The test sets by name, as the recipes name datasets."""

from pathlib import Path

from keras_prelu.data import (
    DatasetNotFoundError,
    image_folder,
    imagenet2012,
    load_digits,
    load_fashion_mnist,
)

DATASETS = ("fashion_mnist", "digits", "image_folder", "imagenet2012")


def load_test_set(name, data_dir=None):
    """The test images of a dataset: arrays for the small ones, an `ImageSource` else.

    Args:
        name: One of `DATASETS`.
        data_dir: As for training (`TrainConfig.data_dir`): Fashion-MNIST's IDX files
            (optional); the image folder holding `train/` and `val/` class subfolders
            (required); ImageNet's `manual_dir` with the official tars (until prepared).

    Returns:
        `(images, labels)` test arrays (Fashion-MNIST's 10,000, the digits' 360), the
        image folder's `val/` images, or ImageNet 2012's 50,000 validation images (the
        paper's test set, Sec. 4).

    Raises:
        ValueError: Unknown name.
        DatasetNotFoundError: The dataset is not where `data_dir` (or the loader's default
            places) says, naming how to get it.
    """
    if name == "fashion_mnist":
        return load_fashion_mnist(data_dir)[1]
    if name == "digits":
        return load_digits()[1]
    if name == "image_folder":
        if data_dir is None:
            raise DatasetNotFoundError(
                "The image_folder dataset needs data_dir: the folder whose val/ subfolder "
                "holds the test images, one subfolder per class (<data_dir>/val/<class>/<image>)."
            )
        return image_folder(Path(data_dir) / "val")
    if name == "imagenet2012":
        return imagenet2012("validation", manual_dir=data_dir)
    raise ValueError(f"Unknown dataset {name!r}; use one of {DATASETS}.")
