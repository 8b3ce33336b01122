"""Find or fetch the four files of an MNIST-format dataset.

``locate(spec)`` looks, in this order, and stops at the first directory that holds all
four files (each either as ``name.gz`` or uncompressed as ``name``):

1. the ``path`` argument, when given (nothing else is searched then);
2. ``$NN_CORE_DATA/<name>/``, then ``$NN_CORE_DATA/`` itself;
3. the copy shipped inside this package, ``nn_core/datasets/data/<name>/``, if any;
4. ``spec.system_dirs`` (e.g. a Debian package's directory);
5. the user cache, ``$XDG_CACHE_HOME/nn_core/<name>/`` (default ``~/.cache/nn_core/<name>/``);
6. a download from ``spec.mirrors`` into that cache, each file checked against its
   published md5 before it is moved into place, unless ``download=False``.

Files found locally are trusted as they are: local copies are often re-compressed
(Debian's Fashion-MNIST) or rebuilt (our MNIST train images), so their md5 cannot match
the published one. Their content is validated when it is read.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..saving import file_mode_for
from .idx import DatasetFileError

ROLES = ("train_images", "train_labels", "test_images", "test_labels")
DATA_ENV_VAR = "NN_CORE_DATA"
VENDORED_ROOT = Path(__file__).resolve().parent / "data"
DOWNLOAD_TIMEOUT_S = 60
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class DatasetFiles:
    """Where a dataset's files may be and how to check a downloaded one.

    Attributes:
        name: directory name under the search roots, e.g. ``"mnist"``.
        filenames: role -> published file name, for the four ``ROLES``.
        md5: published file name -> its published md5 (hex), checked after a download.
        mirrors: base URLs (ending in ``/``) tried in order; the URL is base + file name.
        system_dirs: extra local directories searched after the vendored copy.
    """

    name: str
    filenames: dict[str, str]
    md5: dict[str, str]
    mirrors: list[str]
    system_dirs: list[Path] = field(default_factory=list)

    def __post_init__(self):
        if set(self.filenames) != set(ROLES):
            raise ValueError(f"{self.name}: filenames must have the roles {ROLES}")
        missing_md5 = [name for name in self.filenames.values() if name not in self.md5]
        if missing_md5:
            raise ValueError(f"{self.name}: no published md5 for {missing_md5}")


def cache_dir(spec: DatasetFiles) -> Path:
    """``$XDG_CACHE_HOME/nn_core/<name>``, or ``~/.cache/nn_core/<name>`` when it is unset."""
    cache_root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_root) / "nn_core" / spec.name


def _find_in(directory: Path, spec: DatasetFiles, roles=ROLES) -> tuple[dict[str, Path], list[str]]:
    """(role -> existing file, file names missing) for one directory, for ``roles``.

    ``x.gz`` is preferred over the uncompressed ``x`` when both exist.
    """
    found, missing = {}, []
    for role in roles:
        filename = spec.filenames[role]
        candidates = [directory / filename]
        if filename.endswith(".gz"):
            candidates.append(directory / filename.removesuffix(".gz"))
        existing = [candidate for candidate in candidates if candidate.is_file()]
        if existing:
            found[role] = existing[0]
        else:
            missing.append(filename)
    return found, missing


def _local_search_dirs(spec: DatasetFiles) -> list[Path]:
    """Directories searched before downloading, in order (steps 2 to 5)."""
    directories = []
    data_root = os.environ.get(DATA_ENV_VAR)
    if data_root:
        directories += [Path(data_root) / spec.name, Path(data_root)]
    vendored = VENDORED_ROOT / spec.name
    if vendored.is_dir():
        directories.append(vendored)
    directories += [Path(directory) for directory in spec.system_dirs]
    directories.append(cache_dir(spec))
    return directories


def locate(
    spec: DatasetFiles,
    path: str | os.PathLike | None = None,
    download: bool = True,
    roles=ROLES,
) -> dict[str, Path]:
    """Find the dataset's files, downloading them into the cache if needed.

    Args:
        spec: the dataset's file names, checksums and mirrors.
        path: a directory holding the files. When given, it is the only place searched.
        download: whether to download from ``spec.mirrors`` when no local copy is found.
        roles: which files are needed (default all four ``ROLES``; one split's two
            files for ``load_split``).

    Returns:
        role -> path of an existing file, for each of ``roles``.

    Raises:
        FileNotFoundError: ``path`` lacks a file (the message lists which), or nothing
            was found and downloading is off or failed everywhere (the message lists
            every place searched).
        DatasetFileError: a downloaded file's md5 differs from the published one.
    """
    if path is not None:
        directory = Path(path)
        if not directory.is_dir():
            raise FileNotFoundError(f"{spec.name}: {directory} is not a directory")
        found, missing = _find_in(directory, spec, roles)
        if missing:
            raise FileNotFoundError(
                f"{spec.name}: {directory} lacks {', '.join(missing)} "
                f"(each may also be stored uncompressed, without .gz)"
            )
        return found

    searched = _local_search_dirs(spec)
    for directory in searched:
        found, missing = _find_in(directory, spec, roles)
        if not missing:
            return found

    places = "\n".join(f"  {directory}" for directory in searched)
    if not download:
        raise FileNotFoundError(
            f"{spec.name}: no directory holds all of "
            f"{', '.join(spec.filenames[role] for role in roles)}; "
            f"searched:\n{places}\nand download=False. Pass path=..., set ${DATA_ENV_VAR}, "
            f"or allow the download."
        )
    return _download_missing(spec, cache_dir(spec), places, roles)


def _download_missing(
    spec: DatasetFiles, target_dir: Path, places: str, roles=ROLES
) -> dict[str, Path]:
    """Download into ``target_dir`` the files of ``roles`` it lacks; return them all."""
    target_dir.mkdir(parents=True, exist_ok=True)
    found, _ = _find_in(target_dir, spec, roles)
    for role in roles:
        if role not in found:
            found[role] = _download_file(spec, spec.filenames[role], target_dir, places)
    return found


def _download_file(spec: DatasetFiles, filename: str, target_dir: Path, places: str) -> Path:
    """Fetch ``filename`` from the first mirror that serves it with the published md5."""
    failures, checksum_failed = [], False
    for mirror in spec.mirrors:
        url = mirror + filename
        try:
            return _fetch_verified(url, target_dir / filename, spec.md5[filename])
        except DatasetFileError as error:
            failures.append(str(error))
            checksum_failed = True
        except OSError as error:  # urllib.error.URLError is an OSError
            failures.append(f"{url}: {error}")
    report = "\n".join(f"  {failure}" for failure in failures)
    if checksum_failed:
        raise DatasetFileError(f"{filename}: no mirror served the published file:\n{report}")
    raise FileNotFoundError(
        f"{spec.name}: {filename} was not found locally; searched:\n{places}\n"
        f"and the download failed:\n{report}"
    )


def _fetch_verified(url: str, destination: Path, expected_md5: str) -> Path:
    """Download ``url`` to ``destination`` atomically, only if its md5 is ``expected_md5``.

    The bytes go to a temporary file in the destination's directory, which replaces
    ``destination`` (``os.replace``, atomic on one file system) only after the checksum
    matched. On any failure the temporary file is removed, so no partial or unverified
    file is ever left under the published name.
    """
    print(f"Downloading {url}", file=sys.stderr)
    digest = hashlib.md5()
    handle, temp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    temp_path = Path(temp_name)
    try:
        os.chmod(temp_path, file_mode_for(destination))  # mkstemp's 0600 -> open()'s mode
        with os.fdopen(handle, "wb") as temp_file:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                while chunk := response.read(_CHUNK_BYTES):
                    digest.update(chunk)
                    temp_file.write(chunk)
        got_md5 = digest.hexdigest()
        if got_md5 != expected_md5:
            raise DatasetFileError(
                f"{destination.name}: md5 mismatch for {url}: expected {expected_md5}, "
                f"got {got_md5}; the file was discarded"
            )
        os.replace(temp_path, destination)
    finally:
        temp_path.unlink(missing_ok=True)
    return destination
