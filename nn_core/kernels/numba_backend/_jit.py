"""What every Numba kernel shares: the ``jit`` decorator and the array preparation.

* ``jit`` compiles lazily (on the first call, for the argument types of that call) and
  caches the machine code on disk (``cache=True``), so importing nn_core compiles
  nothing and a later process loads the compiled kernels instead of compiling again.
* ``error_model="numpy"``: a float division by zero gives inf/nan as in NumPy instead of
  raising ZeroDivisionError (and keeps the loops vectorisable).
* No ``fastmath`` by default: results are IEEE exact per operation, so an element-wise
  kernel written as the same formula as the NumPy reference is bit-identical to it.
  ``REDUCTION_FASTMATH`` (re-association and fused multiply-add only, never the no-NaN or
  no-Inf assumptions) is used on the convolution sums, whose order already differs from
  BLAS's and whose results only change at round-off level.

Kernels take C-contiguous arrays of one float dtype; the Python wrappers in each module
make them so (``contiguous``) and pass scalars already converted to that dtype
(``scalar``), so that float32 arithmetic stays float32 as in NumPy, where a Python float
operand is cast to the array's dtype before the operation.
"""

from __future__ import annotations

import os
import types

from ... import threads

# One thread pool (``products``): the matrix products run on Numba's threads, each thread
# one single-threaded OpenBLAS call on its rows, so that OpenBLAS's own pool stays idle
# and the element-wise kernels around the products can be parallel too. It needs the
# 64-bit-integer CBLAS products of the OpenBLAS NumPy loaded (NumPy's wheels have them);
# NN_CORE_ONE_POOL=0 turns it off (read here, once). Without it, products run on
# OpenBLAS's threads and small element-wise kernels on one thread (the design until
# 2026-12-07).
ONE_POOL_VARIABLE = "NN_CORE_ONE_POOL"
ONE_POOL = (
    os.environ.get(ONE_POOL_VARIABLE, "1").strip() != "0"
    and threads.blas_gemm_addresses() is not None
)

# How long libgomp's idle threads spin before they sleep (read when Numba starts its pool,
# so it is set before any kernel runs; a value the user set is kept). With one pool,
# libgomp's default (300,000 spins), so that Numba's threads are still running when the
# next parallel loop starts (a short loop after the threads have idled loses on the
# machine this was measured on: docs/performance.md, "One thread pool"). Without it,
# 3,000: then the products run on OpenBLAS's threads, which lose their cores to spinning
# OpenMP threads (the conv autoencoder's batch took 38 ms with the default, 34 ms with
# 3,000).
if not ONE_POOL:
    os.environ.setdefault("GOMP_SPINCOUNT", "3000")

import numba  # noqa: E402
import numpy as np  # noqa: E402

REDUCTION_FASTMATH = frozenset({"reassoc", "contract"})

# Batches are split into this many chunks for parallel reductions, independently of the
# thread count, and the partial results are added in chunk order: the same inputs give
# bit-identical results whatever NUMBA_NUM_THREADS is.
REDUCTION_CHUNKS = 8


# Below this much work (array elements, or multiply-adds for a convolution) a parallel
# kernel runs on the calling thread alone: waking the pool costs more than it saves.
# Without one pool the bar is high, because a parallel loop right after a multi-threaded
# BLAS product fights with BLAS's idle spinning thread (see dense.matmul): on the classic
# autoencoder (2 cores) 1.78 ms per batch with its 200,704-element element-wise ops on
# one thread and two-thread BLAS, 3.4 ms with both parallel; at batch 1024 (802,816
# elements) the dense model's epoch took 0.53 s with these ops parallel, 0.34 s on one
# thread. With one pool nothing fights, and the bar is ONE_POOL_PARALLEL_MIN_WORK (2^14,
# 2^16 and 2^18 measured in docs/performance.md, "One thread pool").
ONE_POOL_PARALLEL_MIN_WORK = 1 << 14
PARALLEL_MIN_WORK = ONE_POOL_PARALLEL_MIN_WORK if ONE_POOL else 1 << 20


class ParallelKernel:
    """A ``parallel=True`` Numba kernel that uses Numba's threads only for enough work.

    Call it like the kernel; ``work`` (keyword, default: the largest array argument's
    size) is compared with PARALLEL_MIN_WORK. From there on the parallel build runs
    (``dispatcher``); below it, the same function compiled without ``parallel``
    (``serial``), in which ``prange`` is a plain ``range``. The serial build skips what a
    parallel loop costs even on one thread (the scheduler, and switching Numba's thread
    count to one and back): about 5 us a call, which is 0.06 ms of the dense
    autoencoder's 1.2 ms training step and a fifth of a batch-32 step.
    """

    def __init__(self, dispatcher, serial):
        self.dispatcher = dispatcher
        self.serial = serial
        self.__doc__ = dispatcher.__doc__
        self.__name__ = dispatcher.__name__

    def __call__(self, *args, work=None):
        if work is None:
            work = max((arg.size for arg in args if isinstance(arg, np.ndarray)), default=0)
        if work >= PARALLEL_MIN_WORK:
            return self.dispatcher(*args)
        return self.serial(*args)


def _renamed(function, suffix):
    """A copy of ``function`` whose qualified name ends in ``suffix``.

    Numba's on-disk cache files a function's machine code under its qualified name and
    bytecode, not under its compile options: the serial build of a parallel kernel needs
    a name of its own, or the two builds would overwrite each other's cache entries.
    """
    copy = types.FunctionType(
        function.__code__,
        function.__globals__,
        function.__name__ + suffix,
        function.__defaults__,
        function.__closure__,
    )
    copy.__qualname__ = function.__qualname__ + suffix
    copy.__module__ = function.__module__
    copy.__doc__ = function.__doc__
    return copy


def jit(function=None, *, parallel=False, fastmath=False):
    """``numba.njit`` with nn_core's settings: lazy, cached, NumPy's error model; with
    ``parallel=True`` the result is a ParallelKernel (a parallel and a serial build)."""
    options = {
        "cache": True,
        "error_model": "numpy",
        "fastmath": set(fastmath) if isinstance(fastmath, frozenset) else fastmath,
    }

    def decorate(f):
        if not parallel:
            return numba.njit(**options)(f)
        return ParallelKernel(
            numba.njit(parallel=True, **options)(f),
            numba.njit(**options)(_renamed(f, "_serial")),
        )

    return decorate if function is None else decorate(function)


def contiguous(array, dtype=None):
    """``array`` as a C-contiguous ndarray (no copy when it already is one)."""
    return np.ascontiguousarray(array, dtype=dtype)


def scalar(value, dtype):
    """``value`` as a NumPy scalar of ``dtype``, as NumPy casts a Python float operand."""
    return np.dtype(dtype).type(value)


@jit
def chunk_start(total, chunks, k):
    """First index of chunk k when range(total) is split into ``chunks`` near-equal parts."""
    return (total * k) // chunks
