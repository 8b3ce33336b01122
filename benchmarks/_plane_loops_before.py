"""The plane loops of ``nn_core.kernels.numba_backend.conv_planes`` as they were on
2026-12-04, before the nine-tap register blocking (``conv_nine_taps``) and the
channel-by-channel layout copies: the "before" side of ``benchmarks.levers``'s
``plane-loops`` lever. Same signatures as ``conv_planes._forward`` and
``conv_planes._kernel_gradient``; not used by the library.
"""

from __future__ import annotations

import numba
import numpy as np

from nn_core.kernels.numba_backend._jit import REDUCTION_FASTMATH, chunk_start, jit
from nn_core.kernels.numba_backend.conv_planes import (
    _add_tap_dot_products,
    _add_tap_products,
    _grid_length,
)


@jit
def _to_planes_by_pixel(images, top, left, padded_h, padded_w, planes):
    """planes (C, L) = the G images (G, H, W, C) zero-padded by ``top`` rows above and
    ``left`` columns on the left, one channel per row, stacked on a grid W_pad wide with
    H_pad rows per image (L >= ((G - 1)*H_pad + top + H)*W_pad):
    planes[c, (g*H_pad + top + h)*W_pad + left + w] = images[g, h, w, c], zero elsewhere."""
    planes[:] = 0
    for g in range(images.shape[0]):
        for h in range(images.shape[1]):
            start = (g * padded_h + top + h) * padded_w + left
            for w in range(images.shape[2]):
                for c in range(images.shape[3]):
                    planes[c, start + w] = images[g, h, w, c]


@jit
def _from_planes_by_pixel(planes, padded_h, padded_w, relu, images):
    """images (G, OH, OW, F) = planes (F, L) read on the grid of ``_to_planes``:
    images[g, oh, ow, f] = planes[f, (g*H_pad + oh)*W_pad + ow], max(that, 0) when
    ``relu`` (the fused ReLU, taken as today's copy takes it)."""
    zero = images.dtype.type(0)
    for g in range(images.shape[0]):
        for oh in range(images.shape[1]):
            start = (g * padded_h + oh) * padded_w
            for ow in range(images.shape[2]):
                for f in range(images.shape[3]):
                    value = planes[f, start + ow]
                    if relu and not (value > 0 or value != value):
                        value = zero
                    images[g, oh, ow, f] = value


@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def forward_three_taps(x, weights, bias, offsets, top, left, padded_h, padded_w, per_grid, relu, z):
    """z (N, OH, OW, F) = conv of x (N, H, W, C), stride 1, padded by ``top`` and ``left``
    (and as much below and on the right as the padded size H_pad x W_pad needs), with
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
        _to_planes_by_pixel(x[first:stop], top, left, padded_h, padded_w, planes)
        for f in range(filters):
            out[f] = bias[f]
            for c in range(channels):
                _add_tap_products(out[f], planes[c], offsets, weights[f, c])
        _from_planes_by_pixel(out, padded_h, padded_w, relu, z[first:stop])


@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def kernel_gradient_three_taps(
    x, grad_z, offsets, top, left, padded_h, padded_w, per_grid, partial
):
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
            _to_planes_by_pixel(x[first:stop], top, left, padded_h, padded_w, planes)
            _to_planes_by_pixel(grad_z[first:stop], 0, 0, padded_h, padded_w, grad_planes)
            for f in range(filters):
                values = grad_planes[f, :length]
                for c in range(channels):
                    _add_tap_dot_products(grads[f, c], planes[c], offsets, values)
