"""One small interface to the compute kernels.

Layers never do heavy arithmetic themselves: they call ``nn_core.kernels.<op>(...)``
and the active backend provides the op. ``numpy_backend`` is the readable reference
definition of every op; ``numba_backend`` provides functions of the same names and
signatures, compiled by Numba; any op a backend lacks falls back to the reference.

The default backend is "numba" when Numba is installed (the 'fast' extra), "numpy"
otherwise. Force one with the environment variable ``NN_CORE_BACKEND=numpy|numba`` (read
once, at import) or at run time with ``set_backend(name)``. Importing compiles nothing:
each Numba kernel is compiled on its first call for the argument types of that call and
cached on disk (``__pycache__``), so later processes load it instead of compiling again.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import warnings
from types import ModuleType

from .. import threads
from . import numpy_backend

AVAILABLE_BACKENDS = ("numpy", "numba")
_active: ModuleType = numpy_backend
_active_name = "numpy"


def _load_backend(name: str) -> ModuleType:
    if name == "numpy":
        return numpy_backend
    if name == "numba":
        try:
            return importlib.import_module("nn_core.kernels.numba_backend")
        except ImportError as error:
            raise ValueError(
                f"the 'numba' kernel backend is not available here ({error}); "
                "install the 'fast' extra (pip install 'nn-core-autoencoders[fast]') "
                "or use NN_CORE_BACKEND=numpy"
            ) from error
    raise ValueError(f"unknown kernel backend {name!r}; expected one of {AVAILABLE_BACKENDS}")


def set_backend(name: str) -> None:
    """Make ``name`` ('numpy' or 'numba') the backend every layer uses from now on."""
    global _active, _active_name
    _active = _load_backend(name)
    _active_name = name
    _match_blas_threads(name)


# OpenBLAS's thread count while the Numba backend runs its one pool, kept to give back to
# the NumPy backend (None: nothing was changed).
_blas_threads_before_one_pool: int | None = None


def _match_blas_threads(name: str) -> None:
    """With the Numba backend's one pool (``numba_backend._jit.ONE_POOL``) OpenBLAS runs on
    one thread: Numba's threads run the products, one single-threaded OpenBLAS call each
    (``numba_backend.products``). Capping OpenBLAS around each product instead costs more
    than the product saves: 40 split products of 256x32 @ 32x784 took 14.0 ms that way
    against 4.1 ms with OpenBLAS left at one thread (OpenBLAS reallocates its threads'
    buffers when its count changes, which we take to be the cause). The NumPy backend
    gets OpenBLAS's count back."""
    global _blas_threads_before_one_pool
    current = threads.get_blas_threads()
    if current is None:
        return
    one_pool = (
        name == "numba" and importlib.import_module(f"{__name__}.numba_backend._jit").ONE_POOL
    )
    if one_pool and current > 1:
        _blas_threads_before_one_pool = current
        threads.set_blas_threads(1)
    elif not one_pool and _blas_threads_before_one_pool is not None:
        threads.set_blas_threads(_blas_threads_before_one_pool)
        _blas_threads_before_one_pool = None


def backend_name() -> str:
    """Name of the active backend: 'numpy' or 'numba'."""
    return _active_name


def default_backend_name() -> str:
    """'numba' when Numba can be imported here, else 'numpy' (ignores NN_CORE_BACKEND)."""
    return "numba" if importlib.util.find_spec("numba") is not None else "numpy"


def __getattr__(op_name: str):
    try:
        return getattr(_active, op_name)
    except AttributeError:
        # A fast backend may not provide every op yet: the reference always does.
        return getattr(numpy_backend, op_name)


def _select_at_import() -> None:
    requested = os.environ.get("NN_CORE_BACKEND", "").strip().lower()
    if requested:
        set_backend(requested)
        return
    default = default_backend_name()
    try:
        set_backend(default)
    except ValueError as error:  # Numba is installed but broken: keep the reference
        warnings.warn(f"{error}; using the numpy backend", RuntimeWarning, stacklevel=3)
        set_backend("numpy")


_select_at_import()
threads.apply_environment()
_match_blas_threads(_active_name)  # (after NN_CORE_NUM_THREADS, which sets OpenBLAS's too)
