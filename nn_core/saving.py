"""Model files: one ``.npz`` archive holding a JSON config and named arrays.

Layout (format "nn_core.model", version 1):

* ``config``: the JSON document, stored as a uint8 array of its UTF-8 bytes. It holds
  the model's architecture, input shape and dtype, the compile settings, and the
  name, shape, dtype and SHA-256 of every array below.
* ``weight/<i>``: the i-th array of ``model.get_weights()``.
* ``optimizer/<name>``: the optimizer's state (``optimizer.get_state()``).

Writing is atomic: the archive goes to a temporary file in the target's folder, is
flushed and fsynced, then renamed over the target, so a crash leaves either the old
file or the new one, never half of one. Reading never unpickles (``allow_pickle=False``;
object arrays are refused from their header, before NumPy sees them), refuses headers
that declare more data than their entry holds, and checks the format, version, array
names, shapes, dtypes and checksums, raising
``ModelFileError`` (a ValueError) that names the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import tempfile
import tokenize
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from .errors import ModelFileError

FORMAT_NAME = "nn_core.model"
FORMAT_VERSION = 1


def write_archive(
    path: str | os.PathLike[str], config: dict, arrays: dict[str, np.ndarray]
) -> None:
    """Atomically write ``config`` (JSON) and ``arrays`` to the .npz file ``path``."""
    config = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **config}
    config["arrays"] = {
        name: {"shape": list(array.shape), "dtype": array.dtype.name, "sha256": _digest(array)}
        for name, array in arrays.items()
    }
    # Values typed Any: NumPy's stubs take **payload for savez's allow_pickle: bool too.
    payload: dict[str, Any] = {
        "config": np.frombuffer(json.dumps(config).encode("utf-8"), dtype=np.uint8)
    }
    payload.update(arrays)
    write_atomically(path, lambda file: np.savez(file, **payload))


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it over ``path``.

    The temporary file is flushed and fsynced before the rename, so a crash leaves either
    the old file or the new one, never half of one; on any error it is removed.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temp_path = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        # mkstemp creates the file readable by its owner only (0600); the published file
        # gets the permissions open() would give it: those of the file it replaces, or
        # 0666 less the umask for a new one.
        _set_mode(handle, file_mode_for(path))
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise
    _fsync_folder(folder)


def file_mode_for(path: str | os.PathLike[str]) -> int:
    """The permission bits a file written to ``path`` should get: the existing file's, or
    0o666 less the process umask (what ``open(path, "w")`` would create)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # Linux reports it without changing it; elsewhere set and restore it (not thread-safe,
    # but only for an instant, and only where /proc is missing).
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _set_mode(handle: int, mode: int) -> None:
    try:
        os.fchmod(handle, mode)
    except (AttributeError, OSError):  # no fchmod on Windows; keep mkstemp's mode
        pass


def _digest(array: np.ndarray) -> str:
    """SHA-256 of the array's bytes in C order: detects corrupted data the zip CRC misses
    (np.load reads an entry's declared size and stops before zipfile checks its CRC)."""
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


def _fsync_folder(folder: str) -> None:
    # Makes the rename itself durable on POSIX file systems; not possible on Windows.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# What reading a hostile or damaged archive can raise inside zipfile, zlib and numpy;
# each becomes a ModelFileError naming the file.
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    NotImplementedError,  # an unsupported zip compression method
    RuntimeError,  # an encrypted zip member
    struct.error,
    OverflowError,
    MemoryError,
    SyntaxError,  # np.lib.format parses a .npy header with ast: a garbled one fails there
    tokenize.TokenError,  # ... or in its tokenizer, for an unclosed bracket
)


def _check_members(archive: zipfile.ZipFile) -> None:
    """Read each .npy member's header and refuse what np.load should never be asked to do.

    Refuses object dtypes (pickles) and members whose header declares more data than
    the member holds (a few bytes asking for terabytes), before any array is allocated.
    """
    names = [info.filename for info in archive.infolist()]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"entries {duplicates} appear more than once")
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue  # reported by read_archive as "not NumPy .npy arrays"
        entry = info.filename[: -len(".npy")]
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"entry {entry!r} has unsupported .npy version {version}")
            header_size = member.tell()
        if dtype.hasobject:
            raise ValueError(
                f"entry {entry!r} holds Python objects (pickled data), which nn_core never loads"
            )
        needed = math.prod(shape) * dtype.itemsize
        if needed > info.file_size - header_size:
            raise ValueError(
                f"entry {entry!r} declares shape {shape} of {dtype} ({needed} bytes) but holds "
                f"{max(info.file_size - header_size, 0)} bytes (truncated or forged)"
            )


