"""2-D max and average pooling and nearest-neighbour upsampling, in NHWC.

x: (N, H, W, C). ``pool_size`` (ph, pw), ``strides`` (sh, sw) and ``padding``
(top, bottom, left, right) are explicit ints; ``conv.same_padding`` gives TensorFlow's
"same" padding. Output size OH = (H + top + bottom - ph) // sh + 1 (OW alike).

Padded cells never count, as in TensorFlow: max pooling pads with -inf, average
pooling divides each window's sum by the number of real (non-padded) cells in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    from collections.abc import Sequence


def _windows(x_padded, pool_size, strides):
    """View (N, OH, OW, C, ph, pw) of the pooling windows of a padded batch."""
    windows = sliding_window_view(x_padded, pool_size, axis=(1, 2))
    return windows[:, :: strides[0], :: strides[1]]


def _pad(x, padding, value):
    top, bottom, left, right = padding
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _scatter_windows(grad_at_offset, grad_y, input_shape, pool_size, strides, padding):
    """Adjoint of ``_windows``: add each window cell's gradient back onto the input.

    grad_at_offset(i, j) -> (N, OH, OW, C): the gradient of cell (i, j) of every window;
    grad_y (N, OH, OW, C) gives the output size and dtype. Returns (N, H, W, C), summing
    where windows overlap; padded cells are cut off.
    """
    n, height, width, channels = input_shape
    top, bottom, left, right = padding
    out_h, out_w = grad_y.shape[1:3]
    padded_shape = (n, height + top + bottom, width + left + right, channels)
    grad_padded = np.zeros(padded_shape, dtype=grad_y.dtype)
    for i in range(pool_size[0]):
        rows = slice(i, i + strides[0] * (out_h - 1) + 1, strides[0])
        for j in range(pool_size[1]):
            columns = slice(j, j + strides[1] * (out_w - 1) + 1, strides[1])
            grad_padded[:, rows, columns, :] += grad_at_offset(i, j)
    return grad_padded[:, top : top + height, left : left + width, :]


def max_pool2d_forward(
    x: np.ndarray, pool_size: Sequence[int], strides: Sequence[int], padding: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """y = max over each window; also the position of the winner.

    x: (N, H, W, C) -> (y, argmax), both (N, OH, OW, C); argmax (int64) is the flat
    row-major index i*pw + j of the maximum inside its ph x pw window. On ties the
    first maximum in that order wins (np.argmax), and only it receives the gradient.
    """
    windows = _windows(_pad(x, padding, -np.inf), pool_size, strides)
    flat_windows = windows.reshape(*windows.shape[:4], -1)
    argmax = np.argmax(flat_windows, axis=-1)
    y = np.take_along_axis(flat_windows, argmax[..., None], axis=-1)[..., 0]
    return y, argmax


def max_pool2d_backward(
    grad_y: np.ndarray,
    argmax: np.ndarray,
    input_shape: Sequence[int],
    pool_size: Sequence[int],
    strides: Sequence[int],
    padding: Sequence[int],
) -> np.ndarray:
    """dL/dx: each dL/dy goes to the input cell that won its window (summed over windows).

    grad_y, argmax: (N, OH, OW, C); input_shape: (N, H, W, C) -> grad_x: (N, H, W, C).
    dL/dx[n, h, w, c] = sum of dL/dy[n, oh, ow, c] over the windows whose winner is (h, w).
    """
    pool_w = pool_size[1]

    def winners_grad(i, j):
        return np.where(argmax == i * pool_w + j, grad_y, 0)

    return _scatter_windows(winners_grad, grad_y, input_shape, pool_size, strides, padding)


def _real_cell_counts(input_hw, pool_size, strides, padding, dtype):
    """(OH, OW) number of non-padded cells in each window."""
    ones = np.ones((1, *input_hw, 1), dtype=dtype)
    counts = _windows(_pad(ones, padding, 0), pool_size, strides).sum(axis=(-2, -1))
    return counts[0, :, :, 0]


def avg_pool2d_forward(
    x: np.ndarray, pool_size: Sequence[int], strides: Sequence[int], padding: Sequence[int]
) -> np.ndarray:
    """y = mean over the real (non-padded) cells of each window.

    x: (N, H, W, C) -> y: (N, OH, OW, C); y = window sum / count, count: (OH, OW).
    """
    window_sums = _windows(_pad(x, padding, 0), pool_size, strides).sum(axis=(-2, -1))
    counts = _real_cell_counts(x.shape[1:3], pool_size, strides, padding, x.dtype)
    return window_sums / counts[None, :, :, None]


def avg_pool2d_backward(
    grad_y: np.ndarray,
    input_shape: Sequence[int],
    pool_size: Sequence[int],
    strides: Sequence[int],
    padding: Sequence[int],
) -> np.ndarray:
    """dL/dx[n, h, w, c] = sum over windows containing (h, w) of dL/dy / count(window).

    grad_y: (N, OH, OW, C); input_shape: (N, H, W, C) -> grad_x: (N, H, W, C).
    """
    counts = _real_cell_counts(input_shape[1:3], pool_size, strides, padding, grad_y.dtype)
    share = grad_y / counts[None, :, :, None]
    return _scatter_windows(lambda i, j: share, grad_y, input_shape, pool_size, strides, padding)


def upsample_nearest2d_forward(x: np.ndarray, size_h: int, size_w: int) -> np.ndarray:
    """Repeat each pixel into a size_h x size_w block.

    x: (N, H, W, C) -> y: (N, H*size_h, W*size_w, C), y[n, h, w] = x[n, h // size_h, w // size_w].
    """
    n, height, width, channels = x.shape
    blocks = np.broadcast_to(
        x[:, :, None, :, None, :], (n, height, size_h, width, size_w, channels)
    )
    return blocks.reshape(n, height * size_h, width * size_w, channels)


def upsample_nearest2d_backward(grad_y: np.ndarray, size_h: int, size_w: int) -> np.ndarray:
    """dL/dx = dL/dy summed over each size_h x size_w block.

    grad_y: (N, H*size_h, W*size_w, C) -> grad_x: (N, H, W, C).
    """
    n, out_h, out_w, channels = grad_y.shape
    blocks = grad_y.reshape(n, out_h // size_h, size_h, out_w // size_w, size_w, channels)
    return blocks.sum(axis=(2, 4))
