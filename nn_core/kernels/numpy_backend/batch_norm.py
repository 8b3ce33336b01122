"""Batch normalisation of an (M, C) array: one mean and variance per channel (column).

The layer views its (N, ..., C) input as (M, C), M = N * (product of the middle axes),
so these kernels see plain 2-D arrays. Notation: x (M, C), mean and variance (C,),
inverse_std = 1 / sqrt(variance + epsilon) (C,), normalized = (x - mean) * inverse_std
(M, C), y = gamma * normalized + beta with gamma, beta (C,).
"""

from __future__ import annotations

import numpy as np


def batch_norm_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance: x (M, C) -> mean (C,), variance (C,).

    variance = sum((x - mean)^2) / M (divides by M, not M - 1), computed in two passes
    so that a large mean does not cancel the variance.
    """
    mean = np.mean(x, axis=0)
    centered = x - mean
    variance = np.mean(centered * centered, axis=0)
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
    inverse_std = 1.0 / np.sqrt(variance + epsilon)
    normalized = (x - mean) * inverse_std
    outputs = normalized * gamma + beta
    return outputs, normalized, inverse_std


def batch_norm_backward(
    grad_output: np.ndarray, normalized: np.ndarray, inverse_std: np.ndarray, gamma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients when mean and variance are this batch's statistics (training).

    With g = dL/dy (M, C) and sums over the M rows:
        dL/dgamma = sum(g * normalized)   (C,)
        dL/dbeta  = sum(g)                (C,)
        dL/dx     = gamma * inverse_std / M * (M * g - sum(g) - normalized * sum(g * normalized))
    (M, C); the two sums are the paths through the batch mean and the batch variance.
    Returns (dL/dx, dL/dgamma, dL/dbeta).
    """
    rows = grad_output.shape[0]
    grad_beta = np.sum(grad_output, axis=0)
    grad_gamma = np.sum(grad_output * normalized, axis=0)
    grad_input = rows * grad_output
    grad_input -= grad_beta
    grad_input -= normalized * grad_gamma
    grad_input *= gamma * inverse_std / rows
    return grad_input, grad_gamma, grad_beta


def batch_norm_inference_backward(
    grad_output: np.ndarray, normalized: np.ndarray, inverse_std: np.ndarray, gamma: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients when mean and variance are constants (the moving statistics).

    g = dL/dy (M, C): dL/dx = g * gamma * inverse_std (M, C),
    dL/dgamma = sum(g * normalized) (C,), dL/dbeta = sum(g) (C,).
    Returns (dL/dx, dL/dgamma, dL/dbeta).
    """
    grad_beta = np.sum(grad_output, axis=0)
    grad_gamma = np.sum(grad_output * normalized, axis=0)
    grad_input = grad_output * (gamma * inverse_std)
    return grad_input, grad_gamma, grad_beta
