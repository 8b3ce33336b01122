"""2-D convolution in NHWC (Numba backend), same signatures as the NumPy reference.

Three ways to compute each of the three maps (forward, backward-input, backward-kernel),
chosen per shape by ``_strategy`` from measurements on the Keras-blog conv autoencoder:

* for stride 1 with few channels and filters, shifted products of whole channel planes
  (``conv_planes``);
* direct loops in Numba over the output pixels, parallel over the batch, with the
  innermost loop over the longer of the two channel axes so that it vectorises; no
  padded copy and no patch matrix (the patch matrix of a 3x3 conv is 9x the input,
  and moving it through memory costs more than the arithmetic for small channel counts);
* im2col (a strided NumPy copy, see ``_copy_padded_patches``) + one BLAS matrix product, as
  the reference does.

Layouts: x (N, H, W, C), kernel (kh, kw, C, F), z (N, OH, OW, F); padding is an explicit
(top, bottom, left, right) and OH = (H + top + bottom - kh) // sh + 1 (OW alike).

    z[n, oh, ow, f] = bias[f] + sum_{i, j, c} x_pad[n, oh*sh + i, ow*sw + j, c] * kernel[i, j, c, f]

The sums run in a different order than BLAS's, with re-association allowed
(``REDUCTION_FASTMATH``): results agree with NumPy to round-off, and are deterministic
(the batch is split into fixed chunks for the kernel gradient, whatever the threads).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numba
import numpy as np

from ... import threads
from ..numpy_backend.conv import _check_grad_shape, conv_output_size, same_padding
from . import conv_nine_taps, conv_planes
from ._jit import REDUCTION_CHUNKS, REDUCTION_FASTMATH, chunk_start, contiguous, jit
from .activations import _relu
from .dense import SPLIT_MIN_MULTIPLY_ADDS, matmul, run_in_parts

if TYPE_CHECKING:
    from collections.abc import Sequence

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
def _pad(x, padding):
    """x (N, H, W, C) zero-padded by padding = (top, bottom, left, right); x itself when
    there is none."""
    top, bottom, left, right = padding
    if top or bottom or left or right:
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    return x


def _copy_padded_patches(x_pad, kernel_h, kernel_w, strides, cols):
    """Fill cols (N*OH*OW, kh*kw*C) with the patches of x_pad (N, H_pad, W_pad, C),
    C-contiguous.

    The kw*C values of one kernel row i of the patch of output pixel (oh, ow) lie next to
    each other in x_pad (kernel offsets j and channels c are adjacent in NHWC), so the
    patches are a strided view

        windows[n, oh, ow, i, j*C + c] = x_pad[n, oh*sh + i, ow*sw + j, c]

    and one NumPy copy writes them, moving runs of kw*C contiguous values. This is NumPy,
    not a Numba loop, because it is faster: batch 128, 1 thread, medians of 15 calls
    alternating, 14x14x16 (3x3, same) 1.33 ms against 1.77 ms for a parallel Numba loop
    of slice copies, 16x16x8 (valid) 0.67 ms against 1.69, 7x7x8 0.18 against 0.40; loops
    copying element by element were slower still (Numba does not vectorise them).
    """
    n, padded_h, padded_w, channels = x_pad.shape
    out_h = _padded_output_size(padded_h, kernel_h, strides[0])
    out_w = _padded_output_size(padded_w, kernel_w, strides[1])
    batch_stride, row_stride, column_stride, item = x_pad.strides
    # np.ndarray over x_pad's memory: the same view as np.lib.stride_tricks.as_strided,
    # without its Python overhead (several microseconds, paid once per chunk).
    windows = np.ndarray(
        (n, out_h, out_w, kernel_h, kernel_w * channels),
        dtype=x_pad.dtype,
        buffer=x_pad,
        strides=(
            batch_stride,
            row_stride * strides[0],
            column_stride * strides[1],
            row_stride,
            item,
        ),
    )
    np.copyto(cols.reshape(windows.shape), windows)


# The im2col + BLAS paths build and multiply the patch matrix a chunk of images at a time,
# each chunk's patches about PATCH_CHUNK_BYTES, so that they are still in the core's L2
# cache (1 MB here) when the product reads them; the whole matrix of a batch (14 MB for
# 14x14x16, 3x3, batch 128) goes out to memory and back. Forward, 1 thread, batch 128,
# medians alternating: 14x14x16 -> 8 3.9 ms in one piece, 2.3 ms in chunks of 16 images
# (1.8 MB); 28x28x1 -> 16 2.5 ms in chunks of 8 images against 3.4 ms for the direct
# loops. The input is padded once for all chunks.
PATCH_CHUNK_BYTES = 1 << 20


class _PatchChunks:
    """The batch of x (N, H, W, C) cut into chunks of whole images, for a kh x kw window.

    ``rows_per_image`` = OH*OW patch rows per image, ``patch_size`` = kh*kw*C. The cut
    depends only on the shapes and the dtype, never on the thread count, so results that
    are summed over chunks (the kernel gradient) are the same with any number of threads.
    """

    def __init__(self, x, kernel_h, kernel_w, strides, padding):
        self.x_pad, self.strides = _pad(x, padding), strides
        self.kernel_h, self.kernel_w = kernel_h, kernel_w
        out_h, out_w = _output_hw(x.shape, (kernel_h, kernel_w), strides, padding)
        self.rows_per_image = out_h * out_w
        self.patch_size = kernel_h * kernel_w * x.shape[3]
        image_bytes = max(1, self.rows_per_image * self.patch_size * x.itemsize)
        self.images_per_chunk = max(1, PATCH_CHUNK_BYTES // image_bytes)
        self.count = -(-x.shape[0] // self.images_per_chunk)

    def rows(self, chunk):
        """The slice of patch rows (of the batch's N*OH*OW) that ``chunk`` covers."""
        first = chunk * self.images_per_chunk
        stop = min(self.x_pad.shape[0], first + self.images_per_chunk)
        return slice(first * self.rows_per_image, stop * self.rows_per_image)

    def patches(self, chunk):
        """im2col of the chunk's images, (rows, kh*kw*C), in this thread's workspace
        (valid until this thread's next call)."""
        first = chunk * self.images_per_chunk
        images = self.x_pad[first : first + self.images_per_chunk]
        cols = _workspace((images.shape[0] * self.rows_per_image, self.patch_size), images.dtype)
        _copy_padded_patches(images, self.kernel_h, self.kernel_w, self.strides, cols)
        return cols


def _for_each_chunk(chunks, work, multiply_adds):
    """Call work(chunk) for every chunk in range(chunks), with one BLAS thread each.

    From SPLIT_MIN_MULTIPLY_ADDS up, the chunks are split into contiguous runs, one per
    Numba thread (the calling thread and the matrix products' helper threads; NumPy's
    copies and BLAS release the GIL); below it the calling thread does them all. With one
    pool too (``_jit.ONE_POOL``): doing the chunks in order on the calling thread, each
    chunk's product split over Numba's threads, left their im2col copies on one thread and
    made the GEMM maps 2 to 5 times slower (14x14x32 -> 8 forward 16.9 ms against 4.1,
    batch 128, ``python -m benchmarks.conv_strategies --threads 2``); with the helpers,
    one pool and two pools are level on them (14x14x32 -> 64 forward 11.8 against 12.2 ms,
    kernel gradient 12.2 against 11.5, three process pairs), and the input gradient, whose
    product ``matmul`` splits, is 1.4 to 1.7 times faster with one pool.
    """
    parts = min(threads.get_numba_threads() or 1, chunks)

    def run(first, stop):
        for chunk in range(first, stop):
            work(chunk)

    with threads.at_most_blas_threads(1):
        if parts < 2 or multiply_adds < SPLIT_MIN_MULTIPLY_ADDS:
            run(0, chunks)
        else:
            run_in_parts(chunks, parts, run)


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


def im2col(
    x: np.ndarray,
    kernel_h: int,
    kernel_w: int,
    stride_h: int,
    stride_w: int,
    pad_top: int,
    pad_bottom: int,
    pad_left: int,
    pad_right: int,
) -> np.ndarray:
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
        x_pad = _pad(x, (pad_top, pad_bottom, pad_left, pad_right))
        _copy_padded_patches(x_pad, kernel_h, kernel_w, (stride_h, stride_w), cols)
    return cols


def col2im(
    cols: np.ndarray,
    input_shape: Sequence[int],
    kernel_h: int,
    kernel_w: int,
    stride_h: int,
    stride_w: int,
    pad_top: int,
    pad_bottom: int,
    pad_left: int,
    pad_right: int,
) -> np.ndarray:
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
# Measured on the Keras-blog conv autoencoder's seven 3x3 shapes (batch 128, float32, the
# 2-core machine; ``python -m benchmarks.conv_strategies`` prints the table):
#
# * Stride 1, C*F <= PLANES_MAX_CHANNELS_TIMES_FILTERS, min(C, F) <=
#   PLANES_MAX_SMALLER_CHANNEL_COUNT (PLANES_NINE_TAPS_MAX_SMALLER_CHANNEL_COUNT for the
#   nine-tap kernels of conv_nine_taps: 3x3, 1x9, 9x1) and F <= PLANES_MAX_FILTERS: the
#   plane loops of conv_planes, for all three maps (every layer of the autoencoder). Their
#   speed per multiply-add hardly depends on C and F, so their time grows with C*F, while
#   the GEMM's speed grows with the width of its product. 2 threads / 1 thread, ms,
#   forward, backward-input and backward-kernel, planes against the best other path
#   (2026-12-07, with the nine-tap blocking):
#     28x28x1 -> 16    0.71 0.82 0.80 / 0.99 1.22 0.99  against 1.87 2.83 2.40 / 3.18 3.08 2.43
#     14x14x16 -> 8    0.85 0.73 0.69 / 1.07 1.07 1.07  against 2.05 1.36 2.12 / 2.24 1.82 2.21
#     7x7x8 -> 8       0.12 0.17 0.15 / 0.19 0.20 0.20  against 0.30 0.28 0.51 / 0.38 0.27 0.36
#     16x16x8 -> 16    0.71 0.90 0.85 / 1.10 1.36 1.18  against 1.29 1.22 1.13 / 1.47 1.51 1.41
#     28x28x16 -> 1    1.10 0.94 1.08 / 1.24 0.98 1.20  against 2.91 2.65 2.80 / 4.02 3.43 3.20
#     14x14x16 -> 16   1.28 1.39 1.40 / 2.05 2.46 2.10  against 2.74 1.99 2.42 / 2.80 2.62 2.68
#     64x64x16 -> 16   2.56 2.58 2.19 / 4.62 4.99 4.74  against 5.33 5.34 4.85 / 7.22 9.66 8.64
#     28x28x3 -> 32    2.50 3.37 2.60 / 4.33 5.70 3.46  against 5.32 3.86 3.82 / 6.09 5.09 5.03
#   (64x64x16 -> 16 at batch 32, with --wide; 28x28x3 -> 32's backward-input map on 1
#   thread is the one loss, left to the planes). The 21 maps of the seven autoencoder layers
#   take 11.4 ms on 2 threads and 15.0 ms on 1 (before the nine-tap blocking: 10.9 and
#   20.7 ms on a quieter day, 11.50 / 22.34 in the measurements of GRID_BYTES). Before
#   that blocking, the GEMM stayed faster on 1 thread for 8 channels or more and 16
#   filters or more (16x16x8 -> 16: 1.64 2.16 1.69 against 1.43 1.38 1.34) and with 16
#   channels and 16 filters on any thread count (14x14x16 -> 16, 2 threads: 1.61 1.69 1.65
#   against 1.68 1.36 1.56): kernels of other sizes keep those limits. With --wide, 2
#   threads, where F > PLANES_MAX_FILTERS leaves them out:
#     224x224x3 -> 64, batch 8    32.8 37.2 32.4  against 39.1 21.4 22.7 (GEMM)
#     64x64x3 -> 64, batch 32     6.5 8.7 5.6     against 9.5 8.5 7.4
#     28x28x1 -> 128              9.3 9.0 6.3     against 12.0 6.4 5.6
#   and one at the limits, many channels to few filters:
#     112x112x64 -> 4, batch 8    4.4 5.7 5.3     against 35.0 11.0 41.6 (planes)
#   The rest of this list is about the convolutions outside these limits.
# * 1 to 3 filters: the direct loops. The GEMM's output is then one to three columns wide
#   and it degenerates into a memory-bound matrix-vector product (28x28x16 -> 1, 1 thread:
#   forward 3.9 ms direct against 5.0 ms GEMM, backward-input 3.7 against 21,
#   backward-kernel 3.3 against 5.2).
# * On one thread, im2col in cache-sized chunks + BLAS wins everywhere else, a single
#   input channel included (28x28x1 -> 16: forward 3.0 against 3.8 ms, backward-kernel
#   2.6 against 4.1) and the small layers (7x7x8 -> 8: forward 0.39 against 0.56 ms,
#   backward-kernel 0.37 against 0.65).
# * On two threads the direct loops run in parallel, while a GEMM below
#   SPLIT_MIN_MULTIPLY_ADDS stays on one thread (splitting the small ones costs more in
#   Python threads than it saves): the direct loops win the small layers (7x7x8 -> 8:
#   forward 0.28 against 0.40 ms, backward-kernel 0.34 against 0.37; 4x4x8 -> 8: 0.09
#   against 0.17) and the forward map of up to 3 input channels and 16 filters (28x28x1
#   -> 16: 1.9 against 2.1 ms; stride 2, batch 128: 0.48 against 0.60 ms), the GEMM the
#   rest (28x28x1 -> 16 backward-kernel 1.6 against 2.0; 14x14x16 -> 8 forward 1.4
#   against 2.0; 16x16x8 -> 16 forward 1.0 against 2.2), including the forward map of
#   few channels to many filters (stride 2: 28x28x3 -> 32, batch 128, 0.83 against 1.16
#   ms; 224x224x3 -> 64, batch 8, 3.9 against 15.7 ms; stride 1, 224x224x3 -> 64: 19
#   against 69 ms).
# * For dL/dx, GEMM + col2im ties with or beats the direct loops from 4 filters on, on
#   any thread count (7x7x8 -> 8, 2 threads: 0.28 and 0.28 ms; 14x14x16 -> 8: 0.96 against
#   1.81).
PLANES_MAX_CHANNELS_TIMES_FILTERS = 256
PLANES_MAX_SMALLER_CHANNEL_COUNT = 8
PLANES_NINE_TAPS_MAX_SMALLER_CHANNEL_COUNT = 16
PLANES_MAX_FILTERS = 32
DIRECT_MAX_FILTERS = 3
DIRECT_MAX_FORWARD_CHANNELS = 3
DIRECT_MAX_FORWARD_FILTERS = 16


STRATEGIES = ("direct", "gemm", "planes")


def _strategy(op, kernel_shape, strides, padding, multiply_adds):
    """Which of STRATEGIES computes map ``op`` ("forward", "backward_input" or
    "backward_kernel") of a conv with this kernel (kh, kw, C, F), strides, padding and
    multiply-adds fastest at the current Numba thread count (see the measurements above)."""
    kernel_h, kernel_w, channels, filters = kernel_shape
    one_thread = (threads.get_numba_threads() or 1) == 1
    nine_taps = kernel_h * kernel_w == conv_nine_taps.NINE_TAPS
    if (
        conv_planes.applies(kernel_shape, strides, padding)
        and channels * filters <= PLANES_MAX_CHANNELS_TIMES_FILTERS
        and min(channels, filters)
        <= (
            PLANES_NINE_TAPS_MAX_SMALLER_CHANNEL_COUNT
            if nine_taps
            else PLANES_MAX_SMALLER_CHANNEL_COUNT
        )
        and filters <= PLANES_MAX_FILTERS
        and not (one_thread and not nine_taps and channels >= 8 and filters >= 16)
    ):
        return "planes"
    if filters <= DIRECT_MAX_FILTERS:
        return "direct"
    if op == "backward_input" or one_thread:
        return "gemm"
    if (
        op == "forward"
        and channels <= DIRECT_MAX_FORWARD_CHANNELS
        and filters <= DIRECT_MAX_FORWARD_FILTERS
    ):
        return "direct"
    return "gemm" if multiply_adds >= SPLIT_MIN_MULTIPLY_ADDS else "direct"


# ---------------------------------------------------------------------- public ops
def _output_hw(input_shape, kernel_shape, strides, padding):
    out_h = _padded_output_size(
        input_shape[1] + padding[0] + padding[1], kernel_shape[0], strides[0]
    )
    out_w = _padded_output_size(
        input_shape[2] + padding[2] + padding[3], kernel_shape[1], strides[1]
    )
    return out_h, out_w


def conv2d_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Sequence[int],
    padding: Sequence[int],
) -> np.ndarray:
    """z = conv2d(x, kernel) + bias.

    x: (N, H, W, C), kernel: (kh, kw, C, F), bias: (F,) or None, strides: (sh, sw),
    padding: (top, bottom, left, right) -> z: (N, OH, OW, F) with
    OH = (H + top + bottom - kh) // sh + 1 (OW alike).
    """
    return _forward(x, kernel, bias, strides, padding, relu=False)


