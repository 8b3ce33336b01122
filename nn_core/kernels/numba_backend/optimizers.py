"""Optimizer update rules (Numba backend): one fused pass over each parameter array.

Same signatures as the NumPy reference (``numpy_backend/optimizers.py``, where the
formulas are written out). Each kernel walks the flattened arrays once, updating
``param`` and the state in place with no temporary arrays, and does per element exactly
the operations the reference does, in the same order and dtype (scalars cast to the
arrays' dtype first, as NumPy casts a Python float), so the results are bit-identical.
Arrays that are not C-contiguous, or not all of one float dtype, go to the reference.
"""

from __future__ import annotations

import numpy as np

from ..numpy_backend import optimizers as reference
from ._jit import jit

_EMPTY = {dtype: np.empty(0, dtype) for dtype in (np.float32, np.float64)}


def _fusable(param, *arrays):
    """True when every array is C-contiguous with param's shape and float dtype."""
    if param.dtype not in (np.float32, np.float64) or not param.flags.c_contiguous:
        return False
    return all(
        array is None
        or (array.dtype == param.dtype and array.shape == param.shape and array.flags.c_contiguous)
        for array in arrays
    )


def _flat(array, dtype):
    return _EMPTY[dtype] if array is None else array.reshape(-1)


@jit
def _maximum(a, b):
    # As np.maximum: a NaN in either argument is the result.
    if a != a:
        return a
    if b != b:
        return b
    return a if a >= b else b


@jit
def _sgd(param, grad, buffer, lr, momentum, nesterov, weight_decay, has_momentum, has_decay):
    for i in range(param.size):
        g = grad[i]
        if has_decay:
            g = g + weight_decay * param[i]
        if has_momentum:
            b = buffer[i] * momentum
            b = b + g
            buffer[i] = b
            g = g + momentum * b if nesterov else b
        param[i] = param[i] - lr * g


@jit
def _adagrad(param, grad, squared_sum, lr, epsilon):
    for i in range(param.size):
        g = grad[i]
        s = squared_sum[i] + g * g
        squared_sum[i] = s
        step = np.sqrt(s) + epsilon
        step = g / step
        param[i] = param[i] - step * lr


@jit
def _adadelta(param, grad, square_avg, acc_delta, lr, rho, one_minus_rho, epsilon):
    for i in range(param.size):
        g = grad[i]
        v = square_avg[i] * rho
        v = v + one_minus_rho * g * g
        square_avg[i] = v
        delta = np.sqrt(acc_delta[i] + epsilon)
        delta = delta / np.sqrt(v + epsilon)
        delta = delta * g
        u = acc_delta[i] * rho
        acc_delta[i] = u + one_minus_rho * delta * delta
        param[i] = param[i] - delta * lr


@jit
def _rmsprop(
    param,
    grad,
    square_avg,
    grad_avg,
    buffer,
    lr,
    rho,
    one_minus_rho,
    momentum,
    epsilon,
    centered,
    has_momentum,
):
    for i in range(param.size):
        g = grad[i]
        v = square_avg[i] * rho
        v = v + one_minus_rho * g * g
        square_avg[i] = v
        if centered:
            a = grad_avg[i] + one_minus_rho * (g - grad_avg[i])
            grad_avg[i] = a
            denominator = np.sqrt(v - a * a)
        else:
            denominator = np.sqrt(v)
        denominator = denominator + epsilon
        if has_momentum:
            b = buffer[i] * momentum
            b = b + g / denominator
            buffer[i] = b
            param[i] = param[i] - lr * b
        else:
            param[i] = param[i] - g / denominator * lr


