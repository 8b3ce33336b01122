"""Stride-1 convolutions with one input channel or one filter, a whole image row at a time
(Numba backend).

The first and the last layer of an image autoencoder are such convolutions (28x28x1 -> 16
and 28x28x16 -> 1 in the Keras-blog model). Their short axis (one channel, or one filter)
leaves the per-pixel loops of conv.py an innermost loop of 16 values or fewer, too short
to vectorise well, and turns the im2col product into a thin, memory-bound matrix product.

Here the vectorised loops run along a whole output row instead. Write S for the other
channel count (F filters when there is one input channel, C channels when there is one
filter) and read one output row of one image as a flat vector of OW*S values, index
q = ow*S + s. In NHWC, the input values that kernel tap (i, j) multiplies into that row
are one contiguous run of the padded input row oh + i, starting at j*S. So every
multiply-add of the convolution becomes part of an element-wise product of two
contiguous vectors OW*S long (448 values for 28x28 and S = 16):

one filter (F = 1, S = C), with tiled[i, j, ow*C + c] = kernel[i, j, c, 0]:
    acc[q]        = sum_{i, j} x_pad[n, oh + i, j*C + q] * tiled[i, j, q]
    z[n, oh, ow]  = bias + sum_c acc[ow*C + c]

one channel (C = 1, S = F), with tiled[i, j, ow*F + f] = kernel[i, j, 0, f] and the padded
image's values each repeated F times, wide[h, w*F + f] = x_pad[n, h, w]:
    z[n, oh, q]   = bias[q % F] + sum_{i, j} wide[oh + i, j*F + q] * tiled[i, j, q]

and the kernel gradients the same way, as sums of row products over the batch:

one filter:  dW[i, j, c, 0] = sum_{n, oh, ow} x_pad[n, oh + i, j*C + ow*C + c] * dz[n, oh, ow]
one channel: dW[i, j, 0, f] = sum_{n, oh, ow} wide[oh + i, j*F + ow*F + f] * dz[n, oh, ow, f]

The backward-input map of a stride-1 convolution is itself a stride-1 convolution (of dL/dz
with the flipped kernel), so it uses the same two forward kernels (see ``conv.py``).

Measured with ``python -m benchmarks.conv_strategies`` (batch 128, 3x3 same, best of 3),
1 thread / 2 threads, against the best of the other two algorithms: 28x28x1 -> 16 forward
1.36 / 0.74 ms against 2.94 / 1.68, kernel gradient 1.63 / 0.73 against 2.51 / 1.68;
28x28x16 -> 1 forward 1.85 / 0.86 against 3.95 / 1.97, backward-input 1.55 / 0.71
against 3.80 / 1.69, kernel gradient 2.01 / 0.92 against 3.14 / 1.63.
"""

from __future__ import annotations

import numba
import numpy as np

from ._jit import REDUCTION_CHUNKS, REDUCTION_FASTMATH, chunk_start, jit


def applies(kernel_shape, strides, padding):
    """True when these kernels compute this convolution: stride 1, one input channel or
    one filter, and no padding as wide as the kernel (so that the flipped convolution of
    the backward-input map needs no negative padding)."""
    kernel_h, kernel_w, channels, filters = kernel_shape
    top, bottom, left, right = padding
    return (
        tuple(strides) == (1, 1)
        and (channels == 1 or filters == 1)
        and max(top, bottom) < kernel_h
        and max(left, right) < kernel_w
    )


# ---------------------------------------------------------------------- row products
@jit
def _tap_run(row, j, lanes, length):
    """row[j*lanes : j*lanes + length]: the input values that tap j multiplies into an
    output row of ``length`` values. A slice, so that the loops over it index from 0:
    an index computed as j*lanes + q inside the loop kept LLVM from vectorising it
    (Numba's negative-index check), 4x slower."""
    return row[j * lanes : j * lanes + length]


