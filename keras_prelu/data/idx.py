"""A validated reader for the IDX format of (Fashion-)MNIST, gzip-compressed or raw.

Layout (http://yann.lecun.com/exdb/mnist/): bytes 0-1 are zero, byte 2 is the element type,
byte 3 the number of dimensions; then one big-endian uint32 per dimension; then the elements,
big-endian, in C order.
"""

import gzip
import os
import zlib

import numpy as np

from keras_prelu.data.errors import DataFormatError

# IDX type code -> big-endian numpy dtype.
_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads an IDX file (gzip-compressed or raw, detected from its first bytes).

    Args:
        path: The file.

    Returns:
        A writable array in native byte order with the file's shape and element type.

    Raises:
        FileNotFoundError: `path` does not exist.
        DataFormatError: The file is not a well-formed IDX file (bad gzip stream, bad magic
            number, unknown type code, or a payload that is not exactly the declared size).
    """
    with open(path, "rb") as f:
        data = f.read()

    def fail(what: str) -> DataFormatError:
        return DataFormatError(f"{os.fspath(path)}: not a valid IDX file: {what}")

    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise fail(f"corrupt or truncated gzip stream ({e})") from e
    if len(data) < 4:
        raise fail(f"{len(data)} bytes, shorter than the 4-byte magic number")
    if data[0] != 0 or data[1] != 0:
        raise fail(f"magic number starts with {data[:2].hex()}, expected 0000")
    type_code, ndim = data[2], data[3]
    if type_code not in _DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise fail(f"unknown element type code 0x{type_code:02X} (known: {known})")
    if ndim == 0:
        raise fail("zero dimensions")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise fail(f"header declares {ndim} dimensions but the file ends after {len(data)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = _DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header_size
    if found != expected:
        state = "truncated" if found < expected else "trailing bytes"
        raise fail(
            f"{state}: shape {shape} of {dtype.newbyteorder('=').name} needs {expected} "
            f"bytes of data, found {found}"
        )
    array = np.frombuffer(data, dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))
