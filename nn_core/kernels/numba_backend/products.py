"""Matrix products on Numba's threads: one thread pool for products and element-wise work.

``split_product(a, b, out, parts)`` computes out = a @ b with the rows of out split into
``parts`` contiguous ranges, one per Numba thread, each range one single-threaded call of
OpenBLAS's ``cblas_sgemm`` (``cblas_dgemm`` for float64) made from inside a parallel
Numba loop.
OpenBLAS's own thread pool then never runs, and the element-wise kernels before and after
a product can use Numba's threads without fighting it (``_jit.ONE_POOL``).

Why: on a 2-core machine, two pools that take turns on the cores slow each other down
(each one's idle threads spin on the cores the other needs). The dense decoder's forward
(40 batches of 256x32 @ 32x784, then the sigmoid of the 200,704 results) took 11.1 ms
with the product on OpenBLAS's two threads and the sigmoid on one, 19.4 ms (libgomp
spinning 3,000 times) to 339 ms (300,000 times) with both parallel, and 8.4 ms with the
product split here and the sigmoid parallel (``python -m benchmarks.one_pool``).

How the call is made: the address of the CBLAS function is looked up in the OpenBLAS
NumPy loaded (``nn_core.threads.blas_gemm_addresses``), registered with LLVM under a name
of ours (``llvmlite.binding.add_symbol``, before any kernel of this module is compiled or
loaded from Numba's cache) and declared to Numba as an ``ExternalFunction``. Array
addresses are passed as integers (``a.ctypes.data``): the x86-64 and AArch64 calling
conventions pass them in the same registers as pointers.

Rows: the row ranges start at multiples of ROW_ALIGNMENT, so that every row is computed
by the same OpenBLAS kernel as in one call of the whole product (see ROW_ALIGNMENT).
"""

from __future__ import annotations

import llvmlite.binding
import numba
import numpy as np

from ... import threads
from ._jit import ONE_POOL

# CBLAS's enumerations (cblas.h), passed as C ints.
_ROW_MAJOR = np.int32(101)
_NO_TRANSPOSE = np.int32(111)
_TRANSPOSE = np.int32(112)

# Rows of a split start at multiples of this: OpenBLAS computes the rows of a row-major
# C = A @ B in blocks of its kernel's unroll (the N unroll of the column-major call it
# makes: 2 to 16 in its x86-64 kernels) and a last, partial block with another kernel,
# whose sums can round differently; 32, a multiple of each, keeps every row in the same
# block as in one call of the whole product (tests/test_backends.py checks it bit for
# bit). 96, which also covers 12- and 24-row unrolls, would split a batch of 256 into
# 96 + 160 rows instead of 128 + 128; where a kernel has such an unroll, results may
# differ in the last bits between thread counts (the same thread count gives the same
# bits, the guarantee nn_core makes).
ROW_ALIGNMENT = 32

_LINK_NAMES = {"float32": "nn_core_cblas_sgemm64", "float64": "nn_core_cblas_dgemm64"}


def _declaration(link_name, real):
    """Numba's view of cblas_?gemm(order, transa, transb, M, N, K, alpha, A, lda, B, ldb,
    beta, C, ldc) with 64-bit integers and the three matrices as integer addresses."""
    enum, size, address = numba.types.int32, numba.types.int64, numba.types.intp
    signature = numba.types.void(
        enum, enum, enum, size, size, size, real, address, size, address, size, real,
        address, size,
    )  # fmt: skip
    return numba.types.ExternalFunction(link_name, signature)


_sgemm = _declaration(_LINK_NAMES["float32"], numba.types.float32)
_dgemm = _declaration(_LINK_NAMES["float64"], numba.types.float64)

if ONE_POOL:
    for _dtype, _address in (threads.blas_gemm_addresses() or {}).items():
        llvmlite.binding.add_symbol(_LINK_NAMES[_dtype], _address)


