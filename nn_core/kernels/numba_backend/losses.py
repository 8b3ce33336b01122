"""Losses as means over all elements, and their gradients (Numba backend).

Same signatures and formulas as the NumPy reference; y_true and y_pred have the same
shape (N, ...) and ``size`` is their element count. Each element's term is computed in
the arrays' dtype as in NumPy, and the mean is accumulated in float64 (NumPy adds float32
terms in float32) over REDUCTION_CHUNKS fixed chunks added in order, so the value does
not depend on the thread count. The gradients are element-wise; all but the logits
gradient (which calls exp) are bit-identical to NumPy's. The value of the cross-entropy
on probabilities is the reference's own (see ``binary_crossentropy``).
"""

from __future__ import annotations

import numba
import numpy as np

from .. import numpy_backend as _reference
from ._jit import REDUCTION_CHUNKS, chunk_start, contiguous, jit, scalar
from ._math import fast_exp, fast_log1p_unit
from .activations import sigmoid_from


def _flat(y_true, y_pred):
    """Both as C-contiguous 1-D arrays of y_pred's dtype, and an empty gradient array."""
    y_pred = contiguous(y_pred)
    y_true = contiguous(y_true, y_pred.dtype)
    return y_true.reshape(-1), y_pred.reshape(-1), np.empty_like(y_pred)


@jit
def _clip(p, low, high):
    # As np.clip: NaN stays NaN.
    if p < low:
        return low
    if p > high:
        return high
    return p


# ------------------------------------------------------------------ sums (the values)
# Each chunk computes its terms BLOCK at a time into a small buffer (a loop without a
# carried sum, so exp/log1p vectorise), then adds the buffer into four float64 partial
# sums (independent additions, so they overlap in the pipeline). The order is fixed.
BLOCK = 512


@jit
def _add_block(terms, count, sums):
    k = 0
    while k + 4 <= count:
        sums[0] += terms[k]
        sums[1] += terms[k + 1]
        sums[2] += terms[k + 2]
        sums[3] += terms[k + 3]
        k += 4
    while k < count:
        sums[0] += terms[k]
        k += 1


@jit
def _chunk_total(sums):
    return (sums[0] + sums[1]) + (sums[2] + sums[3])


@jit
def _total(partial):
    # A loop rather than partial.sum(), which costs about a second more to compile.
    total = 0.0
    for value in partial:
        total += value
    return total


@jit
def _bce_logits_term(z, y, e, zero):
    """max(z, 0) - z y + log(1 + e) with e = exp(-|z|): one element's loss from its logit
    (NaN stays NaN). Both the loss value and the fused output kernel use it."""
    positive = z if z > zero or z != z else zero
    return positive - z * y + fast_log1p_unit(e)


@jit(parallel=True)
def _bce_logits_sum(y_true, logits):
    zero = logits.dtype.type(0)
    partial = np.zeros(REDUCTION_CHUNKS)
    for chunk in numba.prange(REDUCTION_CHUNKS):
        terms = np.empty(BLOCK, dtype=logits.dtype)
        sums = np.zeros(4)
        stop = chunk_start(logits.size, REDUCTION_CHUNKS, chunk + 1)
        for start in range(chunk_start(logits.size, REDUCTION_CHUNKS, chunk), stop, BLOCK):
            count = min(BLOCK, stop - start)
            # Slices, not logits[start + k]: LLVM then vectorises the loop (1.6x faster).
            block, targets = logits[start : start + count], y_true[start : start + count]
            for k in range(count):
                z = block[k]
                terms[k] = _bce_logits_term(z, targets[k], fast_exp(-abs(z)), zero)
            _add_block(terms, count, sums)
        partial[chunk] = _chunk_total(sums)
    return _total(partial)


