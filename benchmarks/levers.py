"""Issue 16's levers, each against the code it replaced: training epochs both ways,
alternating in one process.

    python -m benchmarks.levers                                  # every lever; dense, deep, conv
    python -m benchmarks.levers --lever fused-output --models dense --rounds 15
    python -m benchmarks.levers --lever serial-kernels --models dense-b32 dense
    python -m benchmarks.levers --lever plane-loops --models conv --epoch-fraction 0.1
    python -m benchmarks.levers --lever fused-relu --models conv --epoch-fraction 0.1

Levers (``--lever``, default all):

* ``fused-output``: a model that ends in a sigmoid and is trained with binary
  cross-entropy computes, in a training step, p = sigmoid(z), the loss and dL/dz =
  (p - y)/size. Fused, the training forward leaves z alone and one kernel computes the
  three from one exponential per element (``kernels.sigmoid_binary_crossentropy``);
  before: the sigmoid's pass, then the loss value's (its own exponential and log1p), then
  the gradient's. Its output kernels alone (one 256x784 float32 batch) are timed too.
* ``serial-kernels``: a parallel Numba kernel given less than PARALLEL_MIN_WORK runs its
  serial build; before: its parallel build, with Numba's thread count switched to one
  and back around the call.
* ``plane-loops``: the stride-1 plane convolutions (``conv_planes``) with nine-tap
  kernels use the register-blocked products of ``conv_nine_taps`` (four filters per pass
  forward, two filters' 18 sums in registers for the kernel gradient) and copy images
  to and from planes one channel row at a time; before: three taps per pass, one filter
  at a time, copies pixel by pixel (``benchmarks._plane_loops_before``).
* ``fused-relu``: a Conv2D layer with a ReLU computes y = max(z, 0) in the convolution's
  last pass (``kernels.conv2d_forward_relu``: the plane loops take the max as they copy
  out) and, backward, dL/dz and dL/db in one pass (``relu_backward_bias_gradient``);
  before: the ReLU's own passes forward and backward, and the bias gradient's.

Each runs the models of ``benchmarks.training`` (same weights, data and optimizer), one
epoch per round each way, the order reversed every other round, after a pause for idle
threads; the table gives the median seconds per epoch and before / after (above 1: the
lever wins).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import time
from collections.abc import Iterator

import numba
import numpy as np

import nn_core as nn
from nn_core.training import TrainableModel

from . import _timing
from .training import EPOCH_SAMPLES, MODELS, SETTLE_SECONDS, _load_images, build_ours


@contextlib.contextmanager
def unfused_output() -> Iterator[None]:
    """The step before the fused output: sigmoid, loss value and gradient, three passes."""
    fused = TrainableModel._sigmoids_with_their_loss
    TrainableModel._sigmoids_with_their_loss = lambda self: []  # type: ignore[method-assign]
    try:
        yield
    finally:
        TrainableModel._sigmoids_with_their_loss = fused  # type: ignore[method-assign]


def _parallel_build_on_one_thread(kernel, *args, work=None):
    """ParallelKernel.__call__ before the serial builds: below PARALLEL_MIN_WORK, the
    parallel build with Numba's thread count switched to one around the call."""
    from nn_core.kernels.numba_backend import _jit

    if work is None:
        work = max((arg.size for arg in args if isinstance(arg, np.ndarray)), default=0)
    if work >= _jit.PARALLEL_MIN_WORK:
        return kernel.dispatcher(*args)
    previous = numba.get_num_threads()
    if previous == 1:
        return kernel.dispatcher(*args)
    numba.set_num_threads(1)
    try:
        return kernel.dispatcher(*args)
    finally:
        numba.set_num_threads(previous)


@contextlib.contextmanager
def parallel_builds_only() -> Iterator[None]:
    from nn_core.kernels.numba_backend._jit import ParallelKernel

    serial = ParallelKernel.__call__
    ParallelKernel.__call__ = _parallel_build_on_one_thread  # type: ignore[method-assign]
    try:
        yield
    finally:
        ParallelKernel.__call__ = serial  # type: ignore[method-assign]


