"""2-D convolution in NHWC (Numba backend), same signatures as the NumPy reference.

Two ways to compute each of the three maps (forward, backward-input, backward-kernel),
chosen per shape by ``_use_gemm`` from measurements on the Keras-blog conv autoencoder:

* direct loops in Numba over the output pixels, parallel over the batch, with the
  innermost loop over the longer of the two channel axes so that it vectorises; no
  padded copy and no patch matrix (the patch matrix of a 3x3 conv is 9x the input,
  and moving it through memory costs more than the arithmetic for small channel counts);
* im2col (patch extraction in Numba) + one BLAS matrix product, as the reference does.

Layouts: x (N, H, W, C), kernel (kh, kw, C, F), z (N, OH, OW, F); padding is an explicit
(top, bottom, left, right) and OH = (H + top + bottom - kh) // sh + 1 (OW alike).

    z[n, oh, ow, f] = bias[f] + sum_{i, j, c} x_pad[n, oh*sh + i, ow*sw + j, c] * kernel[i, j, c, f]

The sums run in a different order than BLAS's, with re-association allowed
(``REDUCTION_FASTMATH``): results agree with NumPy to round-off, and are deterministic
(the batch is split into fixed chunks for the kernel gradient, whatever the threads).
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from ..numpy_backend.conv import _check_grad_shape, conv_output_size, same_padding
from ._jit import REDUCTION_CHUNKS, REDUCTION_FASTMATH, chunk_start, contiguous, jit
from .dense import matmul

__all__ = [
    "col2im",
    "conv2d_backward_input",
    "conv2d_backward_kernel",
    "conv2d_forward",
    "conv2d_transpose_forward",
    "conv_output_size",
    "im2col",
    "same_padding",
]


def _padded_output_size(padded_size, kernel, stride):
    return (padded_size - kernel) // stride + 1


_workspaces = threading.local()


def _workspace(shape, dtype):
    """A scratch array for the patch matrices, reused from call to call (per thread and
    dtype; it grows to the largest size asked for). Filling fresh memory costs the page
    faults: im2col of 14x14x16 for batch 128 (14 MB) took 1.26 ms into a new array and
    0.89 ms into this one. Only for temporaries that no caller ever sees."""
    buffers = getattr(_workspaces, "buffers", None)
    if buffers is None:
        buffers = _workspaces.buffers = {}
    size = int(np.prod(shape))
    buffer = buffers.get(np.dtype(dtype))
    if buffer is None or buffer.size < size:
        buffer = buffers[np.dtype(dtype)] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)


# ---------------------------------------------------------------------- im2col / col2im
@jit(parallel=True)
def _im2col(x, kernel_h, kernel_w, stride_h, stride_w, top, left, out_h, out_w, cols):
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    for n in numba.prange(x.shape[0]):
        for oh in range(out_h):
            for ow in range(out_w):
                patch = cols[(n * out_h + oh) * out_w + ow]
                start = ow * stride_w - left
                # Offsets j in [j_lo, j_hi) read real columns; one contiguous copy each row.
                j_lo, j_hi = max(0, -start), min(kernel_w, width - start)
                for i in range(kernel_h):
                    row = oh * stride_h + i - top
                    base = i * kernel_w * channels
                    if row < 0 or row >= height or j_lo >= j_hi:
                        patch[base : base + kernel_w * channels] = 0
                        continue
                    patch[base : base + j_lo * channels] = 0
                    source = x[n, row].reshape(-1)
                    first = (start + j_lo) * channels
                    count = (j_hi - j_lo) * channels
                    patch[base + j_lo * channels : base + j_hi * channels] = source[
                        first : first + count
                    ]
                    patch[base + j_hi * channels : base + kernel_w * channels] = 0


@jit(parallel=True)
def _col2im(cols, kernel_h, kernel_w, stride_h, stride_w, top, left, out_h, out_w, x):
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    for n in numba.prange(x.shape[0]):
        x[n] = 0
        for oh in range(out_h):
            for ow in range(out_w):
                row_index = (n * out_h + oh) * out_w + ow
                for i in range(kernel_h):
                    row = oh * stride_h + i - top
                    if row < 0 or row >= height:
                        continue
                    for j in range(kernel_w):
                        column = ow * stride_w + j - left
                        if column < 0 or column >= width:
                            continue
                        base = (i * kernel_w + j) * channels
                        for c in range(channels):
                            x[n, row, column, c] += cols[row_index, base + c]


def _patches(x, kernel_h, kernel_w, strides, padding):
    """im2col(x) into the workspace: (N*OH*OW, kh*kw*C), valid until the next call."""
    n, height, width, channels = x.shape
    out_h = _padded_output_size(height + padding[0] + padding[1], kernel_h, strides[0])
    out_w = _padded_output_size(width + padding[2] + padding[3], kernel_w, strides[1])
    cols = _workspace((n * out_h * out_w, kernel_h * kernel_w * channels), x.dtype)
    if cols.size:
        _im2col(x, kernel_h, kernel_w, *strides, padding[0], padding[2], out_h, out_w, cols)
    return cols


def im2col(x, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right):
    """Patch matrix of a zero-padded NHWC batch.

    x: (N, H, W, C) -> cols: (N*OH*OW, kernel_h*kernel_w*C), where
    OH = (H + pad_top + pad_bottom - kernel_h) // stride_h + 1 (OW alike), and

        cols[(n*OH + oh)*OW + ow, (i*kernel_w + j)*C + c]
            = x_pad[n, oh*stride_h + i, ow*stride_w + j, c].
    """
    x = contiguous(x)
    n, height, width, channels = x.shape
    out_h = _padded_output_size(height + pad_top + pad_bottom, kernel_h, stride_h)
    out_w = _padded_output_size(width + pad_left + pad_right, kernel_w, stride_w)
    cols = np.empty((n * out_h * out_w, kernel_h * kernel_w * channels), dtype=x.dtype)
    if cols.size:
        _im2col(x, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, cols)
    return cols


def col2im(
    cols,
    input_shape,
    kernel_h,
    kernel_w,
    stride_h,
    stride_w,
    pad_top,
    pad_bottom,
    pad_left,
    pad_right,
):
    """Adjoint of ``im2col``: add every patch back where it came from.

    cols: (N*OH*OW, kernel_h*kernel_w*C), input_shape: (N, H, W, C) -> (N, H, W, C).
    Overlapping patches are summed; patch cells in the padding are dropped.
    """
    n, height, width, channels = (int(d) for d in input_shape)
    out_h = _padded_output_size(height + pad_top + pad_bottom, kernel_h, stride_h)
    out_w = _padded_output_size(width + pad_left + pad_right, kernel_w, stride_w)
    cols = contiguous(cols).reshape(n * out_h * out_w, kernel_h * kernel_w * channels)
    x = np.zeros((n, height, width, channels), dtype=cols.dtype)
    if x.size and cols.size:
        _col2im(cols, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, out_h, out_w, x)
    return x


# ---------------------------------------------------------------------- direct kernels
@jit
def _window_range(index, stride, before, size, kernel):
    """Kernel offsets [lo, hi) whose input cell index*stride + offset - before is real."""
    start = index * stride - before
    return max(0, -start), min(kernel, size - start)


@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def _conv_forward_direct(x, kernel, bias, stride_h, stride_w, top, left, z):
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    kernel_h, kernel_w, filters = kernel.shape[0], kernel.shape[1], kernel.shape[3]
    for n in numba.prange(x.shape[0]):
        for oh in range(z.shape[1]):
            i_lo, i_hi = _window_range(oh, stride_h, top, height, kernel_h)
            for ow in range(z.shape[2]):
                j_lo, j_hi = _window_range(ow, stride_w, left, width, kernel_w)
                if filters == 1:
                    total = z.dtype.type(0)
                    for i in range(i_lo, i_hi):
                        row = oh * stride_h + i - top
                        for j in range(j_lo, j_hi):
                            column = ow * stride_w + j - left
                            for c in range(channels):
                                total += x[n, row, column, c] * kernel[i, j, c, 0]
                    z[n, oh, ow, 0] = total + bias[0]
                else:
                    # Plain indexing, no slices: a view per tap cost 30% on 28x28x1 -> 16.
                    for f in range(filters):
                        z[n, oh, ow, f] = 0
                    for i in range(i_lo, i_hi):
                        row = oh * stride_h + i - top
                        for j in range(j_lo, j_hi):
                            column = ow * stride_w + j - left
                            for c in range(channels):
                                value = x[n, row, column, c]
                                for f in range(filters):
                                    z[n, oh, ow, f] += value * kernel[i, j, c, f]
                    for f in range(filters):
                        z[n, oh, ow, f] += bias[f]


@jit(parallel=True, fastmath=REDUCTION_FASTMATH)
def _conv_backward_input_direct(grad_z, kernel, kernel_t, stride_h, stride_w, top, left, grad_x):
    # Scatter form: every output pixel sends grad_z[n, oh, ow] @ kernel[i, j].T back to
    # the input cells of its window; each n owns its own slice of grad_x.
    height, width, channels = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    kernel_h, kernel_w, filters = kernel.shape[0], kernel.shape[1], kernel.shape[3]
    for n in numba.prange(grad_x.shape[0]):
        grad_x[n] = 0
        for oh in range(grad_z.shape[1]):
            i_lo, i_hi = _window_range(oh, stride_h, top, height, kernel_h)
            for ow in range(grad_z.shape[2]):
                j_lo, j_hi = _window_range(ow, stride_w, left, width, kernel_w)
                grad = grad_z[n, oh, ow]
                for i in range(i_lo, i_hi):
                    row = oh * stride_h + i - top
                    for j in range(j_lo, j_hi):
                        column = ow * stride_w + j - left
                        target = grad_x[n, row, column]
                        if channels >= filters:
                            for f in range(filters):
                                value = grad[f]
                                weights = kernel_t[i, j, f]
                                for c in range(channels):
                                    target[c] += value * weights[c]
                        else:
                            for c in range(channels):
                                weights = kernel[i, j, c]
                                total = grad_x.dtype.type(0)
                                for f in range(filters):
                                    total += grad[f] * weights[f]
                                target[c] += total


@jit(fastmath=REDUCTION_FASTMATH)
def _kernel_gradient_of_samples(x, grad_z, stride_h, stride_w, top, left, first, stop, out):
    """out (kh, kw, C, F) = the kernel gradient summed over samples first..stop-1."""
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    kernel_h, kernel_w, filters = out.shape[0], out.shape[1], out.shape[3]
    out[:] = 0
    for n in range(first, stop):
        for oh in range(grad_z.shape[1]):
            i_lo, i_hi = _window_range(oh, stride_h, top, height, kernel_h)
            for ow in range(grad_z.shape[2]):
                j_lo, j_hi = _window_range(ow, stride_w, left, width, kernel_w)
                grad = grad_z[n, oh, ow]
                for i in range(i_lo, i_hi):
                    row = oh * stride_h + i - top
                    for j in range(j_lo, j_hi):
                        column = ow * stride_w + j - left
                        pixel = x[n, row, column]
                        if filters == 1:
                            value = grad[0]
                            for c in range(channels):
                                out[i, j, c, 0] += pixel[c] * value
                        else:
                            for c in range(channels):
                                value = pixel[c]
                                target = out[i, j, c]
                                for f in range(filters):
                                    target[f] += value * grad[f]


@jit(parallel=True)
def _conv_backward_kernel_direct(x, grad_z, stride_h, stride_w, top, left, partial):
    # One partial gradient per fixed chunk of the batch (added in order afterwards).
    chunks = partial.shape[0]
    for chunk in numba.prange(chunks):
        _kernel_gradient_of_samples(
            x,
            grad_z,
            stride_h,
            stride_w,
            top,
            left,
            chunk_start(x.shape[0], chunks, chunk),
            chunk_start(x.shape[0], chunks, chunk + 1),
            partial[chunk],
        )


@jit
def _sum_chunks(partial, out):
    """out = partial[0] + partial[1] + ... in that order; partial (chunks, size), out (size,).

    Plain loops: an array expression here (out += partial[k]) took 6.5 s to compile."""
    for k in range(out.size):
        out[k] = partial[0, k]
    for chunk in range(1, partial.shape[0]):
        for k in range(out.size):
            out[k] += partial[chunk, k]


# ---------------------------------------------------------------------- strategy
# Measured on the Keras-blog conv autoencoder's seven 3x3 shapes (batch 128, float32,
# 2 cores; benchmarks/conv_strategies.py prints the table). im2col + BLAS wins where the
# patch matrix is a fair GEMM: 14x14x16 -> 8 forward 2.2 ms vs 6.8 ms direct. The direct
# loops win where one of the channel counts is tiny and the GEMM degenerates into a
# memory-bound matrix-vector product: 28x28x16 -> 1 forward 2.0 vs 11.3 ms, backward-input
# 2.8 vs 15.4 ms (measured with the scatter loop; the stride-1 gather that replaced it is
# about 1.5x faster), backward-kernel 2.2 vs 15.3 ms; 28x28x1 -> 16 forward 2.3 vs 4.3 ms,
# backward-kernel 2.2 vs 4.3 ms. For the kernel gradient the direct loops also win when
# C*F is small (7x7x8 -> 8: 0.33 vs 0.42 ms), where the GEMM's output is tiny.
DIRECT_MAX_CHANNELS = 3
DIRECT_MAX_KERNEL_GRADIENT_SIZE = 64


def _use_gemm(op, channels, filters):
    """True where im2col + BLAS beat the direct loops (see the measurements above)."""
    if filters <= DIRECT_MAX_CHANNELS:
        return False
    if op == "backward_input":
        return True
    if channels <= DIRECT_MAX_CHANNELS:
        return False
    return op == "forward" or channels * filters > DIRECT_MAX_KERNEL_GRADIENT_SIZE


# ---------------------------------------------------------------------- public ops
def _output_hw(input_shape, kernel_shape, strides, padding):
    out_h = _padded_output_size(
        input_shape[1] + padding[0] + padding[1], kernel_shape[0], strides[0]
    )
    out_w = _padded_output_size(
        input_shape[2] + padding[2] + padding[3], kernel_shape[1], strides[1]
    )
    return out_h, out_w


def conv2d_forward(x, kernel, bias, strides, padding):
    """z = conv2d(x, kernel) + bias.

    x: (N, H, W, C), kernel: (kh, kw, C, F), bias: (F,) or None, strides: (sh, sw),
    padding: (top, bottom, left, right) -> z: (N, OH, OW, F) with
    OH = (H + top + bottom - kh) // sh + 1 (OW alike).
    """
    x = contiguous(x)
    kernel = contiguous(kernel, x.dtype)
    kernel_h, kernel_w, channels, filters = kernel.shape
    out_h, out_w = _output_hw(x.shape, kernel.shape, strides, padding)
    if _use_gemm("forward", channels, filters):
        cols = _patches(x, kernel_h, kernel_w, strides, padding)
        z = matmul(cols, kernel.reshape(-1, filters), among_parallel_kernels=True)
        if bias is not None:
            z += bias
        return z.reshape(x.shape[0], out_h, out_w, filters)
    bias = np.zeros(filters, x.dtype) if bias is None else contiguous(bias, x.dtype)
    z = np.empty((x.shape[0], out_h, out_w, filters), dtype=x.dtype)
    if z.size:
        _conv_forward_direct(
            x, kernel, bias, *strides, padding[0], padding[2], z, work=z.size * kernel[..., 0].size
        )
    return z


def conv2d_backward_input(grad_z, kernel, input_shape, strides, padding):
    """dL/dx for z = conv2d(x, kernel): dL/dx = col2im(dL/dz @ W.T), W = kernel as
    (kh*kw*C, F).

    grad_z: (N, OH, OW, F), kernel: (kh, kw, C, F), input_shape: (N, H, W, C) of x,
    strides: (sh, sw), padding: (top, bottom, left, right) -> grad_x: (N, H, W, C).
    Pixels of x that no window reaches (valid padding, stride > 1) get zero gradient.
    """
    _check_grad_shape(grad_z, kernel, input_shape, strides, padding)
    grad_z = contiguous(grad_z)
    kernel = contiguous(kernel, grad_z.dtype)
    kernel_h, kernel_w, channels, filters = kernel.shape
    input_shape = tuple(int(d) for d in input_shape)
    if _use_gemm("backward_input", channels, filters):
        grad_z_rows = grad_z.reshape(-1, filters)
        grad_cols = _workspace((grad_z_rows.shape[0], kernel_h * kernel_w * channels), grad_z.dtype)
        matmul(
            grad_z_rows, kernel.reshape(-1, filters).T, out=grad_cols, among_parallel_kernels=True
        )
        return col2im(grad_cols, input_shape, kernel_h, kernel_w, *strides, *padding)
    grad_x = np.empty(input_shape, dtype=grad_z.dtype)
    if grad_x.size and tuple(strides) == (1, 1):
        # Stride 1: dL/dx is itself a convolution ("full" convolution), of dL/dz with the
        # kernel turned by 180 degrees and its channel axes swapped, padded by kh-1-top
        # above and kw-1-left on the left:
        #   dL/dx[n, h, w, c] = sum_{i, j, f} dL/dz[n, h + i - (kh-1-top), w + j - (kw-1-left), f]
        #                                     * kernel[kh-1-i, kw-1-j, c, f]
        # Gathering into each input pixel beats scattering from each output pixel:
        # 28x28x16 -> 1 (the autoencoder's last layer, batch 128, 1 thread) 3.8 ms instead of
        # 5.7 ms, medians of rounds run alternately in one process.
        flipped = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))
        _conv_forward_direct(
            grad_z,
            flipped,
            np.zeros(channels, dtype=grad_z.dtype),
            1,
            1,
            kernel_h - 1 - padding[0],
            kernel_w - 1 - padding[2],
            grad_x,
            work=grad_x.size * flipped[..., 0].size,
        )
    elif grad_x.size:
        kernel_t = np.ascontiguousarray(kernel.transpose(0, 1, 3, 2))
        _conv_backward_input_direct(
            grad_z,
            kernel,
            kernel_t,
            *strides,
            padding[0],
            padding[2],
            grad_x,
            work=grad_z.size * kernel[..., 0].size,
        )
    return grad_x


def conv2d_backward_kernel(x, grad_z, kernel_shape, strides, padding):
    """dL/dkernel = im2col(x).T @ dL/dz for z = conv2d(x, kernel).

    x: (N, H, W, C), grad_z: (N, OH, OW, F), kernel_shape: (kh, kw, C, F),
    strides: (sh, sw), padding: (top, bottom, left, right) -> grad_kernel: (kh, kw, C, F).
    """
    x = contiguous(x)
    grad_z = contiguous(grad_z, x.dtype)
    kernel_h, kernel_w, channels, filters = (int(d) for d in kernel_shape)
    if _use_gemm("backward_kernel", channels, filters):
        cols = _patches(x, kernel_h, kernel_w, strides, padding)
        grad_kernel = matmul(cols.T, grad_z.reshape(-1, filters), among_parallel_kernels=True)
        return grad_kernel.reshape(kernel_h, kernel_w, channels, filters)
    chunks = max(1, min(REDUCTION_CHUNKS, x.shape[0]))
    partial = np.empty((chunks, kernel_h, kernel_w, channels, filters), dtype=x.dtype)
    grad_kernel = np.empty((kernel_h, kernel_w, channels, filters), dtype=x.dtype)
    if grad_z.size:
        _conv_backward_kernel_direct(
            x,
            grad_z,
            *strides,
            padding[0],
            padding[2],
            partial,
            work=grad_z.size * kernel_h * kernel_w * channels,
        )
        _sum_chunks(partial.reshape(chunks, -1), grad_kernel.reshape(-1))
    else:
        grad_kernel[...] = 0
    return grad_kernel


def conv2d_transpose_forward(x, kernel, bias, strides, padding, output_hw):
    """Transposed convolution: the adjoint of ``conv2d_forward``, plus a bias.

    x: (N, H, W, C_in), kernel: (kh, kw, F, C_in) (Keras Conv2DTranspose layout), bias:
    (F,) or None, strides, padding: of the conv2d (N, OH, OW, F) -> (N, H, W, C_in)
    being transposed, output_hw: (OH, OW) -> y: (N, OH, OW, F).

        y = conv2d_backward_input(x, kernel, (N, OH, OW, F)) + bias
    """
    output_shape = (x.shape[0], *output_hw, kernel.shape[2])
    y = conv2d_backward_input(x, kernel, output_shape, strides, padding)
    if bias is not None:
        y += bias
    return y