@jit(parallel=True)
def _sigmoid_bce(y_true, logits, size, probabilities, gradient):
    # One pass over the output layer: from e = exp(-|z|), p = sigmoid(z) (as the sigmoid
    # kernel computes it), dL/dz = (p - y)/size and the loss term of ``_bce_logits_sum``
    # (``_bce_logits_term``) on the same e.
    zero, one = logits.dtype.type(0), logits.dtype.type(1)
    partial = np.zeros(REDUCTION_CHUNKS)
    for chunk in numba.prange(REDUCTION_CHUNKS):
        terms = np.empty(BLOCK, dtype=logits.dtype)
        sums = np.zeros(4)
        stop = chunk_start(logits.size, REDUCTION_CHUNKS, chunk + 1)
        for start in range(chunk_start(logits.size, REDUCTION_CHUNKS, chunk), stop, BLOCK):
            count = min(BLOCK, stop - start)
            block, targets = logits[start : start + count], y_true[start : start + count]
            p_block, g_block = probabilities[start : start + count], gradient[start : start + count]
            for k in range(count):
                z = block[k]
                e = fast_exp(-abs(z))
                p = sigmoid_from(z, e, one)
                p_block[k] = p
                g_block[k] = (p - targets[k]) / size
                terms[k] = _bce_logits_term(z, targets[k], e, zero)
            _add_block(terms, count, sums)
        partial[chunk] = _chunk_total(sums)
    return _total(partial)


@jit(parallel=True)
def _squared_error_sum(y_true, y_pred):
    partial = np.zeros(REDUCTION_CHUNKS)
    for chunk in numba.prange(REDUCTION_CHUNKS):
        terms = np.empty(BLOCK, dtype=y_pred.dtype)
        sums = np.zeros(4)
        stop = chunk_start(y_pred.size, REDUCTION_CHUNKS, chunk + 1)
        for start in range(chunk_start(y_pred.size, REDUCTION_CHUNKS, chunk), stop, BLOCK):
            count = min(BLOCK, stop - start)
            predictions, targets = y_pred[start : start + count], y_true[start : start + count]
            for k in range(count):
                difference = predictions[k] - targets[k]
                terms[k] = difference * difference
            _add_block(terms, count, sums)
        partial[chunk] = _chunk_total(sums)
    return _total(partial)


@jit(parallel=True)
def _absolute_error_sum(y_true, y_pred):
    partial = np.zeros(REDUCTION_CHUNKS)
    for chunk in numba.prange(REDUCTION_CHUNKS):
        terms = np.empty(BLOCK, dtype=y_pred.dtype)
        sums = np.zeros(4)
        stop = chunk_start(y_pred.size, REDUCTION_CHUNKS, chunk + 1)
        for start in range(chunk_start(y_pred.size, REDUCTION_CHUNKS, chunk), stop, BLOCK):
            count = min(BLOCK, stop - start)
            predictions, targets = y_pred[start : start + count], y_true[start : start + count]
            for k in range(count):
                terms[k] = abs(predictions[k] - targets[k])
            _add_block(terms, count, sums)
        partial[chunk] = _chunk_total(sums)
    return _total(partial)


# ------------------------------------------------------------------ gradients
@jit(parallel=True)
def _bce_gradient(y_true, y_pred, low, high, size, out):
    one = y_pred.dtype.type(1)
    for i in numba.prange(y_pred.size):
        value = y_pred[i]
        if value >= low and value <= high:
            p = _clip(value, low, high)
            out[i] = (p - y_true[i]) / (p * (one - p)) / size
        else:
            out[i] = 0


@jit(parallel=True)
def _bce_logits_gradient(y_true, logits, size, out):
    one = logits.dtype.type(1)
    for i in numba.prange(logits.size):
        out[i] = (one / (one + fast_exp(-logits[i])) - y_true[i]) / size


@jit(parallel=True)
def _bce_probabilities_gradient(y_true, probabilities, size, out):
    for i in numba.prange(probabilities.size):
        out[i] = (probabilities[i] - y_true[i]) / size


@jit(parallel=True)
def _squared_error_gradient(y_true, y_pred, scale, out):
    for i in numba.prange(y_pred.size):
        out[i] = (y_pred[i] - y_true[i]) * scale


@jit(parallel=True)
def _absolute_error_gradient(y_true, y_pred, scale, out):
    one = y_pred.dtype.type(1)
    for i in numba.prange(y_pred.size):
        difference = y_pred[i] - y_true[i]
        if difference > 0:
            sign = one
        elif difference < 0:
            sign = -one
        else:
            sign = difference  # 0 (of the difference's sign) or NaN, as np.sign
        out[i] = sign * scale


# ------------------------------------------------------------------ public ops
def binary_crossentropy(y_true: np.ndarray, y_pred: np.ndarray, epsilon: float) -> float:
    """mean(-(y log p + (1 - y) log(1 - p))), with p = clip(y_pred, epsilon, 1 - epsilon).

    The NumPy reference's: its SIMD log beats the scalar libm calls of a Numba loop (1.65x
    on a 256x784 float32 batch). Models with a sigmoid output never call this: they take
    the loss from the logits (``binary_crossentropy_from_logits``).
    """
    return _reference.binary_crossentropy(y_true, y_pred, epsilon)


