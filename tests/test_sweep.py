"""Sweeps: search spaces and their errors, per-trial seeds that do not depend on the
process, serial runs that repeat exactly, a results file that survives a sweep stopped
after its first trial (and a torn last line), the same numbers on Ray Tune as serially,
the figures, and the ``autoencoders sweep`` command. 300 MNIST digits, one epoch, tiny
models."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoencoders import sweep
from autoencoders.cli import main
from autoencoders.sweep.figures import pareto_front, rate_distortion

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = {"model": ["deep"], "nodes": [16], "code_size": [2, 4], "layers": [1, 2]}
SETTINGS = {"dataset": "mnist", "limit": 300, "epochs": 1}
VOLATILE = ("seconds", "runner")  # wall time and where it ran: all else must match


def numbers(record):
    return {key: value for key, value in record.items() if key not in VOLATILE}


# ---------------------------------------------------------------------------- spaces
def test_grid_is_every_combination_without_the_keys_a_model_ignores():
    configs = sweep.grid({"model": ["deep", "dense"], "code_size": [2, 4], "layers": [1, 2]})
    deep = [c for c in configs if c["model"] == "deep"]
    dense = [c for c in configs if c["model"] == "dense"]
    assert sorted((c["code_size"], c["layers"]) for c in deep) == [(2, 1), (2, 2), (4, 1), (4, 2)]
    assert sorted(c["code_size"] for c in dense) == [2, 4]  # layers dropped, duplicates once
    assert all("layers" not in c for c in dense)
    assert all(c["loss"] == "bce" and c["optimizer"] == "adam" for c in configs)


def test_random_search_is_seeded_and_draws_within_the_space():
    space = {
        "model": ["deep"],
        "code_size": [2, 4, 8, 16],
        "learning_rate": {"log_uniform": [1e-4, 1e-2]},
    }
    first = sweep.random_configs(space, 6, seed=3)
    assert first == sweep.random_configs(space, 6, seed=3)
    assert first != sweep.random_configs(space, 6, seed=4)
    assert all(
        1e-4 <= c["learning_rate"] <= 1e-2 and c["code_size"] in (2, 4, 8, 16) for c in first
    )


@pytest.mark.parametrize(
    "space, message",
    [
        ({"code_sise": [2]}, "unknown key 'code_sise'"),
        ({"model": ["deeep"]}, "model 'deeep' is not one of"),
        ({"code_size": [0]}, "code_size must be an integer >= 1, got 0"),
        ({"layers": [1.5]}, "layers must be an integer >= 0, got 1.5"),
        ({"loss": ["l2"]}, "loss 'l2' is not one of"),
        ({"learning_rate": [-1]}, "learning_rate must be > 0, got -1"),
        ({"nodes": []}, "'nodes' has no values"),
        ({"learning_rate": {"log_uniform": [1e-2, 1e-4]}}, "0 < low < high"),
        ({}, "non-empty dict"),
    ],
)
def test_a_bad_space_is_refused_naming_the_key(space, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        sweep.grid(space)


def test_log_uniform_rates_need_a_random_search():
    with pytest.raises(ValueError, match="needs a random search"):
        sweep.grid({"learning_rate": {"log_uniform": [1e-4, 1e-2]}})


def test_a_configuration_train_would_refuse_is_refused_before_any_training():
    with pytest.raises(ValueError, match="cannot be trained"):
        sweep.sweep_configs({"model": ["deep"], "nodes": [16]})


def test_trial_seeds_are_the_same_in_every_process_and_differ_per_configuration():
    configs = sweep.grid(TINY)
    seeds = [sweep.trial_seed(c, 7) for c in configs]
    assert len(set(seeds)) == len(seeds)
    assert sweep.trial_seed(configs[0], 8) != seeds[0]
    code = (
        "import json, sys; from autoencoders import sweep; "
        "print(json.dumps([sweep.trial_seed(c, 7) for c in json.loads(sys.argv[1])]))"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO_ROOT)}
        out = subprocess.run(
            [sys.executable, "-c", code, json.dumps(configs)],
            capture_output=True, text=True, env=env, check=True,
        ).stdout  # fmt: skip
        assert json.loads(out) == seeds


# ---------------------------------------------------------------------------- serial runs
def test_a_serial_sweep_repeats_exactly_and_its_seed_matters():
    space = {**TINY, "code_size": [2], "layers": [1, 2]}
    first = sweep.run(space, **SETTINGS, backend="serial", seed=0, log=None)
    again = sweep.run(space, **SETTINGS, backend="serial", seed=0, log=None)
    other = sweep.run(space, **SETTINGS, backend="serial", seed=1, log=None)
    assert [numbers(r) for r in first] == [numbers(r) for r in again]
    assert first[0]["test_loss"] != other[0]["test_loss"]
    for record in first:
        assert record["status"] == "done" and record["epochs_run"] == 1
        assert record["evaluated_on"] == "test" and record["params"] > 0
        assert 0 < record["mse"] < 1 and record["psnr_db"] > 0 and record["seconds"] >= 0
        assert record["test_loss"] == pytest.approx(record["history"]["loss"][-1], rel=0.5)


def test_a_trial_on_another_kernel_backend_gives_the_callers_backend_back():
    from nn_core import kernels

    pytest.importorskip("numba")
    before = kernels.backend_name()
    other = "numpy" if before == "numba" else "numba"
    config = sweep.grid({**TINY, "code_size": [2], "layers": [1]})[0]
    data = sweep.load_sweep_data("mnist", limit=100)
    record = sweep.run_trial(config, data, epochs=1, backend=other)
    assert record["epochs_run"] == 1
    assert kernels.backend_name() == before


def test_a_sweep_stopped_after_its_first_trial_resumes_without_repeating_it(tmp_path):
    results = tmp_path / "sweep.jsonl"

    def stop(record):
        raise KeyboardInterrupt  # as if killed once the first trial is written

    with pytest.raises(KeyboardInterrupt):
        sweep.run(TINY, **SETTINGS, results=results, backend="serial", on_result=stop, log=None)
    written = sweep.read_results(results)
    assert len(written) == 1
    with open(results, "a") as file:
        file.write('{"key": "torn')  # a kill during the next write
    ran = []
    records = sweep.run(
        TINY, **SETTINGS, results=results, backend="serial", on_result=ran.append, log=None
    )
    keys = [r["key"] for r in sweep.read_results(results)]
    assert len(ran) == 3 and written[0]["key"] not in [r["key"] for r in ran]
    assert len(keys) == len(set(keys)) == 4 == len(records)
    assert numbers(records[0]) == numbers(written[0])
    ran.clear()
    sweep.run(TINY, **SETTINGS, results=results, on_result=ran.append, log=None)
    assert ran == []  # everything there: nothing trained, on any backend
    changed = sweep.run({**TINY, "layers": [1]}, **{**SETTINGS, "epochs": 2}, results=results,
                        backend="serial", on_result=ran.append, log=None)  # fmt: skip
    assert len(ran) == 2 and all(r["epochs_run"] == 2 for r in changed)  # other settings


def test_a_sweep_killed_with_sigkill_loses_only_the_trial_in_flight(tmp_path):
    results = tmp_path / "killed.jsonl"
    options = ["--nodes", "16", "--code-size", "2", "4", "--layers", "1", "2", "--limit", "600",
               "--epochs", "3", "--backend", "serial", "--results", results, "--quiet"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "autoencoders", "sweep", *map(str, options)], env=env
    )
    try:
        deadline = time.monotonic() + 120
        while not (results.exists() and results.read_bytes().count(b"\n") >= 1):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    survivors = sweep.read_results(results)
    assert 1 <= len(survivors) < 4
    ran = []
    settings = {**SETTINGS, "limit": 600, "epochs": 3}
    records = sweep.run(
        TINY, **settings, results=results, backend="serial", on_result=ran.append, log=None
    )
    assert len(ran) == 4 - len(survivors) and len(records) == 4
    assert {r["key"] for r in ran}.isdisjoint(r["key"] for r in survivors)


def test_without_ray_the_sweep_runs_serially_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(sweep.runner.ray_backend, "ray_installed", lambda: False)
    lines = []
    records = sweep.run({**TINY, "code_size": [2], "layers": [1]}, **SETTINGS, log=lines.append)
    assert records[0]["runner"] == "serial" and "pip install" in lines[0]
    with pytest.raises(ValueError, match="ray backend needs Ray Tune"):
        sweep.run(TINY, **SETTINGS, backend="ray", log=None)


def test_early_stopping_needs_ray_and_backends_are_named():
    with pytest.raises(ValueError, match="early stopping"):
        sweep.run(TINY, **SETTINGS, backend="serial", early_stopping=True, log=None)
    with pytest.raises(ValueError, match="backend 'spark'"):
        sweep.run(TINY, **SETTINGS, backend="spark", log=None)


# ---------------------------------------------------------------------------- results
def test_table_is_sorted_and_figures_show_the_front(tmp_path):
    def record(code, layers, params, mse):
        config = {"model": "deep", "code_size": code, "layers": layers}
        return {"key": f"{code}-{layers}", "config": config, "status": "done",
                "test_loss": mse * 3, "mse": mse, "psnr_db": -10 * __import__("math").log10(mse),
                "params": params, "seconds": 1.0, "epochs_run": 1}  # fmt: skip

    records = [record(2, 1, 100, 0.05), record(8, 1, 300, 0.02), record(8, 2, 200, 0.03),
               record(2, 2, 400, 0.04)]  # fmt: skip
    assert [r["key"] for r in pareto_front(records)] == ["2-1", "8-2", "8-1"]
    assert rate_distortion(records) == {1: [(2, 0.05), (8, 0.02)], 2: [(2, 0.04), (8, 0.03)]}
    rows = sweep.format_table(records).splitlines()[2:]
    assert [row.split()[1:3] for row in rows] == [["8", "1"], ["8", "2"], ["2", "2"], ["2", "1"]]
    pytest.importorskip("matplotlib")
    paths = sweep.write_figures(records, tmp_path, log=None)
    assert [os.path.basename(p) for p in paths] == ["sweep_rate_distortion.png", "sweep_pareto.png"]
    assert all(Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


# ---------------------------------------------------------------------------- Ray Tune
@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """One local Ray with 2 CPUs for every Ray test here (it takes seconds to start)."""
    pytest.importorskip("ray.tune")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             _temp_dir=str(tmp_path_factory.mktemp("ray")))  # fmt: skip
    yield ray
    ray.shutdown()


def test_a_sweep_on_ray_gives_exactly_the_serial_numbers(local_ray, tmp_path):
    results = tmp_path / "ray.jsonl"
    on_ray = sweep.run(TINY, **SETTINGS, results=results, backend="ray", log=None)
    assert local_ray.is_initialized()  # a Ray it did not start is left running
    serial = sweep.run(TINY, **SETTINGS, backend="serial", log=None)
    assert len(on_ray) == 4 and {r["runner"] for r in on_ray} == {"ray"}
    assert [numbers(r) for r in on_ray] == [numbers(r) for r in serial]
    assert len(sweep.read_results(results)) == 4


# ---------------------------------------------------------------------------- the command
def run_cli(capsys, *arguments):
    code = main([str(a) for a in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_sweep_command_runs_resumes_and_prints_its_table(capsys, tmp_path):
    results = tmp_path / "cli.jsonl"
    options = ["--nodes", 16, "--code-size", 2, 4, "--layers", 1, "--limit", 300, "--epochs", 1,
               "--backend", "serial", "--results", results]  # fmt: skip
    code, out, _ = run_cli(capsys, "sweep", *options, "--table")
    assert code == 0 and "2 trials in" in out and "test loss" in out
    assert len(sweep.read_results(results)) == 2
    code, out, _ = run_cli(capsys, "sweep", *options)
    assert code == 0 and "2 of 2 trials are already in" in out
    code, out, _ = run_cli(capsys, "sweep", "--results", results, "--table", "--sort", "params")
    table = out.splitlines()
    assert code == 0 and len(table) == 4 and "PSNR dB" in table[0]
    code, _, err = run_cli(capsys, "sweep", "--model", "deeep", "--results", results)
    assert code == 2 and "model 'deeep' is not one of" in err
    code, _, err = run_cli(capsys, "sweep", "--learning-rate-range", 1e-4, 1e-2)
    assert code == 2 and "--learning-rate-range needs --samples" in err
