"""Element-wise activations and their derivatives (Numba), same signatures as NumPy's.

Each op is one pass over the data with no temporaries; the kernels see the arrays
flattened to 1-D (softmax: as rows over the last axis). relu, leaky_relu and every
backward but softplus's compute the reference formula operation for operation and are
bit-identical to NumPy; the ops that call exp or log1p may differ in the last bit (see
``_math``). tanh, elu and softmax are the reference's own: NumPy's SIMD tanh and expm1 beat the
scalar libm calls a Numba loop makes (measured in their docstrings).
"""

from __future__ import annotations

import numba
import numpy as np

from .. import numpy_backend as _reference
from ._jit import contiguous, jit, scalar
from ._math import fast_exp, fast_log1p_unit


def _prepare(*arrays):
    """The arrays as C-contiguous 1-D views of one common dtype, and an empty output of
    the first one's shape: (flat_0, ..., flat_k, out_flat, out)."""
    dtype = np.result_type(*arrays)
    contiguous_arrays = [contiguous(array, dtype) for array in arrays]
    out = np.empty_like(contiguous_arrays[0])
    return (*[array.reshape(-1) for array in contiguous_arrays], out.reshape(-1), out)


# ------------------------------------------------------------------------ kernels
@jit(parallel=True)
def _relu(x, out):
    for i in numba.prange(x.size):
        value = x[i]
        # As np.maximum(x, 0): NaN propagates and -0.0 becomes 0.0.
        out[i] = value if value > 0 or value != value else 0


@jit(parallel=True)
def _relu_backward(x, grad_output, out):
    one, zero = grad_output.dtype.type(1), grad_output.dtype.type(0)
    for i in numba.prange(x.size):
        out[i] = grad_output[i] * (one if x[i] > 0 else zero)


@jit(parallel=True)
def _leaky_relu(x, alpha, out):
    for i in numba.prange(x.size):
        value = x[i]
        out[i] = value if value > 0 else alpha * value


@jit(parallel=True)
def _leaky_relu_backward(x, grad_output, alpha, out):
    for i in numba.prange(x.size):
        out[i] = grad_output[i] if x[i] > 0 else alpha * grad_output[i]


@jit(parallel=True)
def _sigmoid(x, out):
    one = x.dtype.type(1)
    for i in numba.prange(x.size):
        out[i] = sigmoid_from(x[i], fast_exp(-abs(x[i])), one)


@jit
def sigmoid_from(x: float, e: float, one: float) -> float:
    """sigmoid(x) from e = exp(-|x|): 1/(1 + e) for x >= 0, e/(1 + e) below.

    Never exp of a positive number, so no overflow: far below zero it keeps the small
    (subnormal) values that 1/(1 + exp(-x)) rounds to 0. The fused output kernel
    (``losses.sigmoid_binary_crossentropy``) shares it and its e, so its p is bit for bit
    this kernel's. NaN gives NaN. ``one``: 1 in the dtype of x.
    """
    reciprocal = one / (one + e)
    return reciprocal if x >= 0 or x != x else e * reciprocal


@jit(parallel=True)
def _sigmoid_backward(y, grad_output, out):
    one = y.dtype.type(1)
    for i in numba.prange(y.size):
        out[i] = grad_output[i] * y[i] * (one - y[i])


@jit(parallel=True)
def _tanh_backward(y, grad_output, out):
    one = y.dtype.type(1)
    for i in numba.prange(y.size):
        out[i] = grad_output[i] * (one - y[i] * y[i])


@jit(parallel=True)
def _softplus(x, out):
    zero = x.dtype.type(0)
    for i in numba.prange(x.size):
        value = x[i]
        positive = value if value > zero or value != value else zero
        out[i] = positive + fast_log1p_unit(fast_exp(-abs(value)))


@jit(parallel=True)
def _softplus_backward(x, grad_output, out):
    one = x.dtype.type(1)
    for i in numba.prange(x.size):
        out[i] = grad_output[i] * (one / (one + fast_exp(-x[i])))


@jit(parallel=True)
def _elu_backward(x, y, grad_output, alpha, out):
    for i in numba.prange(x.size):
        out[i] = grad_output[i] if x[i] > 0 else grad_output[i] * (y[i] + alpha)


@jit(parallel=True)
def _softmax_backward(y, grad_output, out):
    for r in numba.prange(y.shape[0]):
        inner = y.dtype.type(0)
        for k in range(y.shape[1]):
            inner += grad_output[r, k] * y[r, k]
        for k in range(y.shape[1]):
            out[r, k] = y[r, k] * (grad_output[r, k] - inner)


