"""The shifted products of ``conv_planes`` for kernels of nine taps (3x3, 1x9, 9x1),
register-blocked (Numba backend).

``conv_planes._add_tap_products`` makes one pass over a filter's output row per three
taps: each pass loads four values and stores one per three multiply-adds, so the loads
and stores, not the arithmetic, bound it. Here the nine shifted values of a channel plane
at position p are loaded once and used for several filters:

    forward, four filters f..f+3 at a time (nine loads, four loads and four stores of
    the outputs, 36 multiply-adds per p):
        out[f + k, p] += sum_t weights[f + k, t] * plane[offsets[t] + p]     (k < 4)

    kernel gradient, two filters at a time (nine loads and two of the output gradient,
    18 multiply-adds per p, 18 sums kept in registers):
        grads[f + k, t] += sum_p plane[offsets[t] + p] * grad_planes[f + k, p]  (k < 2)

The weights are read into scalars before the loop, so that LLVM keeps them in registers
(broadcast across the vector lanes) instead of reloading them from an array it cannot
prove is not the output. On one core (AMD EPYC, AVX-512; one 30x120 float32 plane), the
forward products went from 34 GFLOP/s (three taps a pass, one filter at a time) to 71,
the kernel gradient's from 34 to 82; the autoencoder's maps 1.2 to 1.6 times faster
(``python -m benchmarks.levers --lever plane-loops``).
"""

from __future__ import annotations

import numpy as np

from ._jit import REDUCTION_FASTMATH, jit

NINE_TAPS = 9


@jit
def shifted(plane: np.ndarray, offset: int, length: int) -> np.ndarray:
    """plane[offset : offset + length]. A slice, so that the loops over it index from 0:
    an index computed as offset + p inside the loop keeps LLVM from vectorising it
    (Numba's negative-index check). The plane loops of ``conv_planes`` use it too."""
    return plane[offset : offset + length]


@jit
def _nine(row):
    """The nine values of ``row`` as a tuple of scalars (kept in registers)."""
    return (row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8])


@jit(fastmath=REDUCTION_FASTMATH)
def _weighted_nine(w, a0, a1, a2, a3, a4, a5, a6, a7, a8):
    """sum_t w[t] * a_t for the nine taps t."""
    return (
        w[0] * a0
        + w[1] * a1
        + w[2] * a2
        + w[3] * a3
        + w[4] * a4
        + w[5] * a5
        + w[6] * a6
        + w[7] * a7
        + w[8] * a8
    )


@jit(fastmath=REDUCTION_FASTMATH)
def add_products_four_filters(
    out: np.ndarray, plane: np.ndarray, offsets: np.ndarray, weights: np.ndarray
) -> None:
    """out[k, p] += sum_t weights[k, t] * plane[offsets[t] + p] for the four rows k of
    out (4, L) and weights (4, 9), t < 9, p < L."""
    length = out.shape[1]
    s0 = shifted(plane, offsets[0], length)
    s1 = shifted(plane, offsets[1], length)
    s2 = shifted(plane, offsets[2], length)
    s3 = shifted(plane, offsets[3], length)
    s4 = shifted(plane, offsets[4], length)
    s5 = shifted(plane, offsets[5], length)
    s6 = shifted(plane, offsets[6], length)
    s7 = shifted(plane, offsets[7], length)
    s8 = shifted(plane, offsets[8], length)
    out0, out1, out2, out3 = out[0], out[1], out[2], out[3]
    w0, w1, w2, w3 = _nine(weights[0]), _nine(weights[1]), _nine(weights[2]), _nine(weights[3])
    for p in range(length):
        a0, a1, a2, a3, a4 = s0[p], s1[p], s2[p], s3[p], s4[p]
        a5, a6, a7, a8 = s5[p], s6[p], s7[p], s8[p]
        out0[p] += _weighted_nine(w0, a0, a1, a2, a3, a4, a5, a6, a7, a8)
        out1[p] += _weighted_nine(w1, a0, a1, a2, a3, a4, a5, a6, a7, a8)
        out2[p] += _weighted_nine(w2, a0, a1, a2, a3, a4, a5, a6, a7, a8)
        out3[p] += _weighted_nine(w3, a0, a1, a2, a3, a4, a5, a6, a7, a8)


