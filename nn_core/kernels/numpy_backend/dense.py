"""Fully connected layer: an affine map ``z = x @ kernel + bias``."""

from __future__ import annotations

import numpy as np

from .activations import relu_backward


def dense_forward(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | float) -> np.ndarray:
    """z = x @ kernel + bias.

    x: (N, in), kernel: (in, out), bias: (out,) -> z: (N, out).
    """
    z = matrix_product(x, kernel)
    z += bias
    return z


def matrix_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b, always by GEMM: NumPy sends a one-row a to GEMV, whose sums OpenBLAS orders
    differently (on an AMD EPYC, AVX2: (1, 6) @ (6, 5) differed from row 0 of (37, 6) @
    (6, 5) in the last bit), so predict(batch_size=1) would not match a whole-batch
    forward. Two copies of the row go through GEMM, and the first is kept."""
    if a.ndim == 2 and a.shape[0] == 1:
        return (np.concatenate([a, a]) @ b)[:1]
    return a @ b


def dense_backward(
    x: np.ndarray,
    kernel: np.ndarray,
    grad_z: np.ndarray,
    grad_kernel: np.ndarray,
    grad_bias: np.ndarray,
) -> np.ndarray:
    """Gradients of an affine map, given dL/dz.

    dL/dkernel = x.T @ dL/dz   (in, out), written into ``grad_kernel``
    dL/dbias   = sum_n dL/dz   (out,),    written into ``grad_bias``
    dL/dx      = dL/dz @ kernel.T  (N, in), returned
    """
    np.matmul(x.T, grad_z, out=grad_kernel)
    np.sum(grad_z, axis=0, out=grad_bias)
    return grad_z @ kernel.T


def dense_kernel_gradient(x: np.ndarray, grad_z: np.ndarray, grad_kernel: np.ndarray) -> None:
    """dL/dkernel = x.T @ dL/dz (in, out), written into ``grad_kernel``: ``dense_backward``
    without dL/dx and dL/dbias, for a first layer, whose dL/dx nobody reads."""
    np.matmul(x.T, grad_z, out=grad_kernel)


def bias_gradient(grad_output: np.ndarray) -> np.ndarray:
    """dL/dbias of a layer that adds one bias per channel: grad_output (..., F) summed over
    every axis but the last -> (F,) (Dense: (N, F); Conv2D: (N, OH, OW, F))."""
    grad_output = np.asarray(grad_output)
    return grad_output.reshape(-1, grad_output.shape[-1]).sum(axis=0)


def relu_backward_bias_gradient(
    y: np.ndarray, grad_output: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """dL/dz = dL/dy * [y > 0] and dL/dbias = sum of dL/dz over every axis but the last,
    for a layer whose output is y = max(z + bias, 0): y > 0 exactly where z > 0, so the
    ReLU's mask comes from its output. y, grad_output: (..., F) -> ((..., F), (F,))."""
    grad_z = relu_backward(y, grad_output)
    return grad_z, bias_gradient(grad_z)
