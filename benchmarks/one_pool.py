"""One thread pool for products and element-wise work (``nn_core.kernels.numba_backend.
products``, on by default where NumPy's OpenBLAS allows it) against two pools
(``NN_CORE_ONE_POOL=0``): processes of each kind, alternating.

    python -m benchmarks.one_pool                            # 5 process pairs, both parts
    python -m benchmarks.one_pool --part epoch --models dense deep --pairs 3

The setting is read when nn_core is imported, and libgomp reads its spin count
(GOMP_SPINCOUNT: 300,000 with one pool, 3,000 without, see ``_jit``) when Numba's pool
starts, so each side runs in processes of its own; the pairs alternate which goes first.

* ``layer``: the dense decoder's forward on 40 batches, 256x32 @ 32x784 then the sigmoid
  of the 200,704 results: the product alone (OpenBLAS's threads); the product on
  OpenBLAS's threads and the sigmoid serial (two pools' way) or parallel; the product on
  one BLAS thread with the sigmoid serial or parallel; the product split over Numba's
  threads (one pool's way, ``products.split_product``) with the sigmoid serial or
  parallel. Median milliseconds in each process, then the median over the processes.
* ``epoch``: ``benchmarks.training``'s models, one epoch fraction per round, scaled to
  60,000 images; median seconds in each process, then over the processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from nn_core import threads
from nn_core.kernels.numba_backend import _jit, products
from nn_core.kernels.numba_backend import activations as numba_activations

SIDES = {"two pools": "0", "one pool": "1"}  # NN_CORE_ONE_POOL of each side
LAYER_MODES = (
    "product alone",
    "BLAS threads, serial sigmoid",
    "BLAS threads, parallel sigmoid",
    "BLAS 1 thread, serial sigmoid",
    "BLAS 1 thread, parallel sigmoid",
    "split, serial sigmoid",
    "split, parallel sigmoid",
)
LAYER_BATCHES = 40
SETTLE_SECONDS = 0.15


# ------------------------------------------------------------------------ the parts
def layer_times(rounds: int) -> dict[str, float]:
    """Median milliseconds of LAYER_BATCHES decoder forwards, each way (alternating)."""
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((256, 32)).astype(np.float32)
    kernel = (rng.standard_normal((32, 784)) * 0.1).astype(np.float32)
    z = np.empty((256, 784), np.float32)
    flat_z, probabilities = z.reshape(-1), np.empty(z.size, np.float32)
    sigmoid = numba_activations._sigmoid
    every, none = 1 << 40, 0  # ParallelKernel ``work``: always parallel, never

    def run(mode):
        blas_threads = 1 if mode.startswith(("split", "BLAS 1")) else 2
        with threads.limit(blas=blas_threads):
            for _ in range(LAYER_BATCHES):
                if mode.startswith("split"):
                    products.split_product(codes, kernel, z, 2)
                else:
                    np.matmul(codes, kernel, out=z)
                if mode != "product alone":
                    sigmoid(flat_z, probabilities, work=every if "parallel" in mode else none)

    modes = [mode for mode in LAYER_MODES if _jit.ONE_POOL or not mode.startswith("split")]
    samples: dict[str, list[float]] = {mode: [] for mode in modes}
    for mode in modes:
        run(mode)  # compiles
    for round_index in range(rounds):
        order = modes if round_index % 2 == 0 else modes[::-1]
        for mode in order:
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            run(mode)
            samples[mode].append((time.perf_counter() - start) * 1e3)
    return {mode: statistics.median(values) for mode, values in samples.items()}


def epoch_times(models, rounds: int, fraction: float) -> dict[str, float]:
    """Median seconds per epoch (scaled to 60,000 images) of ``benchmarks.training``'s
    models in this process's configuration."""
    from .training import EPOCH_SAMPLES, MODELS, _load_images, build_ours

    results = {}
    for name in models:
        architecture, optimizer, batch_size = MODELS[name]
        x = _load_images(architecture, max(4 * batch_size, round(EPOCH_SAMPLES * fraction)))
        model = build_ours(architecture, optimizer)
        model.fit(x[: 4 * batch_size], x[: 4 * batch_size], batch_size=batch_size, verbose=0)
        samples = []
        for _ in range(rounds):
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            model.fit(x, x, epochs=1, batch_size=batch_size, shuffle=True, verbose=0)
            samples.append((time.perf_counter() - start) * EPOCH_SAMPLES / len(x))
        results[name] = statistics.median(samples)
    return results


# --------------------------------------------------------------------- the processes
def child(arguments) -> None:
    """One process, one side: the parts' medians as one JSON line. (OpenBLAS keeps the
    thread count nn_core gave it: one with one pool, one per core without.)"""
    with threads.limit(numba=2):
        result = {}
        if arguments.part in ("layer", "both"):
            result["layer"] = layer_times(arguments.rounds)
        if arguments.part in ("epoch", "both"):
            result["epoch"] = epoch_times(
                arguments.models, max(3, arguments.rounds // 3), arguments.epoch_fraction
            )
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("layer", "epoch", "both"), default="both")
    parser.add_argument("--pairs", type=int, default=5, help="process pairs (default 5)")
    parser.add_argument("--rounds", type=int, default=9, help="rounds in each process")
    parser.add_argument("--epoch-fraction", type=float, default=0.1)
    parser.add_argument(
        "--models", nargs="+", default=["dense", "deep", "conv", "dense-b32", "dense-b1024"]
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        child(arguments)
        return 0
    runs: dict[str, list[dict]] = {side: [] for side in SIDES}
    for pair in range(arguments.pairs):
        for side in SIDES if pair % 2 == 0 else list(SIDES)[::-1]:
            command = [sys.executable, "-m", "benchmarks.one_pool", "--child", "--part",
                       arguments.part, "--rounds", str(arguments.rounds),
                       "--epoch-fraction", str(arguments.epoch_fraction),
                       "--models", *arguments.models]  # fmt: skip
            environment = {**os.environ, _jit.ONE_POOL_VARIABLE: SIDES[side]}
            environment.pop("GOMP_SPINCOUNT", None)  # each side's own (see _jit)
            output = subprocess.run(
                command, env=environment, check=True, capture_output=True, text=True
            ).stdout
            runs[side].append(json.loads(output.strip().splitlines()[-1]))
    print(report(runs, arguments.pairs))
    return 0


def report(runs: dict[str, list[dict]], pairs: int) -> str:
    """The medians over the processes of each side, and two pools / one pool per row."""
    lines = [f"{pairs} process pairs, medians over the processes of their medians"]
    for part, unit in (("layer", "ms, 40 batches"), ("epoch", "s per epoch")):
        if part not in runs["one pool"][0]:
            continue
        lines += [
            "",
            f"{part} ({unit})",
            f"  {'':34s}{'two pools':>11s}{'one pool':>11s}{'ratio':>8s}",
        ]
        for key in runs["one pool"][0][part]:
            two, one = (
                statistics.median(run[part][key] for run in runs[side])
                if key in runs[side][0][part]
                else None
                for side in SIDES
            )
            ratio = f"{two / one:8.3f}" if two is not None else f"{'':8s}"
            two_text = f"{two:11.3f}" if two is not None else f"{'-':>11s}"
            lines.append(f"  {key:34s}{two_text}{one:11.3f}{ratio}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