@jit(fastmath=REDUCTION_FASTMATH)
def _add_window_products(out, row, lanes, weights):
    """out[q] += sum_j row[j*lanes + q] * weights[j, q], for q < len(out), j < len(weights).

    Three taps per pass over out (a whole 3-wide kernel row in one pass), which saves two
    thirds of the loads and stores of out.
    """
    length = out.shape[0]
    j = 0
    while j + 3 <= weights.shape[0]:
        first = _tap_run(row, j, lanes, length)
        second = _tap_run(row, j + 1, lanes, length)
        third = _tap_run(row, j + 2, lanes, length)
        w1, w2, w3 = weights[j], weights[j + 1], weights[j + 2]
        for q in range(length):
            out[q] += first[q] * w1[q] + second[q] * w2[q] + third[q] * w3[q]
        j += 3
    while j < weights.shape[0]:
        shifted = _tap_run(row, j, lanes, length)
        w = weights[j]
        for q in range(length):
            out[q] += shifted[q] * w[q]
        j += 1


@jit(fastmath=REDUCTION_FASTMATH)
def _add_tap_gradients(grads, row, lanes, values):
    """grads[j, q] += row[j*lanes + q] * values[q], for j < len(grads), q < len(values).

    Three taps per pass, as ``_add_window_products``: each value is loaded once for three."""
    length = values.shape[0]
    j = 0
    while j + 3 <= grads.shape[0]:
        first = _tap_run(row, j, lanes, length)
        second = _tap_run(row, j + 1, lanes, length)
        third = _tap_run(row, j + 2, lanes, length)
        g1, g2, g3 = grads[j], grads[j + 1], grads[j + 2]
        for q in range(length):
            value = values[q]
            g1[q] += first[q] * value
            g2[q] += second[q] * value
            g3[q] += third[q] * value
        j += 3
    while j < grads.shape[0]:
        shifted = _tap_run(row, j, lanes, length)
        target = grads[j]
        for q in range(length):
            target[q] += shifted[q] * values[q]
        j += 1


@jit
def _repeat_each(values, times, out):
    """out[k*times + t] = values[k]: each value repeated ``times`` times."""
    for k in range(values.shape[0]):
        value = values[k]
        for t in range(times):
            out[k * times + t] = value


@jit
def _pad_image(image, top, left, lanes, padded):
    """padded (H_pad, W_pad*S) = image (H, W*S) zero-padded by ``top`` rows above and
    ``left`` pixels on the left (the rest of the border below and on the right).

    One image at a time into a scratch array that stays in cache: np.pad of the whole
    batch (a fresh 7.4 MB array for 28x28x16, batch 128, filled twice) took about 2.5 ms
    of each conv-autoencoder training step (cProfile, 2 threads)."""
    padded[:] = 0
    first = left * lanes
    for h in range(image.shape[0]):
        padded[top + h, first : first + image.shape[1]] = image[h]


@jit
def _pad_and_widen_image(image, top, left, lanes, wide):
    """wide (H_pad, W_pad*lanes) = image (H, W) of one channel, zero-padded as in
    ``_pad_image``, with each value repeated ``lanes`` times:
    wide[top + h, (left + w)*lanes + s] = image[h, w] for every s < lanes."""
    wide[:] = 0
    first = left * lanes
    for h in range(image.shape[0]):
        _repeat_each(image[h], lanes, wide[top + h, first : first + image.shape[1] * lanes])


# ---------------------------------------------------------------------- forward
@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def _forward_one_channel(x, tiled, tiled_bias, lanes, top, left, padded_w, z):
    """z (N, OH, OW*F) = conv of x (N, H, W), one channel, stride 1, padded by ``top``
    and ``left`` (and as much below and on the right as OH and OW need, padded width
    ``padded_w``), with tiled (kh, kw, OW*F) = kernel[i, j, 0, q % F], tiled_bias
    (OW*F,) = bias[q % F], lanes = F."""
    kernel_h = tiled.shape[0]
    padded_h = z.shape[1] + kernel_h - 1
    for n in numba.prange(z.shape[0]):
        wide = np.empty((padded_h, padded_w * lanes), dtype=z.dtype)
        _pad_and_widen_image(x[n], top, left, lanes, wide)
        for oh in range(z.shape[1]):
            out = z[n, oh]
            out[:] = tiled_bias
            for i in range(kernel_h):
                _add_window_products(out, wide[oh + i], lanes, tiled[i])