def conv2d_forward_relu(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Sequence[int],
    padding: Sequence[int],
) -> np.ndarray:
    """y = max(conv2d(x, kernel) + bias, 0), bit for bit relu(conv2d_forward(...)).

    The plane loops take the max as they copy the outputs out of their planes, which
    saves the ReLU's own pass over y; the other algorithms apply it in place afterwards.
    Shapes as in ``conv2d_forward``.
    """
    return _forward(x, kernel, bias, strides, padding, relu=True)


def _forward(x, kernel, bias, strides, padding, relu):
    """conv2d_forward, followed by max(., 0) in place when ``relu``."""
    x = contiguous(x)
    kernel = contiguous(kernel, x.dtype)
    kernel_h, kernel_w, channels, filters = kernel.shape
    out_h, out_w = _output_hw(x.shape, kernel.shape, strides, padding)
    multiply_adds = x.shape[0] * out_h * out_w * filters * kernel_h * kernel_w * channels
    strategy = _strategy("forward", kernel.shape, strides, padding, multiply_adds)
    if strategy == "planes":
        return conv_planes.forward(x, kernel, bias, padding, relu=relu)
    z = _forward_without_planes(x, kernel, bias, strides, padding, strategy, multiply_adds)
    if relu and z.size:
        flat = z.reshape(-1)
        _relu(flat, flat)
    return z


