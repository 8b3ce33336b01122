"""One small interface to the compute kernels.

Layers never do heavy arithmetic themselves: they call ``nn_core.kernels.<op>(...)``
and the active backend provides the op. ``numpy_backend`` is the readable reference
definition of every op; a faster backend (Numba) provides functions of the same
names and signatures and falls back to the reference for any op it lacks.

Choose the backend with the environment variable ``NN_CORE_BACKEND=numpy|numba``
(read once, at import) or at run time with ``set_backend(name)``.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

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


def backend_name() -> str:
    """Name of the active backend: 'numpy' or 'numba'."""
    return _active_name


def __getattr__(op_name: str):
    try:
        return getattr(_active, op_name)
    except AttributeError:
        # A fast backend may not provide every op yet: the reference always does.
        return getattr(numpy_backend, op_name)


_requested = os.environ.get("NN_CORE_BACKEND", "").strip().lower()
if _requested:
    set_backend(_requested)