@numba.njit(parallel=True, cache=True)
def _split_float32(a, b, out, bounds, a_transposed, a_lead, b_transposed, b_lead):
    """out[bounds[p]:bounds[p+1]] = a[those rows] @ b for each part p, one part per
    thread, each one single-threaded cblas_sgemm. ``out`` is C-contiguous."""
    columns, inner = out.shape[1], a.shape[1]
    for part in numba.prange(bounds.shape[0] - 1):
        start, stop = bounds[part], bounds[part + 1]
        if stop > start:
            _sgemm(
                _ROW_MAJOR, a_transposed, b_transposed, stop - start, columns, inner,
                np.float32(1), a.ctypes.data + start * a.strides[0], a_lead,
                b.ctypes.data, b_lead,
                np.float32(0), out.ctypes.data + start * out.strides[0], columns,
            )  # fmt: skip


@numba.njit(parallel=True, cache=True)
def _split_float64(a, b, out, bounds, a_transposed, a_lead, b_transposed, b_lead):
    """``_split_float32`` in float64 (cblas_dgemm)."""
    columns, inner = out.shape[1], a.shape[1]
    for part in numba.prange(bounds.shape[0] - 1):
        start, stop = bounds[part], bounds[part + 1]
        if stop > start:
            _dgemm(
                _ROW_MAJOR, a_transposed, b_transposed, stop - start, columns, inner,
                1.0, a.ctypes.data + start * a.strides[0], a_lead,
                b.ctypes.data, b_lead,
                0.0, out.ctypes.data + start * out.strides[0], columns,
            )  # fmt: skip


def _blas_layout(matrix: np.ndarray) -> tuple[np.int32, int] | None:
    """(CBLAS transpose flag, leading dimension) of a 2-D row-major view: rows contiguous
    (no transpose) or columns contiguous (the transpose of a row-major matrix); None for
    any other strides."""
    item = matrix.itemsize
    rows, columns = matrix.shape
    row_stride, column_stride = matrix.strides
    if column_stride == item and row_stride % item == 0 and row_stride >= max(columns, 1) * item:
        return _NO_TRANSPOSE, row_stride // item
    if row_stride == item and column_stride % item == 0 and column_stride >= max(rows, 1) * item:
        return _TRANSPOSE, column_stride // item
    return None


def row_bounds(rows: int, parts: int) -> np.ndarray:
    """parts + 1 row indices from 0 to ``rows``, the inner ones multiples of ROW_ALIGNMENT
    and as even as those allow (empty parts where there are too few rows)."""
    bounds = [
        min(rows, round(rows * k / parts / ROW_ALIGNMENT) * ROW_ALIGNMENT) for k in range(parts)
    ]
    return np.array([*bounds, rows], dtype=np.int64)


def split_product(a: np.ndarray, b: np.ndarray, out: np.ndarray, parts: int) -> bool:
    """out (M, N) = a (M, K) @ b (K, N) in ``parts`` row ranges (Numba's thread count, which
    the caller has at hand), one single-threaded OpenBLAS call per range on Numba's
    threads; OpenBLAS's own threads are capped at one meanwhile.

    Returns False, computing nothing, where this cannot run: one pool off, another dtype
    than float32/float64 or mixed dtypes, strides BLAS cannot take, an ``out`` that is not
    C-contiguous or may overlap a or b, or an empty product (the caller then uses NumPy).
    Raises ValueError for shapes that do not chain (OpenBLAS would write past ``out``).
    """
    if (
        a.ndim != 2
        or b.ndim != 2
        or a.shape[1] != b.shape[0]
        or out.shape != (a.shape[0], b.shape[1])
    ):
        raise ValueError(
            f"split_product: a {a.shape} @ b {b.shape} does not give out's shape {out.shape}"
        )
    dtype = out.dtype
    if not ONE_POOL or dtype.name not in _LINK_NAMES or a.dtype != dtype or b.dtype != dtype:
        return False
    if not out.flags.c_contiguous or a.size == 0 or b.size == 0:  # (then out has no rows too)
        return False
    if np.may_share_memory(out, a) or np.may_share_memory(out, b):
        return False
    a_layout, b_layout = _blas_layout(a), _blas_layout(b)
    if a_layout is None or b_layout is None:
        return False
    bounds = row_bounds(a.shape[0], parts)
    kernel = _split_float32 if dtype == np.float32 else _split_float64
    with threads.at_most_blas_threads(1):
        kernel(a, b, out, bounds, *a_layout, *b_layout)
    return True
