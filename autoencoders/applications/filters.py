"""Classical denoising baselines: the median and the Gaussian filter, written with NumPy.

Both filter each image's two spatial axes (layouts of ``_images``: (H, W), (N, H, W),
(N, H, W, C), each channel separately) and return the input's layout, in float64.
Borders are extended by mirroring with the edge pixel repeated (d c b a | a b c d), the
default ``mode="reflect"`` of scipy.ndimage, so both agree with scipy.ndimage's
median_filter and gaussian_filter on the interior and at the borders.
"""

from __future__ import annotations

import numpy as np

from ._images import as_nhwc, restore_layout


def _pad(x, radius):
    """x (N, H, W, C) mirrored by ``radius`` pixels on each side of H and W."""
    return np.pad(x, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="symmetric")


def median_filter(images: np.ndarray, size: int = 3) -> np.ndarray:
    """Each pixel replaced by the median of its size x size neighbourhood (size odd, >= 1).

    Removes salt-and-pepper noise well (an isolated 0 or 1 is never the median of 9)
    while keeping edges; 3 x 3 by default, the usual choice for 28 x 28 digits.
    """
    if not isinstance(size, (int, np.integer)) or size < 1 or size % 2 == 0:
        raise ValueError(f"median_filter: size must be an odd positive integer, got {size!r}")
    array = np.asarray(images)
    x, _ = as_nhwc(array)
    windows = np.lib.stride_tricks.sliding_window_view(
        _pad(x, size // 2), (int(size), int(size)), (1, 2)
    )
    filtered = np.median(windows.reshape(*x.shape, size * size), axis=-1)
    return restore_layout(filtered, array.ndim)


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """The 1-D Gaussian of standard deviation ``sigma`` pixels, cut at radius
    int(truncate * sigma + 0.5) (scipy.ndimage's rule), normalised to sum 1: (2 r + 1,)."""
    if not sigma > 0:
        raise ValueError(f"gaussian_filter: sigma must be positive, got {sigma!r}")
    radius = int(truncate * float(sigma) + 0.5)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_filter(images: np.ndarray, sigma: float = 1.0, truncate: float = 4.0) -> np.ndarray:
    """Convolution with a 2-D Gaussian of standard deviation ``sigma`` pixels (separable).

    Default sigma 1.0 pixel: on 28 x 28 digits larger values blur the strokes away.
    """
    kernel = gaussian_kernel(sigma, truncate)
    radius = len(kernel) // 2
    array = np.asarray(images)
    x, _ = as_nhwc(array)
    padded = _pad(x, radius)
    windows = np.lib.stride_tricks.sliding_window_view(padded, len(kernel), axis=1)
    along_h = windows @ kernel  # (N, H, W + 2r, C)
    windows = np.lib.stride_tricks.sliding_window_view(along_h, len(kernel), axis=2)
    return restore_layout(windows @ kernel, array.ndim)
