import gzip
import struct
import time

import numpy as np
import pytest

from keras_prelu.data import DataFormatError, DatasetNotFoundError, load_fashion_mnist
from keras_prelu.data import fashion_mnist as fm

DEBIAN = fm.DEBIAN_DIR
NAMES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]
needs_debian = pytest.mark.skipif(
    not (DEBIAN / "train-images-idx3-ubyte.gz").is_file(),
    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
)


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No Fashion-MNIST in the default places: empty Debian dir and tfds dir, no env var."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(fm, "DEBIAN_DIR", empty)
    monkeypatch.setattr(fm, "TFDS_DATA_DIR", str(empty))
    monkeypatch.delenv(fm.DATA_DIR_ENV, raising=False)
    return empty


@pytest.fixture(scope="module")
def debian():
    return load_fashion_mnist()


def raw_idx(name: str, offset: int) -> np.ndarray:
    """Independent reference: the bytes after the IDX header, as published."""
    with gzip.open(DEBIAN / f"{name}.gz") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


@needs_debian
def test_real_files(debian):
    (x_train, y_train), (x_test, y_test) = debian
    assert x_train.shape == (60_000, 28, 28, 1) and x_test.shape == (10_000, 28, 28, 1)
    assert x_train.dtype == x_test.dtype == np.uint8
    assert y_train.shape == (60_000,) and y_test.shape == (10_000,)
    assert np.issubdtype(y_train.dtype, np.integer)
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    np.testing.assert_array_equal(x_train.ravel(), raw_idx(NAMES[0], 16))
    np.testing.assert_array_equal(y_test, raw_idx(NAMES[3], 8))
    # Published statistics of the training pixels: mean 0.2860, std 0.3530 on the [0, 1] scale.
    pixels = x_train.astype(np.float64) / 255
    assert pixels.mean() == pytest.approx(0.2860, abs=5e-4)
    assert pixels.std() == pytest.approx(0.3530, abs=5e-4)
    # Real photos, not noise: most of each image is background, every image has an object.
    assert np.median(x_train) == 0
    assert (x_train.reshape(60_000, -1).max(axis=1) > 100).all()


@needs_debian
def test_data_dir_subfolder_and_env_var(tmp_path, nowhere, monkeypatch, debian):
    sub = tmp_path / "data" / "fashion-mnist"
    sub.mkdir(parents=True)
    for name in NAMES:
        (sub / f"{name}.gz").symlink_to(DEBIAN / f"{name}.gz")
    (_, y_train), _ = load_fashion_mnist(tmp_path / "data")
    np.testing.assert_array_equal(y_train, debian[0][1])

    monkeypatch.setenv(fm.DATA_DIR_ENV, str(sub))
    _, (_, y_test) = load_fashion_mnist()
    np.testing.assert_array_equal(y_test, debian[1][1])


def test_not_found_names_every_way_to_get_it(nowhere):
    start = time.monotonic()
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist()
    assert time.monotonic() - start < 20  # no download attempt
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert f"{nowhere}: no Fashion-MNIST files" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "data_dir=" in message and fm.DATA_DIR_ENV in message
    assert "pip install tensorflow-datasets" in message
    assert 'tfds.load("fashion_mnist")' in message
    assert "tensorflow-datasets: " in message  # why the tfds route failed


def test_incomplete_directory_is_reported(tmp_path, nowhere, monkeypatch):
    for name in NAMES[:3]:
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setenv(fm.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="incomplete, missing t10k-labels-idx1-ubyte"):
        load_fashion_mnist()


@needs_debian
def test_an_explicit_data_dir_is_the_only_place_looked_at(tmp_path):
    # Debian's complete copy is installed, yet a given directory that lacks files is an
    # error naming them, never a silent fall-back to that copy.
    for name in NAMES[:3]:
        (tmp_path / f"{name}.gz").symlink_to(DEBIAN / f"{name}.gz")
    with pytest.raises(DatasetNotFoundError,
                       match=rf"The data directory {tmp_path} lacks t10k-labels-idx1-ubyte "
                             r"\(gzipped or not\)"):
        load_fashion_mnist(tmp_path)
    with pytest.raises(DatasetNotFoundError, match=f"{tmp_path / 'none'} holds no Fashion-MNIST"):
        load_fashion_mnist(tmp_path / "none")


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_wrong_shape_is_a_format_error(tmp_path, nowhere):
    write_idx(tmp_path / NAMES[0], np.zeros((5, 28, 28)))
    write_idx(tmp_path / NAMES[1], np.zeros(5))
    write_idx(tmp_path / NAMES[2], np.zeros((5, 28, 28)))
    write_idx(tmp_path / NAMES[3], np.zeros(5))
    with pytest.raises(DataFormatError) as info:
        load_fashion_mnist(tmp_path)
    assert str(tmp_path / NAMES[0]) in str(info.value)
    assert "expected Fashion-MNIST x_train of shape (60000, 28, 28)" in str(info.value)


@needs_debian
def test_label_out_of_range_is_a_format_error(tmp_path, nowhere):
    for name in NAMES:
        if name != NAMES[1]:
            (tmp_path / f"{name}.gz").symlink_to(DEBIAN / f"{name}.gz")
    labels = np.zeros(60_000)
    labels[7] = 12
    write_idx(tmp_path / NAMES[1], labels)
    with pytest.raises(DataFormatError, match="label 12 outside 0..9"):
        load_fashion_mnist(tmp_path)
