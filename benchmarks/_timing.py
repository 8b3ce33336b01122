"""What ``benchmarks.kernels`` and ``benchmarks.training`` share: alternating timing,
the float32 GEMM peak, and the optional PyTorch import.

Timing rule: every implementation of one measurement is warmed up first (Numba compiles
on the first call, PyTorch and BLAS allocate their buffers), then the samples are taken
in rounds, one sample of each implementation per round, so that a slow spell of the
machine (another process, the CPU clock) hits every implementation alike; the reported
figure is the median sample.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

from nn_core import kernels, threads

GEMM_PEAK_SIZE = 2048
_NN_CORE_SPINCOUNT = "3000"  # the default nn_core's Numba backend sets


def import_torch():
    """The torch module, or None when ``import torch`` fails (PyTorch is optional).

    nn_core's Numba backend sets GOMP_SPINCOUNT=3000 for its own OpenMP pool (see
    ``nn_core.kernels.numba_backend._jit``); PyTorch's bundled libgomp reads it when torch
    is imported, so it is hidden during the import: PyTorch runs with its usual settings.
    """
    ours = os.environ.get("GOMP_SPINCOUNT") == _NN_CORE_SPINCOUNT
    if ours:
        del os.environ["GOMP_SPINCOUNT"]
    try:
        import torch
    except ImportError:
        return None
    finally:
        if ours:
            os.environ["GOMP_SPINCOUNT"] = _NN_CORE_SPINCOUNT
    return torch


@contextlib.contextmanager
def thread_counts(torch, count: int, numba_count: int | None):
    """Run the block with ``count`` BLAS and PyTorch threads and ``numba_count`` Numba
    threads (None: unchanged), then restore the previous counts."""
    previous_torch = None if torch is None else torch.get_num_threads()
    if torch is not None:
        torch.set_num_threads(count)
    try:
        with threads.limit(blas=count, numba=numba_count):
            # The active backend sets OpenBLAS as it runs (one thread for the Numba
            # backend's one pool, see nn_core.kernels._match_blas_threads).
            kernels.set_backend(kernels.backend_name())
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(previous_torch)


def seconds_per_call(function: Callable[[], object], inner: int) -> float:
    """Wall-clock seconds per call of ``function()``, over ``inner`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(inner):
        function()
    return (time.perf_counter() - start) / inner


def calls_per_sample(function: Callable[[], object], target_seconds: float) -> int:
    """How many back-to-back calls make one sample of about ``target_seconds`` (>= 1)."""
    once = seconds_per_call(function, 1)
    return max(1, min(10_000, round(target_seconds / max(once, 1e-7))))


def settle(function: Callable[[], object], seconds: float) -> None:
    """Call ``function()`` untimed, at least once, for about ``seconds``.

    Before a sample of one library that follows another's: the previous library's idle
    worker threads keep spinning on the cores for a while (OpenBLAS's for about 2^28
    cycles, about 0.1 s here; PyTorch's OpenMP threads for a few ms), and a sample taken
    meanwhile measures the contention, not the kernel. Settling also wakes the function's
    own threads, as in a loop that calls it over and over.
    """
    end = time.perf_counter() + seconds
    function()
    while time.perf_counter() < end:
        function()


def time_alternating(
    functions: dict[str, Callable[[], object]],
    repeats: int,
    target_seconds: float,
    settle_seconds: float = 0.0,
) -> dict[str, list[float]]:
    """Seconds per call of each function, ``repeats`` samples each, taken alternately.

    functions: name -> zero-argument callable, already warmed up. Each sample is a run of
    back-to-back calls lasting about ``target_seconds``, after ``settle`` for
    ``settle_seconds`` when that is > 0; in each round every function gives one sample,
    the order reversed every other round. Returns name -> list of seconds.
    """
    inner = {
        name: calls_per_sample(function, target_seconds) for name, function in functions.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in functions}
    names = list(functions)
    for round_index in range(repeats):
        for name in names if round_index % 2 == 0 else reversed(names):
            if settle_seconds > 0:
                settle(functions[name], settle_seconds)
            samples[name].append(seconds_per_call(functions[name], inner[name]))
    return samples


def backend_blas_threads(backend: str, count: int | None) -> int | None:
    """OpenBLAS's thread count as ``backend`` trains with it, ``count`` threads per pool
    (None: as they are): one for the Numba backend with its one pool (its products run on
    Numba's threads, see nn_core.kernels._match_blas_threads), else ``count``."""
    if backend == "numba":
        from nn_core.kernels.numba_backend import _jit

        return 1 if _jit.ONE_POOL else count
    return count


def keeping_blas_threads(function: Callable[[], object], count: int) -> Callable[[], object]:
    """``function``, first setting OpenBLAS to ``count`` threads where it has another
    count: implementations that need different counts (the NumPy backend OpenBLAS's own,
    the Numba backend's one pool one) can take turns in ``time_alternating``, the switch
    falling in each sample's untimed settle calls."""

    def run():
        if threads.get_blas_threads() not in (None, count):
            threads.set_blas_threads(count)
        return function()

    return run


def median(values) -> float:
    return float(statistics.median(values))


def gemm_peak(size: int = GEMM_PEAK_SIZE, repeats: int = 5) -> dict:
    """Measured float32 ``np.matmul`` of two (size, size) matrices, on 1 BLAS thread and on
    every core: {"size", "threads_1": {"seconds", "gflops"}, "threads_all": {...}}.

    FLOPs = 2 size^3. The median of ``repeats`` products, taken alternately.
    """
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    all_threads = os.cpu_count() or 1

    def product(count):
        def run():
            with threads.limit(blas=count):
                np.matmul(a, b, out=out)

        return run

    functions = {"threads_1": product(1), "threads_all": product(all_threads)}
    for function in functions.values():
        function()
    samples = time_alternating(functions, repeats, target_seconds=0.0)
    flops = 2.0 * size**3
    result = {"size": size, "threads_all_count": all_threads}
    for name, values in samples.items():
        seconds = median(values)
        result[name] = {"seconds": seconds, "gflops": flops / seconds / 1e9}
    return result


def write_json(path: str, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=False)
        handle.write("\n")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub Markdown table; the first column left-aligned, the others right-aligned."""
    align = [":---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def gemm_peak_best(thread_count: int, size: int = GEMM_PEAK_SIZE, repeats: int = 3) -> dict:
    """The float32 GEMM peak at ``thread_count`` BLAS threads: the best of ``repeats``
    ``np.matmul`` products of two (size, size) matrices (after one untimed), FLOPs
    2 size^3. Returns {"size", "threads", "seconds", "gflops"}."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    with threads.limit(blas=thread_count):
        np.matmul(a, b, out=out)
        best = min(seconds_per_call(lambda: np.matmul(a, b, out=out), 1) for _ in range(repeats))
    return {
        "size": size,
        "threads": thread_count,
        "seconds": best,
        "gflops": 2.0 * size**3 / best / 1e9,
    }
