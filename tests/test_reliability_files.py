"""Model files: a save killed at any point leaves the previous file intact; loading never
unpickles and refuses hostile files (issue 6, "Files").

The crash tests run the save in a subprocess that kills itself (``os._exit`` or SIGKILL)
in the middle of writing, so no Python clean-up code (``except``, ``finally``) runs, as
after a power cut or an OOM kill.
"""

import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import nn_core as nn
from nn_core import saving

L = nn.layers
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small_model(seed):
    model = nn.Sequential([L.Dense(16, activation="relu"), L.Dense(8)], seed=seed)
    model.build((8,))
    model.compile(optimizer="adam", loss="mse")
    return model


def subprocess_env():
    return {**os.environ, "NN_CORE_BACKEND": "numpy", "PYTHONPATH": REPO}


CRASHING_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    import nn_core as nn
    from nn_core import saving

    path, how, after_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def die():
        if how == "exit":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)

    class DiesMidWrite:
        def __init__(self, file):
            self.file, self.written = file, 0
        def write(self, data):
            if self.written + len(data) >= after_bytes:
                self.file.write(bytes(data)[: max(after_bytes - self.written, 0)])
                self.file.flush()
                die()
            self.written += len(data)
            return self.file.write(data)
        def __getattr__(self, name):
            return getattr(self.file, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.file.__exit__(*exc)

    real_fdopen = os.fdopen
    if after_bytes >= 0:
        saving.os.fdopen = lambda *a, **k: DiesMidWrite(real_fdopen(*a, **k))
    else:  # the whole temp file is written and fsynced; die just before the rename
        saving.os.replace = lambda *a, **k: die()

    model = nn.Sequential(
        [nn.layers.Dense(16, activation="relu"), nn.layers.Dense(8)], seed=99
    )
    model.build((8,))
    model.compile(optimizer="adam", loss="mse")
    model.save(path)
    print("saved without dying", flush=True)
    """
)


@pytest.mark.parametrize("how", ["exit", "sigkill"])
@pytest.mark.parametrize("after_bytes", [0, 40, 700, 3000, -1], ids=lambda b: f"at byte {b}")
def test_a_save_killed_mid_write_leaves_the_previous_file_intact(tmp_path, how, after_bytes):
    path = tmp_path / "model.npz"
    previous = small_model(seed=1)
    previous.save(path)
    before = path.read_bytes()

    script = tmp_path / "crash.py"
    script.write_text(CRASHING_SAVE)
    result = subprocess.run(
        [sys.executable, str(script), str(path), how, str(after_bytes)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    expected_code = 3 if how == "exit" else -signal.SIGKILL
    assert result.returncode == expected_code, result.stdout + result.stderr
    assert "saved without dying" not in result.stdout

    assert path.read_bytes() == before
    loaded = nn.load_model(path)
    for a, b in zip(loaded.get_weights(), previous.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # The half-written temporary file is left beside it (nothing could remove it), under
    # a name load_model is never pointed at; and it is refused if someone tries.
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert all(name.startswith(".model.npz.") for name in leftovers)
    assert len(leftovers) == 1
    if after_bytes >= 0:
        with pytest.raises(
            nn.ModelFileError, match="truncated|not a readable|not an nn_core model file"
        ):
            nn.load_model(tmp_path / leftovers[0])


def test_save_fsyncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        kind = "folder" if os.path.isdir(f"/proc/self/fd/{descriptor}") else "file"
        events.append(f"fsync {kind}")
        return real_fsync(descriptor)

    def replace(source, target):
        events.append("rename")
        return real_replace(source, target)

    monkeypatch.setattr(saving.os, "fsync", fsync)
    monkeypatch.setattr(saving.os, "replace", replace)
    small_model(seed=0).save(tmp_path / "m.npz")
    if sys.platform.startswith("linux"):
        assert events == ["fsync file", "rename", "fsync folder"]
    else:
        assert events[:2] == ["fsync file", "rename"]


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permission bits")
def test_saved_files_get_the_permissions_open_would_give_not_mkstemps_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        small_model(seed=0).save(tmp_path / "m.npz")
        assert os.stat(tmp_path / "m.npz").st_mode & 0o777 == 0o644
        os.umask(0o077)
        small_model(seed=0).save(tmp_path / "private.npz")
        assert os.stat(tmp_path / "private.npz").st_mode & 0o777 == 0o600
        # Overwriting keeps the replaced file's permissions, as writing into it would.
        os.umask(0o022)
        os.chmod(tmp_path / "m.npz", 0o640)
        small_model(seed=1).save(tmp_path / "m.npz")
        assert os.stat(tmp_path / "m.npz").st_mode & 0o777 == 0o640
    finally:
        os.umask(previous)


# ---------------------------------------------------------------------- hostile files
class CreatesMarker:
    """Unpickling this object creates the file ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_pickle_bomb_entry_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "PWNED"
    model = small_model(seed=0)
    model.save(tmp_path / "good.npz")
    with zipfile.ZipFile(tmp_path / "good.npz") as good:
        members = {name: good.read(name) for name in good.namelist()}
    bomb = io.BytesIO()
    np.save(bomb, np.array([CreatesMarker(marker)], dtype=object), allow_pickle=True)
    hostile = tmp_path / "hostile.npz"
    with zipfile.ZipFile(hostile, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, bomb.getvalue() if name == "weight/0.npy" else data)

    with pytest.raises(nn.ModelFileError, match="hostile.npz.*Python objects"):
        nn.load_model(hostile)
    assert not marker.exists()
    # The bomb is real: NumPy with allow_pickle=True does run it.
    with np.load(hostile, allow_pickle=True) as archive:
        archive["weight/0"]
    assert marker.exists()


def test_a_header_asking_for_terabytes_is_refused_before_any_allocation(tmp_path):
    """A few bytes whose .npy header declares a (10**12,) float64 array."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    forged = tmp_path / "forged.npz"
    model = small_model(seed=0)
    model.save(tmp_path / "good.npz")
    with zipfile.ZipFile(tmp_path / "good.npz") as good, zipfile.ZipFile(forged, "w") as out:
        for name in good.namelist():
            data = header.getvalue() + b"\0" * 64 if name == "weight/0.npy" else good.read(name)
            out.writestr(name, data)
    with pytest.raises(nn.ModelFileError, match="forged.npz.*declares shape"):
        nn.load_model(forged)


def test_weights_of_another_dtype_than_the_config_are_refused(tmp_path):
    model = small_model(seed=0)
    config, arrays = model._file_contents()
    arrays = {k: (v.astype(np.float64) if k == "weight/0" else v) for k, v in arrays.items()}
    saving.write_archive(tmp_path / "mixed.npz", config, arrays)
    with pytest.raises(nn.ModelFileError, match="mixed.npz.*weight/0 has dtype float64"):
        nn.load_model(tmp_path / "mixed.npz")


def test_whole_file_pickle_is_refused(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(CreatesMarker(marker)))
    with pytest.raises(nn.ModelFileError, match="model.npz"):
        nn.load_model(path)
    assert not marker.exists()
