"""The benchmark commands run, write what they promise, and work without PyTorch.

Each runs in its quickest mode on tiny inputs (a batch of 2 for the kernels, a few
hundred images for training). Nothing here asserts a speed: the numbers depend on the
machine; the tests check the files' structure and that every measurement is in them.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

import nn_core as nn
from benchmarks import kernels, training

RESULT_KEYS = {
    "family",
    "kernel",
    "shape",
    "implementation",
    "flops",
    "median_s",
    "gflops",
    "samples",
    "first_call_s",
}


def _expected_implementations(torch_available):
    expected = ["numpy"]
    if "numba" in kernels.our_backends():
        expected.append("numba")
    if torch_available:
        expected.append("torch")
    return expected


def _table_rows(markdown):
    """Cells of every body row of the Markdown tables in ``markdown``."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("| :---") and not line.startswith("| ---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _without_torch(monkeypatch):
    # A None entry in sys.modules makes ``import torch`` raise ImportError.
    monkeypatch.setitem(sys.modules, "torch", None)
    assert training._timing.import_torch() is None


def _run_kernels(tmp_path, *extra):
    out = tmp_path / "kernels"
    kernels.main(["--quick", "--batch", "2", "--repeats", "1", "--out", str(out), *extra])
    data = json.loads((out / "kernels.json").read_text())
    markdown = (out / "kernels.md").read_text()
    return out, data, markdown


def test_kernels_quick_covers_every_family_and_writes_table_json_and_chart(tmp_path):
    out, data, markdown = _run_kernels(tmp_path)
    torch_available = data["machine"]["torch"] is not None
    implementations = _expected_implementations(torch_available)

    assert data["benchmark"] == "kernels"
    assert data["settings"]["implementations"] == implementations
    for name in ("threads_1", "threads_all"):
        assert data["gemm_peak"][name]["gflops"] > 0
        assert data["gemm_peak"][name]["seconds"] > 0
    results = data["results"]
    assert {row["family"] for row in results} == set(kernels.FAMILIES)
    for row in results:
        assert set(row) == RESULT_KEYS
        assert row["median_s"] > 0 and row["flops"] > 0 and row["samples"] == 1
        assert row["gflops"] == pytest.approx(row["flops"] / row["median_s"] / 1e9)
    # Every kernel and shape is measured by each of our backends (PyTorch may lack one).
    measured = {(row["kernel"], row["shape"], row["implementation"]) for row in results}
    for kernel, shape in {(row["kernel"], row["shape"]) for row in results}:
        for implementation in implementations:
            if implementation != "torch":
                assert (kernel, shape, implementation) in measured
    # The table has one row per kernel, shape and implementation, in the JSON's order.
    rows = _table_rows(markdown)
    assert rows[0][:3] == ["kernel", "shape", "implementation"]
    assert [tuple(row[:3]) for row in rows[1:]] == [
        (row["kernel"], row["shape"], row["implementation"]) for row in results
    ]
    assert "GEMM peak" in markdown
    assert (out / "kernels.png").stat().st_size > 1000


def test_kernels_without_torch_report_ours_only(tmp_path, monkeypatch):
    _without_torch(monkeypatch)
    out, data, markdown = _run_kernels(tmp_path, "--families", "dense", "losses", "--no-chart")
    assert data["machine"]["torch"] is None
    assert data["settings"]["implementations"] == _expected_implementations(False)
    assert {row["implementation"] for row in data["results"]} == set(
        _expected_implementations(False)
    )
    assert {row["family"] for row in data["results"]} == {"dense", "losses"}
    assert all(row[2] != "torch" for row in _table_rows(markdown)[1:])
    assert not (out / "kernels.png").exists()