@contextlib.contextmanager
def plane_loops_before() -> Iterator[None]:
    """The plane convolutions of 2026-12-04: three taps a pass, copies pixel by pixel."""
    from nn_core.kernels.numba_backend import conv_planes

    from . import _plane_loops_before

    forward, kernel_gradient = conv_planes._forward, conv_planes._kernel_gradient
    conv_planes._forward = _plane_loops_before.forward_three_taps
    conv_planes._kernel_gradient = _plane_loops_before.kernel_gradient_three_taps
    try:
        yield
    finally:
        conv_planes._forward, conv_planes._kernel_gradient = forward, kernel_gradient


@contextlib.contextmanager
def unfused_relu() -> Iterator[None]:
    """Conv2D and its ReLU as separate ops: conv, relu; relu_backward, bias_gradient."""
    from nn_core.layers.weighted import WeightedLayer

    fused = WeightedLayer._plain_relu
    WeightedLayer._plain_relu = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        WeightedLayer._plain_relu = fused  # type: ignore[method-assign]


# name -> (what it replaced: a context manager restoring the old code, needs Numba)
LEVERS = {
    "fused-output": (unfused_output, False),
    "serial-kernels": (parallel_builds_only, True),
    "plane-loops": (plane_loops_before, True),
    "fused-relu": (unfused_relu, False),
}


def epoch_seconds(model, x, batch_size) -> float:
    start = time.perf_counter()
    model.fit(x, x, epochs=1, batch_size=batch_size, shuffle=True, verbose=0)
    return time.perf_counter() - start


def output_kernel_times(rounds: int) -> dict[str, float]:
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


# The Keras-blog conv autoencoder's stride-1 maps (H, W, C, F, padding), batch 128.
PLANE_MAPS = [
    (28, 28, 1, 16, (1, 1, 1, 1)),
    (14, 14, 16, 8, (1, 1, 1, 1)),
    (7, 7, 8, 8, (1, 1, 1, 1)),
    (16, 16, 8, 16, (0, 0, 0, 0)),
    (28, 28, 16, 1, (1, 1, 1, 1)),
]


def plane_map_times(rounds: int) -> list[tuple[str, float, float, float, float]]:
    """Median milliseconds of the plane loops' forward and kernel-gradient maps, before
    and after the lever, alternating: (shape, forward before, after, kernel gradient
    before, after) for each of PLANE_MAPS on one float32 batch of 128."""
    from nn_core.kernels.numba_backend import conv_planes

    rng = np.random.default_rng(0)
    rows = []
    for height, width, channels, filters, padding in PLANE_MAPS:
        x = rng.standard_normal((128, height, width, channels)).astype(np.float32)
        kernel = rng.standard_normal((3, 3, channels, filters)).astype(np.float32)
        bias = rng.standard_normal(filters).astype(np.float32)
        grad_z = rng.standard_normal(conv_planes.forward(x, kernel, bias, padding).shape)
        grad_z = grad_z.astype(np.float32)
        calls = {
            "forward": functools.partial(conv_planes.forward, x, kernel, bias, padding),
            "kernel gradient": functools.partial(
                conv_planes.kernel_gradient, x, grad_z, kernel.shape, padding
            ),
        }
        samples: dict[tuple[str, str], list[float]] = {}
        for round_index in range(rounds):
            sides = ["before", "after"] if round_index % 2 == 0 else ["after", "before"]
            for side in sides:
                context = plane_loops_before() if side == "before" else contextlib.nullcontext()
                with context:
                    for name, function in calls.items():
                        _timing.settle(function, 0.02)
                        milliseconds = _timing.seconds_per_call(function, 20) * 1e3
                        samples.setdefault((name, side), []).append(milliseconds)
        median = {key: statistics.median(values) for key, values in samples.items()}
        rows.append(
            (
                f"{height}x{width}x{channels} -> {filters}",
                median["forward", "before"],
                median["forward", "after"],
                median["kernel gradient", "before"],
                median["kernel gradient", "after"],
            )
        )
    return rows