@jit(fastmath=REDUCTION_FASTMATH)
def add_products(
    out: np.ndarray, plane: np.ndarray, offsets: np.ndarray, weights: np.ndarray
) -> None:
    """out[p] += sum_t weights[t] * plane[offsets[t] + p] for out (L,), weights (9,)."""
    length = out.shape[0]
    s0 = shifted(plane, offsets[0], length)
    s1 = shifted(plane, offsets[1], length)
    s2 = shifted(plane, offsets[2], length)
    s3 = shifted(plane, offsets[3], length)
    s4 = shifted(plane, offsets[4], length)
    s5 = shifted(plane, offsets[5], length)
    s6 = shifted(plane, offsets[6], length)
    s7 = shifted(plane, offsets[7], length)
    s8 = shifted(plane, offsets[8], length)
    w = _nine(weights)
    for p in range(length):
        out[p] += _weighted_nine(w, s0[p], s1[p], s2[p], s3[p], s4[p], s5[p], s6[p], s7[p], s8[p])


@jit(fastmath=REDUCTION_FASTMATH)
def add_dot_products_two_filters(
    grads: np.ndarray, plane: np.ndarray, offsets: np.ndarray, grad_planes: np.ndarray, length: int
) -> None:
    """grads[k, t] += sum_p plane[offsets[t] + p] * grad_planes[k, p] for the two rows k
    of grads (2, 9) and grad_planes (2, >= length), t < 9, p < length."""
    s0 = shifted(plane, offsets[0], length)
    s1 = shifted(plane, offsets[1], length)
    s2 = shifted(plane, offsets[2], length)
    s3 = shifted(plane, offsets[3], length)
    s4 = shifted(plane, offsets[4], length)
    s5 = shifted(plane, offsets[5], length)
    s6 = shifted(plane, offsets[6], length)
    s7 = shifted(plane, offsets[7], length)
    s8 = shifted(plane, offsets[8], length)
    # Rows cut one at a time: a 2-D slice grad_planes[:, :length] was not vectorised.
    g = shifted(grad_planes[0], 0, length)
    h = shifted(grad_planes[1], 0, length)
    zero = grads.dtype.type(0)
    g0 = g1 = g2 = g3 = g4 = g5 = g6 = g7 = g8 = zero
    h0 = h1 = h2 = h3 = h4 = h5 = h6 = h7 = h8 = zero
    for p in range(length):
        a0, a1, a2, a3, a4 = s0[p], s1[p], s2[p], s3[p], s4[p]
        a5, a6, a7, a8 = s5[p], s6[p], s7[p], s8[p]
        x, y = g[p], h[p]
        g0 += a0 * x
        g1 += a1 * x
        g2 += a2 * x
        g3 += a3 * x
        g4 += a4 * x
        g5 += a5 * x
        g6 += a6 * x
        g7 += a7 * x
        g8 += a8 * x
        h0 += a0 * y
        h1 += a1 * y
        h2 += a2 * y
        h3 += a3 * y
        h4 += a4 * y
        h5 += a5 * y
        h6 += a6 * y
        h7 += a7 * y
        h8 += a8 * y
    _add_nine(grads[0], g0, g1, g2, g3, g4, g5, g6, g7, g8)
    _add_nine(grads[1], h0, h1, h2, h3, h4, h5, h6, h7, h8)


@jit(fastmath=REDUCTION_FASTMATH)
def add_dot_products(
    grads: np.ndarray, plane: np.ndarray, offsets: np.ndarray, values: np.ndarray, length: int
) -> None:
    """grads[t] += sum_p plane[offsets[t] + p] * values[p] for grads (9,), p < length."""
    s0 = shifted(plane, offsets[0], length)
    s1 = shifted(plane, offsets[1], length)
    s2 = shifted(plane, offsets[2], length)
    s3 = shifted(plane, offsets[3], length)
    s4 = shifted(plane, offsets[4], length)
    s5 = shifted(plane, offsets[5], length)
    s6 = shifted(plane, offsets[6], length)
    s7 = shifted(plane, offsets[7], length)
    s8 = shifted(plane, offsets[8], length)
    g = shifted(values, 0, length)
    zero = grads.dtype.type(0)
    g0 = g1 = g2 = g3 = g4 = g5 = g6 = g7 = g8 = zero
    for p in range(length):
        x = g[p]
        g0 += s0[p] * x
        g1 += s1[p] * x
        g2 += s2[p] * x
        g3 += s3[p] * x
        g4 += s4[p] * x
        g5 += s5[p] * x
        g6 += s6[p] * x
        g7 += s7[p] * x
        g8 += s8[p] * x
    _add_nine(grads, g0, g1, g2, g3, g4, g5, g6, g7, g8)


@jit
def _add_nine(row, a0, a1, a2, a3, a4, a5, a6, a7, a8):
    """row[t] += a_t for the nine taps t."""
    row[0] += a0
    row[1] += a1
    row[2] += a2
    row[3] += a3
    row[4] += a4
    row[5] += a5
    row[6] += a6
    row[7] += a7
    row[8] += a8