@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def _forward_one_filter(x, tiled, bias, lanes, top, left, padded_w, z):
    """z (N, OH, OW) = conv of x (N, H, W*C), one filter, stride 1, padded as in
    ``_forward_one_channel``, with tiled (kh, kw, OW*C) = kernel[i, j, q % C, 0],
    bias (1,), lanes = C."""
    kernel_h = tiled.shape[0]
    padded_h = z.shape[1] + kernel_h - 1
    for n in numba.prange(z.shape[0]):
        padded = np.empty((padded_h, padded_w * lanes), dtype=z.dtype)
        _pad_image(x[n], top, left, lanes, padded)
        acc = np.empty(tiled.shape[2], dtype=z.dtype)
        for oh in range(z.shape[1]):
            acc[:] = 0
            for i in range(kernel_h):
                _add_window_products(acc, padded[oh + i], lanes, tiled[i])
            for ow in range(z.shape[2]):
                total = bias[0]
                for c in range(lanes):
                    total += acc[ow * lanes + c]
                z[n, oh, ow] = total


def _tiled_kernel(kernel, out_w):
    """(kh, kw, OW*S): the kernel's S values of each tap repeated OW times, S = the
    channel count that is not 1."""
    kernel_h, kernel_w = kernel.shape[:2]
    return np.ascontiguousarray(np.tile(kernel.reshape(kernel_h, kernel_w, -1), (1, 1, out_w)))


def _padded_geometry(x_shape, kernel_shape, padding):
    """(OH, OW, W_pad) of a stride-1 conv of x (N, H, W, C) with this padding."""
    top, bottom, left, right = padding
    padded_w = x_shape[2] + left + right
    return x_shape[1] + top + bottom - kernel_shape[0] + 1, padded_w - kernel_shape[1] + 1, padded_w


def forward(x, kernel, bias, padding):
    """z = conv2d(x, kernel) + bias at stride 1, for ``applies`` convolutions.

    x: (N, H, W, C) C-contiguous, kernel: (kh, kw, C, F) of its dtype, C or F = 1,
    bias: (F,) or None, padding: (top, bottom, left, right) -> z: (N, OH, OW, F).
    """
    kernel_h, kernel_w, channels, filters = kernel.shape
    n, height, width = x.shape[:3]
    out_h, out_w, padded_w = _padded_geometry(x.shape, kernel.shape, padding)
    top, left = padding[0], padding[2]
    tiled = _tiled_kernel(kernel, out_w)
    multiply_adds = n * out_h * out_w * kernel_h * kernel_w * channels * filters
    dtype = x.dtype
    bias = np.zeros(filters, dtype) if bias is None else np.ascontiguousarray(bias, dtype)
    if channels == 1:
        z = np.empty((n, out_h, out_w * filters), dtype=dtype)
        if z.size:
            rows = x.reshape(n, height, width)
            tiled_bias = np.tile(bias, out_w)
            _forward_one_channel(
                rows, tiled, tiled_bias, filters, top, left, padded_w, z, work=multiply_adds
            )
        return z.reshape(n, out_h, out_w, filters)
    z = np.empty((n, out_h, out_w), dtype=dtype)
    if z.size:
        rows = x.reshape(n, height, width * channels)
        _forward_one_filter(rows, tiled, bias, channels, top, left, padded_w, z, work=multiply_adds)
    return z.reshape(n, out_h, out_w, 1)


# ---------------------------------------------------------------------- kernel gradient
@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def _kernel_gradient_one_channel(x, grad_z, lanes, top, left, padded_w, partial):
    """partial[k] (kh, kw, OW*F) = row products of chunk k of the batch, for x (N, H, W)
    with one channel padded as in ``_forward_one_channel``, grad_z (N, OH, OW*F) and
    lanes = F:
    partial[k, i, j, q] = sum_{n in chunk k, oh} wide[oh + i, j*F + q] * grad_z[n, oh, q]."""
    chunks, kernel_h = partial.shape[0], partial.shape[1]
    batch, padded_h = grad_z.shape[0], grad_z.shape[1] + kernel_h - 1
    for chunk in numba.prange(chunks):
        grads = partial[chunk]
        grads[:] = 0
        wide = np.empty((padded_h, padded_w * lanes), dtype=grad_z.dtype)
        for n in range(chunk_start(batch, chunks, chunk), chunk_start(batch, chunks, chunk + 1)):
            _pad_and_widen_image(x[n], top, left, lanes, wide)
            for oh in range(grad_z.shape[1]):
                for i in range(kernel_h):
                    _add_tap_gradients(grads[i], wide[oh + i], lanes, grad_z[n, oh])