def _forward_without_planes(x, kernel, bias, strides, padding, strategy, multiply_adds):
    """z = conv2d(x, kernel) + bias by the GEMM or the direct loops."""
    kernel_h, kernel_w, _, filters = kernel.shape
    out_h, out_w = _output_hw(x.shape, kernel.shape, strides, padding)
    if strategy == "gemm":
        # z = im2col(x) @ W (+ bias), the rows of each chunk of images at a time.
        chunks = _PatchChunks(x, kernel_h, kernel_w, strides, padding)
        weights = kernel.reshape(-1, filters)
        z = np.empty((x.shape[0] * out_h * out_w, filters), dtype=x.dtype)

        def multiply(chunk):
            np.matmul(chunks.patches(chunk), weights, out=z[chunks.rows(chunk)])

        if z.size:
            _for_each_chunk(chunks.count, multiply, multiply_adds)
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


def _as_full_convolution(kernel, padding):
    """dL/dx of a stride-1 convolution as a convolution of dL/dz (the "full" convolution):
    the kernel turned by 180 degrees with its channel axes swapped, (kh, kw, F, C), and the
    padding (kh-1-top, kh-1-bottom, kw-1-left, kw-1-right):

        dL/dx[n, h, w, c] = sum_{i, j, f} dL/dz[n, h + i - (kh-1-top), w + j - (kw-1-left), f]
                                          * kernel[kh-1-i, kw-1-j, c, f]
    """
    kernel_h, kernel_w = kernel.shape[:2]
    top, bottom, left, right = padding
    flipped = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))
    return flipped, (
        kernel_h - 1 - top,
        kernel_h - 1 - bottom,
        kernel_w - 1 - left,
        kernel_w - 1 - right,
    )