def _run_training(tmp_path, *arguments):
    out = tmp_path / "training"
    training.main(
        [
            "--quick",
            "--rounds",
            "1",
            "--epoch-fraction",
            "0.00427",  # 256 images: whole batches of 256 and 128, no partial-batch compile
            "--inference-samples",
            "64",
            "--first-use",
            "skip",
            "--peak-size",
            "256",
            "--out",
            str(out),
            *arguments,
        ]
    )
    data = json.loads((out / "training.json").read_text())
    markdown = (out / "training.md").read_text()
    return out, data, markdown


# torch.compile takes tens of seconds per model on a small CPU: these runs leave it out,
# and test_a_failed_compile_is_reported_unavailable checks its column's failure path.
FAST_ANCHORS = ["torch", "torch-logits", "jax"]


def _importable(name):
    return importlib.util.find_spec(name) is not None


def test_training_quick_times_each_model_against_each_anchor(tmp_path):
    models = ["dense", "conv"]
    backend = "numba" if "numba" in kernels.our_backends() else "numpy"  # one, to be quick
    out, data, markdown = _run_training(
        tmp_path, "--models", *models, "--backends", backend, "--anchors", *FAST_ANCHORS
    )
    available = [name for name in FAST_ANCHORS if _importable("jax" if name == "jax" else "torch")]
    implementations = [backend, *available]

    assert data["benchmark"] == "training"
    assert data["settings"]["anchors"] == FAST_ANCHORS
    assert data["gemm_peak"]["gflops"] > 0 and data["gemm_peak"]["threads"] == 2
    assert [result["model"] for result in data["training"]] == models
    for result in data["training"]:
        assert sorted(result["median_epoch_s"]) == sorted(implementations)
        assert set(result["unavailable"]) == set(FAST_ANCHORS) - set(available)
        assert all(len(values) == 1 for values in result["epoch_s"].values())
        assert result["samples_timed"] >= result["batch_size"]
        # Each round timed a fraction of an epoch: the seconds are scaled to 60000 images.
        assert result["scale_to_epoch"] == pytest.approx(60000 / result["samples_timed"])
        assert set(result["inference_samples_per_s"]) == set(implementations)
        assert all(rate > 0 for rate in result["inference_samples_per_s"].values())
        assert [entry["implementation"] for entry in result["anchor_first_use"]] == available
        line = result["roofline"]
        assert line["limit_s"] == pytest.approx(
            line["flops"]["total"] / (data["gemm_peak"]["gflops"] * 1e9)
        )
        for name in implementations:
            expected = line["limit_s"] / result["median_epoch_s"][name]
            assert line["fraction_of_limit"][name] == pytest.approx(expected)
        ratios = data["ratios"][result["model"]]
        assert set(ratios) == {f"{backend}/{name}" for name in FAST_ANCHORS}
        for name in FAST_ANCHORS:
            expected = (
                result["median_epoch_s"][backend] / result["median_epoch_s"][name]
                if name in available
                else None
            )
            assert ratios[f"{backend}/{name}"] == pytest.approx(expected)
    dense = data["training"][0]["roofline"]["flops"]
    assert dense["total"] == 5 * 2 * 60000 * 784 * 32
    rows = _table_rows(markdown)
    training_rows = [row for row in rows if row[0] in models and row[1] in ("256", "128")]
    # seconds, ratios, roofline, inference rates, inference ratios
    assert [row[0] for row in training_rows] == models * 5
    assert rows[0] == [
        "model",
        "batch",
        *(f"{name} (s/epoch)" for name in [backend, *FAST_ANCHORS]),
    ]
    assert "scaled to 60000 samples" in markdown
    assert (out / "training.png").stat().st_size > 1000