@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def _kernel_gradient_one_filter(x, grad_z, lanes, top, left, padded_w, partial):
    """partial[k] (kh, kw, OW*C) = row products of chunk k of the batch, for x
    (N, H, W*C) padded as in ``_forward_one_filter``, grad_z (N, OH, OW) of one filter
    and lanes = C:
    partial[k, i, j, q] = sum_{n in chunk k, oh} x_pad[n, oh + i, j*C + q]
                                                * grad_z[n, oh, q // C]."""
    chunks, kernel_h = partial.shape[0], partial.shape[1]
    batch, padded_h = grad_z.shape[0], grad_z.shape[1] + kernel_h - 1
    for chunk in numba.prange(chunks):
        grads = partial[chunk]
        grads[:] = 0
        padded = np.empty((padded_h, padded_w * lanes), dtype=grad_z.dtype)
        wide_grad = np.empty(partial.shape[3], dtype=grad_z.dtype)
        for n in range(chunk_start(batch, chunks, chunk), chunk_start(batch, chunks, chunk + 1)):
            _pad_image(x[n], top, left, lanes, padded)
            for oh in range(grad_z.shape[1]):
                _repeat_each(grad_z[n, oh], lanes, wide_grad)
                for i in range(kernel_h):
                    _add_tap_gradients(grads[i], padded[oh + i], lanes, wide_grad)


@jit
def _sum_over_chunks_and_columns(partial, out):
    """out[i, j, s] = sum over chunks k, then columns ow, of partial[k, i, j, ow*S + s],
    in that fixed order; partial (chunks, kh, kw, OW*S), out (kh, kw, S)."""
    lanes = out.shape[2]
    out[:] = 0
    for k in range(partial.shape[0]):
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                for q in range(partial.shape[3]):
                    out[i, j, q % lanes] += partial[k, i, j, q]


def kernel_gradient(x, grad_z, kernel_shape, padding):
    """dL/dkernel (kh, kw, C, F) of a stride-1 ``applies`` convolution.

    x: (N, H, W, C), grad_z: (N, OH, OW, F), both C-contiguous of one dtype,
    padding: (top, bottom, left, right). The batch is cut into REDUCTION_CHUNKS fixed
    chunks whose sums are added in order, so the result does not depend on the thread
    count.
    """
    kernel_h, kernel_w, channels, filters = kernel_shape
    if grad_z.size == 0:
        return np.zeros(kernel_shape, dtype=x.dtype)
    n, height, width = x.shape[:3]
    out_h, out_w, padded_w = _padded_geometry(x.shape, kernel_shape, padding)
    top, left = padding[0], padding[2]
    lanes = channels * filters
    chunks = max(1, min(REDUCTION_CHUNKS, n))
    partial = np.empty((chunks, kernel_h, kernel_w, out_w * lanes), dtype=x.dtype)
    multiply_adds = grad_z.size * kernel_h * kernel_w * channels
    if channels == 1:
        rows = x.reshape(n, height, width)
        grad_rows = grad_z.reshape(n, out_h, out_w * filters)
        _kernel_gradient_one_channel(
            rows, grad_rows, filters, top, left, padded_w, partial, work=multiply_adds
        )
    else:
        rows = x.reshape(n, height, width * channels)
        grad_rows = grad_z.reshape(n, out_h, out_w)
        _kernel_gradient_one_filter(
            rows, grad_rows, channels, top, left, padded_w, partial, work=multiply_adds
        )
    grad_kernel = np.empty((kernel_h, kernel_w, lanes), dtype=x.dtype)
    _sum_over_chunks_and_columns(partial, grad_kernel)
    return grad_kernel.reshape(kernel_shape)
