"""Thread counts of the two pools that run nn_core's kernels: BLAS and Numba.

NumPy's matrix products run in the OpenBLAS bundled with NumPy; the Numba kernels'
parallel loops run in Numba's own pool. Both start with one thread per core.

    from nn_core import threads
    threads.info()                  # {"blas": 2, "numba": 2, "blas_library": "...", ...}
    with threads.limit(blas=1, numba=1):    # e.g. while other processes share the cores
        model.fit(...)

The environment variable ``NN_CORE_NUM_THREADS=<n>`` sets both pools to n threads when
``nn_core`` is imported (``apply_environment``); without it nothing is changed here.

Measured on the 2-core machine this was built on (``python -m benchmarks.kernel_threads``):
alone, two BLAS threads make the classic autoencoder's products (256x784 @ 784x32 and its
backward shapes) 1.5x-1.9x faster than one (e.g. 141 -> 74 us), and large ones up to 2x;
but two pools that take turns on two cores fight (each pool's idle threads spin for a
while on the cores the other needs): a parallel Numba im2col loop (since replaced by
a NumPy copy) followed by a two-thread GEMM took 666 us against 403 us with one BLAS
thread. So the Numba backend lets one pool work at a time: small products keep BLAS's
threads while the small kernels around them run on one thread, and large products and
convolutions run single-threaded BLAS, split by rows or by images across Numba's thread
count (see ``kernels.numba_backend.dense`` and ``.conv``). That was the design until
2026-12-07; now the default is one pool where NumPy's OpenBLAS allows it: every product
runs on Numba's threads, one single-threaded OpenBLAS call per thread
(``kernels.numba_backend.products``), so that OpenBLAS's own pool stays idle;
``NN_CORE_ONE_POOL=0`` restores the two pools. The NumPy backend leaves BLAS as it is.

BLAS control works on OpenBLAS only (found through ctypes in the loaded process, by its
``openblas_set_num_threads``-style symbol, as threadpoolctl does); elsewhere the BLAS
functions are no-ops and ``info()["blas_unavailable_reason"]`` says why.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator

import numpy as np

ENVIRONMENT_VARIABLE = "NN_CORE_NUM_THREADS"

# Symbol names across OpenBLAS builds: scipy-openblas wheels (NumPy >= 2) prefix and
# suffix them; plain OpenBLAS (distribution packages, older wheels) does not.
_SET_SYMBOLS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
# OpenBLAS's CBLAS matrix products with 64-bit integer arguments (the ILP64 builds NumPy's
# wheels ship): the Numba backend calls them from its own threads ("one pool", see
# ``kernels.numba_backend.products``). Builds with 32-bit integers are not used.
_GEMM_SYMBOLS = {
    "float32": ("scipy_cblas_sgemm64_", "cblas_sgemm64_"),
    "float64": ("scipy_cblas_dgemm64_", "cblas_dgemm64_"),
}
_GET_SYMBOLS = (
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


class _Blas:
    """The loaded OpenBLAS's thread functions, looked up once; or the reason they are not."""

    def __init__(self):
        self.path: str | None = None
        self.reason: str | None = None
        self._set: Callable[[int], None] | None = None
        self._get: Callable[[], int] | None = None
        self.gemm_addresses: dict[str, int] | None = None
        candidates = _loaded_openblas_paths() or _bundled_openblas_paths()
        if not candidates:
            self.reason = "no OpenBLAS library is loaded by NumPy (another BLAS?)"
            return
        for path in candidates:
            try:
                library = ctypes.CDLL(path)
            except OSError as error:
                self.reason = f"could not open {path}: {error}"
                continue
            setter = _first_symbol(library, _SET_SYMBOLS)
            getter = _first_symbol(library, _GET_SYMBOLS)
            if setter is None or getter is None:
                self.reason = f"{path} has no openblas_set/get_num_threads symbol"
                continue
            setter.argtypes, setter.restype = [ctypes.c_int], None
            getter.argtypes, getter.restype = [], ctypes.c_int
            self.path, self.reason, self._set, self._get = path, None, setter, getter
            self.gemm_addresses = _gemm_addresses(library)
            return

    @property
    def available(self) -> bool:
        return self._set is not None

    def get(self) -> int | None:
        return int(self._get()) if self._get is not None else None

    def set(self, count: int) -> None:
        if self._set is not None:
            self._set(int(count))


def _gemm_addresses(library) -> dict[str, int] | None:
    """Addresses of ``library``'s 64-bit-integer cblas_sgemm and cblas_dgemm, or None."""
    addresses = {}
    for dtype, names in _GEMM_SYMBOLS.items():
        function = _first_symbol(library, names)
        address = None if function is None else ctypes.cast(function, ctypes.c_void_p).value
        if address is None:
            return None
        addresses[dtype] = int(address)
    return addresses


def _first_symbol(library, names):
    for name in names:
        try:
            return getattr(library, name)
        except AttributeError:
            continue
    return None


