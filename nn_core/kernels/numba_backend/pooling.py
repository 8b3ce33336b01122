"""2-D max and average pooling and nearest-neighbour upsampling in NHWC (Numba backend).

Same signatures and conventions as the NumPy reference: ``pool_size`` (ph, pw),
``strides`` (sh, sw) and ``padding`` (top, bottom, left, right) are explicit ints;
OH = (H + top + bottom - ph) // sh + 1 (OW alike). Padded cells never count: max pooling
treats them as -inf, average pooling divides by the number of real cells. The kernels
loop over the windows directly instead of building padded copies, parallel over the batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from ._jit import contiguous, jit

if TYPE_CHECKING:
    from collections.abc import Sequence


def _output_hw(height, width, pool_size, strides, padding):
    out_h = (height + padding[0] + padding[1] - pool_size[0]) // strides[0] + 1
    out_w = (width + padding[2] + padding[3] - pool_size[1]) // strides[1] + 1
    return max(out_h, 0), max(out_w, 0)


@jit(parallel=True)
def _max_pool(x, pool_h, pool_w, stride_h, stride_w, top, left, y, argmax):
    height, width = x.shape[1], x.shape[2]
    for n in numba.prange(x.shape[0]):
        for oh in range(y.shape[1]):
            for ow in range(y.shape[2]):
                best = y[n, oh, ow]
                best_index = argmax[n, oh, ow]
                # np.argmax over the window in row-major order, padded cells -inf: the
                # first maximum wins and a NaN beats everything. Channels innermost.
                for i in range(pool_h):
                    row = oh * stride_h + i - top
                    for j in range(pool_w):
                        column = ow * stride_w + j - left
                        inside = 0 <= row < height and 0 <= column < width
                        first = i == 0 and j == 0
                        for c in range(x.shape[3]):
                            value = x[n, row, column, c] if inside else -np.inf
                            if first or value > best[c] or (value != value and best[c] == best[c]):
                                best[c] = value
                                best_index[c] = i * pool_w + j


@jit(parallel=True)
def _max_pool_backward(
    grad_y, argmax, winner_row, winner_column, stride_h, stride_w, top, left, grad_x
):
    # winner_row[k], winner_column[k] = k // pw, k % pw: looked up, not divided (an integer
    # division per element made this kernel 1.4x slower: 1.47 against 1.08 ms for
    # 128x28x28x16, 2x2, 1 thread, together with the zero fill done once instead of twice).
    height, width = grad_x.shape[1], grad_x.shape[2]
    for n in numba.prange(grad_y.shape[0]):
        grad_x[n] = 0
        for oh in range(grad_y.shape[1]):
            window_row = oh * stride_h - top
            for ow in range(grad_y.shape[2]):
                window_column = ow * stride_w - left
                for c in range(grad_y.shape[3]):
                    winner = argmax[n, oh, ow, c]
                    row = window_row + winner_row[winner]
                    column = window_column + winner_column[winner]
                    if 0 <= row < height and 0 <= column < width:
                        grad_x[n, row, column, c] += grad_y[n, oh, ow, c]


@jit(parallel=True)
def _max_pool_backward_tiled(grad_y, argmax, pool_h, pool_w, top, left, grad_x):
    # Windows that tile the input (stride = pool size, top < ph, left < pw): each input
    # cell lies in at most one window, so each is written once, with no zero fill first:
    #   dL/dx[n, oh*ph + i - top, ow*pw + j - left, c]
    #       = dL/dy[n, oh, ow, c] if argmax[n, oh, ow, c] == i*pw + j else 0,
    # and 0 in the rows and columns below and right of the last window. 128x28x28x16, 2x2:
    # 0.54 -> 0.20 ms on 2 threads, 1.08 -> 0.39 ms on 1 (medians of 31 alternating calls).
    height, width, channels = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    covered_h = min(height, grad_y.shape[1] * pool_h - top)
    covered_w = min(width, grad_y.shape[2] * pool_w - left)
    for n in numba.prange(grad_y.shape[0]):
        for oh in range(grad_y.shape[1]):
            for i in range(pool_h):
                row = oh * pool_h + i - top
                if row < 0 or row >= height:
                    continue
                for ow in range(grad_y.shape[2]):
                    grads, winners = grad_y[n, oh, ow], argmax[n, oh, ow]
                    for j in range(pool_w):
                        column = ow * pool_w + j - left
                        if column < 0 or column >= width:
                            continue
                        cell = i * pool_w + j
                        target = grad_x[n, row, column]
                        for c in range(channels):
                            target[c] = grads[c] if winners[c] == cell else 0
        for row in range(covered_h):
            for column in range(covered_w, width):
                grad_x[n, row, column] = 0
        for row in range(covered_h, height):
            grad_x[n, row] = 0


@jit
def _real_count(index, size, stride, pool, before):
    """Number of non-padded cells along one axis in the window of output ``index``."""
    start = index * stride - before
    stop = start + pool
    return min(stop, size) - max(start, 0)


@jit(parallel=True)
def _avg_pool(x, pool_h, pool_w, stride_h, stride_w, top, left, y):
    height, width = x.shape[1], x.shape[2]
    for n in numba.prange(x.shape[0]):
        for oh in range(y.shape[1]):
            rows = _real_count(oh, height, stride_h, pool_h, top)
            for ow in range(y.shape[2]):
                count = rows * _real_count(ow, width, stride_w, pool_w, left)
                for c in range(x.shape[3]):
                    total = x.dtype.type(0)
                    for i in range(pool_h):
                        row = oh * stride_h + i - top
                        if row < 0 or row >= height:
                            continue
                        for j in range(pool_w):
                            column = ow * stride_w + j - left
                            if 0 <= column < width:
                                total += x[n, row, column, c]
                    y[n, oh, ow, c] = total / x.dtype.type(count)


@jit(parallel=True)
def _avg_pool_backward(grad_y, pool_h, pool_w, stride_h, stride_w, top, left, grad_x):
    height, width = grad_x.shape[1], grad_x.shape[2]
    for n in numba.prange(grad_y.shape[0]):
        grad_x[n] = 0
        for oh in range(grad_y.shape[1]):
            rows = _real_count(oh, height, stride_h, pool_h, top)
            for ow in range(grad_y.shape[2]):
                count = grad_y.dtype.type(rows * _real_count(ow, width, stride_w, pool_w, left))
                for i in range(pool_h):
                    row = oh * stride_h + i - top
                    if row < 0 or row >= height:
                        continue
                    for j in range(pool_w):
                        column = ow * stride_w + j - left
                        if 0 <= column < width:
                            for c in range(grad_y.shape[3]):
                                grad_x[n, row, column, c] += grad_y[n, oh, ow, c] / count


@jit(parallel=True)
def _upsample(x, size_h, size_w, y):
    # Each input row is widened once into the first output row of its block (channels
    # innermost), which is then copied into the block's other rows: no integer division
    # per element (128x14x14x16, 2 threads: 0.17 -> 0.13 ms; 128x8x8x8: 0.08 -> 0.06 ms).
    for n in numba.prange(x.shape[0]):
        for h in range(x.shape[1]):
            first = y[n, h * size_h]
            for w in range(x.shape[2]):
                pixel = x[n, h, w]
                for j in range(size_w):
                    target = first[w * size_w + j]
                    for c in range(x.shape[3]):
                        target[c] = pixel[c]
            for i in range(1, size_h):
                y[n, h * size_h + i] = first


@jit(parallel=True)
def _upsample_backward(grad_y, size_h, size_w, grad_x):
    # Block cells outer, channels inner: the channel loops are contiguous and vectorise
    # (3.5x faster than summing each channel's block in turn: 128x28x28x16, 1 thread,
    # 0.33 against 1.17 ms). Each sum adds the block's cells in row-major order, starting
    # from the first cell.
    for n in numba.prange(grad_x.shape[0]):
        for h in range(grad_x.shape[1]):
            for w in range(grad_x.shape[2]):
                total = grad_x[n, h, w]
                first = grad_y[n, h * size_h, w * size_w]
                for c in range(grad_x.shape[3]):
                    total[c] = first[c]
                for i in range(size_h):
                    for j in range(size_w):
                        if i == 0 and j == 0:
                            continue
                        cell = grad_y[n, h * size_h + i, w * size_w + j]
                        for c in range(grad_x.shape[3]):
                            total[c] += cell[c]


def max_pool2d_forward(
    x: np.ndarray, pool_size: Sequence[int], strides: Sequence[int], padding: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """y = max over each window; also the position of the winner.

    x: (N, H, W, C) -> (y, argmax), both (N, OH, OW, C); argmax (int64) is the flat
    row-major index i*pw + j of the maximum inside its ph x pw window. On ties the
    first maximum in that order wins (np.argmax), and only it receives the gradient.
    """
    x = contiguous(x)
    n, height, width, channels = x.shape
    out_h, out_w = _output_hw(height, width, pool_size, strides, padding)
    y = np.empty((n, out_h, out_w, channels), dtype=x.dtype)
    argmax = np.empty(y.shape, dtype=np.int64)
    if y.size:
        _max_pool(x, *pool_size, *strides, padding[0], padding[2], y, argmax)
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
    """
    grad_y = contiguous(grad_y)
    if not grad_y.size:
        return np.zeros(tuple(input_shape), dtype=grad_y.dtype)
    argmax = contiguous(argmax, np.int64)
    grad_x = np.empty(tuple(input_shape), dtype=grad_y.dtype)  # the kernels write every cell
    tiled = (
        tuple(strides) == tuple(pool_size)
        and padding[0] < pool_size[0]
        and padding[2] < pool_size[1]
    )
    if tiled:
        _max_pool_backward_tiled(grad_y, argmax, *pool_size, padding[0], padding[2], grad_x)
        return grad_x
    window = np.arange(pool_size[0] * pool_size[1])
    _max_pool_backward(
        grad_y,
        argmax,
        window // pool_size[1],
        window % pool_size[1],
        *strides,
        padding[0],
        padding[2],
        grad_x,
    )
    return grad_x


