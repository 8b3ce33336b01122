"""Direct loops vs im2col + BLAS vs plane loops for each convolution map, on the Keras-blog
conv autoencoder's seven 3x3 shapes and a few with more channels (batch 128): the
measurements behind ``nn_core.kernels.numba_backend.conv._strategy``.

    python -m benchmarks.conv_strategies [--dtype float64] [--threads N] [--wide]

Prints milliseconds per call (best of three runs) for the forward, backward-input and
backward-kernel maps, computed by the Numba backend's direct loops, by its im2col + BLAS
path, by its plane loops (``conv_planes``, stride 1), by the path ``_strategy`` chooses,
and by the NumPy reference.
The choice depends on the Numba thread count, so compare ``--threads 1`` with
``--threads 2``. ``--wide`` adds larger maps with few channels or few filters (each at
its own batch size), where the limits of the plane loops were set.
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np

from nn_core import threads
from nn_core.kernels import numba_backend as fast
from nn_core.kernels import numpy_backend as reference
from nn_core.kernels.numba_backend import conv

from . import _timing

# (name, H, W, C, F, padding): the autoencoder's layers, then wider ones around the limits
# of the plane loops (conv.PLANES_MAX_CHANNELS_TIMES_FILTERS and
# PLANES_MAX_SMALLER_CHANNEL_COUNT)
SHAPES = [
    ("28x28x1->16 same", 28, 28, 1, 16, (1, 1, 1, 1)),
    ("14x14x16->8 same", 14, 14, 16, 8, (1, 1, 1, 1)),
    ("7x7x8->8 same", 7, 7, 8, 8, (1, 1, 1, 1)),
    ("4x4x8->8 same", 4, 4, 8, 8, (1, 1, 1, 1)),
    ("8x8x8->8 same", 8, 8, 8, 8, (1, 1, 1, 1)),
    ("16x16x8->16 valid", 16, 16, 8, 16, (0, 0, 0, 0)),
    ("28x28x16->1 same", 28, 28, 16, 1, (1, 1, 1, 1)),
    ("14x14x32->8 same", 14, 14, 32, 8, (1, 1, 1, 1)),
    ("14x14x16->16 same", 14, 14, 16, 16, (1, 1, 1, 1)),
    ("28x28x3->32 same", 28, 28, 3, 32, (1, 1, 1, 1)),
]
AUTOENCODER_LAYERS = 7
# (name, batch, H, W, C, F, padding), for --wide
WIDE_SHAPES = [
    ("224x224x3->64 same", 8, 224, 224, 3, 64, (1, 1, 1, 1)),
    ("112x112x64->4 same", 8, 112, 112, 64, 4, (1, 1, 1, 1)),
    ("64x64x3->64 same", 32, 64, 64, 3, 64, (1, 1, 1, 1)),
    ("64x64x16->16 same", 16, 64, 64, 16, 16, (1, 1, 1, 1)),
    ("28x28x1->128 same", 128, 28, 28, 1, 128, (1, 1, 1, 1)),
    ("28x28x32->1 same", 128, 28, 28, 32, 1, (1, 1, 1, 1)),
]


def milliseconds(function):
    """Best of three timings of ``function()``, in ms per call (about 0.15 s each)."""
    function()
    start = time.perf_counter()
    function()
    repeats = max(3, int(0.15 / max(time.perf_counter() - start, 1e-6)))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, help="BLAS and Numba threads (default: as they are)")
    parser.add_argument("--wide", action="store_true", help="also larger maps (WIDE_SHAPES)")
    arguments = parser.parse_args(argv)
    if arguments.threads is not None:
        with threads.limit(blas=arguments.threads, numba=arguments.threads):
            return _measure(arguments)
    return _measure(arguments)


def _measure(arguments):
    rng = np.random.default_rng(0)
    chosen = conv._strategy
    columns = ("direct", "gemm", "planes", "chosen", "numpy")
    totals = dict.fromkeys(columns, 0.0)
    print(
        f"Numba threads: {threads.get_numba_threads()}, BLAS threads: {threads.get_blas_threads()}"
    )
    print(
        f"{'shape':20s} map  direct    gemm  planes  chosen   numpy  (ms, {arguments.dtype}, "
        f"batch {arguments.batch} but for --wide)"
    )
    shapes = [(name, arguments.batch, *rest) for name, *rest in SHAPES]
    if arguments.wide:
        shapes += WIDE_SHAPES
    try:
        for index, (name, batch, height, width, channels, filters, padding) in enumerate(shapes):
            x = rng.standard_normal((batch, height, width, channels))
            x = x.astype(arguments.dtype)
            kernel = rng.standard_normal((3, 3, channels, filters)).astype(arguments.dtype)
            bias = np.zeros(filters, arguments.dtype)
            strides = (1, 1)
            z = reference.conv2d_forward(x, kernel, bias, strides, padding)
            grad = rng.standard_normal(z.shape).astype(arguments.dtype)
            maps = {
                "fwd": ("conv2d_forward", (x, kernel, bias, strides, padding)),
                "bin": ("conv2d_backward_input", (grad, kernel, x.shape, strides, padding)),
                "bk": ("conv2d_backward_kernel", (x, grad, kernel.shape, strides, padding)),
            }
            for map_name, (op, op_arguments) in maps.items():
                row = {}
                for strategy in ("direct", "gemm", "planes", "chosen"):
                    conv._strategy = (
                        chosen if strategy == "chosen" else (lambda *args, use=strategy: use)
                    )
                    with threads.limit(
                        blas=_timing.backend_blas_threads("numba", arguments.threads)
                    ):
                        row[strategy] = milliseconds(partial(getattr(fast, op), *op_arguments))
                conv._strategy = chosen
                with threads.limit(blas=arguments.threads):  # as the NumPy backend runs
                    row["numpy"] = milliseconds(partial(getattr(reference, op), *op_arguments))
                if index < AUTOENCODER_LAYERS:
                    for key, value in row.items():
                        totals[key] += value
                cells = "  ".join(f"{row[key]:6.2f}" for key in columns)
                print(f"{name:20s} {map_name:4s} {cells}")
            if index == AUTOENCODER_LAYERS - 1:
                cells = "  ".join(f"{totals[key]:6.2f}" for key in columns)
                print(f"{'autoencoder total':25s} {cells}")
    finally:
        conv._strategy = chosen


if __name__ == "__main__":
    main()
