"""Losses as means over all elements, and their gradients with respect to y_pred.

y_true and y_pred have the same shape (N, ...); ``size`` below is their element count.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid


def binary_crossentropy(y_true: np.ndarray, y_pred: np.ndarray, epsilon: float) -> float:
    """mean(-(y log p + (1 - y) log(1 - p))), with p = clip(y_pred, epsilon, 1 - epsilon)."""
    p = np.clip(y_pred, epsilon, 1 - epsilon)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log1p(-p)))


def binary_crossentropy_gradient(
    y_true: np.ndarray, y_pred: np.ndarray, epsilon: float
) -> np.ndarray:
    """dL/dp = (p - y) / (p (1 - p)) / size inside the clip range, 0 outside it."""
    inside = (y_pred >= epsilon) & (y_pred <= 1 - epsilon)
    p = np.clip(y_pred, epsilon, 1 - epsilon)
    return np.where(inside, (p - y_true) / (p * (1 - p)), 0).astype(y_pred.dtype) / y_pred.size


def binary_crossentropy_from_logits(y_true: np.ndarray, logits: np.ndarray) -> float:
    """mean(max(z, 0) - z y + log(1 + exp(-|z|))), BCE of sigmoid(z) without overflow."""
    z = logits
    return float(np.mean(np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))))


def binary_crossentropy_from_logits_gradient(y_true: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """dL/dz = (sigmoid(z) - y) / size."""
    grad = sigmoid(logits)
    grad -= y_true
    grad /= logits.size
    return grad


def binary_crossentropy_from_probabilities_gradient(
    y_true: np.ndarray, probabilities: np.ndarray
) -> np.ndarray:
    """dL/dz = (p - y) / size, where p = sigmoid(z) was already computed by the forward pass.

    The same value as ``binary_crossentropy_from_logits_gradient`` when p is the sigmoid
    of the logits, without computing the sigmoid a second time.
    """
    grad = probabilities.copy()
    grad -= y_true
    grad /= probabilities.size
    return grad


def sigmoid_binary_crossentropy(
    y_true: np.ndarray, logits: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """A sigmoid output and its binary cross-entropy at once: (p, L, dL/dz) for logits z.

    p = sigmoid(z) (N, ...), L = mean(max(z, 0) - z y + log(1 + exp(-|z|))) (a float) and
    dL/dz = (p - y) / size (N, ...): what ``sigmoid``, ``binary_crossentropy_from_logits``
    and ``binary_crossentropy_from_probabilities_gradient`` give, which is how this
    reference computes them. A training step whose model ends in a sigmoid trained with
    binary cross-entropy calls this instead of the three (the Numba backend makes one pass).
    """
    probabilities = sigmoid(logits)
    value = binary_crossentropy_from_logits(y_true, logits)
    return (
        probabilities,
        value,
        binary_crossentropy_from_probabilities_gradient(y_true, probabilities),
    )


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean((y_pred - y_true)^2)."""
    return float(np.mean(np.square(y_pred - y_true)))


def mean_squared_error_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dy_pred = 2 (y_pred - y_true) / size."""
    return (y_pred - y_true) * (2 / y_pred.size)


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean(|y_pred - y_true|)."""
    return float(np.mean(np.abs(y_pred - y_true)))


def mean_absolute_error_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dy_pred = sign(y_pred - y_true) / size (0 where they are equal)."""
    return np.sign(y_pred - y_true) * (1 / y_pred.size)
