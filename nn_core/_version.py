"""The package version, in one place.

setup.cfg reads it (``version = attr: nn_core._version.__version__``) without importing
nn_core, so building the package does not need NumPy; ``nn_core.__version__`` re-exports it.
"""

__version__ = "0.1.0"
