"""Fashion-MNIST (Xiao et al. 2017): 70,000 real 28x28 greyscale photos of clothing, 10 classes.

The default dataset for local runs: Debian ships it (`dataset-fashion-mnist`), so it needs no
download.
"""

import os
from pathlib import Path

import numpy as np

from keras_prelu.data.errors import DataFormatError, DatasetNotFoundError
from keras_prelu.data.idx import read_idx

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DATA_DIR_ENV = "KERAS_PRELU_DATA_DIR"
# Where Debian's `dataset-fashion-mnist` package installs the files.
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
# tensorflow-datasets' data directory; None means its default (~/tensorflow_datasets).
TFDS_DATA_DIR: str | None = None

_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_SIZES = {"train": 60_000, "test": 10_000}

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_fashion_mnist(data_dir: str | os.PathLike | None = None) -> Arrays:
    """Loads Fashion-MNIST from `data_dir`, or else from the first place that has it.

    An explicit `data_dir` is the only place looked at: the four IDX files (gzip-compressed
    or not, names as published) directly in it or in a `fashion-mnist/` subfolder. Without
    one: `$KERAS_PRELU_DATA_DIR` (the same layout), `DEBIAN_DIR`, then a copy already
    prepared by tensorflow-datasets (never downloaded here).

    Args:
        data_dir: Optional directory holding the IDX files.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (N, 28, 28, 1) and int64
        labels in 0..9, N = 60,000 and 10,000.

    Raises:
        DatasetNotFoundError: `data_dir` lacks some of the files (the message names them), or
            no default location has the dataset (the message says the ways to get it).
        DataFormatError: A file is found but malformed or of the wrong shape.
    """
    if data_dir:
        return _load_given(Path(data_dir))
    candidates = []
    if os.environ.get(DATA_DIR_ENV):
        root = Path(os.environ[DATA_DIR_ENV])
        candidates += [root, root / "fashion-mnist"]
    candidates.append(DEBIAN_DIR)

    looked = []
    for directory in candidates:
        files, missing = _find_files(directory)
        if not missing:
            return _read(files)
        if len(missing) == len(_FILES):
            looked.append(f"  {directory}: no Fashion-MNIST files")
        else:
            looked.append(f"  {directory}: incomplete, missing {', '.join(missing)}")
    try:
        return _load_tfds()
    except Exception as e:  # tfds raises AssertionError, ImportError, ... when it lacks the data.
        looked.append(f"  tensorflow-datasets: {type(e).__name__}: {e}".rstrip())
        cause = e
    raise DatasetNotFoundError(
        "Fashion-MNIST not found. Looked in:\n"
        + "\n".join(looked)
        + "\nGet it one of these ways:\n"
        "  * Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
        f"(installs into {DEBIAN_DIR});\n"
        f"  * put the four IDX files ({', '.join(n + '.gz' for n in _FILES.values())}) in a "
        f"directory and pass it as data_dir= or set {DATA_DIR_ENV} to it;\n"
        '  * with internet: pip install tensorflow-datasets, then tfds.load("fashion_mnist") '
        "once to prepare it."
    ) from cause


def _load_given(data_dir: Path) -> Arrays:
    """The files in `data_dir` (or its fashion-mnist/ subfolder), and nowhere else."""
    found = {}
    for directory in (data_dir, data_dir / "fashion-mnist"):
        files, missing = _find_files(directory)
        if not missing:
            return _read(files)
        found[directory] = missing
    best = min(found, key=lambda directory: len(found[directory]))
    what = ("holds no Fashion-MNIST files" if len(found[best]) == len(_FILES)
            else f"lacks {', '.join(found[best])} (gzipped or not)")
    raise DatasetNotFoundError(
        f"The data directory {best} {what}. Fashion-MNIST needs its four IDX files there "
        f"({', '.join(n + '.gz' for n in _FILES.values())}); fix --data-dir, or leave it out "
        f"to use ${DATA_DIR_ENV}, Debian's dataset-fashion-mnist ({DEBIAN_DIR}) or "
        "tensorflow-datasets' copy."
    )


def _find_files(directory: Path) -> tuple[dict[str, Path], list[str]]:
    files, missing = {}, []
    for key, name in _FILES.items():
        for candidate in (directory / f"{name}.gz", directory / name):
            if candidate.is_file():
                files[key] = candidate
                break
        else:
            missing.append(name)
    return files, missing


def _read(files: dict[str, Path]) -> Arrays:
    arrays = {}
    for key, path in files.items():
        array = read_idx(path)
        n = _SIZES[key.split("_")[1]]
        expected = (n, 28, 28) if key.startswith("x") else (n,)
        if array.shape != expected or array.dtype != np.uint8:
            raise DataFormatError(
                f"{path}: expected Fashion-MNIST {key} of shape {expected} and type uint8, found "
                f"{array.shape} {array.dtype}; replace the file with the published one"
            )
        if key.startswith("y") and array.max() > 9:
            raise DataFormatError(f"{path}: label {array.max()} outside 0..9")
        arrays[key] = array[..., None] if key.startswith("x") else array.astype(np.int64)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _load_tfds() -> Arrays:
    import tensorflow_datasets as tfds

    # download=False: a missing copy fails at once instead of attempting a download.
    splits = tfds.load(
        "fashion_mnist",
        split=["train", "test"],
        data_dir=TFDS_DATA_DIR,
        as_supervised=True,
        batch_size=-1,
        download=False,
    )
    (x_train, y_train), (x_test, y_test) = tfds.as_numpy(splits)
    return (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64))
