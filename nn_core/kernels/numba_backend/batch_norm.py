"""Batch normalisation of an (M, C) array (Numba backend), same signatures as NumPy's.

Notation as in the reference: x (M, C), mean and variance (C,), inverse_std =
1 / sqrt(variance + epsilon) (C,), normalized = (x - mean) * inverse_std (M, C),
y = gamma * normalized + beta. The per-channel sums add the rows in order, as NumPy's
sum over axis 0 of a C-contiguous array does, and every other step is the reference's
formula operation for operation, so the results are bit-identical to NumPy's.
"""

from __future__ import annotations

import numpy as np

from ._jit import contiguous, jit, scalar


def _matrix(array, dtype=None):
    array = contiguous(array, dtype)
    if array.ndim != 2:
        raise ValueError(f"batch norm kernels expect (M, C) arrays, got shape {array.shape}")
    return array


@jit
def _column_sums(rows, out):
    out[:] = 0
    for r in range(rows.shape[0]):
        for c in range(rows.shape[1]):
            out[c] += rows[r, c]


@jit
def _statistics(x, count, mean, variance):
    _column_sums(x, mean)
    for c in range(x.shape[1]):
        mean[c] /= count
    variance[:] = 0
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            centered = x[r, c] - mean[c]
            variance[c] += centered * centered
    for c in range(x.shape[1]):
        variance[c] /= count


@jit
def _forward(x, mean, inverse_std, gamma, beta, outputs, normalized):
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            value = (x[r, c] - mean[c]) * inverse_std[c]
            normalized[r, c] = value
            outputs[r, c] = value * gamma[c] + beta[c]


@jit
def _gamma_beta_gradients(grad_output, normalized, grad_gamma, grad_beta):
    grad_gamma[:] = 0
    grad_beta[:] = 0
    for r in range(grad_output.shape[0]):
        for c in range(grad_output.shape[1]):
            grad_beta[c] += grad_output[r, c]
            grad_gamma[c] += grad_output[r, c] * normalized[r, c]


@jit
def _training_input_gradient(grad_output, normalized, grad_gamma, grad_beta, rows, factor, out):
    for r in range(grad_output.shape[0]):
        for c in range(grad_output.shape[1]):
            value = rows * grad_output[r, c]
            value -= grad_beta[c]
            value -= normalized[r, c] * grad_gamma[c]
            out[r, c] = value * factor[c]


@jit
def _scale_rows(grad_output, factor, out):
    for r in range(grad_output.shape[0]):
        for c in range(grad_output.shape[1]):
            out[r, c] = grad_output[r, c] * factor[c]


def batch_norm_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance: x (M, C) -> mean (C,), variance (C,).

    variance = sum((x - mean)^2) / M (divides by M, not M - 1), in two passes.
    """
    x = _matrix(x)
    mean = np.empty(x.shape[1], dtype=x.dtype)
    variance = np.empty_like(mean)
    if x.shape[0] == 0:
        mean[:] = np.nan
        variance[:] = np.nan
        return mean, variance
    _statistics(x, scalar(x.shape[0], x.dtype), mean, variance)
    return mean, variance


def batch_norm_forward(
    x: np.ndarray,
    mean: np.ndarray,
    variance: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    epsilon: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = gamma * (x - mean) / sqrt(variance + epsilon) + beta.

    x: (M, C); mean, variance, gamma, beta: (C,); epsilon: float.
    Returns y (M, C), normalized (M, C) and inverse_std (C,), which backward needs.
    """
    x = _matrix(x)
    dtype = x.dtype
    variance = contiguous(variance, dtype)
    inverse_std = 1.0 / np.sqrt(variance + scalar(epsilon, dtype))
    outputs = np.empty_like(x)
    normalized = np.empty_like(x)
    _forward(
        x,
        contiguous(mean, dtype),
        inverse_std,
        contiguous(gamma, dtype),
        contiguous(beta, dtype),
        outputs,
        normalized,
    )
    return outputs, normalized, inverse_std


def batch_norm_backward(
    grad_output: np.ndarray, normalized: np.ndarray, inverse_std: np.ndarray, gamma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients when mean and variance are this batch's statistics (training).

    With g = dL/dy (M, C) and sums over the M rows:
        dL/dgamma = sum(g * normalized)   (C,)
        dL/dbeta  = sum(g)                (C,)
        dL/dx     = gamma * inverse_std / M * (M * g - sum(g) - normalized * sum(g * normalized))
    (M, C). Returns (dL/dx, dL/dgamma, dL/dbeta).
    """
    grad_output = _matrix(grad_output)
    dtype = grad_output.dtype
    normalized = _matrix(normalized, dtype)
    rows = grad_output.shape[0]
    grad_gamma = np.empty(grad_output.shape[1], dtype=dtype)
    grad_beta = np.empty_like(grad_gamma)
    _gamma_beta_gradients(grad_output, normalized, grad_gamma, grad_beta)
    factor = contiguous(gamma, dtype) * contiguous(inverse_std, dtype) / rows
    grad_input = np.empty_like(grad_output)
    _training_input_gradient(
        grad_output, normalized, grad_gamma, grad_beta, scalar(rows, dtype), factor, grad_input
    )
    return grad_input, grad_gamma, grad_beta


def batch_norm_inference_backward(
    grad_output: np.ndarray, normalized: np.ndarray, inverse_std: np.ndarray, gamma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients when mean and variance are constants (the moving statistics).

    g = dL/dy (M, C): dL/dx = g * gamma * inverse_std (M, C),
    dL/dgamma = sum(g * normalized) (C,), dL/dbeta = sum(g) (C,).
    Returns (dL/dx, dL/dgamma, dL/dbeta).
    """
    grad_output = _matrix(grad_output)
    dtype = grad_output.dtype
    grad_gamma = np.empty(grad_output.shape[1], dtype=dtype)
    grad_beta = np.empty_like(grad_gamma)
    _gamma_beta_gradients(grad_output, _matrix(normalized, dtype), grad_gamma, grad_beta)
    grad_input = np.empty_like(grad_output)
    _scale_rows(grad_output, contiguous(gamma, dtype) * contiguous(inverse_std, dtype), grad_input)
    return grad_input, grad_gamma, grad_beta
