"""Stride-1 convolutions with few channels and few filters, one channel plane at a time
(Numba backend).

A small image autoencoder has 1 to 16 channels and filters per layer (28x28x1 -> 16,
14x14x16 -> 8, 16x16x8 -> 16, 28x28x16 -> 1 in the Keras-blog model). In NHWC those are
the innermost axes, too short for the vector units: the direct loops of conv.py, whose
innermost loop runs over 1 to 16 values, reach 7 to 15 GFLOP/s on one core, and
im2col + BLAS spends its time copying the 9x larger patch matrix and in a product only
1 to 16 columns wide.

Here each image is first copied into one flat plane per channel, zero-padded, in a scratch
array that stays in cache (H_pad and W_pad are the padded height and width):

    planes[c, h*W_pad + w] = x_pad[n, h, w, c]

On that grid, kernel tap (i, j) shifts the whole plane by the constant offset
i*W_pad + j. Computing the output on the padded-width grid too (p = oh*W_pad + ow, with
W_pad - OW unused columns at the end of each row), each tap is one long element-wise
product of contiguous vectors, which LLVM vectorises:

    out[f, p] = bias[f] + sum_{c, i, j} kernel[i, j, c, f] * planes[c, p + i*W_pad + j]
    z[n, oh, ow, f] = out[f, oh*W_pad + ow]                          (ow < OW)

For ow < OW, p + i*W_pad + j stays inside padded row oh + i, so the unused columns never
leak into the result; each plane has kw - 1 zeros more at its end for the last row's
unused columns to read. The kernel gradient is the same shifted product, summed over p:

    dW[i, j, c, f] = sum_{n, p} planes[c, p + i*W_pad + j] * grad_planes[f, p]

with grad_planes[f, p] = dL/dz[n, oh, ow, f] and zero in the unused columns. The
backward-input map of a stride-1 convolution is itself a stride-1 convolution (of dL/dz
with the flipped kernel), so it uses ``forward`` (see ``conv.py``).

Small maps give short loops (63 values for a 7x7 "same" map), whose set-up then costs as
much as the arithmetic. So G images are stacked into one grid, image g's padded rows
below image g-1's (planes[c, (g*H_pad + h)*W_pad + w] = x_pad[n0 + g, h, w, c]), and the
products run over all of them at once: the kh - 1 output rows between two images are
computed and dropped, like the unused columns. G is chosen so that a grid's planes and
outputs take about GRID_BYTES (``_images_per_grid``).

On one core the shifted products run at 34 to 50 GFLOP/s alone (a third to a half of the
GEMM peak; a pass over three taps loads four values and stores one per three
multiply-adds); for nine-tap kernels ``conv_nine_taps`` loads each shifted value once for
several filters and reaches 70 to 82 GFLOP/s. A whole map reaches 29 to 54 GFLOP/s of
useful work on one core (28x28x1 -> 16 and 14x14x16 -> 8 forward, batch 128): the
layout costs the unused columns ((W_pad - OW) / OW of extra work: 7% for a 28x28 "same"
map, 14% for 14x14, 29% for 7x7; the rows between stacked images add (kh - 1) / OH) and
two copies per image, against the GEMM path's patch matrix 9x the input. See
``conv._strategy`` for where they win.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from . import conv_nine_taps
from ._jit import REDUCTION_CHUNKS, REDUCTION_FASTMATH, chunk_start, jit
from .conv_nine_taps import shifted

if TYPE_CHECKING:
    from collections.abc import Sequence

# Images are stacked into one grid until its C input and F output planes take about this
# many bytes. Batch 128, float32, conv_strategies' seven layers with the plane loops on
# all of them, 2 threads / 1 thread, milliseconds for the 21 maps: one image per grid
# 11.50 / 22.34, 16 KB 11.06 / 21.79, 32 KB 10.91 / 21.52, 64 KB 10.64 / 21.21 (7x7x8 ->
# 8 forward 0.26 -> 0.17 ms on 2 threads, 4x4x8 -> 8 0.15 -> 0.09). Grids of 4 stacked
# 14x14 or 16x16 images (98 KB) made those maps up to 1.5x slower (16x16x8 -> 16 kernel
# gradient, 1 thread: 1.80 -> 2.65 ms).
GRID_BYTES = 64 * 1024


def _images_per_grid(padded_h, padded_w, channels, filters, itemsize):
    """How many padded H_pad x W_pad images of C channels and F filters share one grid:
    as many as fit in GRID_BYTES, at least one."""
    return max(1, GRID_BYTES // (padded_h * padded_w * (channels + filters) * itemsize))


def applies(kernel_shape: Sequence[int], strides: Sequence[int], padding: Sequence[int]) -> bool:
    """True when these kernels can compute this convolution: stride 1 and no padding as
    wide as the kernel (so that the flipped convolution of the backward-input map needs
    no negative padding). Whether they are the fastest way is ``conv._strategy``'s call."""
    kernel_h, kernel_w = kernel_shape[:2]
    top, bottom, left, right = padding
    return tuple(strides) == (1, 1) and max(top, bottom) < kernel_h and max(left, right) < kernel_w


