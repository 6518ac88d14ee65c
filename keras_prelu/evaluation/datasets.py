"""The test sets by name, from the dataset catalog the training recipe uses too."""

from keras_prelu.data import catalog

DATASETS = catalog.NAMES


def load_test_set(name, data_dir=None):
    """The test images of a dataset: arrays for the small ones, an `ImageSource` else.

    Args:
        name: One of `DATASETS`.
        data_dir: As for training: Fashion-MNIST's IDX files (optional: the usual places
            when None); the image folder holding `val/` class subfolders (required);
            ImageNet's `manual_dir` with the official tars (until prepared).

    Returns:
        `(images, labels)` test arrays (Fashion-MNIST's 10,000, the digits' 360), the
        image folder's `val/` images, or ImageNet 2012's 50,000 validation images (the
        paper's test set, Sec. 4): the split `catalog.get(name).test_split` names.

    Raises:
        ValueError: Unknown name.
        DatasetNotFoundError: The dataset is not where `data_dir` (or the loader's default
            places) says, naming how to get it.
    """
    return catalog.get(name).load_test(data_dir)
