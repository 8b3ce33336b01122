"""The machine and software a benchmark ran on, as a JSON-serialisable dict.

``describe(torch)`` is what ``benchmarks.kernels`` and ``benchmarks.training`` write under
``"machine"`` in their JSON, so that ``benchmarks.compare`` can say how two runs differ:

* ``cpu_model`` (``/proc/cpuinfo``'s "model name", else lscpu, else platform), ``cores``
  {"logical", "physical"} (physical: distinct (physical id, core id) pairs of
  /proc/cpuinfo; None where it does not say), ``caches`` (level and type -> size as the
  kernel prints it, e.g. {"L1d": "32K", "L2": "512K", "L3": "32768K"}, from
  /sys/devices/system/cpu/cpu0/cache);
* ``blas``: NumPy's BLAS {"name", "version", "configuration", "core", "library"}; ``core``
  is the kernel OpenBLAS picked at run time (``openblas_get_corename``: "Haswell",
  "Zen", "SkylakeX"...), None when the library does not say;
* ``versions``: python, numpy, numba, torch, jax, nn_core (None: not installed);
* ``commit`` (``git rev-parse HEAD`` of this checkout, with ``dirty`` when the work tree
  has changes; None outside a repository), ``date`` (UTC, ISO 8601), ``platform``,
  the load average at the start, the thread counts of nn_core's pools and PyTorch's.

Nothing here imports jax or torch: a version is read from the installed package's
metadata (or from the module when the caller already imported it).
"""

from __future__ import annotations

import ctypes
import datetime
import importlib.metadata
import os
import platform
import subprocess

import numpy as np

from nn_core import threads

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cpuinfo() -> list[dict[str, str]]:
    """/proc/cpuinfo as one dict per logical processor (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return []
    processors = []
    for block in text.strip().split("\n\n"):
        entry = {}
        for line in block.splitlines():
            if ":" in line:
                key, value = line.split(":", 1)
                entry[key.strip()] = value.strip()
        if entry:
            processors.append(entry)
    return processors


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo, else ``lscpu``, else platform.processor())."""
    for entry in _cpuinfo():
        if entry.get("model name"):
            return entry["model name"]
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        output = ""
    for line in output.splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cores() -> dict:
    """{"logical": int, "physical": int or None}."""
    processors = _cpuinfo()
    pairs = {(p.get("physical id"), p.get("core id")) for p in processors if "core id" in p}
    return {"logical": os.cpu_count() or len(processors) or 1, "physical": len(pairs) or None}


def caches(directory: str = "/sys/devices/system/cpu/cpu0/cache") -> dict[str, str]:
    """Cache name ("L1d", "L1i", "L2", "L3") -> size as sysfs prints it ("32K")."""
    sizes = {}
    try:
        entries = sorted(name for name in os.listdir(directory) if name.startswith("index"))
    except OSError:
        return sizes
    for entry in entries:
        path = os.path.join(directory, entry)
        try:
            level = _read(os.path.join(path, "level"))
            kind = _read(os.path.join(path, "type"))
            size = _read(os.path.join(path, "size"))
        except OSError:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        sizes[f"L{level}{suffix}"] = size
    return sizes


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def blas() -> dict:
    """NumPy's BLAS: name, version and build configuration (numpy.__config__), the run-time
    kernel OpenBLAS chose (its ``*get_corename*`` function) and the library's path."""
    config = getattr(np.__config__, "CONFIG", {}).get("Build Dependencies", {}).get("blas", {})
    path = threads.info()["blas_library"]
    return {
        "name": config.get("name"),
        "version": config.get("version"),
        "configuration": config.get("openblas configuration"),
        "core": _openblas_core(path),
        "library": path,
    }


def _openblas_core(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        library = ctypes.CDLL(path)
    except OSError:
        return None
    for name in (
        "openblas_get_corename",
        "openblas_get_corename64_",
        "scipy_openblas_get_corename64_",
        "scipy_openblas_get_corename",
    ):
        function = getattr(library, name, None)
        if function is not None:
            function.restype = ctypes.c_char_p
            return function().decode()
    return None


def versions(torch=None) -> dict[str, str | None]:
    """Versions of python, numpy, numba, torch, jax and nn_core (None: not installed)."""
    import nn_core

    def installed(distribution):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": installed("numba"),
        "torch": torch.__version__ if torch is not None else installed("torch"),
        "jax": installed("jax"),
        "nn_core": nn_core.__version__,
    }


def commit(root: str = _ROOT) -> str | None:
    """``git rev-parse HEAD`` of ``root``, plus "-dirty" when its work tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if status else "")


def describe(torch=None) -> dict:
    """The machine and software the numbers were measured with (JSON-serialisable).

    ``torch``: the imported module, for its thread count (None: PyTorch not used).
    """
    import nn_core

    logical_physical = cores()
    software = versions(torch)
    return {
        "cpu_model": cpu_model(),
        "cores": logical_physical,
        "cpu_count": logical_physical["logical"],
        "caches": caches(),
        "blas": blas(),
        "versions": software,
        # Flat copies of the versions, as earlier result files had them.
        "python": software["python"],
        "numpy": software["numpy"],
        "numba": software["numba"],
        "torch": None if torch is None else torch.__version__,
        "torch_threads": None if torch is None else torch.get_num_threads(),
        "commit": commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "nn_core_backend_default": nn_core.kernels.backend_name(),
        "threads": dict(threads.info()),
    }