# ---------------------------------------------------------------------- layouts
@jit
def _to_planes(images, top, left, padded_h, padded_w, planes):
    """planes (C, L) = the G images (G, H, W, C) zero-padded by ``top`` rows above and
    ``left`` columns on the left, one channel per row, stacked on a grid W_pad wide with
    H_pad rows per image (L >= ((G - 1)*H_pad + top + H)*W_pad):
    planes[c, (g*H_pad + top + h)*W_pad + left + w] = images[g, h, w, c], zero elsewhere.

    Pixel by pixel, reading each image once in order; a single channel row by row
    (contiguous on both sides: 0.07 against 0.17 ms for 128 28x28x1 images). Channel by
    channel was up to 2x slower for 8 and 16 channels (strided reads)."""
    planes[:] = 0
    channels, width = images.shape[3], images.shape[2]
    for g in range(images.shape[0]):
        for h in range(images.shape[1]):
            start = (g * padded_h + top + h) * padded_w + left
            if channels == 1:
                planes[0, start : start + width] = images[g, h, :, 0]
                continue
            for w in range(width):
                for c in range(channels):
                    planes[c, start + w] = images[g, h, w, c]


@jit
def _from_planes(planes, padded_h, padded_w, relu, images):
    """images (G, OH, OW, F) = planes (F, L) read on the grid of ``_to_planes``:
    images[g, oh, ow, f] = planes[f, (g*H_pad + oh)*W_pad + ow], or max(that, 0) when
    ``relu`` (as np.maximum: NaN stays NaN, -0.0 becomes 0.0); a single filter row by
    row, as in ``_to_planes``."""
    filters, width = images.shape[3], images.shape[2]
    for g in range(images.shape[0]):
        for oh in range(images.shape[1]):
            start = (g * padded_h + oh) * padded_w
            if filters == 1 and not relu:
                images[g, oh, :, 0] = planes[0, start : start + width]
                continue
            zero = images.dtype.type(0)
            for ow in range(width):
                for f in range(filters):
                    value = planes[f, start + ow]
                    if relu and not (value > 0 or value != value):
                        value = zero
                    images[g, oh, ow, f] = value


# ---------------------------------------------------------------------- shifted products
@jit(fastmath=REDUCTION_FASTMATH)
def _add_tap_products(out, plane, offsets, weights):
    """out[p] += sum_t weights[t] * plane[offsets[t] + p], for p < len(out), t < len(weights).

    Three taps per pass over out, which saves two thirds of its loads and stores."""
    length = out.shape[0]
    t = 0
    while t + 3 <= weights.shape[0]:
        first = shifted(plane, offsets[t], length)
        second = shifted(plane, offsets[t + 1], length)
        third = shifted(plane, offsets[t + 2], length)
        w1, w2, w3 = weights[t], weights[t + 1], weights[t + 2]
        for p in range(length):
            out[p] += w1 * first[p] + w2 * second[p] + w3 * third[p]
        t += 3
    while t < weights.shape[0]:
        tap = shifted(plane, offsets[t], length)
        weight = weights[t]
        for p in range(length):
            out[p] += weight * tap[p]
        t += 1