# ------------------------------------------------------------------------ public ops
def relu(x: np.ndarray) -> np.ndarray:
    """y = max(x, 0). x: any shape -> y: same shape and dtype."""
    flat, out_flat, out = _prepare(x)
    _relu(flat, out_flat)
    return out


def relu_backward(x: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * [x > 0]; x, grad_output, result: the same shape."""
    grad_flat, x_flat, out_flat, out = _prepare(grad_output, x)
    _relu_backward(x_flat, grad_flat, out_flat)
    return out


def leaky_relu(x: np.ndarray, alpha: float) -> np.ndarray:
    """y = x for x > 0, alpha * x otherwise; same shape and dtype as x."""
    flat, out_flat, out = _prepare(x)
    _leaky_relu(flat, scalar(alpha, flat.dtype), out_flat)
    return out


def leaky_relu_backward(x: np.ndarray, grad_output: np.ndarray, alpha: float) -> np.ndarray:
    """dL/dx = dL/dy * (1 if x > 0 else alpha); same shape as x."""
    grad_flat, x_flat, out_flat, out = _prepare(grad_output, x)
    _leaky_relu_backward(x_flat, grad_flat, scalar(alpha, grad_flat.dtype), out_flat)
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    """y = 1 / (1 + exp(-x)), computed from exp(-|x|) (``sigmoid_from``): within a few ulps
    of the reference, and below x = -88 (float32) the subnormal values it rounds to 0."""
    flat, out_flat, out = _prepare(x)
    _sigmoid(flat, out_flat)
    return out


def sigmoid_backward(y: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * y * (1 - y); same shape as y."""
    grad_flat, y_flat, out_flat, out = _prepare(grad_output, y)
    _sigmoid_backward(y_flat, grad_flat, out_flat)
    return out


def tanh(x: np.ndarray) -> np.ndarray:
    """y = tanh(x); same shape and dtype as x.

    The NumPy reference's ``np.tanh``: NumPy's SIMD tanh is 40x faster than the scalar
    libm call a Numba loop makes (3.2 ms against 74 us on a 256x784 float32 batch,
    one thread; ``benchmarks.kernels`` measures it).
    """
    return _reference.tanh(x)


def tanh_backward(y: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * (1 - y^2); same shape as y."""
    grad_flat, y_flat, out_flat, out = _prepare(grad_output, y)
    _tanh_backward(y_flat, grad_flat, out_flat)
    return out


def softplus(x: np.ndarray) -> np.ndarray:
    """y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); same shape and dtype as x."""
    flat, out_flat, out = _prepare(x)
    _softplus(flat, out_flat)
    return out


def softplus_backward(x: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy * sigmoid(x); same shape as x."""
    grad_flat, x_flat, out_flat, out = _prepare(grad_output, x)
    _softplus_backward(x_flat, grad_flat, out_flat)
    return out


def elu(x: np.ndarray, alpha: float) -> np.ndarray:
    """y = x for x > 0, alpha * (exp(x) - 1) otherwise; same shape and dtype as x.

    The NumPy reference's: a Numba loop calls a scalar ``expm1`` and was 2.2x slower.
    """
    return _reference.elu(x, alpha)


def elu_backward(x: np.ndarray, y: np.ndarray, grad_output: np.ndarray, alpha: float) -> np.ndarray:
    """dL/dx = dL/dy * (1 if x > 0 else y + alpha); x, y, grad_output: the same shape."""
    grad_flat, x_flat, y_flat, out_flat, out = _prepare(grad_output, x, y)
    _elu_backward(x_flat, y_flat, grad_flat, scalar(alpha, grad_flat.dtype), out_flat)
    return out


def _rows(array, dtype):
    array = contiguous(array, dtype)
    return array.reshape(-1, array.shape[-1]) if array.ndim else array.reshape(1, 1)


def softmax(x: np.ndarray) -> np.ndarray:
    """y_i = exp(x_i - max x) / sum_j exp(x_j - max x) over the last axis; x: (..., D).

    The NumPy reference's: 1.7x faster than a Numba row loop (241 against 405 us on a
    256x784 float32 batch, one thread), which cannot vectorise its NaN-aware row maximum.
    """
    return _reference.softmax(x)


def softmax_backward(y: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
    """dL/dx_i = y_i * (dL/dy_i - sum_j dL/dy_j * y_j) over the last axis; y: (..., D)."""
    dtype = np.result_type(y, grad_output)
    y_rows = _rows(y, dtype)
    out = np.empty_like(y_rows)
    if y_rows.size:
        _softmax_backward(y_rows, _rows(grad_output, dtype), out)
    return out.reshape(np.shape(y))