def binary_crossentropy_gradient(
    y_true: np.ndarray, y_pred: np.ndarray, epsilon: float
) -> np.ndarray:
    """dL/dp = (p - y) / (p (1 - p)) / size inside the clip range, 0 outside it."""
    y_true_flat, y_pred_flat, out = _flat(y_true, y_pred)
    dtype = y_pred_flat.dtype
    low, high = scalar(epsilon, dtype), scalar(1 - epsilon, dtype)
    size = scalar(y_pred_flat.size, dtype)
    _bce_gradient(y_true_flat, y_pred_flat, low, high, size, out.reshape(-1))
    return out


def binary_crossentropy_from_logits(y_true: np.ndarray, logits: np.ndarray) -> float:
    """mean(max(z, 0) - z y + log(1 + exp(-|z|))), BCE of sigmoid(z) without overflow."""
    y_true, logits, _ = _flat(y_true, logits)
    return float(_bce_logits_sum(y_true, logits) / logits.size)


def binary_crossentropy_from_logits_gradient(y_true: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """dL/dz = (sigmoid(z) - y) / size."""
    y_true_flat, logits_flat, out = _flat(y_true, logits)
    size = scalar(logits_flat.size, logits_flat.dtype)
    _bce_logits_gradient(y_true_flat, logits_flat, size, out.reshape(-1))
    return out


def binary_crossentropy_from_probabilities_gradient(
    y_true: np.ndarray, probabilities: np.ndarray
) -> np.ndarray:
    """dL/dz = (p - y) / size, where p = sigmoid(z) was already computed by the forward pass."""
    y_true_flat, probabilities_flat, out = _flat(y_true, probabilities)
    size = scalar(probabilities_flat.size, probabilities_flat.dtype)
    _bce_probabilities_gradient(y_true_flat, probabilities_flat, size, out.reshape(-1))
    return out


def sigmoid_binary_crossentropy(
    y_true: np.ndarray, logits: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray]:
    """(p, L, dL/dz) of a sigmoid output trained with binary cross-entropy, in one pass.

    p = sigmoid(z), L = mean(max(z, 0) - z y + log(1 + exp(-|z|))), dL/dz = (p - y) / size,
    all from one exponential per element, e = exp(-|z|). Bit for bit what the three
    separate kernels of this backend give: p as ``sigmoid`` (``activations.sigmoid_from``),
    L as ``binary_crossentropy_from_logits`` (the same terms), dL/dz as
    ``binary_crossentropy_from_probabilities_gradient`` on this p. On a 256x784 float32
    batch, two threads: 0.28 ms against 0.37 ms for the three separate kernels
    (``python -m benchmarks.levers --lever fused-output``).
    """
    y_true_flat, logits_flat, probabilities = _flat(y_true, logits)
    gradient = np.empty_like(probabilities)
    size = scalar(logits_flat.size, logits_flat.dtype)
    total = _sigmoid_bce(
        y_true_flat, logits_flat, size, probabilities.reshape(-1), gradient.reshape(-1)
    )
    return probabilities, float(total / logits_flat.size), gradient


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean((y_pred - y_true)^2)."""
    y_true, y_pred, _ = _flat(y_true, y_pred)
    return float(_squared_error_sum(y_true, y_pred) / y_pred.size)


def mean_squared_error_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dy_pred = 2 (y_pred - y_true) / size."""
    y_true_flat, y_pred_flat, out = _flat(y_true, y_pred)
    scale = scalar(2 / y_pred_flat.size, y_pred_flat.dtype)
    _squared_error_gradient(y_true_flat, y_pred_flat, scale, out.reshape(-1))
    return out


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """mean(|y_pred - y_true|)."""
    y_true, y_pred, _ = _flat(y_true, y_pred)
    return float(_absolute_error_sum(y_true, y_pred) / y_pred.size)


def mean_absolute_error_gradient(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """dL/dy_pred = sign(y_pred - y_true) / size (0 where they are equal)."""
    y_true_flat, y_pred_flat, out = _flat(y_true, y_pred)
    scale = scalar(1 / y_pred_flat.size, y_pred_flat.dtype)
    _absolute_error_gradient(y_true_flat, y_pred_flat, scale, out.reshape(-1))
    return out