@jit(fastmath=REDUCTION_FASTMATH)
def _add_tap_dot_products(grads, plane, offsets, values):
    """grads[t] += sum_p plane[offsets[t] + p] * values[p], for t < len(grads),
    p < len(values). Three taps per pass, so that each value is loaded once for three."""
    length = values.shape[0]
    t = 0
    while t + 3 <= grads.shape[0]:
        first = shifted(plane, offsets[t], length)
        second = shifted(plane, offsets[t + 1], length)
        third = shifted(plane, offsets[t + 2], length)
        sum1 = sum2 = sum3 = grads.dtype.type(0)
        for p in range(length):
            value = values[p]
            sum1 += first[p] * value
            sum2 += second[p] * value
            sum3 += third[p] * value
        grads[t] += sum1
        grads[t + 1] += sum2
        grads[t + 2] += sum3
        t += 3
    while t < grads.shape[0]:
        tap = shifted(plane, offsets[t], length)
        total = grads.dtype.type(0)
        for p in range(length):
            total += tap[p] * values[p]
        grads[t] += total
        t += 1


@jit(fastmath=REDUCTION_FASTMATH)
def _add_all_products(out, planes, offsets, weights):
    """out[f, p] += sum_{c, t} weights[f, c, t] * planes[c, offsets[t] + p] for out (F, L),
    planes (C, >= L + offsets[-1]), weights (F, C, taps). Nine-tap kernels go four filters
    at a time through ``conv_nine_taps`` (each shifted value loaded once for four
    filters), other kernels three taps at a time through ``_add_tap_products``."""
    filters, channels = weights.shape[0], weights.shape[1]
    if weights.shape[2] != conv_nine_taps.NINE_TAPS:
        for f in range(filters):
            for c in range(channels):
                _add_tap_products(out[f], planes[c], offsets, weights[f, c])
        return
    f = 0
    while f + 4 <= filters:
        for c in range(channels):
            conv_nine_taps.add_products_four_filters(
                out[f : f + 4], planes[c], offsets, weights[f : f + 4, c]
            )
        f += 4
    while f < filters:
        for c in range(channels):
            conv_nine_taps.add_products(out[f], planes[c], offsets, weights[f, c])
        f += 1


@jit(fastmath=REDUCTION_FASTMATH)
def _add_all_dot_products(grads, planes, offsets, grad_planes, length):
    """grads[f, c, t] += sum_{p < length} planes[c, offsets[t] + p] * grad_planes[f, p]
    for grads (F, C, taps). Nine-tap kernels go two filters at a time through
    ``conv_nine_taps`` (18 sums in registers), other kernels three taps at a time."""
    filters, channels = grads.shape[0], grads.shape[1]
    if grads.shape[2] != conv_nine_taps.NINE_TAPS:
        for f in range(filters):
            values = grad_planes[f, :length]
            for c in range(channels):
                _add_tap_dot_products(grads[f, c], planes[c], offsets, values)
        return
    f = 0
    while f + 2 <= filters:
        for c in range(channels):
            conv_nine_taps.add_dot_products_two_filters(
                grads[f : f + 2, c], planes[c], offsets, grad_planes[f : f + 2], length
            )
        f += 2
    if f < filters:
        for c in range(channels):
            conv_nine_taps.add_dot_products(grads[f, c], planes[c], offsets, grad_planes[f], length)


# ---------------------------------------------------------------------- forward
@jit
def _grid_length(images, padded_h, padded_w, out_h):
    """Values of the output grid of ``images`` stacked images: up to the last one's OH rows."""
    return ((images - 1) * padded_h + out_h) * padded_w