def _loaded_openblas_paths() -> list[str]:
    """Paths of the OpenBLAS shared libraries mapped into this process (Linux)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(path for path in paths if os.path.isfile(path))


def _bundled_openblas_paths() -> list[str]:
    """OpenBLAS libraries shipped inside the NumPy wheel (numpy.libs/, numpy/.dylibs/)."""
    numpy_dir = os.path.dirname(np.__file__)
    patterns = [
        os.path.join(os.path.dirname(numpy_dir), "numpy.libs", "*openblas*"),
        os.path.join(numpy_dir, ".dylibs", "*openblas*"),
    ]
    return sorted(path for pattern in patterns for path in glob.glob(pattern))


_blas: _Blas | None = None


def _blas_handle() -> _Blas:
    global _blas
    if _blas is None:
        _blas = _Blas()
    return _blas


def blas_gemm_addresses() -> dict[str, int] | None:
    """Addresses of the loaded OpenBLAS's 64-bit-integer cblas_sgemm and cblas_dgemm
    ({"float32": ..., "float64": ...}), or None when it has not both."""
    return _blas_handle().gemm_addresses


def _check_count(name: str, count) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"threads: {name} must be a positive integer, got {count!r}")
    return int(count)


def get_blas_threads() -> int | None:
    """Number of threads OpenBLAS uses for NumPy's matrix products (None: not OpenBLAS)."""
    return _blas_handle().get()


def set_blas_threads(count: int) -> int | None:
    """Make OpenBLAS use ``count`` threads; returns the previous count (None: no-op)."""
    count = _check_count("blas", count)
    blas = _blas_handle()
    previous = blas.get()
    blas.set(count)
    return previous


_numba_module = None


def _numba():
    """The numba module, or None when it is not installed (looked up once)."""
    global _numba_module
    if _numba_module is None:
        if importlib.util.find_spec("numba") is None:
            _numba_module = False
        else:
            import numba

            _numba_module = numba
    return _numba_module or None


def get_numba_threads() -> int | None:
    """Number of threads Numba's parallel loops use (None: Numba is not installed)."""
    numba = _numba()
    return None if numba is None else int(numba.get_num_threads())


def set_numba_threads(count: int) -> int | None:
    """Make Numba's parallel loops use ``count`` threads (capped at Numba's pool size,
    ``NUMBA_NUM_THREADS``, one per core by default); returns the previous count."""
    count = _check_count("numba", count)
    numba = _numba()
    if numba is None:
        return None
    previous = int(numba.get_num_threads())
    numba.set_num_threads(min(count, int(numba.config.NUMBA_NUM_THREADS)))
    return previous


@contextlib.contextmanager
def limit(blas: int | None = None, numba: int | None = None) -> Iterator[None]:
    """Context manager: run the block with these thread counts, then restore the old ones.

    ``None`` leaves that pool as it is. Example: ``with limit(blas=1, numba=1): ...``.
    """
    previous_blas = set_blas_threads(blas) if blas is not None else None
    previous_numba = set_numba_threads(numba) if numba is not None else None
    try:
        yield
    finally:
        if previous_blas is not None:
            set_blas_threads(previous_blas)
        if previous_numba is not None:
            set_numba_threads(previous_numba)


@contextlib.contextmanager
def at_most_blas_threads(count: int) -> Iterator[None]:
    """Context manager: cap OpenBLAS at ``count`` threads for the block (never raises the
    current setting); costs about a microsecond, so kernels use it around one product."""
    blas = _blas_handle()
    previous = blas.get()
    if previous is None or previous <= count:
        yield
        return
    blas.set(count)
    try:
        yield
    finally:
        blas.set(previous)


def info() -> dict:
    """Current thread counts and where they come from.

    Keys: ``blas`` and ``numba`` (int, or None when unavailable), ``blas_library`` (path or
    None), ``blas_unavailable_reason`` (None when BLAS control works), ``cpu_count``, and
    ``one_pool``: whether the Numba backend runs its products on Numba's threads
    (``kernels.numba_backend.products``; None while that backend is not loaded).
    """
    blas = _blas_handle()
    numba_loaded = "numba" in sys.modules
    numba_jit = sys.modules.get("nn_core.kernels.numba_backend._jit")
    return {
        "blas": blas.get(),
        "numba": get_numba_threads() if numba_loaded else None,
        "blas_library": blas.path,
        "blas_unavailable_reason": blas.reason,
        "cpu_count": os.cpu_count(),
        "one_pool": None if numba_jit is None else bool(numba_jit.ONE_POOL),
    }


def apply_environment() -> int | None:
    """Apply ``NN_CORE_NUM_THREADS`` (when set) to both pools; returns the count or None.

    Raises ValueError when it is set to something other than a positive integer.
    """
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE} must be a positive integer number of threads, got {value!r}"
        )
    set_blas_threads(count)
    set_numba_threads(count)
    return count
