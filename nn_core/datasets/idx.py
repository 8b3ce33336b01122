"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a big-endian header followed by the array's data in row-major order:

* 2 zero bytes;
* 1 byte, the data type code (see ``IDX_DTYPES``);
* 1 byte, the number of dimensions ``ndim`` (at least 1);
* ``ndim`` big-endian uint32, the size of each dimension;
* ``prod(sizes) * itemsize`` bytes of data, and nothing after them.

Files may be gzipped; a gzipped file is recognised by its magic bytes (1f 8b), not by
its name. No pickle is involved anywhere.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

# Type code -> big-endian dtype of the data on disk (the codes of the IDX specification).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_CODE_BY_DTYPE = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIM_SIZE = 2**32 - 1


class DatasetFileError(ValueError):
    """A dataset file exists but cannot be used: corrupt, truncated, wrong content.

    The message always starts with the file's path, then says what is wrong.
    """


def _describe_dtypes() -> str:
    return ", ".join(f"0x{code:02X} ({dtype.name})" for code, dtype in IDX_DTYPES.items())


def _read_file_bytes(path: Path) -> bytes:
    """The IDX bytes of ``path``: decompressed if the file starts with the gzip magic."""
    if not path.exists():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if not raw:
        raise DatasetFileError(f"{path}: file is empty (0 bytes)")
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DatasetFileError(
            f"{path}: corrupt or truncated gzip data ({error}); replace it with a fresh copy"
        ) from error


def parse_idx(data: bytes, source: str | os.PathLike = "<bytes>") -> np.ndarray:
    """Parse the (decompressed) bytes of an IDX file into an array.

    Args:
        data: the whole IDX content, header and data.
        source: the file name to put in error messages.

    Returns:
        array of shape (d0, d1, ..., d_ndim-1) as declared in the header, in native byte
        order, writable (it owns its memory).

    Raises:
        DatasetFileError: the header is invalid, or the data is shorter or longer than
        the header declares.
    """
    if not data:
        raise DatasetFileError(f"{source}: IDX content is empty (0 bytes)")
    if len(data) < 4:
        raise DatasetFileError(
            f"{source}: truncated header: expected at least 4 bytes, found {len(data)}"
        )
    magic = data[:4].hex(" ")
    if data[0] != 0 or data[1] != 0:
        raise DatasetFileError(
            f"{source}: bad magic number {magic}: not an IDX file "
            f"(an IDX file starts with two zero bytes)"
        )
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_DTYPES:
        raise DatasetFileError(
            f"{source}: bad magic number {magic}: unknown IDX type code 0x{type_code:02X}, "
            f"expected one of {_describe_dtypes()}"
        )
    if ndim == 0:
        raise DatasetFileError(f"{source}: bad magic number {magic}: the header declares 0 dims")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DatasetFileError(
            f"{source}: truncated header: {ndim} dims need {header_size} header bytes, "
            f"found {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = IDX_DTYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize
    found = len(data) - header_size
    if found < expected:
        raise DatasetFileError(
            f"{source}: truncated: expected {expected} bytes of data, found {found} "
            f"(the header declares shape {shape} of {dtype.name})"
        )
    if found > expected:
        raise DatasetFileError(
            f"{source}: {found - expected} trailing bytes after the data: expected {expected} "
            f"bytes of data, found {found} (the header declares shape {shape} of {dtype.name})"
        )
    on_disk = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=header_size)
    return on_disk.reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzipped or raw, into an array.

    Args:
        path: the file. Gzip is detected from the content (magic bytes 1f 8b), so a
            gzipped file without ``.gz`` in its name and a raw file with one both work.

    Returns:
        array with the shape and dtype declared in the header (e.g. (60000, 28, 28)
        uint8 for MNIST training images), native byte order, writable.

    Raises:
        FileNotFoundError: ``path`` does not exist (the message names it).
        DatasetFileError: the file is empty, not IDX, truncated, has trailing bytes or
            is corrupt gzip (the message names the file and the problem).
    """
    path = Path(path)
    return parse_idx(_read_file_bytes(path), source=path)


def save_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped if ``path`` ends in ``.gz``.

    Args:
        path: destination file; overwritten if it exists.
        array: at least 1-D, at most 255-D, each dim below 2**32, of dtype uint8, int8,
            int16, int32, float32 or float64 (any byte order).

    The gzip header carries no name and a zero timestamp, so the same array always gives
    the same bytes.
    """
    array = np.asarray(array)
    native_dtype = array.dtype.newbyteorder("=")
    if native_dtype not in _TYPE_CODE_BY_DTYPE:
        supported = ", ".join(dtype.name for dtype in IDX_DTYPES.values())
        raise TypeError(f"IDX cannot store dtype {array.dtype.name}; supported: {supported}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX stores arrays of 1 to 255 dims, got shape {array.shape}")
    if any(size > _MAX_DIM_SIZE for size in array.shape):
        raise ValueError(f"IDX dims must be below 2**32, got shape {array.shape}")
    type_code = _TYPE_CODE_BY_DTYPE[native_dtype]
    header = struct.pack(f">2xBB{array.ndim}I", type_code, array.ndim, *array.shape)
    content = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[type_code]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        content = gzip.compress(content, mtime=0)
    path.write_bytes(content)
