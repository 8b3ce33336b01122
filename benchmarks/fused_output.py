"""The fused output layer (issue 16): a training epoch with and without it, alternating.

    python -m benchmarks.fused_output                       # dense, deep, conv; 7 rounds
    python -m benchmarks.fused_output --models dense --rounds 11 --epoch-fraction 0.5

A model that ends in a sigmoid and is trained with binary cross-entropy computes, in a
training step, p = sigmoid(z), the loss and dL/dz = (p - y)/size. Fused (the default), the
training forward leaves z alone and one kernel computes the three from one exponential per
element (``kernels.sigmoid_binary_crossentropy``). Unfused, the way before it: the sigmoid
pass, then the loss value's pass (its own exponential and log1p), then the gradient's.

Both run the same models as ``benchmarks.training`` (same weights, data and optimizer) in
this process, one epoch each per round, in alternating order, after a pause for idle
threads; the table gives the median seconds per epoch and unfused / fused. The output
kernels alone (one 256x784 float32 batch) are timed the same way.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import nn_core as nn
from nn_core.training import TrainableModel

from . import _timing
from .training import EPOCH_SAMPLES, MODELS, SETTLE_SECONDS, _load_images, build_ours


def unfused_epoch(model, x, batch_size):
    """One epoch with the fused output switched off (the three separate passes)."""
    fused = TrainableModel._sigmoids_with_their_loss
    TrainableModel._sigmoids_with_their_loss = lambda self: []  # type: ignore[method-assign]
    try:
        return fused_epoch(model, x, batch_size)
    finally:
        TrainableModel._sigmoids_with_their_loss = fused  # type: ignore[method-assign]


def fused_epoch(model, x, batch_size):
    start = time.perf_counter()
    model.fit(x, x, epochs=1, batch_size=batch_size, shuffle=True, verbose=0)
    return time.perf_counter() - start


def kernel_times(rounds: int) -> dict[str, float]:
    """Median milliseconds of the output layer's kernels on one 256x784 float32 batch."""
    ops = nn.kernels
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (256, 784)).astype(np.float32)
    targets = rng.uniform(0, 1, logits.shape).astype(np.float32)
    probabilities = ops.sigmoid(logits)

    def unfused():
        p = ops.sigmoid(logits)
        ops.binary_crossentropy_from_logits(targets, logits)
        ops.binary_crossentropy_from_probabilities_gradient(targets, p)

    calls = {
        "sigmoid": lambda: ops.sigmoid(logits),
        "loss value": lambda: ops.binary_crossentropy_from_logits(targets, logits),
        "gradient": lambda: ops.binary_crossentropy_from_probabilities_gradient(
            targets, probabilities
        ),
        "unfused (the three)": unfused,
        "fused": lambda: ops.sigmoid_binary_crossentropy(targets, logits),
    }
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for function in calls.values():
        _timing.settle(function, 0.05)
    for _ in range(rounds):
        for name, function in calls.items():
            time.sleep(0.02)
            samples[name].append(_timing.seconds_per_call(function, 200) * 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["dense", "deep", "conv"], choices=MODELS)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epoch-fraction", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", default="numba", choices=("numba", "numpy"))
    arguments = parser.parse_args(argv)
    previous = nn.kernels.backend_name()
    nn.kernels.set_backend(arguments.backend)
    try:
        with _timing.thread_counts(None, arguments.threads, arguments.threads):
            report(arguments)
    finally:
        nn.kernels.set_backend(previous)
    return 0


def report(arguments) -> None:
    count = max(1, round(EPOCH_SAMPLES * arguments.epoch_fraction))
    scale = EPOCH_SAMPLES / count
    print(
        f"backend {arguments.backend}, {arguments.threads} threads, {arguments.rounds} rounds, "
        f"{count} images per epoch" + (f" (times scaled to {EPOCH_SAMPLES})" if scale != 1 else "")
    )
    print("\noutput kernels, one 256x784 float32 batch (median ms):")
    for name, milliseconds in kernel_times(arguments.rounds).items():
        print(f"  {name:22s} {milliseconds:7.3f}")
    print(f"\n{'model':12s} {'unfused s':>10s} {'fused s':>10s} {'unfused/fused':>14s}")
    for name in arguments.models:
        architecture, optimizer, batch_size = MODELS[name]
        x = _load_images(architecture, count)
        model = build_ours(architecture, optimizer)
        runs = {"unfused": unfused_epoch, "fused": fused_epoch}
        for run in runs.values():  # compiles, and settles the allocator
            run(model, x[: batch_size * 4], batch_size)
        samples: dict[str, list[float]] = {key: [] for key in runs}
        for round_index in range(arguments.rounds):
            order = list(runs) if round_index % 2 == 0 else list(reversed(runs))
            for key in order:
                time.sleep(SETTLE_SECONDS)
                samples[key].append(runs[key](model, x, batch_size) * scale)
        unfused, fused = (statistics.median(samples[key]) for key in runs)
        print(f"{name:12s} {unfused:10.3f} {fused:10.3f} {unfused / fused:14.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
