"""Tests for nn_core.datasets: IDX reading, the file search order, downloads, MNIST data.

No test touches the network: ``urllib.request.urlopen`` is replaced by a function that
fails the test, and the download tests replace it with a fake server.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nn_core.datasets import _files, fashion_mnist, load_idx, mnist, save_idx
from nn_core.datasets.idx import DatasetFileError

VENDORED_MNIST = _files.VENDORED_ROOT / "mnist"
ROUND_TRIP_DTYPES = ["uint8", "int8", ">i2", "<i2", "int32", "float32", "float64"]


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """No user data dir, a private cache, and no network for every test."""
    monkeypatch.delenv(_files.DATA_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))

    def no_network(url, *args, **kwargs):
        raise AssertionError(f"test tried to reach the network: {url}")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


@pytest.fixture(scope="module")
def real_mnist():
    """The real MNIST found by the default search (the vendored copy), loaded once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(_files.DATA_ENV_VAR, raising=False)
        return mnist.load_data(download=False)


def write_dataset_dir(directory: Path, n_train: int, n_test: int, gz: bool = True) -> Path:
    """Write a tiny MNIST-format dataset (random pixels, labels 0..9) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n_train * 1000 + n_test)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for role, filename in mnist.SPEC.filenames.items():
        name = filename if gz else filename.removesuffix(".gz")
        save_idx(directory / name, arrays[role])
    return directory


def toy_spec(files: dict[str, bytes], system_dirs=()) -> _files.DatasetFiles:
    """A dataset spec whose published md5s are those of ``files`` (name -> content)."""
    roles = dict(zip(_files.ROLES, files, strict=True))
    return _files.DatasetFiles(
        name="toy",
        filenames=roles,
        md5={name: hashlib.md5(content).hexdigest() for name, content in files.items()},
        mirrors=["https://mirror-one.invalid/toy/", "https://mirror-two.invalid/toy/"],
        system_dirs=list(system_dirs),
    )


def idx_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    buffer.write(struct.pack(f">2xBB{array.ndim}I", 0x08, array.ndim, *array.shape))
    buffer.write(array.astype(np.uint8).tobytes())
    return gzip.compress(buffer.getvalue(), mtime=0)


def toy_files() -> dict[str, bytes]:
    return {
        "train-images-idx3-ubyte.gz": idx_bytes(np.full((2, 28, 28), 7)),
        "train-labels-idx1-ubyte.gz": idx_bytes(np.array([3, 1])),
        "t10k-images-idx3-ubyte.gz": idx_bytes(np.full((1, 28, 28), 9)),
        "t10k-labels-idx1-ubyte.gz": idx_bytes(np.array([5])),
    }


# ----------------------------------------------------------------------------- real MNIST


def test_real_mnist_shapes_dtypes_and_label_range(real_mnist):
    (x_train, y_train), (x_test, y_test) = real_mnist
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))
    assert x_train.max() == 255 and x_test.min() == 0


def test_real_mnist_first_labels_are_the_known_ones(real_mnist):
    (_, y_train), (_, y_test) = real_mnist
    assert tuple(y_test[:5]) == (7, 2, 1, 0, 4)
    assert tuple(y_train[:5]) == (5, 0, 4, 1, 9)


def test_vendored_mnist_files_match_sha256sums():
    lines = (VENDORED_MNIST / "SHA256SUMS").read_text().split("\n")
    expected = dict(reversed(line.split()) for line in lines if line.strip())
    assert sorted(expected) == sorted(mnist.SPEC.filenames.values())
    for filename, sha256 in expected.items():
        assert hashlib.sha256((VENDORED_MNIST / filename).read_bytes()).hexdigest() == sha256


def test_default_search_finds_the_vendored_mnist():
    found = _files.locate(mnist.SPEC, download=False)
    assert {path.parent for path in found.values()} == {VENDORED_MNIST}


# ----------------------------------------------------------------------------- search order


def test_explicit_path_wins_over_env_var(tmp_path, monkeypatch):
    explicit = write_dataset_dir(tmp_path / "explicit", n_train=3, n_test=2)
    from_env = write_dataset_dir(tmp_path / "env" / "mnist", n_train=5, n_test=4)
    monkeypatch.setenv(_files.DATA_ENV_VAR, str(from_env.parent))
    (x_train, _), (x_test, _) = mnist.load_data(path=explicit, download=False)
    assert (len(x_train), len(x_test)) == (3, 2)


@pytest.mark.parametrize("layout", ["name_subdir", "env_dir_itself"])
def test_env_var_wins_over_vendored(tmp_path, monkeypatch, layout):
    data_root = tmp_path / "data"
    write_dataset_dir(data_root / "mnist" if layout == "name_subdir" else data_root, 5, 4)
    monkeypatch.setenv(_files.DATA_ENV_VAR, str(data_root))
    (x_train, y_train), (x_test, y_test) = mnist.load_data(download=False)
    assert (len(x_train), len(y_train), len(x_test), len(y_test)) == (5, 5, 4, 4)


def test_explicit_path_with_missing_file_does_not_fall_through(tmp_path):
    directory = write_dataset_dir(tmp_path / "partial", n_train=3, n_test=2)
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        mnist.load_data(path=directory)


def test_uncompressed_files_are_accepted(tmp_path):
    directory = write_dataset_dir(tmp_path / "raw", n_train=3, n_test=2, gz=False)
    (x_train, _), _ = mnist.load_data(path=directory, download=False)
    assert x_train.shape == (3, 28, 28)


def test_incomplete_directory_is_skipped(tmp_path, monkeypatch):
    data_root = write_dataset_dir(tmp_path / "data" / "mnist", n_train=5, n_test=4).parent
    (data_root / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv(_files.DATA_ENV_VAR, str(data_root))
    found = _files.locate(mnist.SPEC, download=False)
    assert {path.parent for path in found.values()} == {VENDORED_MNIST}


def test_nothing_found_without_download_lists_every_place_searched(tmp_path, monkeypatch):
    system_dir = tmp_path / "usr-share"
    monkeypatch.setenv(_files.DATA_ENV_VAR, str(tmp_path / "data"))
    spec = toy_spec(toy_files(), system_dirs=[system_dir])
    with pytest.raises(FileNotFoundError) as raised:
        _files.locate(spec, download=False)
    message = str(raised.value)
    for place in (tmp_path / "data" / "toy", tmp_path / "data", system_dir, _files.cache_dir(spec)):
        assert str(place) in message
    assert "download=False" in message


# ----------------------------------------------------------------------------- downloads


class FakeResponse(io.BytesIO):
    """What urlopen returns; checks on each read that nothing sits under the final name."""

    def __init__(self, content: bytes, destination: Path):
        super().__init__(content)
        self.destination = destination

    def read(self, size=-1):
        assert not self.destination.exists(), "download wrote under the final name"
        return super().read(size)


def fake_server(files: dict[str, bytes], spec: _files.DatasetFiles, requested: list[str]):
    """A urlopen whose first mirror is down and second serves ``files``."""

    def urlopen(url, timeout=None):
        requested.append(url)
        if url.startswith(spec.mirrors[0]):
            raise urllib.error.URLError("mirror one is down")
        filename = url.rsplit("/", 1)[-1]
        return FakeResponse(files[filename], _files.cache_dir(spec) / filename)

    return urlopen


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_download_fetches_verifies_and_places_files_atomically(monkeypatch):
    files = toy_files()
    spec = toy_spec(files)
    requested = []
    monkeypatch.setattr(urllib.request, "urlopen", fake_server(files, spec, requested))
    found = _files.locate(spec)
    cache = _files.cache_dir(spec)
    assert sorted(path.name for path in cache.iterdir()) == sorted(files)  # no temp files
    for path in found.values():
        assert path.parent == cache and path.read_bytes() == files[path.name]
        if os.name == "posix":  # open()'s permissions, not mkstemp's 0600
            assert path.stat().st_mode & 0o777 == 0o666 & ~_current_umask()
    (x_train, y_train), (x_test, y_test) = mnist.load_image_label_files(found)
    assert tuple(y_train) == (3, 1) and tuple(y_test) == (5,) and x_test[0, 0, 0] == 9
    assert len(requested) == 8  # each file: mirror one (down), then mirror two

    requested.clear()
    assert _files.locate(spec) == found  # the cache is used from now on
    assert requested == []


def test_download_with_wrong_md5_raises_and_leaves_no_file(monkeypatch):
    files = toy_files()
    spec = toy_spec(files)
    tampered = dict(files, **{"train-images-idx3-ubyte.gz": b"<html>Not Found</html>"})
    monkeypatch.setattr(urllib.request, "urlopen", fake_server(tampered, spec, []))
    with pytest.raises(DatasetFileError) as raised:
        _files.locate(spec)
    message = str(raised.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert spec.md5["train-images-idx3-ubyte.gz"] in message
    assert hashlib.md5(b"<html>Not Found</html>").hexdigest() in message
    assert list(_files.cache_dir(spec).iterdir()) == []


def test_download_failing_everywhere_raises_file_not_found(monkeypatch):
    spec = toy_spec(toy_files())

    def unreachable(url, timeout=None):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", unreachable)
    with pytest.raises(FileNotFoundError, match="no route to host"):
        _files.locate(spec)
    assert list(_files.cache_dir(spec).iterdir()) == []


# ----------------------------------------------------------------------------- bad files


def corrupt(kind: str, directory: Path) -> Path:
    """Write one damaged IDX file of the given kind; return its path."""
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    good = Path(directory / "good.idx")
    save_idx(good, images)
    raw = good.read_bytes()
    contents = {
        "empty": b"",
        "truncated_raw": raw[:-100],
        "truncated_gz": gzip.compress(raw)[:-40],
        "truncated_header": raw[:9],
        "wrong_magic": b"\x12\x34" + raw[2:],
        "unknown_type_code": raw[:2] + b"\x07" + raw[3:],
        "zero_dims": raw[:3] + b"\x00" + raw[4:],
        "trailing_bytes": raw + b"\x00\x00\x00",
        "corrupt_gzip": gzip.compress(raw)[:20] + b"\xff" * 64 + gzip.compress(raw)[84:],
        "bad_gzip_header": b"\x1f\x8b\x99" + raw,
    }
    path = directory / f"{kind}-idx3-ubyte"
    path.write_bytes(contents[kind])
    return path


BAD_FILE_KINDS = {
    "empty": "empty",
    "truncated_raw": "truncated: expected 2352 bytes of data, found 2252",
    "truncated_gz": "gzip",
    "truncated_header": "truncated header",
    "wrong_magic": "bad magic",
    "unknown_type_code": "unknown IDX type code 0x07",
    "zero_dims": "0 dims",
    "trailing_bytes": "3 trailing bytes",
    "corrupt_gzip": "gzip",
    "bad_gzip_header": "gzip",
}


@pytest.mark.parametrize("kind", BAD_FILE_KINDS)
def test_bad_idx_file_raises_error_naming_the_file(tmp_path, kind):
    path = corrupt(kind, tmp_path)
    with pytest.raises(DatasetFileError) as raised:
        load_idx(path)
    assert path.name in str(raised.value)
    assert BAD_FILE_KINDS[kind] in str(raised.value)


def test_missing_idx_file_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere-idx1-ubyte"):
        load_idx(tmp_path / "nowhere-idx1-ubyte")


def test_labels_file_passed_as_images_is_reported(tmp_path):
    directory = write_dataset_dir(tmp_path / "swapped", n_train=3, n_test=2)
    labels = directory / "train-labels-idx1-ubyte.gz"
    (directory / "train-images-idx3-ubyte.gz").write_bytes(labels.read_bytes())
    with pytest.raises(DatasetFileError, match="train-images-idx3-ubyte.gz.*shape \\(3,\\)"):
        mnist.load_data(path=directory)


def test_image_and_label_counts_must_agree(tmp_path):
    directory = write_dataset_dir(tmp_path / "mismatch", n_train=3, n_test=2)
    save_idx(directory / "t10k-labels-idx1-ubyte.gz", np.zeros(5, dtype=np.uint8))
    with pytest.raises(DatasetFileError, match="2 images but .*t10k-labels.* 5 labels"):
        mnist.load_data(path=directory)


def test_labels_out_of_range_are_reported(tmp_path):
    directory = write_dataset_dir(tmp_path / "bad-labels", n_train=3, n_test=2)
    save_idx(directory / "train-labels-idx1-ubyte.gz", np.array([1, 12, 3], dtype=np.uint8))
    with pytest.raises(DatasetFileError, match="train-labels.*found 12 at index 1"):
        mnist.load_data(path=directory)


# ----------------------------------------------------------------------------- IDX format


@settings(max_examples=60, deadline=None)
@given(
    array=st.sampled_from(ROUND_TRIP_DTYPES).flatmap(
        lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0))
    ),
    compressed=st.booleans(),
)
def test_save_idx_load_idx_round_trip(tmp_path_factory, array, compressed):
    path = tmp_path_factory.mktemp("idx") / ("array.idx.gz" if compressed else "array.idx")
    save_idx(path, array)
    loaded = load_idx(path)
    assert loaded.shape == array.shape
    assert loaded.dtype == array.dtype.newbyteorder("=")
    assert np.array_equal(loaded, array, equal_nan=array.dtype.kind == "f")


def test_gzip_is_detected_by_content_not_by_name(tmp_path):
    array = np.arange(12, dtype=np.int32).reshape(3, 4)
    save_idx(tmp_path / "a.gz", array)
    (tmp_path / "gzipped-without-suffix").write_bytes((tmp_path / "a.gz").read_bytes())
    save_idx(tmp_path / "raw", array)
    (tmp_path / "raw-with-suffix.gz").write_bytes((tmp_path / "raw").read_bytes())
    for name in ("gzipped-without-suffix", "raw-with-suffix.gz"):
        assert np.array_equal(load_idx(tmp_path / name), array)


def test_save_idx_matches_the_mnist_header_layout(tmp_path):
    save_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    assert (tmp_path / "labels").read_bytes() == bytes.fromhex("00000801 00000003 070201")


@pytest.mark.parametrize("array", [np.zeros(3, dtype=np.int64), np.zeros(3, dtype=bool)])
def test_save_idx_rejects_dtypes_idx_cannot_store(tmp_path, array):
    with pytest.raises(TypeError, match=array.dtype.name):
        save_idx(tmp_path / "x", array)


def test_save_idx_rejects_scalars(tmp_path):
    with pytest.raises(ValueError, match="1 to 255 dims"):
        save_idx(tmp_path / "x", np.uint8(3))


# ----------------------------------------------------------------------------- Fashion-MNIST

needs_debian_fashion = pytest.mark.skipif(
    not fashion_mnist.DEBIAN_DIR.is_dir(),
    reason=f"{fashion_mnist.DEBIAN_DIR} absent (Debian package dataset-fashion-mnist)",
)


@needs_debian_fashion
def test_fashion_mnist_loads_from_the_debian_package():
    found = _files.locate(fashion_mnist.SPEC, download=False)
    assert {path.parent for path in found.values()} == {fashion_mnist.DEBIAN_DIR}
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(download=False)
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and y_test.dtype == np.uint8
    assert tuple(y_test[:5]) == (9, 2, 1, 1, 6)
    assert fashion_mnist.CLASS_NAMES[y_test[0]] == "Ankle boot"


@needs_debian_fashion
def test_debian_fashion_files_are_the_published_ones_with_a_new_gzip_header():
    """Debian re-wrote each gzip header; the original one restores the published md5."""
    original_mtime = {"train": 1504176606, "t10k": 1504176627}  # 2017-08-31 UTC
    for filename, published_md5 in fashion_mnist.SPEC.md5.items():
        debian = (fashion_mnist.DEBIAN_DIR / filename).read_bytes()
        name = filename.removesuffix(".gz").encode() + b"\0"
        mtime = original_mtime[filename.split("-")[0]]
        original_header = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" + name
        assert hashlib.md5(original_header + debian[10:]).hexdigest() == published_md5


def test_load_split_needs_only_that_splits_two_files(tmp_path):
    # Issue 18: a test set alone (no training files, no network) is enough to evaluate.
    import shutil

    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(VENDORED_MNIST / name, tmp_path / name)
    x_test, y_test = mnist.load_split("test", path=tmp_path, download=False)
    (_, _), (x_full, y_full) = mnist.load_data(path=VENDORED_MNIST)
    np.testing.assert_array_equal(x_test, x_full)
    np.testing.assert_array_equal(y_test, y_full)
    with pytest.raises(FileNotFoundError, match="lacks train-images-idx3-ubyte.gz"):
        mnist.load_split("train", path=tmp_path, download=False)
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'validation'"):
        fashion_mnist.load_split("validation")
