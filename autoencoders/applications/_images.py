"""The one image layout every function of this package accepts, and its check.

Images are float arrays with pixels in [0, data_range]:

    (H, W)          one grey image
    (N, H, W)       a batch of grey images
    (N, H, W, C)    a batch of images with C channels (C = 3: RGB)

A single colour image is passed as a batch of one, ``image[None]``: a 3-D array is
always a batch, so (28, 28, 3) is never guessed at.
"""

from __future__ import annotations

import numpy as np


def as_nhwc(images, name="images") -> tuple[np.ndarray, bool]:
    """(images as float64 (N, H, W, C), whether the input was one (H, W) image)."""
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 2:
        return array[None, :, :, None], True
    if array.ndim == 3:
        return array[..., None], False
    if array.ndim == 4:
        return array, False
    raise ValueError(
        f"{name} must be one image (H, W) or a batch (N, H, W) or (N, H, W, C), got shape "
        f"{array.shape}; reshape flat images first, e.g. x.reshape(-1, 28, 28)"
    )


def restore_layout(nhwc: np.ndarray, ndim: int) -> np.ndarray:
    """(N, H, W, C) results back in the caller's layout, given the input's ``ndim`` (2, 3, 4)."""
    if ndim == 2:
        return nhwc[0, :, :, 0]
    return nhwc[..., 0] if ndim == 3 else nhwc


def same_shape(a, b, function) -> tuple[np.ndarray, np.ndarray, bool]:
    """Both arguments as (N, H, W, C) float64; ValueError naming ``function`` when they differ."""
    a_array, b_array = np.asarray(a), np.asarray(b)
    if a_array.shape != b_array.shape:
        raise ValueError(
            f"{function}: both images must have the same shape, got {a_array.shape} and "
            f"{b_array.shape}"
        )
    a_nhwc, single = as_nhwc(a_array, "a")
    return a_nhwc, as_nhwc(b_array, "b")[0], single
