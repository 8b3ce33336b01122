"""exp and log1p that Numba can vectorise, for float32.

Numba calls the C library's scalar ``expf``/``log1pf``, one element at a time, which is
several times slower than NumPy's SIMD loops. These are the classic Cephes single-precision
algorithms written with plain arithmetic (range reduction, a minimax polynomial, and
2^n built from its bit pattern), which LLVM turns into vector code. Their error is about
1 ulp (tests/test_backends.py compares them with NumPy over the whole float32 range),
and inf, -inf and NaN give what NumPy gives. float64 keeps the C library's functions.

Use ``fast_exp(x)`` and ``fast_log1p(x)`` inside jitted kernels: they pick the float32
algorithm or ``np.exp``/``np.log1p`` from the type of x when the kernel is compiled.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

from ._jit import jit


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE-754 bit pattern is the int32 ``bits`` (a bitcast)."""
    signature = types.float32(types.int32)

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.FloatType())

    return signature, codegen


_F = np.float32
_LOG2E = _F(1.44269504088896341)
_LN2_HI = _F(0.693359375)
_LN2_LO = _F(-2.12194440e-4)
_EXP_OVERFLOW = _F(88.72283935546875)  # above: inf
_EXP_UNDERFLOW = _F(-103.97208404541016)  # below: 0
_EXP_P0 = _F(1.9875691500e-4)
_EXP_P1 = _F(1.3981999507e-3)
_EXP_P2 = _F(8.3334519073e-3)
_EXP_P3 = _F(4.1665795894e-2)
_EXP_P4 = _F(1.6666665459e-1)
_EXP_P5 = _F(5.0000001201e-1)
_ONE = _F(1.0)
_HALF = _F(0.5)
_ZERO = _F(0.0)
_INF = _F(np.inf)
_SQRT_TWO = _F(1.41421356237309505)
_LOG_P = (
    _F(7.0376836292e-2),
    _F(-1.1514610310e-1),
    _F(1.1676998740e-1),
    _F(-1.2420140846e-1),
    _F(1.4249322787e-1),
    _F(-1.6668057665e-1),
    _F(2.0000714765e-1),
    _F(-2.4999993993e-1),
    _F(3.3333331174e-1),
)


@jit
def _exp2_int32(n):
    """2.0**n as float32 for an integer -126 <= n <= 127."""
    return _float32_from_bits(np.int32((n + 127) << 23))


@jit
def exp32(x):
    """exp(x) for a float32 x (Cephes expf: x = n ln2 + r, |r| <= ln2/2)."""
    t = x * _LOG2E
    # Clamp before the integer conversion (NaN and huge values would be undefined there);
    # the special cases are put back at the end.
    if not t > -150.0:
        t = _F(-150.0)
    if t > 150.0:
        t = _F(150.0)
    n = np.floor(t + _HALF)
    r = x - n * _LN2_HI
    r = r - n * _LN2_LO
    z = r * r
    p = _EXP_P0 * r + _EXP_P1
    p = p * r + _EXP_P2
    p = p * r + _EXP_P3
    p = p * r + _EXP_P4
    p = p * r + _EXP_P5
    p = p * z + r + _ONE
    # 2^n as two factors, so that n = 128 and results down in the subnormals both work.
    k = np.int32(n)
    half_k = k >> 1
    result = p * _exp2_int32(half_k) * _exp2_int32(k - half_k)
    if x > _EXP_OVERFLOW:
        result = _INF
    if x < _EXP_UNDERFLOW:
        result = _ZERO
    if x != x:
        result = x
    return result


@jit
def _log32_near_one(m):
    """log(m) for a float32 m in [sqrt(1/2), sqrt(2)] (Cephes logf's polynomial)."""
    x = m - _ONE
    z = x * x
    y = _LOG_P[0] * x + _LOG_P[1]
    y = y * x + _LOG_P[2]
    y = y * x + _LOG_P[3]
    y = y * x + _LOG_P[4]
    y = y * x + _LOG_P[5]
    y = y * x + _LOG_P[6]
    y = y * x + _LOG_P[7]
    y = y * x + _LOG_P[8]
    y = y * x * z
    y = y - _HALF * z
    return x + y


@jit
def log1p32_unit(u):
    """log(1 + u) for a float32 u in [0, 1] (e.g. u = exp(-|z|)); NaN gives NaN.

    w = 1 + u lies in [1, 2]; log(w) = k ln2 + log(w / 2^k) with k = 1 when w > sqrt(2)
    (so that w / 2^k is in [sqrt(1/2), sqrt(2)]), plus the rounding error of 1 + u,
    (u - (w - 1)) / w. Written without branches so that it vectorises.
    """
    w = _ONE + u
    correction = (u - (w - _ONE)) / w
    halve = w > _SQRT_TWO
    m = w * _HALF if halve else w
    k = _ONE if halve else _ZERO
    return _log32_near_one(m) + k * _LN2_LO + k * _LN2_HI + correction


def fast_exp(x):
    """exp(x): the vectorisable float32 algorithm for float32, np.exp otherwise."""
    return np.exp(x)


def fast_log1p_unit(u):
    """log(1 + u) for u in [0, 1]: the vectorisable float32 algorithm, np.log1p otherwise."""
    return np.log1p(u)


@overload(fast_exp, jit_options={"cache": True})
def _fast_exp(x):
    if x == types.float32:
        return lambda x: exp32(x)
    return lambda x: np.exp(x)


@overload(fast_log1p_unit, jit_options={"cache": True})
def _fast_log1p_unit(u):
    if u == types.float32:
        return lambda u: log1p32_unit(u)
    return lambda u: np.log1p(u)