@jit
def _adam(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    one_minus_beta_1,
    beta_2,
    one_minus_beta_2,
    epsilon,
    step_size,
    bias_correction_2_sqrt,
    decay,
    amsgrad,
    has_decay,
):
    for i in range(param.size):
        p = param[i]
        if has_decay:
            p = p * decay
        g = grad[i]
        m = exp_avg[i] + one_minus_beta_1 * (g - exp_avg[i])
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta_2
        v = v + one_minus_beta_2 * g * g
        exp_avg_sq[i] = v
        if amsgrad:
            v = _maximum(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = v
        denominator = np.sqrt(v) / bias_correction_2_sqrt + epsilon
        param[i] = p - m / denominator * step_size


def sgd_update(
    param: np.ndarray,
    grad: np.ndarray,
    momentum_buffer: np.ndarray | None,
    lr: float,
    momentum: float,
    nesterov: bool,
    weight_decay: float,
) -> None:
    """SGD step in place; see the reference for the formula. All arrays: param's shape."""
    if not _fusable(param, grad, momentum_buffer if momentum else None):
        return reference.sgd_update(
            param, grad, momentum_buffer, lr, momentum, nesterov, weight_decay
        )
    cast = param.dtype.type
    _sgd(
        param.reshape(-1),
        grad.reshape(-1),
        _flat(momentum_buffer if momentum else None, param.dtype.type),
        cast(lr),
        cast(momentum),
        bool(nesterov),
        cast(weight_decay),
        bool(momentum),
        bool(weight_decay),
    )


def adagrad_update(
    param: np.ndarray, grad: np.ndarray, squared_sum: np.ndarray, lr: float, epsilon: float
) -> None:
    """Adagrad step in place; see the reference. All arrays: param's shape."""
    if not _fusable(param, grad, squared_sum):
        return reference.adagrad_update(param, grad, squared_sum, lr, epsilon)
    cast = param.dtype.type
    _adagrad(param.reshape(-1), grad.reshape(-1), squared_sum.reshape(-1), cast(lr), cast(epsilon))


def adadelta_update(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    acc_delta: np.ndarray,
    lr: float,
    rho: float,
    epsilon: float,
) -> None:
    """Adadelta step in place; see the reference. All arrays: param's shape."""
    if not _fusable(param, grad, square_avg, acc_delta):
        return reference.adadelta_update(param, grad, square_avg, acc_delta, lr, rho, epsilon)
    cast = param.dtype.type
    _adadelta(
        param.reshape(-1),
        grad.reshape(-1),
        square_avg.reshape(-1),
        acc_delta.reshape(-1),
        cast(lr),
        cast(rho),
        cast(1 - rho),
        cast(epsilon),
    )


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
    """RMSprop step in place; see the reference. All arrays: param's shape."""
    grad_avg = grad_avg if centered else None
    momentum_buffer = momentum_buffer if momentum else None
    if not _fusable(param, grad, square_avg, grad_avg, momentum_buffer):
        return reference.rmsprop_update(
            param, grad, square_avg, grad_avg, momentum_buffer, lr, rho, momentum, epsilon, centered
        )
    cast = param.dtype.type
    _rmsprop(
        param.reshape(-1),
        grad.reshape(-1),
        square_avg.reshape(-1),
        _flat(grad_avg, cast),
        _flat(momentum_buffer, cast),
        cast(lr),
        cast(rho),
        cast(1 - rho),
        cast(momentum),
        cast(epsilon),
        bool(centered),
        bool(momentum),
    )


def _adam_step(
    param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta_1, beta_2, epsilon, step, decay
):
    cast = param.dtype.type
    _adam(
        param.reshape(-1),
        grad.reshape(-1),
        exp_avg.reshape(-1),
        exp_avg_sq.reshape(-1),
        _flat(max_exp_avg_sq, cast),
        cast(1 - beta_1),
        cast(beta_2),
        cast(1 - beta_2),
        cast(epsilon),
        cast(lr / (1 - beta_1**step)),
        cast((1 - beta_2**step) ** 0.5),
        cast(decay if decay is not None else 1.0),
        max_exp_avg_sq is not None,
        decay is not None,
    )


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
    """Adam (AMSGrad when max_exp_avg_sq is given) step ``step`` in place; see the reference."""
    if not _fusable(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq):
        return reference.adam_update(
            param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta_1, beta_2, epsilon, step
        )
    _adam_step(
        param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta_1, beta_2, epsilon, step, None
    )


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
    """AdamW step in place: decoupled decay p <- p (1 - lr wd), then Adam; see the reference."""
    if not _fusable(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq):
        return reference.adamw_update(
            param,
            grad,
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq,
            lr,
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            step,
        )
    decay = 1 - lr * weight_decay if weight_decay else None
    _adam_step(
        param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta_1, beta_2, epsilon, step, decay
    )
