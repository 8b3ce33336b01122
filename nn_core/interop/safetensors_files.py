"""Reading and writing ``.safetensors`` files, with the header checked before the library sees it.

A safetensors file is an 8-byte little-endian header length L, then L bytes of JSON
mapping each tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (byte
offsets into the data that follows the header), plus an optional ``"__metadata__"``
dict of strings. The file is untrusted: ``check_header`` validates every field with
Python integers (no allocation) and only then is the ``safetensors`` library asked to
read it, so a header claiming 10**12 values is refused before anything is allocated.
"""

from __future__ import annotations

import json
import math
import os
import struct

import numpy as np

from ..errors import ModelFileError
from ..saving import write_atomically

INSTALL_HINT = "pip install 'nn-core-autoencoders[interop]'"
#: safetensors dtype code -> bytes per value; I64 only for BatchNorm's num_batches_tracked.
ALLOWED_DTYPES = {"F32": 4, "F64": 8, "I64": 8}
MAX_HEADER_BYTES = 100 * 2**20  # the safetensors library's own limit


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(
            f"reading and writing .safetensors files needs the safetensors package: {INSTALL_HINT}"
        ) from error
    return safetensors.numpy


def check_header(data: bytes, path: str) -> tuple[dict, dict]:
    """Validate the header of the safetensors bytes ``data``: (tensor entries, metadata).

    Checks: header length <= len(data) - 8 (and <= 100 MiB); the header is a JSON object;
    every tensor has a dtype in ``ALLOWED_DTYPES``, a shape of non-negative ints and
    ``data_offsets`` [begin, end] inside the data, with prod(shape) * itemsize == end -
    begin; the byte ranges do not overlap and cover the data. Raises ModelFileError.
    """
    if len(data) < 8:
        raise ModelFileError(f"{path!r} is not a safetensors file: {len(data)} bytes, fewer than 8")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > len(data) - 8 or header_length > MAX_HEADER_BYTES:
        raise ModelFileError(
            f"{path!r}: the safetensors header claims {header_length:,} bytes, but the file "
            f"holds {len(data) - 8:,} after the length field (limit {MAX_HEADER_BYTES:,})"
        )
    try:
        header = json.loads(data[8 : 8 + header_length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelFileError(f"{path!r}: the safetensors header is not JSON ({error})") from error
    if not isinstance(header, dict):
        raise ModelFileError(f"{path!r}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise ModelFileError(f"{path!r}: __metadata__ must map strings to strings")
    data_length = len(data) - 8 - header_length
    ranges = []
    for name, entry in header.items():
        begin, end = _checked_entry(name, entry, data_length, path)
        ranges.append((begin, end, name))
    ranges.sort()
    position = 0
    for begin, end, name in ranges:
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else "leaves a gap"
            raise ModelFileError(
                f"{path!r}: tensor {name!r} starts at byte {begin}, which {problem} "
                f"(expected byte {position})"
            )
        position = end
    if position != data_length:
        raise ModelFileError(
            f"{path!r}: the tensors cover {position:,} of the {data_length:,} data bytes"
        )
    return header, metadata


def _checked_entry(name, entry, data_length, path) -> tuple[int, int]:
    where = f"{path!r}: tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{where}: expected keys dtype, shape, data_offsets, got {entry!r}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in ALLOWED_DTYPES:
        raise ModelFileError(
            f"{where} has dtype {dtype!r}; allowed: {', '.join(sorted(ALLOWED_DTYPES))}"
        )
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise ModelFileError(f"{where}: shape must be a list of integers >= 0, got {shape!r}")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_count, offsets)):
        raise ModelFileError(f"{where}: data_offsets must be [begin, end], got {offsets!r}")
    begin, end = offsets
    if not begin <= end <= data_length:
        raise ModelFileError(
            f"{where}: bytes [{begin}, {end}) are not inside the {data_length:,} data bytes"
        )
    wanted = math.prod(shape) * ALLOWED_DTYPES[dtype]
    if wanted != end - begin:
        raise ModelFileError(
            f"{where}: shape {shape} of {dtype} needs {wanted:,} bytes, its range holds "
            f"{end - begin:,}"
        )
    return begin, end


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_safetensors(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(arrays, metadata) of the safetensors file ``path``, validated by ``check_header``.

    Raises FileNotFoundError, ImportError (no safetensors package) or ModelFileError.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no weights file at {path!r}")
    library = _safetensors_numpy()
    with open(path, "rb") as file:
        data = file.read()
    header, metadata = check_header(data, path)
    try:
        arrays = library.load(data)
    except Exception as error:  # noqa: BLE001 - the library's SafetensorError and friends
        raise ModelFileError(f"{path!r}: unreadable safetensors file: {error}") from error
    if set(arrays) != set(header):
        raise ModelFileError(
            f"{path!r}: the library read {sorted(arrays)}, the header lists {sorted(header)}"
        )
    return arrays, metadata


def write_safetensors(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], metadata: dict[str, str]
) -> None:
    """Atomically write ``arrays`` (C-contiguous copies) and ``metadata`` to ``path``."""
    library = _safetensors_numpy()
    payload = library.save(
        {name: np.ascontiguousarray(array) for name, array in arrays.items()}, metadata=metadata
    )
    write_atomically(path, lambda file: file.write(payload))
