"""One vs two OpenBLAS threads for matrix products, and the thread pools side by side.

    python -m benchmarks.kernel_threads

Part 1 times NumPy's ``a @ b`` (float32 and float64) with 1 and 2 BLAS threads for the
classic autoencoder's six products (batch 256, 784 -> 32 -> 784), the conv autoencoder's
im2col products, and square ones. Part 2 shows why the Numba backend runs BLAS
single-threaded: a Numba parallel loop followed by a two-thread BLAS product, against
the same pair with one BLAS thread (the pools' idle threads spin on each other's cores).
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np

from nn_core import threads

PRODUCTS = {
    "dense fwd1 (256,784)@(784,32)": ((256, 784), (784, 32), False, False),
    "dense fwd2 (256,32)@(32,784)": ((256, 32), (32, 784), False, False),
    "dense dW2 (256,32)T@(256,784)": ((256, 32), (256, 784), True, False),
    "dense dx2 (256,784)@(32,784)T": ((256, 784), (32, 784), False, True),
    "dense dW1 (256,784)T@(256,32)": ((256, 784), (256, 32), True, False),
    "dense dx1 (256,32)@(784,32)T": ((256, 32), (784, 32), False, True),
    "conv (25088,144)@(144,8)": ((25088, 144), (144, 8), False, False),
    "conv (25088,72)@(72,16)": ((25088, 72), (72, 16), False, False),
    "square 512": ((512, 512), (512, 512), False, False),
    "square 1024": ((1024, 1024), (1024, 1024), False, False),
}


def microseconds(function, budget=0.1):
    function()
    start = time.perf_counter()
    function()
    repeats = max(3, int(budget / max(time.perf_counter() - start, 1e-7)))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best * 1e6


def main():
    info = threads.info()
    library = info["blas_library"] or info["blas_unavailable_reason"]
    print(f"BLAS: {library}, cores {info['cpu_count']}")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for name, (shape_a, shape_b, transpose_a, transpose_b) in PRODUCTS.items():
            a = rng.standard_normal(shape_a).astype(dtype)
            b = rng.standard_normal(shape_b).astype(dtype)
            a, b = (a.T if transpose_a else a), (b.T if transpose_b else b)
            timings = []
            for count in (1, 2):
                with threads.limit(blas=count):
                    timings.append(microseconds(partial(np.matmul, a, b)))
            print(
                f"{np.dtype(dtype).name} {name:32s} 1 thread {timings[0]:9.1f} us   "
                f"2 threads {timings[1]:9.1f} us   speed-up {timings[0] / timings[1]:.2f}"
            )
    try:
        import numba
    except ImportError:
        return
    from nn_core.kernels.numba_backend.conv import im2col

    x = rng.standard_normal((128, 7, 7, 8)).astype(np.float32)
    weights = rng.standard_normal((72, 8)).astype(np.float32)
    cols = im2col(x, 3, 3, 1, 1, 1, 1, 1, 1)
    print(f"Numba threading layer {numba.threading_layer()}, {numba.get_num_threads()} threads")
    for count in (2, 1):
        with threads.limit(blas=count):
            pair = microseconds(lambda: (im2col(x, 3, 3, 1, 1, 1, 1, 1, 1), cols @ weights))
        print(f"im2col (Numba, parallel) then GEMM with {count} BLAS thread(s): {pair:8.1f} us")


if __name__ == "__main__":
    main()
