"""2-D convolution (cross-correlation) in NHWC, as im2col + one matrix product.

Layouts follow Keras: inputs ``x`` (N, H, W, C), kernels (kh, kw, C, F), outputs
(N, OH, OW, F). ``padding`` is always explicit here, a 4-tuple of ints
``(top, bottom, left, right)``; ``same_padding`` turns the "same" mode into it.

Like every framework, the "convolution" is a cross-correlation (the kernel is not
flipped):

    z[n, oh, ow, f] = bias[f] + sum_{i, j, c} x_pad[n, oh*sh + i, ow*sw + j, c] * kernel[i, j, c, f]

Written with the patch matrix ``cols = im2col(x)`` (N*OH*OW, kh*kw*C), whose row for
output pixel (n, oh, ow) lists that pixel's receptive field in (i, j, c) order, and
``W = kernel.reshape(kh*kw*C, F)``:

    forward:          z      = cols @ W + bias                 (N*OH*OW, F)
    backward-kernel:  dL/dW  = cols.T @ dL/dz                  (kh*kw*C, F)
    backward-input:   dL/dx  = col2im(dL/dz @ W.T)             (N, H, W, C)

A transposed convolution (Keras ``Conv2DTranspose``) is the adjoint of this map, so
it is built from the same three functions (see ``conv2d_transpose_forward``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .activations import relu

if TYPE_CHECKING:
    from collections.abc import Sequence


def conv_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Output length along one axis of a convolution or pooling, as TensorFlow/Keras.

    padding "valid": floor((size - kernel) / stride) + 1 (no padding; may be < 1 when the
    kernel does not fit); padding "same": ceil(size / stride).
    """
    padding = padding.lower()
    if padding == "valid":
        return (size - kernel) // stride + 1
    if padding == "same":
        return math.ceil(size / stride)
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) zero padding of TensorFlow's "same" mode along one axis.

    out = ceil(size / stride), total = max((out - 1) * stride + kernel - size, 0),
    before = total // 2, after = total - before (the odd cell goes after, as in TF).
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _padded_output_size(padded_size: int, kernel: int, stride: int) -> int:
    return (padded_size - kernel) // stride + 1


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
    x_padded = np.pad(x, ((0, 0), (pad_top, pad_bottom), (pad_left, pad_right), (0, 0)))
    # windows: (N, H_pad - kh + 1, W_pad - kw + 1, C, kh, kw), a view; stepping by the
    # stride keeps the windows that start on the output grid.
    windows = sliding_window_view(x_padded, (kernel_h, kernel_w), axis=(1, 2))
    windows = windows[:, ::stride_h, ::stride_w]
    n, out_h, out_w, channels = windows.shape[:4]
    # (N, OH, OW, kh, kw, C): the row order (i, j, c) matches kernel.reshape(kh*kw*C, F).
    patches = windows.transpose(0, 1, 2, 4, 5, 3)
    return patches.reshape(n * out_h * out_w, kernel_h * kernel_w * channels)


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
    Overlapping patches are summed; the padding border is cut off at the end.
    """
    n, height, width, channels = input_shape
    padded_h = height + pad_top + pad_bottom
    padded_w = width + pad_left + pad_right
    out_h = _padded_output_size(padded_h, kernel_h, stride_h)
    out_w = _padded_output_size(padded_w, kernel_w, stride_w)
    patches = cols.reshape(n, out_h, out_w, kernel_h, kernel_w, channels)
    x_padded = np.zeros((n, padded_h, padded_w, channels), dtype=cols.dtype)
    # One strided add per kernel offset (i, j): offset (i, j) of the patch of output
    # pixel (oh, ow) lands on padded pixel (oh*stride_h + i, ow*stride_w + j).
    for i in range(kernel_h):
        rows = slice(i, i + stride_h * (out_h - 1) + 1, stride_h)
        for j in range(kernel_w):
            columns = slice(j, j + stride_w * (out_w - 1) + 1, stride_w)
            x_padded[:, rows, columns, :] += patches[:, :, :, i, j, :]
    return x_padded[:, pad_top : pad_top + height, pad_left : pad_left + width, :]


def conv2d_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Sequence[int],
    padding: Sequence[int],
) -> np.ndarray:
    """z = conv2d(x, kernel) + bias, as z = im2col(x) @ W + bias.

    x: (N, H, W, C), kernel: (kh, kw, C, F), bias: (F,) or None, strides: (sh, sw),
    padding: (top, bottom, left, right) -> z: (N, OH, OW, F) with
    OH = (H + top + bottom - kh) // sh + 1 (OW alike).
    """
    kernel_h, kernel_w, _, filters = kernel.shape
    out_h = _padded_output_size(x.shape[1] + padding[0] + padding[1], kernel_h, strides[0])
    out_w = _padded_output_size(x.shape[2] + padding[2] + padding[3], kernel_w, strides[1])
    cols = im2col(x, kernel_h, kernel_w, *strides, *padding)
    z = cols @ kernel.reshape(-1, filters)
    if bias is not None:
        z += bias
    return z.reshape(x.shape[0], out_h, out_w, filters)


def conv2d_forward_relu(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Sequence[int],
    padding: Sequence[int],
) -> np.ndarray:
    """y = max(conv2d(x, kernel) + bias, 0): a Conv2D layer with a ReLU, as one op (the
    Numba backend fuses the max into the convolution's last pass). Shapes as in
    ``conv2d_forward``."""
    return relu(conv2d_forward(x, kernel, bias, strides, padding))


def conv2d_backward_input(
    grad_z: np.ndarray,
    kernel: np.ndarray,
    input_shape: Sequence[int],
    strides: Sequence[int],
    padding: Sequence[int],
) -> np.ndarray:
    """dL/dx = col2im(dL/dz @ W.T) for z = conv2d(x, kernel).

    grad_z: (N, OH, OW, F), kernel: (kh, kw, C, F), input_shape: (N, H, W, C) of x,
    strides: (sh, sw), padding: (top, bottom, left, right) -> grad_x: (N, H, W, C).
    Pixels of x that no window reaches (valid padding, stride > 1) get zero gradient.
    """
    kernel_h, kernel_w, _, filters = kernel.shape
    _check_grad_shape(grad_z, kernel, input_shape, strides, padding)
    grad_cols = grad_z.reshape(-1, filters) @ kernel.reshape(-1, filters).T
    return col2im(grad_cols, input_shape, kernel_h, kernel_w, *strides, *padding)


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
    (dL/dbias, when there is a bias, is grad_z summed over N, OH and OW.)
    """
    kernel_h, kernel_w, _, filters = kernel_shape
    cols = im2col(x, kernel_h, kernel_w, *strides, *padding)
    grad_kernel = cols.T @ grad_z.reshape(-1, filters)
    return grad_kernel.reshape(kernel_shape)


def conv2d_transpose_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None,
    strides: Sequence[int],
    padding: Sequence[int],
    output_hw: Sequence[int],
) -> np.ndarray:
    """Transposed convolution: the adjoint of ``conv2d_forward``, plus a bias.

    x: (N, H, W, C_in), kernel: (kh, kw, F, C_in) (Keras Conv2DTranspose layout: it is
    the kernel of the conv2d (N, OH, OW, F) -> (N, H, W, C_in) being transposed),
    bias: (F,) or None, strides: (sh, sw), padding: (top, bottom, left, right) of that
    conv2d, output_hw: (OH, OW) -> y: (N, OH, OW, F).

        y = conv2d_backward_input(x, kernel, (N, OH, OW, F)) + bias

    Its gradients are the other two conv2d maps with roles swapped:
    dL/dx = conv2d_forward(dL/dy, kernel) and
    dL/dkernel = conv2d_backward_kernel(dL/dy, x), dL/dy playing the conv2d input.
    """
    output_shape = (x.shape[0], *output_hw, kernel.shape[2])
    y = conv2d_backward_input(x, kernel, output_shape, strides, padding)
    if bias is not None:
        y += bias
    return y


def _check_grad_shape(grad_z, kernel, input_shape, strides, padding):
    kernel_h, kernel_w, channels, filters = kernel.shape
    n, height, width, _ = input_shape
    expected = (
        n,
        _padded_output_size(height + padding[0] + padding[1], kernel_h, strides[0]),
        _padded_output_size(width + padding[2] + padding[3], kernel_w, strides[1]),
        filters,
    )
    if tuple(grad_z.shape) != expected or input_shape[3] != channels:
        raise ValueError(
            f"conv2d: gradient of shape {tuple(grad_z.shape)} does not match input shape "
            f"{tuple(input_shape)}, kernel {tuple(kernel.shape)}, strides {tuple(strides)} "
            f"and padding {tuple(padding)} (expected {expected})"
        )
