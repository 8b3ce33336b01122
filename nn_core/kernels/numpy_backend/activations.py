"""Element-wise activations and their derivatives.

Each ``<name>_backward`` takes what its forward kept (input ``x`` or output ``y``)
and dL/dy, and returns dL/dx = dL/dy * f'(x).
"""

from __future__ import annotations

import numpy as np


def relu(x: np.ndarray) -> np.ndarray:
    """y = max(x, 0)."""
    return np.maximum(x, 0)


def relu_backward(x: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * [x > 0]."""
    return grad_output * (x > 0)


def leaky_relu(x: np.ndarray, alpha: float) -> np.ndarray:
    """y = x for x > 0, alpha * x otherwise."""
    return np.where(x > 0, x, alpha * x)


def leaky_relu_backward(x: np.ndarray, grad_output: np.ndarray, alpha: float) -> np.ndarray:
    """dL/dx = dL/dy * (1 if x > 0 else alpha)."""
    return np.where(x > 0, grad_output, alpha * grad_output)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """y = 1 / (1 + exp(-x)).

    exp(-x) overflows to inf for very negative x, which gives the right limit 0.
    """
    with np.errstate(over="ignore"):
        y = np.exp(-x)
    y += 1
    np.reciprocal(y, out=y)
    return y


def sigmoid_backward(y: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * y * (1 - y)."""
    return grad_output * y * (1 - y)


def tanh(x: np.ndarray) -> np.ndarray:
    """y = tanh(x)."""
    return np.tanh(x)


def tanh_backward(y: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * (1 - y^2)."""
    return grad_output * (1 - y * y)


def softplus(x: np.ndarray) -> np.ndarray:
    """y = log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) to avoid overflow."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softplus_backward(x: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * sigmoid(x)."""
    return grad_output * sigmoid(x)


def elu(x: np.ndarray, alpha: float) -> np.ndarray:
    """y = x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_backward(x: np.ndarray, y: np.ndarray, grad_output: np.ndarray, alpha: float) -> np.ndarray:
    """dL/dx = dL/dy * (1 if x > 0 else y + alpha)."""
    return np.where(x > 0, grad_output, grad_output * (y + alpha))


def softmax(x: np.ndarray) -> np.ndarray:
    """y_i = exp(x_i - max x) / sum_j exp(x_j - max x) over the last axis."""
    shifted = x - np.max(x, axis=-1, keepdims=True)
    y = np.exp(shifted)
    y /= np.sum(y, axis=-1, keepdims=True)
    return y


def softmax_backward(y: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx_i = y_i * (dL/dy_i - sum_j dL/dy_j * y_j) over the last axis."""
    inner = np.sum(grad_output * y, axis=-1, keepdims=True)
    return y * (grad_output - inner)