@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def _forward(x, weights, bias, offsets, top, left, padded_h, padded_w, per_grid, relu, z):
    """z (N, OH, OW, F) = conv of x (N, H, W, C), stride 1, padded by ``top`` and ``left``
    (and as much below and on the right as the padded size H_pad x W_pad needs), then
    max(z, 0) when ``relu``, with
    weights (F, C, kh*kw) = kernel[i, j, c, f] at [f, c, i*kw + j] and offsets (kh*kw,) =
    i*W_pad + j; ``per_grid`` images stacked on each grid. A grid of G images needs
    planes of G*H_pad*W_pad + kw - 1 values: the output grid's last value plus
    offsets[-1]."""
    batch, channels, filters = x.shape[0], x.shape[3], z.shape[3]
    kernel_w = offsets[-1] % padded_w + 1  # offsets[-1] = (kh - 1)*W_pad + kw - 1
    for grid in numba.prange((batch + per_grid - 1) // per_grid):
        first, stop = grid * per_grid, min(batch, (grid + 1) * per_grid)
        length = _grid_length(stop - first, padded_h, padded_w, z.shape[1])
        planes = np.empty(
            (channels, (stop - first) * padded_h * padded_w + kernel_w - 1), dtype=z.dtype
        )
        out = np.empty((filters, length), dtype=z.dtype)
        _to_planes(x[first:stop], top, left, padded_h, padded_w, planes)
        for f in range(filters):
            out[f] = bias[f]
        _add_all_products(out, planes, offsets, weights)
        _from_planes(out, padded_h, padded_w, relu, z[first:stop])


# ---------------------------------------------------------------------- kernel gradient
@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def _kernel_gradient(x, grad_z, offsets, top, left, padded_h, padded_w, per_grid, partial):
    """partial[k] (F, C, kh*kw) = the kernel gradient of chunk k of the batch, for x
    (N, H, W, C) and grad_z (N, OH, OW, F) stacked ``per_grid`` images at a time as in
    ``_forward``:
    partial[k, f, c, i*kw + j] = sum_{grids of chunk k, p} planes[c, p + i*W_pad + j]
                                                           * grad_planes[f, p]."""
    chunks, filters, channels = partial.shape[0], partial.shape[1], partial.shape[2]
    batch = x.shape[0]
    kernel_w = offsets[-1] % padded_w + 1  # offsets[-1] = (kh - 1)*W_pad + kw - 1
    for chunk in numba.prange(chunks):
        grads = partial[chunk]
        grads[:] = 0
        grid_size = per_grid * padded_h * padded_w
        planes = np.empty((channels, grid_size + kernel_w - 1), dtype=x.dtype)
        # (_to_planes leaves the unused columns and rows zero: they add nothing to the sums)
        grad_planes = np.empty((filters, grid_size), dtype=x.dtype)
        chunk_stop = chunk_start(batch, chunks, chunk + 1)
        for first in range(chunk_start(batch, chunks, chunk), chunk_stop, per_grid):
            stop = min(chunk_stop, first + per_grid)
            length = _grid_length(stop - first, padded_h, padded_w, grad_z.shape[1])
            _to_planes(x[first:stop], top, left, padded_h, padded_w, planes)
            _to_planes(grad_z[first:stop], 0, 0, padded_h, padded_w, grad_planes)
            _add_all_dot_products(grads, planes, offsets, grad_planes, length)


@jit
def _sum_chunks_to_kernel_layout(partial, out):
    """out[i, j, c, f] = partial[0, f, c, i*kw + j] + partial[1, f, c, i*kw + j] + ...,
    added in chunk order; partial (chunks, F, C, kh*kw), out (kh, kw, C, F)."""
    kernel_w = out.shape[1]
    out[:] = 0
    for k in range(partial.shape[0]):
        for f in range(partial.shape[1]):
            for c in range(partial.shape[2]):
                for t in range(partial.shape[3]):
                    out[t // kernel_w, t % kernel_w, c, f] += partial[k, f, c, t]


# ---------------------------------------------------------------------- public
def _geometry(x_shape, kernel_shape, padding, itemsize):
    """The grid of a stride-1 conv of x (N, H, W, C) with this kernel (kh, kw, C, F) and
    padding: (OH, OW, H_pad, W_pad, offsets, per_grid), offsets (kh*kw,) int64 =
    i*W_pad + j, per_grid the images stacked on one grid (``_images_per_grid``)."""
    kernel_h, kernel_w, channels, filters = kernel_shape
    top, bottom, left, right = padding
    padded_h, padded_w = x_shape[1] + top + bottom, x_shape[2] + left + right
    offsets = (np.arange(kernel_h)[:, None] * padded_w + np.arange(kernel_w)).reshape(-1)
    per_grid = _images_per_grid(padded_h, padded_w, channels, filters, itemsize)
    return (
        padded_h - kernel_h + 1,
        padded_w - kernel_w + 1,
        padded_h,
        padded_w,
        offsets.astype(np.int64),
        per_grid,
    )


def forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    padding: Sequence[int],
    relu: bool = False,
) -> np.ndarray:
    """z = conv2d(x, kernel) + bias at stride 1, for ``applies`` convolutions; max(z, 0)
    when ``relu``.

    x: (N, H, W, C) C-contiguous, kernel: (kh, kw, C, F) of its dtype, bias: (F,) or
    None, padding: (top, bottom, left, right) -> z: (N, OH, OW, F).
    """
    kernel_h, kernel_w, channels, filters = kernel.shape
    out_h, out_w, padded_h, padded_w, offsets, per_grid = _geometry(
        x.shape, kernel.shape, padding, x.itemsize
    )
    z = np.empty((x.shape[0], out_h, out_w, filters), dtype=x.dtype)
    if z.size == 0:
        return z
    weights = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1).reshape(filters, channels, -1))
    bias = np.zeros(filters, x.dtype) if bias is None else np.ascontiguousarray(bias, x.dtype)
    multiply_adds = z.size * kernel_h * kernel_w * channels
    _forward(
        x,
        weights,
        bias,
        offsets,
        padding[0],
        padding[2],
        padded_h,
        padded_w,
        per_grid,
        relu,
        z,
        work=multiply_adds,
    )
    return z