def avg_pool2d_forward(
    x: np.ndarray, pool_size: Sequence[int], strides: Sequence[int], padding: Sequence[int]
) -> np.ndarray:
    """y = mean over the real (non-padded) cells of each window.

    x: (N, H, W, C) -> y: (N, OH, OW, C); y = window sum / count of real cells.
    """
    x = contiguous(x)
    n, height, width, channels = x.shape
    out_h, out_w = _output_hw(height, width, pool_size, strides, padding)
    y = np.empty((n, out_h, out_w, channels), dtype=x.dtype)
    if y.size:
        _avg_pool(x, *pool_size, *strides, padding[0], padding[2], y)
    return y


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
    grad_y = contiguous(grad_y)
    grad_x = np.zeros(tuple(input_shape), dtype=grad_y.dtype)
    if grad_y.size:
        _avg_pool_backward(grad_y, *pool_size, *strides, padding[0], padding[2], grad_x)
    return grad_x


def upsample_nearest2d_forward(x: np.ndarray, size_h: int, size_w: int) -> np.ndarray:
    """Repeat each pixel into a size_h x size_w block.

    x: (N, H, W, C) -> y: (N, H*size_h, W*size_w, C), y[n, h, w] = x[n, h // size_h, w // size_w].
    """
    x = contiguous(x)
    n, height, width, channels = x.shape
    y = np.empty((n, height * size_h, width * size_w, channels), dtype=x.dtype)
    if y.size:
        _upsample(x, size_h, size_w, y)
    return y


def upsample_nearest2d_backward(grad_y: np.ndarray, size_h: int, size_w: int) -> np.ndarray:
    """dL/dx = dL/dy summed over each size_h x size_w block.

    grad_y: (N, H*size_h, W*size_w, C) -> grad_x: (N, H, W, C).
    """
    grad_y = contiguous(grad_y)
    n, out_h, out_w, channels = grad_y.shape
    grad_x = np.empty((n, out_h // size_h, out_w // size_w, channels), dtype=grad_y.dtype)
    if grad_x.size:
        _upsample_backward(grad_y, size_h, size_w, grad_x)
    return grad_x
