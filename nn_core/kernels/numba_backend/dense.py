"""Fully connected layer (Numba backend): the matrix products run in OpenBLAS, the bias
add and the bias gradient in Numba.

Threads: on a 2-core machine, OpenBLAS's threads and Numba's parallel loops slow each
other down badly when both pools take turns on the cores (each pool's idle threads spin
for a while on the cores the other pool needs): the classic autoencoder's batch took
3.4 ms with both pools busy against 1.8 ms with one. Two designs keep them apart:

* With one pool (``_jit.ONE_POOL``, the default where NumPy's OpenBLAS has the 64-bit
  CBLAS products): every product from ONE_POOL_SPLIT_MIN_MULTIPLY_ADDS up runs on Numba's
  threads, split by rows, each part one single-threaded OpenBLAS call
  (``products.split_product``); smaller ones are one single-threaded call on the calling
  thread. OpenBLAS's pool never runs, and the element-wise kernels are parallel from
  ``_jit.PARALLEL_MIN_WORK`` (2^14) up.
* Without it (NN_CORE_ONE_POOL=0, or another BLAS): a dense layer's product runs with
  BLAS's own threads, and the element-wise kernels around it run on one thread unless
  they are large (2^20); a product inside a convolution (``among_parallel_kernels``),
  whose other steps are parallel Numba loops, runs with one BLAS thread per part, split
  by rows between the calling thread and helper threads, from SPLIT_MIN_MULTIPLY_ADDS up.

Either way each row is computed as in one single-threaded call of the whole product, so
the split does not change it (``products.ROW_ALIGNMENT``, ROW_ALIGNMENT). Splitting the
dense layers' products with Python helper threads was slower than BLAS's own threads (the
deep autoencoder's epoch 1.18 s against 0.84 s, 2 cores, ``benchmarks.training``): the
helpers cost tens of microseconds a product, a Numba parallel loop a few.

``nn_core.threads`` and NN_CORE_NUM_THREADS set the thread counts.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numba
import numpy as np

from ... import threads
from ..numpy_backend.dense import matrix_product
from . import products
from ._jit import ONE_POOL, contiguous, jit
from .activations import relu_backward

if TYPE_CHECKING:
    from collections.abc import Callable

# Splitting pays from about this many multiply-adds (a quarter millisecond of BLAS):
# (25088, 144) @ (144, 8) went from 2.15 to 0.90 ms on 2 cores, (256, 784) @ (784, 32)
# (6.4e6) did not gain.
SPLIT_MIN_MULTIPLY_ADDS = 1 << 23

# With one pool, products split over Numba's threads from this many multiply-adds up;
# below, one single-threaded call (2^19 and 2^18 were slower on the dense model at batch
# 32 and the deep one: docs/performance.md, "One thread pool").
ONE_POOL_SPLIT_MIN_MULTIPLY_ADDS = 1 << 21

_helpers: ThreadPoolExecutor | None = None
_helpers_lock = threading.Lock()


def _helper_pool(count):
    global _helpers
    with _helpers_lock:
        if _helpers is None or _helpers._max_workers < count:
            _helpers = ThreadPoolExecutor(count, thread_name_prefix="nn_core_matmul")
        return _helpers


def matmul(
    a: np.ndarray,
    b: np.ndarray,
    out: np.ndarray | None = None,
    *,
    among_parallel_kernels: bool = False,
) -> np.ndarray:
    """a @ b for 2-D a (M, K) and b (K, N) -> (M, N), written into ``out`` when given.

    With one pool: split by rows over Numba's threads from ONE_POOL_SPLIT_MIN_MULTIPLY_ADDS
    up, else one single-threaded BLAS call. Without: one BLAS call with BLAS's own
    threads, unless ``among_parallel_kernels`` (convolutions, whose other steps are
    parallel Numba loops): then one BLAS thread per part, split by rows from
    SPLIT_MIN_MULTIPLY_ADDS up (module docstring).
    """
    rows, inner = a.shape
    columns = b.shape[1]
    if rows == 1:  # GEMM, not GEMV (see numpy_backend.dense.matrix_product)
        product = matrix_product(a, b)
        if out is None:
            return product
        out[...] = product
        return out
    parts = threads.get_numba_threads() or 1
    if ONE_POOL and parts > 1:
        if out is None:
            out = np.empty((rows, columns), dtype=np.result_type(a, b))
        large = rows * inner * columns >= ONE_POOL_SPLIT_MIN_MULTIPLY_ADDS
        if large and products.split_product(a, b, out, parts):
            return out
        with threads.at_most_blas_threads(1):
            return np.matmul(a, b, out=out)
    if not among_parallel_kernels:
        return np.matmul(a, b, out=out)
    with threads.at_most_blas_threads(1):
        too_small = rows < 2 * parts * ROW_ALIGNMENT
        if parts < 2 or too_small or rows * inner * columns < SPLIT_MIN_MULTIPLY_ADDS:
            return np.matmul(a, b, out=out)
        if out is None:
            out = np.empty((rows, columns), dtype=np.result_type(a, b))
        run_in_parts(
            rows,
            parts,
            lambda start, stop: np.matmul(a[start:stop], b, out=out[start:stop]),
            align=ROW_ALIGNMENT,
        )
        return out


# Row splits of a product start at multiples of this many rows. OpenBLAS computes rows in
# blocks of its kernel's M unroll (4 to 32 rows, by CPU) and the last, partial block of
# a call with a different kernel, whose sums can round differently: on an AMD EPYC (AVX2)
# rows 2040-2049 of (4099, 64) @ (64, 40) split at row 2050 differed from the whole
# product by up to 1.5e-5. A multiple of every unroll keeps each row in the same block.
ROW_ALIGNMENT = 96


def run_in_parts(
    total: int, parts: int, work: Callable[[int, int], object], align: int = 1
) -> None:
    """Call work(start, stop) on ``parts`` contiguous ranges covering range(total): the
    first range on the calling thread, the others on helper threads at the same time (for
    work that releases the GIL: BLAS, NumPy copies). Inner bounds are multiples of
    ``align``. Returns when all are done."""
    bounds = [total * k // parts // align * align for k in range(parts)] + [total]
    pool = _helper_pool(parts - 1)
    futures = [pool.submit(work, start, stop) for start, stop in zip(bounds[1:-1], bounds[2:])]
    work(bounds[0], bounds[1])
    for future in futures:
        future.result()


@jit(parallel=True)
def _add_bias_rows(z, bias):
    for r in numba.prange(z.shape[0]):
        for k in range(z.shape[1]):
            z[r, k] += bias[k]


@jit
def _column_sums(grad_z, out):
    # Row by row, as NumPy's sum over axis 0 of a C-contiguous array adds them.
    for k in range(grad_z.shape[1]):
        out[k] = grad_z[0, k]
    for r in range(1, grad_z.shape[0]):
        for k in range(grad_z.shape[1]):
            out[k] += grad_z[r, k]


def dense_forward(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | float) -> np.ndarray:
    """z = x @ kernel + bias.

    x: (N, in), kernel: (in, out), bias: (out,) (or a scalar such as 0) -> z: (N, out).
    """
    z = matmul(x, kernel)
    bias = np.asarray(bias)
    if bias.ndim == 1 and bias.shape[0] == z.shape[1] and z.flags.c_contiguous:
        if z.shape[0]:
            _add_bias_rows(z, contiguous(bias, z.dtype))
    else:
        z += bias
    return z


def dense_backward(
    x: np.ndarray,
    kernel: np.ndarray,
    grad_z: np.ndarray,
    grad_kernel: np.ndarray,
    grad_bias: np.ndarray,
) -> np.ndarray:
    """Gradients of an affine map, given dL/dz.

    dL/dkernel = x.T @ dL/dz   (in, out), written into ``grad_kernel``
    dL/dbias   = sum_n dL/dz   (out,),    written into ``grad_bias``
    dL/dx      = dL/dz @ kernel.T  (N, in), returned
    """
    matmul(x.T, grad_z, out=grad_kernel)
    fits = grad_bias.flags.c_contiguous and grad_bias.dtype == grad_z.dtype
    if grad_z.shape[0] and grad_z.shape[1] > 1 and fits:
        _column_sums(contiguous(grad_z), grad_bias)
    else:
        # (one column: NumPy sums it pairwise, see bias_gradient)
        np.sum(grad_z, axis=0, out=grad_bias)
    return matmul(grad_z, kernel.T)


def dense_kernel_gradient(x: np.ndarray, grad_z: np.ndarray, grad_kernel: np.ndarray) -> None:
    """dL/dkernel = x.T @ dL/dz (in, out), written into ``grad_kernel`` (one BLAS call)."""
    matmul(x.T, grad_z, out=grad_kernel)


def bias_gradient(grad_output: np.ndarray) -> np.ndarray:
    """dL/dbias of a layer that adds one bias per channel: grad_output (..., F) summed over
    every axis but the last -> (F,), adding the numbers in NumPy's order. For the conv
    autoencoder's first layer (128, 28, 28, 16): 0.36 ms, against 3.2 ms for NumPy's
    ``sum(axis=(0, 1, 2))``."""
    grad_output = contiguous(grad_output)
    rows = grad_output.reshape(-1, grad_output.shape[-1])
    if rows.shape[1] == 1:
        # One column is one contiguous vector, which NumPy sums pairwise (not in order):
        # call it, to stay bit-identical (and its SIMD sum is faster than a serial loop:
        # 0.34 ms for 128x28x28x1 in order).
        return rows.sum(axis=0)
    out = np.empty(rows.shape[1], dtype=grad_output.dtype)
    if rows.shape[0]:
        _column_sums(rows, out)
    else:
        out[:] = 0
    return out


@jit
def _relu_backward_column_sums(y, grad_output, grad_z, sums):
    """grad_z (R, F) = grad_output * [y > 0], and sums (F,) = its column sums, added row by
    row as ``_column_sums`` adds them, in the same pass."""
    one, zero = grad_output.dtype.type(1), grad_output.dtype.type(0)
    for k in range(y.shape[1]):
        value = grad_output[0, k] * (one if y[0, k] > 0 else zero)
        grad_z[0, k] = value
        sums[k] = value
    for r in range(1, y.shape[0]):
        for k in range(y.shape[1]):
            value = grad_output[r, k] * (one if y[r, k] > 0 else zero)
            grad_z[r, k] = value
            sums[k] += value


def relu_backward_bias_gradient(
    y: np.ndarray, grad_output: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """dL/dz = dL/dy * [y > 0] and dL/dbias = dL/dz summed over every axis but the last,
    for y = max(z, 0) (y > 0 exactly where z > 0), in one pass over the arrays.

    y, grad_output: (..., F) -> (dL/dz of their shape, dL/dbias (F,)); bit for bit
    ``relu_backward(y, grad_output)`` and ``bias_gradient`` of it (the sums in NumPy's
    order). One pass on one thread against two passes (the first parallel for large
    arrays): 0.115 against 0.142 ms for 128x14x14x8, a tie (0.76 against 0.73 ms) for
    128x28x28x16 (2 threads, ``python -m benchmarks.levers --lever fused-relu``).
    """
    dtype = np.result_type(y, grad_output)
    y, grad_output = contiguous(y, dtype), contiguous(grad_output, dtype)
    rows = y.reshape(-1, y.shape[-1])
    grad_rows = grad_output.reshape(rows.shape)
    if rows.shape[1] == 1 or rows.shape[0] == 0:
        # (one column: NumPy sums it pairwise, see bias_gradient)
        grad_z = relu_backward(y, grad_output)
        return grad_z, bias_gradient(grad_z)
    grad_z = np.empty_like(grad_output)
    sums = np.empty(rows.shape[1], dtype=dtype)
    _relu_backward_column_sums(rows, grad_rows, grad_z.reshape(rows.shape), sums)
    return grad_z, sums
