"""Where a training step's milliseconds go: each kernel op, and what is left outside them.

    python -m benchmarks.step_profile                        # dense, deep and conv
    python -m benchmarks.step_profile --models dense-b32 --steps 400

For each model of ``benchmarks.training`` (same weights, optimizer and batch size, MNIST
batches), the step ``fit`` runs (``train_on_batch``) is timed twice, in alternating rounds:
plain, and with every op of the active kernel backend wrapped in a timer. The table gives,
per op, its calls per step and its median milliseconds per step; "outside the kernels" is
the wrapped step minus its kernels: Python, the layers' bookkeeping, checks and
allocation. The wrappers cost about a microsecond a call, so the wrapped step is a little
longer than the plain one (both are printed). Kernels that call BLAS (dense, convolution)
include their matrix products.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time

import nn_core as nn

from . import _timing
from .training import MODELS, SETTLE_SECONDS, _load_images, build_ours


class KernelTimer:
    """Wraps every op of a kernel backend module in a timer while active (a context)."""

    def __init__(self, module):
        self.module = module
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.calls: dict[str, int] = collections.defaultdict(int)
        self._originals: dict[str, object] = {}

    def __enter__(self):
        for name in self.module.__all__:
            original = getattr(self.module, name)
            self._originals[name] = original
            setattr(self.module, name, self._timed(name, original))
        return self

    def __exit__(self, *exc):
        for name, original in self._originals.items():
            setattr(self.module, name, original)
        self._originals.clear()

    def _timed(self, name, original):
        def timed(*arguments, **keywords):
            start = time.perf_counter()
            try:
                return original(*arguments, **keywords)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1

        return timed

    def reset(self):
        self.seconds.clear()
        self.calls.clear()


def profile(name: str, steps: int, rounds: int) -> dict:
    """Median ms per step: plain, wrapped, and per op (with calls per step)."""
    architecture, optimizer, batch_size = MODELS[name]
    x = _load_images(architecture, batch_size * 8)
    batches = [x[i * batch_size : (i + 1) * batch_size] for i in range(8)]
    model = build_ours(architecture, optimizer)
    timer = KernelTimer(nn.kernels._active)

    def run_steps():
        start = time.perf_counter()
        for step in range(steps):
            batch = batches[step % len(batches)]
            model.train_on_batch(batch, batch)
        return (time.perf_counter() - start) / steps * 1e3

    run_steps()  # compiles and warms
    plain, wrapped = [], []
    per_op: dict[str, list[float]] = collections.defaultdict(list)
    calls: dict[str, float] = {}
    for round_index in range(rounds):
        for kind in ("plain", "wrapped") if round_index % 2 == 0 else ("wrapped", "plain"):
            time.sleep(SETTLE_SECONDS)
            if kind == "plain":
                plain.append(run_steps())
                continue
            with timer:
                timer.reset()
                wrapped.append(run_steps())
            for op, seconds in timer.seconds.items():
                per_op[op].append(seconds / steps * 1e3)
                calls[op] = timer.calls[op] / steps
    return {
        "plain": statistics.median(plain),
        "wrapped": statistics.median(wrapped),
        "ops": {op: (calls[op], statistics.median(values)) for op, values in per_op.items()},
        "batch": batch_size,
    }


def format_profile(name: str, result: dict) -> str:
    ops = sorted(result["ops"].items(), key=lambda item: -item[1][1])
    kernels = sum(ms for _, ms in result["ops"].values())
    wrapped = result["wrapped"]
    lines = [
        f"{name} (batch {result['batch']}): step {result['plain']:.3f} ms plain, "
        f"{wrapped:.3f} ms with the timers",
        f"  {'op':40s} {'calls':>6s} {'ms/step':>8s} {'share':>6s}",
    ]
    for op, (calls, ms) in ops:
        lines.append(f"  {op:40s} {calls:6.1f} {ms:8.3f} {ms / wrapped:6.1%}")
    outside = wrapped - kernels
    lines.append(f"  {'outside the kernels':40s} {'':6s} {outside:8.3f} {outside / wrapped:6.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["dense", "deep", "conv"], choices=MODELS)
    parser.add_argument("--steps", type=int, default=100, help="steps per timed run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", default="numba", choices=("numba", "numpy"))
    arguments = parser.parse_args(argv)
    previous = nn.kernels.backend_name()
    nn.kernels.set_backend(arguments.backend)
    try:
        with _timing.thread_counts(None, arguments.threads, arguments.threads):
            print(
                f"backend {arguments.backend}, {arguments.threads} threads, "
                f"{arguments.steps} steps x {arguments.rounds} rounds (medians)"
            )
            for name in arguments.models:
                steps = max(1, arguments.steps // (10 if MODELS[name][0] == "conv" else 1))
                print(format_profile(name, profile(name, steps, arguments.rounds)))
    finally:
        nn.kernels.set_backend(previous)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
