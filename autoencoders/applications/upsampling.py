"""Resizing by integer factors: nearest and bicubic upsampling, block-average downsampling.

The super-resolution baselines (14 x 14 -> 28 x 28) and the way the low-resolution
inputs are made. Layouts of ``_images``; results in the input's layout, float64.
Pixel centres are aligned as in OpenCV's and PIL's resize (``align_corners=False``):
output pixel o of an upsampling by f sits at input coordinate (o + 0.5) / f - 0.5.
"""

from __future__ import annotations

import numpy as np

from ._images import as_nhwc, restore_layout

KEYS_A = -0.5  # Keys (1981): the only a for which cubic convolution is third-order accurate


def _check_factor(factor, function):
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"{function}: factor must be a positive integer, got {factor!r}")
    return int(factor)


def downsample_mean(images: np.ndarray, factor: int = 2) -> np.ndarray:
    """Each factor x factor block averaged into one pixel: (N, H, W[, C]) -> (N, H/f, W/f[, C])."""
    factor = _check_factor(factor, "downsample_mean")
    array = np.asarray(images)
    x, _ = as_nhwc(array)
    n, height, width, channels = x.shape
    if height % factor or width % factor:
        raise ValueError(
            f"downsample_mean: image size {height} x {width} is not divisible by {factor}"
        )
    blocks = x.reshape(n, height // factor, factor, width // factor, factor, channels)
    return restore_layout(blocks.mean(axis=(2, 4)), array.ndim)


def upsample_nearest(images: np.ndarray, factor: int = 2) -> np.ndarray:
    """Each pixel repeated into a factor x factor block: (.., H, W, ..) -> (.., fH, fW, ..)."""
    factor = _check_factor(factor, "upsample_nearest")
    array = np.asarray(images)
    x, _ = as_nhwc(array)
    return restore_layout(np.repeat(np.repeat(x, factor, axis=1), factor, axis=2), array.ndim)


def keys_kernel(distance: np.ndarray | float, a: float = KEYS_A) -> np.ndarray:
    """Keys' cubic convolution kernel W(d) (IEEE TASSP 1981) at distances d (any shape).

    W(d) = (a + 2)|d|^3 - (a + 3)|d|^2 + 1 for |d| <= 1, a|d|^3 - 5a|d|^2 + 8a|d| - 4a for
    1 < |d| < 2, 0 beyond. a = -0.5 (default) reproduces polynomials up to degree 2.
    """
    d = np.abs(np.asarray(distance, dtype=np.float64))
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def bicubic_matrix(size: int, factor: int, a: float = KEYS_A) -> np.ndarray:
    """The (factor * size, size) matrix M with upsampled row = M @ row, along one axis.

    Four taps per output sample, at input positions floor(s) - 1 .. floor(s) + 2 for the
    input coordinate s. Taps beyond the border use Keys' boundary condition,
    f(-1) = 3 f(0) - 3 f(1) + f(2) (and the same rule once more for f(-2), and mirrored
    at the far end), which extrapolates quadratics exactly: linear ramps and
    quadratics are reproduced everywhere, borders included. Needs size >= 3.
    """
    if size < 3:
        raise ValueError(f"bicubic upsampling needs at least 3 pixels per axis, got {size}")
    # Row p + 2 of ``padded`` writes the padded sample f(p), p = -2 .. size + 1, as a
    # combination of the real samples f(0) .. f(size - 1).
    padded = np.zeros((size + 4, size))
    padded[2 : size + 2] = np.eye(size)
    for inner in (1, 0):  # f(-1) from f(0..2), then f(-2) from f(-1..1)
        padded[inner] = 3 * padded[inner + 1] - 3 * padded[inner + 2] + padded[inner + 3]
    for outer in (size + 2, size + 3):  # f(size), then f(size + 1)
        padded[outer] = 3 * padded[outer - 1] - 3 * padded[outer - 2] + padded[outer - 3]
    coordinates = (np.arange(size * factor) + 0.5) / factor - 0.5
    first = np.floor(coordinates).astype(int) - 1
    matrix = np.zeros((size * factor, size))
    for tap in range(4):
        position = first + tap
        weights = keys_kernel(coordinates - position, a)
        matrix += weights[:, None] * padded[position + 2]
    return matrix


def upsample_bicubic(images: np.ndarray, factor: int = 2, a: float = KEYS_A) -> np.ndarray:
    """Separable cubic-convolution upsampling (Keys 1981, a = -0.5), not clipped.

    (.., H, W, ..) -> (.., factor H, factor W, ..). Like every cubic kernel it overshoots
    near sharp edges, so results can leave [0, 1]: clip them for display or PSNR
    against [0, 1] images (clipping can only bring them closer).
    """
    factor = _check_factor(factor, "upsample_bicubic")
    array = np.asarray(images)
    x, _ = as_nhwc(array)
    rows = bicubic_matrix(x.shape[1], factor, a)
    columns = bicubic_matrix(x.shape[2], factor, a)
    upsampled = np.einsum("ph,nhwc,qw->npqc", rows, x, columns, optimize=True)
    return restore_layout(upsampled, array.ndim)
