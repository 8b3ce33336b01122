"""Datasets as NumPy arrays, read from local IDX files first and downloaded only as a fallback.

* ``mnist.load_data()`` and ``fashion_mnist.load_data()`` return
  ``(x_train, y_train), (x_test, y_test)`` like their keras.datasets namesakes.
* ``load_idx(path)`` reads any IDX file, gzipped or raw.
"""

from . import fashion_mnist, mnist
from .idx import DatasetFileError, load_idx, save_idx

__all__ = ["DatasetFileError", "fashion_mnist", "load_idx", "mnist", "save_idx"]
