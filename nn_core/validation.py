"""Checks of user data at the boundary (fit, evaluate, predict), in the user's terms.

Policy, the same everywhere (``fit``, ``evaluate``, ``predict``, ``encode``, ``decode``
and a layer's own first call):

* float32 and float64 arrays are used as they are (cast to the model's dtype);
* integer arrays (uint8 images, int labels) are converted to the model's float dtype,
  value for value: 255 stays 255.0, nothing wraps around or is rescaled;
* booleans, complex numbers, strings, dates and Python objects are refused with a
  ValueError that says how to convert them;
* NaN and Inf are refused with a ValueError naming the first bad sample.

The finiteness check runs over blocks of samples, so it never allocates a mask the
size of the whole input.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

import numpy as np

# Samples checked per block by ``check_finite``: bounds the temporary boolean mask.
_CHECK_BLOCK_BYTES = 4 * 2**20


def check_numeric_dtype(array: np.ndarray, argument: str) -> None:
    """Raise ValueError unless ``array`` holds real numbers (floats or integers)."""
    kind = array.dtype.kind
    if kind == "b":
        raise ValueError(
            f"{argument} must hold numbers, got booleans; convert with .astype('float32')"
        )
    if kind not in "fiu":
        raise ValueError(
            f"{argument} must be a numeric array of real numbers (float or integer), "
            f"got dtype {array.dtype}"
        )


def check_finite(array: np.ndarray, argument: str, first_index: int = 0) -> None:
    """Raise ValueError naming the first sample of ``array`` (N, ...) holding NaN or Inf.

    ``first_index``: the index of ``array[0]`` in the user's data (for a block of it).
    Integer arrays are finite by construction and are not scanned.
    """
    if array.dtype.kind != "f" or array.size == 0:
        return
    per_sample = max(1, array[0].nbytes)
    block = max(1, _CHECK_BLOCK_BYTES // per_sample)
    for start in range(0, len(array), block):
        chunk = array[start : start + block]
        if not np.isfinite(chunk).all():
            flat = np.isfinite(chunk).reshape(len(chunk), -1).all(axis=1)
            bad_sample = first_index + start + int(np.flatnonzero(~flat)[0])
            raise ValueError(
                f"{argument} contains NaN or Inf (first at sample {bad_sample}); "
                "clean the data first"
            )


def checked_batch(array: Any, argument: str) -> np.ndarray:
    """``array`` as an ndarray (not copied), checked for dtype, batch axis, size, finiteness.

    A float64 array bound for a float32 model still needs ``check_finite`` after the
    cast (1e300 becomes Inf); ``as_float_batch`` does that.
    """
    # array: Any, the user's data as given: whatever np.asarray takes; None is refused.
    if array is None:
        raise ValueError(f"{argument} is required, got None")
    array = np.asarray(array)
    check_numeric_dtype(array, argument)
    if array.ndim < 2:
        raise ValueError(
            f"{argument} must be a batch of samples with shape (N, ...), got shape {array.shape}"
        )
    if len(array) == 0:
        raise ValueError(f"{argument} is empty (shape {array.shape})")
    check_finite(array, argument)
    return array


def as_float_batch(array: Any, argument: str, dtype: Any) -> np.ndarray:
    """Return ``array`` as a finite, C-contiguous float array of ``dtype`` with a batch axis.

    Integer arrays (such as uint8 images) are converted to ``dtype``; booleans,
    complex numbers, strings and objects are refused. Raises ValueError naming
    ``argument`` for those, for a missing batch axis, and for NaN or Inf (with the
    index of the first bad sample).
    """
    array = checked_batch(array, argument)
    with np.errstate(over="ignore"):  # an overflow becomes Inf, reported just below
        converted = np.ascontiguousarray(array, dtype=dtype)
    if converted.dtype.itemsize < array.dtype.itemsize and array.dtype.kind == "f":
        check_finite(converted, f"{argument} (cast to {converted.dtype})")
    return converted


def check_same_length(x: Sized, y: Sized, x_name: str = "x", y_name: str = "y") -> None:
    if len(x) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} must hold the same number of samples, got {len(x)} and {len(y)}"
        )


def check_batch_size(batch_size: int) -> int:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)
