import gzip
import struct

import numpy as np
import pytest

from keras_prelu.data import DataFormatError, read_idx

# Independent of the parser: the IDX type codes and big-endian dtypes from the format spec.
SPEC = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(SPEC[code]).tobytes()


@pytest.mark.parametrize("code", sorted(SPEC))
@pytest.mark.parametrize("compress", [False, True])
def test_reads_every_type_raw_and_gzip(tmp_path, code, compress):
    rng = np.random.default_rng(code)
    dtype = np.dtype(SPEC[code]).newbyteorder("=")
    if dtype.kind == "f":
        array = rng.normal(size=(3, 4, 5)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dtype)
    data = idx_bytes(array, code)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(data) if compress else data)

    out = read_idx(path)

    assert out.dtype == dtype and out.dtype.isnative
    np.testing.assert_array_equal(out, array)
    out[0, 0, 0] = 0  # writable


def test_big_endian_layout(tmp_path):
    path = tmp_path / "a.idx"
    path.write_bytes(bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE]))
    np.testing.assert_array_equal(read_idx(path), [258, -2])


def test_real_mnist_style_header(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 2, 28, 28) + images.tobytes())
    np.testing.assert_array_equal(read_idx(path), images)


GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4), 0x08)


@pytest.mark.parametrize(
    "data, message",
    [
        (GOOD[:-1], "truncated: shape (3, 4) of uint8 needs 12 bytes of data, found 11"),
        (GOOD + b"\x00", "trailing bytes: shape (3, 4) of uint8 needs 12 bytes of data, found 13"),
        (b"\x01" + GOOD[1:], "magic number starts with 0100, expected 0000"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "unknown element type code 0x07"),
        (b"\x00\x00\x08\x00", "zero dimensions"),
        (GOOD[:9], "header declares 2 dimensions but the file ends after 9 bytes"),
        (b"\x00\x00", "2 bytes, shorter than the 4-byte magic number"),
        (b"", "0 bytes"),
        (gzip.compress(GOOD)[:-8], "corrupt or truncated gzip stream"),
        (b"\x1f\x8b" + b"not gzip at all", "corrupt or truncated gzip stream"),
        (gzip.compress(GOOD[:-1]), "truncated"),
    ],
)
def test_malformed_files_give_one_clear_error(tmp_path, data, message):
    path = tmp_path / "bad-idx1-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match="not a valid IDX file") as info:
        read_idx(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.idx"):
        read_idx(tmp_path / "nothing.idx")