def test_training_without_torch_or_jax_reports_ours_and_the_reasons(tmp_path, monkeypatch):
    _without_torch(monkeypatch)
    monkeypatch.setitem(sys.modules, "jax", None)
    out, data, markdown = _run_training(
        tmp_path, "--models", "dense", "--anchors", *FAST_ANCHORS, "--no-chart"
    )
    (result,) = data["training"]
    assert sorted(result["median_epoch_s"]) == sorted(_expected_implementations(False))
    assert result["unavailable"] == {
        "torch": "PyTorch is not installed",
        "torch-logits": "PyTorch is not installed",
        "jax": "JAX is not installed",
    }
    assert data["settings"]["torch_threads"] is None
    assert all(value is None for value in data["ratios"]["dense"].values())
    assert "jax (dense): JAX is not installed" in markdown
    assert not (out / "training.png").exists()


def test_no_torch_and_no_jax_leave_those_columns_out(tmp_path):
    out, data, markdown = _run_training(
        tmp_path, "--models", "dense", "--backends", "numpy", "--no-torch", "--no-jax", "--no-chart"
    )
    assert data["settings"]["anchors"] == []
    assert list(data["training"][0]["median_epoch_s"]) == ["numpy"]
    assert data["ratios"]["dense"] == {}
    assert "torch" not in markdown and "jax" not in markdown


@pytest.mark.skipif(not _importable("torch"), reason="needs PyTorch")
def test_a_failed_compile_is_reported_unavailable(tmp_path, monkeypatch):
    torch = training._timing.import_torch()

    def failing_compile(function, **options):
        def compiled(*args):
            raise RuntimeError("InductorError: no C++ compiler\nsecond line")

        return compiled

    monkeypatch.setattr(torch, "compile", failing_compile)
    out, data, markdown = _run_training(
        tmp_path, "--models", "dense", "--backends", "numpy", "--anchors", "torch-compile"
    )
    (result,) = data["training"]
    reason = "RuntimeError: InductorError: no C++ compiler"
    assert result["unavailable"] == {"torch-compile": reason}
    assert list(result["median_epoch_s"]) == ["numpy"]
    assert data["ratios"]["dense"] == {"numpy/torch-compile": None}
    assert f"torch-compile (dense): {reason}" in markdown
    assert _table_rows(markdown)[1] == [
        "dense",
        "256",
        "{:.3f}".format(result["median_epoch_s"]["numpy"]),
        "n/a",
    ]


@pytest.mark.skipif("numba" not in kernels.our_backends(), reason="needs Numba")
def test_first_use_is_measured_in_a_fresh_process():
    entry = training.first_use("dense", cold=False, thread_count=1)
    assert entry["model"] == "dense" and entry["cache"] == "warm"
    for key in ("import_s", "first_step_s", "steady_step_s", "first_predict_s"):
        assert entry[key] > 0
    assert entry["first_use_s"] == pytest.approx(entry["first_step_s"] - entry["steady_step_s"])


def test_each_sample_follows_a_settle_period_of_untimed_calls(monkeypatch):
    from benchmarks import _timing

    clock = [0.0]
    monkeypatch.setattr(_timing.time, "perf_counter", lambda: clock[0])
    calls = {"a": 0, "b": 0}

    def call(name):
        def function():
            calls[name] += 1
            clock[0] += 1 / 64  # every call takes 1/64 s of the fake clock (exact in binary)

        return function

    functions = {name: call(name) for name in calls}
    samples = _timing.time_alternating(functions, repeats=3, target_seconds=0.0)
    # calls_per_sample's probe (1 call) and 3 samples of 1 call each, no settling
    assert calls == {"a": 4, "b": 4}
    assert samples == {"a": [1 / 64] * 3, "b": [1 / 64] * 3}
    calls.update(a=0, b=0)
    _timing.time_alternating(functions, repeats=3, target_seconds=0.0, settle_seconds=4 / 64)
    # and now a settle period of 4 calls (4/64 s) before each of the 3 samples
    assert calls == {"a": 4 + 3 * 4, "b": 4 + 3 * 4}


