"""Suite-wide guards: a test must leave the process's global state as it found it.

The kernel backend is process-global (``nn_core.kernels.set_backend``); a test that
switches it and does not switch it back makes every later test run on the wrong backend
(the numpy suite would silently test Numba kernels), and code that records the backend,
such as a sweep's result keys, then disagrees with a subprocess started from the same
environment. The guard restores it and fails the test that leaked it.
"""

from __future__ import annotations

import pytest

from nn_core import kernels


@pytest.fixture(autouse=True)
def _kernel_backend_is_left_as_found(request):
    before = kernels.backend_name()
    yield
    after = kernels.backend_name()
    if after != before:
        kernels.set_backend(before)
        pytest.fail(
            f"{request.node.nodeid} left the kernel backend at {after!r} (was {before!r}); "
            "restore it (try/finally, or a fixture)",
            pytrace=False,
        )