def conv2d_backward_input(
    grad_z: np.ndarray,
    kernel: np.ndarray,
    input_shape: Sequence[int],
    strides: Sequence[int],
    padding: Sequence[int],
) -> np.ndarray:
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
    multiply_adds = grad_z.size * kernel[..., 0].size
    strategy = _strategy("backward_input", kernel.shape, strides, padding, multiply_adds)
    if strategy == "planes":
        # (the full padding is >= 0 wherever conv_planes applies)
        flipped, full_padding = _as_full_convolution(kernel, padding)
        return conv_planes.forward(grad_z, flipped, None, full_padding)
    if strategy == "gemm":
        grad_z_rows = grad_z.reshape(-1, filters)
        grad_cols = _workspace((grad_z_rows.shape[0], kernel_h * kernel_w * channels), grad_z.dtype)
        matmul(
            grad_z_rows, kernel.reshape(-1, filters).T, out=grad_cols, among_parallel_kernels=True
        )
        return col2im(grad_cols, input_shape, kernel_h, kernel_w, *strides, *padding)
    grad_x = np.empty(input_shape, dtype=grad_z.dtype)
    if grad_x.size and tuple(strides) == (1, 1):
        # Stride 1: gathering into each input pixel (the full convolution) beats scattering
        # from each output pixel: 28x28x16 -> 1 (the autoencoder's last layer, batch 128,
        # 1 thread) 3.8 ms instead of 5.7 ms, medians of rounds run alternately in one
        # process. The direct loops skip window cells outside dL/dz, so they only need the
        # padding above and on the left (which may be negative here).
        flipped, full_padding = _as_full_convolution(kernel, padding)
        _conv_forward_direct(
            grad_z,
            flipped,
            np.zeros(channels, dtype=grad_z.dtype),
            1,
            1,
            full_padding[0],
            full_padding[2],
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


def conv2d_backward_kernel(
    x: np.ndarray,
    grad_z: np.ndarray,
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    padding: Sequence[int],
) -> np.ndarray:
    """dL/dkernel = im2col(x).T @ dL/dz for z = conv2d(x, kernel).

    x: (N, H, W, C), grad_z: (N, OH, OW, F), kernel_shape: (kh, kw, C, F),
    strides: (sh, sw), padding: (top, bottom, left, right) -> grad_kernel: (kh, kw, C, F).
    """
    x = contiguous(x)
    grad_z = contiguous(grad_z, x.dtype)
    kernel_h, kernel_w, channels, filters = (int(d) for d in kernel_shape)
    kernel_shape = (kernel_h, kernel_w, channels, filters)
    multiply_adds = grad_z.size * kernel_h * kernel_w * channels
    strategy = _strategy("backward_kernel", kernel_shape, strides, padding, multiply_adds)
    if strategy == "planes":
        return conv_planes.kernel_gradient(x, grad_z, kernel_shape, padding)
    if strategy == "gemm":
        # dL/dW = sum over chunks of im2col(x_chunk).T @ dL/dz_chunk, added in chunk order.
        chunks = _PatchChunks(x, kernel_h, kernel_w, strides, padding)
        grad_rows = grad_z.reshape(-1, filters)
        partial = np.zeros((chunks.count, chunks.patch_size, filters), dtype=x.dtype)

        def multiply(chunk):
            np.matmul(chunks.patches(chunk).T, grad_rows[chunks.rows(chunk)], out=partial[chunk])

        grad_kernel = np.zeros((kernel_h, kernel_w, channels, filters), dtype=x.dtype)
        if grad_z.size:
            _for_each_chunk(chunks.count, multiply, multiply_adds)
            _sum_chunks(partial.reshape(chunks.count, -1), grad_kernel.reshape(-1))
        return grad_kernel
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


def conv2d_transpose_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Sequence[int],
    padding: Sequence[int],
    output_hw: Sequence[int],
) -> np.ndarray:
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