def kernel_gradient(
    x: np.ndarray, grad_z: np.ndarray, kernel_shape: Sequence[int], padding: Sequence[int]
) -> np.ndarray:
    """dL/dkernel (kh, kw, C, F) of a stride-1 ``applies`` convolution.

    x: (N, H, W, C), grad_z: (N, OH, OW, F), both C-contiguous of one dtype,
    padding: (top, bottom, left, right). The batch is cut into REDUCTION_CHUNKS fixed
    chunks whose sums are added in order, so the result does not depend on the thread
    count.
    """
    kernel_h, kernel_w, channels, filters = kernel_shape
    grad_kernel = np.empty(kernel_shape, dtype=x.dtype)
    if grad_z.size == 0:
        grad_kernel[...] = 0
        return grad_kernel
    _, _, padded_h, padded_w, offsets, per_grid = _geometry(
        x.shape, kernel_shape, padding, x.itemsize
    )
    chunks = max(1, min(REDUCTION_CHUNKS, x.shape[0]))
    partial = np.empty((chunks, filters, channels, kernel_h * kernel_w), dtype=x.dtype)
    multiply_adds = grad_z.size * kernel_h * kernel_w * channels
    _kernel_gradient(
        x,
        grad_z,
        offsets,
        padding[0],
        padding[2],
        padded_h,
        padded_w,
        per_grid,
        partial,
        work=multiply_adds,
    )
    _sum_chunks_to_kernel_layout(partial, grad_kernel)
    return grad_kernel