def relu_kernel_times(rounds: int) -> list[tuple[str, float, float]]:
    """Median milliseconds of a Conv2D's ReLU ops before and after the fusion, alternating,
    on the conv autoencoder's largest maps (batch 128, float32): (op and shape, separate
    ops, fused op)."""
    ops = nn.kernels
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 28, 28, 1)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 1, 16)).astype(np.float32)
    bias = rng.standard_normal(16).astype(np.float32)
    padding, strides = (1, 1, 1, 1), (1, 1)
    cases = {
        "forward 28x28x1 -> 16": (
            lambda: ops.relu(ops.conv2d_forward(x, kernel, bias, strides, padding)),
            lambda: ops.conv2d_forward_relu(x, kernel, bias, strides, padding),
        )
    }
    for shape in [(128, 28, 28, 16), (128, 14, 14, 8)]:
        y = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
        grad_y = rng.standard_normal(shape).astype(np.float32)
        name = "backward " + "x".join(map(str, shape[1:]))
        cases[name] = (
            functools.partial(lambda y, g: ops.bias_gradient(ops.relu_backward(y, g)), y, grad_y),
            functools.partial(ops.relu_backward_bias_gradient, y, grad_y),
        )
    rows = []
    for name, (separate, fused) in cases.items():
        samples: dict[str, list[float]] = {"separate": [], "fused": []}
        for round_index in range(rounds):
            order = [("separate", separate), ("fused", fused)]
            for side, function in order if round_index % 2 == 0 else order[::-1]:
                _timing.settle(function, 0.02)
                samples[side].append(_timing.seconds_per_call(function, 20) * 1e3)
        rows.append(
            (name, statistics.median(samples["separate"]), statistics.median(samples["fused"]))
        )
    return rows


def compare_epochs(lever: str, name: str, count: int, rounds: int) -> tuple[float, float]:
    """Median seconds per epoch of model ``name`` before and after ``lever``."""
    before_the_lever, _ = LEVERS[lever]
    architecture, optimizer, batch_size = MODELS[name]
    x = _load_images(architecture, count)
    model = build_ours(architecture, optimizer)

    def before(x):
        with before_the_lever():
            return epoch_seconds(model, x, batch_size)

    def after(x):
        return epoch_seconds(model, x, batch_size)

    runs = {"before": before, "after": after}
    for run in runs.values():  # compiles, and settles the allocator
        run(x[: batch_size * 4])
    samples: dict[str, list[float]] = {key: [] for key in runs}
    for round_index in range(rounds):
        order = list(runs) if round_index % 2 == 0 else list(reversed(runs))
        for key in order:
            time.sleep(SETTLE_SECONDS)
            samples[key].append(runs[key](x) * EPOCH_SAMPLES / count)
    return statistics.median(samples["before"]), statistics.median(samples["after"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lever", nargs="+", default=list(LEVERS), choices=LEVERS)
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
    print(
        f"backend {arguments.backend}, {arguments.threads} threads, {arguments.rounds} rounds, "
        f"{count} images per epoch"
        + (f" (times scaled to {EPOCH_SAMPLES})" if count != EPOCH_SAMPLES else "")
    )
    for lever in arguments.lever:
        if LEVERS[lever][1] and arguments.backend != "numba":
            print(f"\n{lever}: Numba backend only")
            continue
        print(f"\n{lever}")
        if lever == "fused-output":
            print("  output kernels, one 256x784 float32 batch (median ms):")
            for name, milliseconds in output_kernel_times(arguments.rounds).items():
                print(f"    {name:22s} {milliseconds:7.3f}")
        if lever == "fused-relu":
            print("  a Conv2D's ReLU ops, batch 128 float32 (median ms):")
            print(f"    {'op':26s} {'separate':>9s} {'fused':>9s}")
            for name, separate, fused in relu_kernel_times(arguments.rounds):
                print(f"    {name:26s} {separate:9.3f} {fused:9.3f}")
        if lever == "plane-loops":
            print("  plane maps, batch 128 float32 (median ms, before -> after):")
            print(f"    {'map':18s} {'forward':>16s} {'kernel gradient':>18s}")
            for shape, *times in plane_map_times(arguments.rounds):
                forward = f"{times[0]:.3f} -> {times[1]:.3f}"
                gradient = f"{times[2]:.3f} -> {times[3]:.3f}"
                print(f"    {shape:18s} {forward:>16s} {gradient:>18s}")
        print(f"  {'model':12s} {'before s':>10s} {'after s':>10s} {'before/after':>13s}")
        for name in arguments.models:
            before, after = compare_epochs(lever, name, count, arguments.rounds)
            print(f"  {name:12s} {before:10.3f} {after:10.3f} {before / after:13.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