def _what_it_is(path: str) -> str:
    """A short description of a file that is not a zip archive, from its first bytes."""
    with open(path, "rb") as file:
        head = file.read(64)
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUMPY"):
        return "it is a single .npy array, not an .npz archive"
    if head.startswith(b"PK"):
        return "it is a truncated or damaged zip (.npz) archive"
    if head.startswith(b"\x80"):
        return "it is a Python pickle, which nn_core never loads"
    printable = sum(32 <= byte < 127 or byte in b"\t\r\n" for byte in head)
    if printable == len(head):
        return (
            f"it is a text file (it starts with {head[:24].decode('ascii')!r}), not an .npz archive"
        )
    return "it is not a zip (.npz) archive"


def read_archive(path: str | os.PathLike[str]) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and validate an archive written by ``write_archive``: (config, arrays).

    Raises FileNotFoundError when ``path`` does not exist and ``ModelFileError`` (naming
    the file and the problem) for anything else wrong with it.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    if not zipfile.is_zipfile(path):
        # Say what the file is ourselves: np.load guesses "pickled data" for anything that
        # is neither .npz nor .npy, and advises unpickling, which this loader never does.
        raise ModelFileError(f"{path!r} is not an nn_core model file: {_what_it_is(path)}")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(archive)
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with archive:
            arrays = {name: archive[name] for name in archive.files}
    except _READ_ERRORS as error:
        raise ModelFileError(
            f"{path!r} is not a readable nn_core model file (truncated, corrupted or "
            f"not an .npz archive): {error}"
        ) from error
    # np.load hands back an archive member that is not in .npy format as raw bytes.
    not_arrays = sorted(name for name, value in arrays.items() if not isinstance(value, np.ndarray))
    if not_arrays:
        raise ModelFileError(f"{path!r}: entries {not_arrays} are not NumPy .npy arrays")
    if "config" not in arrays:
        raise ModelFileError(f"{path!r} has no 'config' entry; it was not written by nn_core")
    config_bytes = arrays.pop("config")
    if config_bytes.dtype != np.uint8 or config_bytes.ndim != 1:
        raise ModelFileError(f"{path!r}: the 'config' entry is not a JSON byte string")
    try:
        config = json.loads(config_bytes.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelFileError(f"{path!r}: the config is not valid JSON ({error})") from error
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{path!r} is not an nn_core model file (format is not {FORMAT_NAME!r})"
        )
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} has format version {version!r}; this nn_core reads version {FORMAT_VERSION}"
        )
    declared = config.get("arrays")
    if not isinstance(declared, dict) or set(declared) != set(arrays):
        missing = sorted(set(declared if isinstance(declared, dict) else {}) - set(arrays))
        extra = sorted(set(arrays) - set(declared if isinstance(declared, dict) else {}))
        raise ModelFileError(
            f"{path!r}: arrays do not match the config (missing {missing}, unexpected {extra})"
        )
    for name, spec in declared.items():
        array = arrays[name]
        if not isinstance(spec, dict):
            raise ModelFileError(f"{path!r}: the config's entry for array {name!r} is not a dict")
        if list(array.shape) != spec.get("shape") or array.dtype.name != spec.get("dtype"):
            shape = spec.get("shape")
            raise ModelFileError(
                f"{path!r}: array {name!r} has shape {array.shape} and dtype {array.dtype}, "
                f"the config says {shape!r} and {spec.get('dtype')!r}"
            )
        # Files written before checksums existed have none; every file since has one.
        if "sha256" in spec and spec["sha256"] != _digest(array):
            raise ModelFileError(
                f"{path!r}: array {name!r} is corrupted (its SHA-256 does not match the config)"
            )
    return config, arrays
