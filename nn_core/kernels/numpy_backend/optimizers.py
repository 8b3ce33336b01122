"""Optimizer update rules, each one in-place step for one parameter array.

These are the readable reference formulas (torch.optim's, see nn_core/optimizers for
the derivations and defaults). Every array argument has the parameter's shape and dtype;
``param`` and the state arrays are updated in place, ``grad`` is only read. Scalars are
Python floats; as NumPy does, they are cast to the arrays' dtype in each operation.
An optional state array is None when its option is off.
"""

from __future__ import annotations

import numpy as np


def sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    momentum_buffer: np.ndarray | None,
    lr: float,
    momentum: float,
    nesterov: bool,
    weight_decay: float,
) -> None:
    """SGD with optional (Nesterov) momentum and coupled L2 weight decay:

    g <- g + weight_decay * p                      (if weight_decay)
    b <- momentum * b + g                          (if momentum; b starts at 0)
    g <- g + momentum * b if nesterov else b       (if momentum)
    p <- p - lr * g
    """
    if weight_decay:
        grad = grad + weight_decay * param
    if momentum:
        assert momentum_buffer is not None  # given whenever momentum is on
        momentum_buffer *= momentum
        momentum_buffer += grad
        grad = grad + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= lr * grad


def adagrad_update(
    param: np.ndarray, grad: np.ndarray, squared_sum: np.ndarray, lr: float, epsilon: float
) -> None:
    """s <- s + g^2;  p <- p - lr * g / (sqrt(s) + epsilon)."""
    squared_sum += grad * grad
    step = np.sqrt(squared_sum)
    step += epsilon
    np.divide(grad, step, out=step)
    step *= lr
    param -= step


def adadelta_update(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    acc_delta: np.ndarray,
    lr: float,
    rho: float,
    epsilon: float,
) -> None:
    """v <- rho v + (1 - rho) g^2;  delta = sqrt(u + eps) / sqrt(v + eps) * g;
    u <- rho u + (1 - rho) delta^2;  p <- p - lr * delta."""
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad
    delta = np.sqrt(acc_delta + epsilon)
    delta /= np.sqrt(square_avg + epsilon)
    delta *= grad
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    delta *= lr
    param -= delta


def rmsprop_update(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    grad_avg: np.ndarray | None,
    momentum_buffer: np.ndarray | None,
    lr: float,
    rho: float,
    momentum: float,
    epsilon: float,
    centered: bool,
) -> None:
    """v <- rho v + (1 - rho) g^2;  a <- a + (1 - rho)(g - a) (centered);
    d = sqrt(v - a^2) + eps if centered else sqrt(v) + eps;
    b <- momentum b + g / d, p <- p - lr b (if momentum), else p <- p - lr g / d."""
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad
    if centered:
        assert grad_avg is not None  # given whenever centered is on
        grad_avg += (1 - rho) * (grad - grad_avg)
        denominator = square_avg - grad_avg * grad_avg
        np.sqrt(denominator, out=denominator)
    else:
        denominator = np.sqrt(square_avg)
    denominator += epsilon
    if momentum:
        assert momentum_buffer is not None  # given whenever momentum is on
        momentum_buffer *= momentum
        momentum_buffer += grad / denominator
        param -= lr * momentum_buffer
    else:
        np.divide(grad, denominator, out=denominator)
        denominator *= lr
        param -= denominator


def adam_update(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray | None,
    lr: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    step: int,
) -> None:
    """Adam step number ``step`` (1, 2, ...), AMSGrad when ``max_exp_avg_sq`` is given:

    m <- m + (1 - beta_1) (g - m);  v <- beta_2 v + (1 - beta_2) g^2
    v_max <- max(v_max, v), and v_max replaces v below      (amsgrad)
    p <- p - lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon)
    """
    exp_avg += (1 - beta_1) * (grad - exp_avg)
    exp_avg_sq *= beta_2
    exp_avg_sq += (1 - beta_2) * grad * grad
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        exp_avg_sq = max_exp_avg_sq
    step_size = lr / (1 - beta_1**step)
    denominator = np.sqrt(exp_avg_sq)
    denominator /= (1 - beta_2**step) ** 0.5
    denominator += epsilon
    np.divide(exp_avg, denominator, out=denominator)
    denominator *= step_size
    param -= denominator


def adamw_update(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray | None,
    lr: float,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    weight_decay: float,
    step: int,
) -> None:
    """AdamW: p <- p * (1 - lr * weight_decay) (decoupled decay), then ``adam_update``."""
    if weight_decay:
        param *= 1 - lr * weight_decay
    adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta_1, beta_2, epsilon, step)
