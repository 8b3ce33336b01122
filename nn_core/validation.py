"""Checks of user data at the boundary (fit, evaluate, predict), in the user's terms."""

from __future__ import annotations

import numpy as np


def as_float_batch(array, argument: str, dtype) -> np.ndarray:
    """Return ``array`` as a finite float array of ``dtype`` with a batch axis.

    Integer arrays (such as uint8 images) are converted to ``dtype``; booleans,
    complex numbers, strings and objects are refused. Raises ValueError naming
    ``argument`` for those, for a missing batch axis, and for NaN or Inf (with the
    index of the first bad sample).
    """
    if array is None:
        raise ValueError(f"{argument} is required, got None")
    array = np.asarray(array)
    kind = array.dtype.kind
    if kind == "b":
        raise ValueError(f"{argument} must hold numbers, got booleans; convert with .astype(float)")
    if kind not in "fiu":
        raise ValueError(f"{argument} must be a numeric array, got dtype {array.dtype}")
    if array.ndim < 2:
        raise ValueError(
            f"{argument} must be a batch of samples with shape (N, ...), got shape {array.shape}"
        )
    if len(array) == 0:
        raise ValueError(f"{argument} is empty (shape {array.shape})")
    array = np.ascontiguousarray(array, dtype=dtype)
    finite = np.isfinite(array)
    if not finite.all():
        bad_sample = int(np.flatnonzero(~finite.reshape(len(array), -1).all(axis=1))[0])
        raise ValueError(
            f"{argument} contains NaN or Inf (first at sample {bad_sample}); clean the data first"
        )
    return array


def check_same_length(x, y, x_name="x", y_name="y"):
    if len(x) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} must hold the same number of samples, got {len(x)} and {len(y)}"
        )


def check_batch_size(batch_size):
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)
