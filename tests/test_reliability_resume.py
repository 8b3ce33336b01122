"""Resumable training: a ``fit`` with ``BackupAndRestore`` killed by SIGKILL at any moment
and restarted with the same call ends with weights and history bit-identical to an
uninterrupted run (issue 6, "Resumable training").

The training runs in a subprocess (NumPy backend, tiny data, a few epochs with dropout
and noise so that the random generators matter); the test kills it after a chosen epoch,
at random delays, twice in one run, and in the middle of writing the backup itself.
"""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import nn_core as nn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPOCHS = 8

TRAINING_SCRIPT = textwrap.dedent(
    f"""
    import os, signal, sys, time
    import numpy as np
    import nn_core as nn
    from nn_core import saving

    backup_dir, result_path = sys.argv[1], sys.argv[2]
    kill_in_backup_at = int(os.environ.get("KILL_IN_BACKUP_AT_EPOCH", "-1"))

    class Report(nn.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            print(f"begin {{epoch}}", flush=True)
        def on_batch_end(self, batch, logs=None):
            time.sleep(0.01)  # gives the killer moments inside epochs too
        def on_epoch_end(self, epoch, logs=None):
            print(f"done {{epoch}}", flush=True)  # after BackupAndRestore wrote its file

    class KillDuringBackupWrite(nn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch != kill_in_backup_at:
                return
            real_fdopen = os.fdopen
            class Dies:
                def __init__(self, file):
                    self.file, self.written = file, 0
                def write(self, data):
                    self.written += len(data)
                    if self.written > 600:
                        self.file.flush()
                        os.kill(os.getpid(), signal.SIGKILL)
                    return self.file.write(data)
                def __getattr__(self, name):
                    return getattr(self.file, name)
                def __enter__(self):
                    return self
                def __exit__(self, *exc):
                    return self.file.__exit__(*exc)
            saving.os.fdopen = lambda *a, **k: Dies(real_fdopen(*a, **k))

    rng = np.random.default_rng(0)
    x = rng.random((48, 10)).astype(np.float32)
    layers = [
        nn.layers.GaussianNoise(0.1),
        nn.layers.Dense(6, activation="relu"),
        nn.layers.Dropout(0.3),
        nn.layers.Dense(10, activation="sigmoid"),
    ]
    if "MODEL_KIND" == "graph":  # the same stack as a graph Model
        tensor = inputs = nn.Input((10,))
        for layer in layers:
            tensor = layer(tensor)
        model = nn.Model(inputs, tensor, seed=7)
    else:
        model = nn.Sequential(layers, seed=7)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(
        x, x, epochs={EPOCHS}, batch_size=16, validation_data=(x[:8], x[:8]), verbose=0,
        callbacks=[KillDuringBackupWrite(), nn.callbacks.BackupAndRestore(backup_dir), Report()],
    )
    model.save(result_path)
    losses = history.history["loss"] + history.history["val_loss"]
    np.save(result_path + ".loss.npy", np.array(losses))
    print("finished", flush=True)
    """
)


@pytest.fixture(scope="module", params=["sequential", "graph"])
def script(tmp_path_factory, request):
    """The training script, for a Sequential and for the same stack as a graph Model."""
    path = tmp_path_factory.mktemp(f"resume_{request.param}") / "train.py"
    path.write_text(TRAINING_SCRIPT.replace('"MODEL_KIND"', repr(request.param)))
    return path


def start(script, folder, extra_env=None):
    env = {**os.environ, "NN_CORE_BACKEND": "numpy", "PYTHONPATH": REPO, **(extra_env or {})}
    return subprocess.Popen(
        [sys.executable, str(script), str(folder / "backup"), str(folder / "result.npz")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_to_completion(script, folder):
    process = start(script, folder)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "finished" in stdout
    return stdout


def kill_after_line(script, folder, line, extra_env=None):
    process = start(script, folder, extra_env)
    seen = []
    for output in process.stdout:
        seen.append(output.strip())
        if output.strip() == line:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=120)
    return seen, process.returncode


def kill_after_seconds(script, folder, seconds):
    process = start(script, folder)
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=120)
    return process.returncode


def results(folder):
    model = nn.load_model(folder / "result.npz")
    return model.get_weights(), np.load(folder / "result.npz.loss.npy")


@pytest.fixture(scope="module")
def uninterrupted(script, tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    run_to_completion(script, folder)
    return results(folder)


def assert_bit_identical(folder, uninterrupted):
    weights, losses = results(folder)
    expected_weights, expected_losses = uninterrupted
    for a, b in zip(weights, expected_weights, strict=True):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b)
    assert np.array_equal(losses, expected_losses)
    assert not (folder / "backup").exists()  # removed once training completed


@pytest.mark.parametrize("killed_after_epoch", [0, 3, EPOCHS - 2])
def test_sigkill_after_an_epoch_then_resume_is_bit_identical(
    script, tmp_path, uninterrupted, killed_after_epoch
):
    seen, code = kill_after_line(script, tmp_path, f"done {killed_after_epoch}")
    assert code == -signal.SIGKILL and "finished" not in seen
    stdout = run_to_completion(script, tmp_path)
    first_epoch = int(stdout.split()[1]) if stdout.startswith("begin") else EPOCHS
    assert first_epoch == killed_after_epoch + 1  # resumed, did not start over
    assert_bit_identical(tmp_path, uninterrupted)


def test_sigkill_during_the_backup_write_then_resume_is_bit_identical(
    script, tmp_path, uninterrupted
):
    seen, code = kill_after_line(
        script, tmp_path, "never printed", extra_env={"KILL_IN_BACKUP_AT_EPOCH": "2"}
    )
    assert code == -signal.SIGKILL
    assert "done 1" in seen and "done 2" not in seen  # died inside epoch 2's backup
    leftovers = os.listdir(tmp_path / "backup")
    assert "backup.npz" in leftovers and any(name.endswith(".tmp") for name in leftovers)
    stdout = run_to_completion(script, tmp_path)
    assert stdout.startswith("begin 2")  # the epoch-1 backup was used; the half file ignored
    assert_bit_identical(tmp_path, uninterrupted)


def test_sigkill_at_random_moments_twice_in_one_run_is_bit_identical(
    script, tmp_path, uninterrupted
):
    rng = random.Random(6)
    for _ in range(2):
        kill_after_seconds(script, tmp_path, rng.uniform(0.3, 1.2))
    run_to_completion(script, tmp_path)
    assert_bit_identical(tmp_path, uninterrupted)


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_a_random_delay_is_bit_identical(script, tmp_path, uninterrupted, seed):
    kill_after_seconds(script, tmp_path, random.Random(seed).uniform(0.2, 1.5))
    run_to_completion(script, tmp_path)
    assert_bit_identical(tmp_path, uninterrupted)