def test_levers_time_both_ways_and_restore_the_new_code(capsys):
    from benchmarks import levers
    from nn_core.training import TrainableModel

    fused = TrainableModel._sigmoids_with_their_loss
    arguments = ["--models", "dense", "--rounds", "1", "--epoch-fraction", "0.01"]
    assert levers.main([*arguments, "--backend", "numpy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    kernels = {line.split()[0] for line in lines if line.startswith("    ")}
    assert {"sigmoid", "loss", "gradient", "unfused", "fused"} <= kernels
    assert "serial-kernels: Numba backend only" in lines
    row = lines[lines.index("fused-output") + 8].split()
    name, before, after, ratio = row
    assert name == "dense" and float(ratio) == pytest.approx(float(before) / float(after), rel=0.01)
    assert TrainableModel._sigmoids_with_their_loss is fused


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="needs Numba")
def test_the_serial_kernels_lever_restores_the_serial_builds(capsys):
    from benchmarks import levers
    from nn_core.kernels.numba_backend._jit import ParallelKernel

    call = ParallelKernel.__call__
    arguments = ["--lever", "serial-kernels", "--models", "dense", "--rounds", "1"]
    assert levers.main([*arguments, "--epoch-fraction", "0.01"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].split()[0] == "dense"
    assert ParallelKernel.__call__ is call


def test_step_profile_times_each_kernel_of_a_step_and_unwraps_them(capsys):
    from benchmarks import step_profile

    backend = nn.kernels.numpy_backend
    originals = {name: getattr(backend, name) for name in backend.__all__}
    arguments = ["--models", "dense", "--steps", "3", "--rounds", "1", "--backend", "numpy"]
    assert step_profile.main(arguments) == 0
    rows = {
        line.split()[0]: line.split()[1:]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("  ") and not line.startswith("  op ")
    }
    # The dense model's step: two products forward, two backward, the fused output, the
    # optimizer once per weight array (kernel and bias of two layers).
    assert float(rows["dense_forward"][0]) == 2
    assert float(rows["sigmoid_binary_crossentropy"][0]) == 1
    assert float(rows["adadelta_update"][0]) == 4
    assert all(float(values[-2]) >= 0 for values in rows.values())
    assert {name: getattr(backend, name) for name in backend.__all__} == originals


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="needs Numba")
def test_one_pool_child_reports_every_layer_mode_of_its_side(capsys):
    from benchmarks import one_pool
    from nn_core.kernels.numba_backend import _jit

    assert one_pool.main(["--child", "--part", "layer", "--rounds", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    expected = [m for m in one_pool.LAYER_MODES if _jit.ONE_POOL or not m.startswith("split")]
    assert list(result) == ["layer"] and list(result["layer"]) == expected
    assert all(milliseconds > 0 for milliseconds in result["layer"].values())


def test_one_pool_report_gives_each_side_and_the_ratio():
    from benchmarks import one_pool

    runs = {
        "two pools": [
            {"epoch": {"dense": 0.4}},
            {"epoch": {"dense": 0.6}},
            {"epoch": {"dense": 0.5}},
        ],
        "one pool": [
            {"epoch": {"dense": 0.2}},
            {"epoch": {"dense": 0.3}},
            {"epoch": {"dense": 0.25}},
        ],
    }
    lines = one_pool.report(runs, 3).splitlines()
    assert lines[0].startswith("3 process pairs")
    name, two, one, ratio = lines[-1].split()
    assert name == "dense" and (float(two), float(one), float(ratio)) == (0.5, 0.25, 2.0)


def test_keeping_blas_threads_sets_the_count_before_each_call():
    from nn_core import threads

    if threads.get_blas_threads() is None:
        pytest.skip(threads.info()["blas_unavailable_reason"])
    seen = []
    one = training._timing.keeping_blas_threads(lambda: seen.append(threads.get_blas_threads()), 1)
    two = training._timing.keeping_blas_threads(lambda: seen.append(threads.get_blas_threads()), 2)
    with threads.limit(blas=2):
        one()
        two()
        one()
    assert seen == [1, 2, 1]
