"""The Numba backend against the NumPy reference, op by op, and the backend machinery.

Every op of ``numpy_backend`` has a case here (a test fails when one is added without
one) that runs both backends on the same random inputs, over several shapes, strides and
paddings, in float32 and float64, and compares with one of three standards:

* ``exact``: bit-identical (the same element-wise formula, operation for operation);
* ``ulp``: a few units in the last place (the op calls exp, log1p, expm1 or tanh);
* ``sum``: a reduction of ``length`` terms summed in another order: |numba - numpy| <=
  2 * length * eps * S elementwise, where S is the same op applied to the absolute values
  of the inputs (the classic bound on the rounding error of a sum, so a wrong index or a
  missed term, errors of order S, always fail).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("numba")

import nn_core  # noqa: E402
from nn_core import kernels, threads  # noqa: E402
from nn_core._gradcheck_report import (  # noqa: E402
    LAYER_EXAMPLES,
    discovered_layers,
    example_inputs,
)
from nn_core.gradcheck import check_layer  # noqa: E402
from nn_core.kernels import numba_backend as fast  # noqa: E402
from nn_core.kernels import numpy_backend as reference  # noqa: E402
from nn_core.kernels.numba_backend import _jit, _math, conv_planes  # noqa: E402
from nn_core.kernels.numba_backend import conv as fast_conv  # noqa: E402

DTYPES = [np.float32, np.float64]


@pytest.fixture(autouse=True, params=["parallel", "serial"])
def both_builds_of_each_parallel_kernel(request, monkeypatch):
    """Every test here runs twice: with each parallel kernel's parallel build on all of
    Numba's threads (the test arrays are small, so PARALLEL_MIN_WORK is set to 0), and
    with its serial build (what arrays below PARALLEL_MIN_WORK get)."""
    from nn_core.kernels.numba_backend import _jit

    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0 if request.param == "parallel" else 2**62)


ELEMENTWISE_SHAPES = [(1,), (7,), (3, 5), (2, 3, 4, 5)]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ comparison helpers
def assert_exact(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)


def assert_ulp(actual, expected, ulps=4):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    eps = np.finfo(expected.dtype).eps
    tolerance = ulps * eps * np.maximum(np.abs(expected), np.finfo(expected.dtype).tiny)
    with np.errstate(invalid="ignore"):
        close = (actual == expected) | (np.abs(actual - expected) <= tolerance)
    assert np.all(close | np.isnan(expected)), np.max(np.abs(actual - expected))


def assert_sum(actual, expected, absolute_scale, length):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    eps = np.finfo(expected.dtype).eps
    bound = 2 * length * eps * np.asarray(absolute_scale, dtype=np.float64) + 1e-30
    error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    assert np.all(error <= bound), f"max error {error.max()}, bound {bound.max()}"


def random(rng, shape, dtype, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(dtype)


# ------------------------------------------------------------------ element-wise cases
# name -> (arguments (rng, shape, dtype) -> tuple, standard); the op is called on both.
def _x(rng, shape, dtype):
    return (random(rng, shape, dtype, -6, 6),)


def _x_grad(rng, shape, dtype):
    return random(rng, shape, dtype, -6, 6), random(rng, shape, dtype)


def _y_grad(rng, shape, dtype):
    return random(rng, shape, dtype, 0, 1), random(rng, shape, dtype)


ELEMENTWISE = {
    "relu": (_x, "exact"),
    "relu_backward": (_x_grad, "exact"),
    "leaky_relu": (lambda r, s, d: (*_x(r, s, d), 0.3), "exact"),
    "leaky_relu_backward": (lambda r, s, d: (*_x_grad(r, s, d), 0.3), "exact"),
    "sigmoid": (_x, "ulp"),
    "sigmoid_backward": (_y_grad, "exact"),
    "tanh": (_x, "ulp"),
    "tanh_backward": (_y_grad, "exact"),
    "softplus": (_x, "ulp"),
    "softplus_backward": (_x_grad, "ulp"),
    "elu": (lambda r, s, d: (*_x(r, s, d), 1.5), "ulp"),
    "elu_backward": (
        lambda r, s, d: (
            random(r, s, d, -3, 3),
            random(r, s, d, -1, 1),
            random(r, s, d),
            1.5,
        ),
        "exact",
    ),
}

# Losses: (y_true, y_pred[, epsilon]); values are floats, gradients arrays.
LOSS_VALUES = {
    "binary_crossentropy": lambda r, s, d: (
        random(r, s, d, 0, 1),
        random(r, s, d, -0.05, 1.05),
        1e-7,
    ),
    "binary_crossentropy_from_logits": lambda r, s, d: (random(r, s, d, 0, 1), *_x(r, s, d)),
    "mean_squared_error": lambda r, s, d: (random(r, s, d), random(r, s, d)),
    "mean_absolute_error": lambda r, s, d: (random(r, s, d), random(r, s, d)),
}
LOSS_GRADIENTS = {
    "binary_crossentropy_gradient": (LOSS_VALUES["binary_crossentropy"], "exact"),
    # (sigmoid(z) - y) / size: a few ulps of sigmoid(z), which the subtraction may cancel.
    "binary_crossentropy_from_logits_gradient": (
        LOSS_VALUES["binary_crossentropy_from_logits"],
        lambda actual, expected, y, z: assert_sum(
            actual, expected, (reference.sigmoid(z) + np.abs(y)) / z.size, 4
        ),
    ),
    "binary_crossentropy_from_probabilities_gradient": (
        lambda r, s, d: (random(r, s, d, 0, 1), random(r, s, d, 0, 1)),
        "exact",
    ),
    "mean_squared_error_gradient": (LOSS_VALUES["mean_squared_error"], "exact"),
    "mean_absolute_error_gradient": (LOSS_VALUES["mean_absolute_error"], "exact"),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE) + sorted(LOSS_GRADIENTS))
def test_elementwise_ops_agree(name, shape, dtype):
    make, standard = ELEMENTWISE[name] if name in ELEMENTWISE else LOSS_GRADIENTS[name]
    arguments = make(np.random.default_rng(abs(hash((name, shape))) % 2**32), shape, dtype)
    expected = getattr(reference, name)(*arguments)
    actual = getattr(fast, name)(*arguments)
    if callable(standard):
        standard(actual, expected, *arguments)
    else:
        (assert_exact if standard == "exact" else assert_ulp)(actual, expected)


def test_elementwise_ops_accept_non_contiguous_inputs():
    rng = np.random.default_rng(0)
    x = random(rng, (6, 5), np.float32).T
    grad = random(rng, (6, 5), np.float32).T
    assert_exact(fast.relu_backward(x, grad), reference.relu_backward(x, grad))
    assert_ulp(fast.sigmoid(x[:, ::2]), reference.sigmoid(x[:, ::2]))


def test_special_values_give_what_numpy_gives():
    # (Below -88 the Numba sigmoid keeps subnormals: see the fused sigmoid's test.)
    values = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 90.0, -80.0, 1e-30], np.float32)
    for name in ("relu", "sigmoid", "softplus", "tanh"):
        with np.errstate(over="ignore"):
            expected = getattr(reference, name)(values)
        np.testing.assert_array_equal(np.isnan(getattr(fast, name)(values)), np.isnan(expected))
        assert_ulp(getattr(fast, name)(values)[~np.isnan(expected)], expected[~np.isnan(expected)])
    grad = np.ones_like(values)
    assert_exact(fast.relu_backward(values, grad), reference.relu_backward(values, grad))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 1), (4, 7), (2, 3, 10)], ids=str)
def test_softmax_agrees(shape, dtype):
    rng = np.random.default_rng(1)
    x = random(rng, shape, dtype, -5, 5)
    y = reference.softmax(x)
    # exp differs by an ulp and the row sum is a reduction of shape[-1] terms.
    assert_sum(fast.softmax(x), y, y, shape[-1] + 4)
    grad = random(rng, shape, dtype)
    scale = np.abs(y) * (np.abs(grad) + np.sum(np.abs(grad) * y, axis=-1, keepdims=True))
    assert_sum(
        fast.softmax_backward(y, grad), reference.softmax_backward(y, grad), scale, shape[-1]
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(LOSS_VALUES))
def test_loss_values_agree(name, shape, dtype):
    arguments = LOSS_VALUES[name](np.random.default_rng(2), shape, dtype)
    expected = getattr(reference, name)(*arguments)
    actual = getattr(fast, name)(*arguments)
    assert isinstance(actual, float)
    assert_loss_value(actual, expected, int(np.prod(shape)), dtype)


def assert_loss_value(actual, expected, size, dtype):
    # NumPy sums float32 terms in float32 (pairwise), Numba in float64; the terms are
    # O(1) and each carries a few ulps from exp/log.
    assert abs(actual - expected) <= 8 * (np.log2(size) + 4) * np.finfo(dtype).eps * (
        abs(expected) + 1
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=str)
def test_the_fused_sigmoid_and_cross_entropy_agree(shape, dtype):
    rng = np.random.default_rng(abs(hash(shape)) % 2**32)
    y = random(rng, shape, dtype, 0, 1)
    z = random(rng, shape, dtype, -30, 30)
    z.reshape(-1)[: min(4, z.size)] = [0.0, -0.0, 20.0, -20.0][: min(4, z.size)]
    p, value, gradient = fast.sigmoid_binary_crossentropy(y, z)
    expected_p, expected_value, expected_gradient = reference.sigmoid_binary_crossentropy(y, z)
    assert isinstance(value, float)
    assert_ulp(p, expected_p)
    # Bit for bit the three separate kernels of the Numba backend: the step that fuses
    # them gives the step that does not.
    assert_exact(p, fast.sigmoid(z))
    assert value == fast.binary_crossentropy_from_logits(y, z)
    assert_exact(gradient, fast.binary_crossentropy_from_probabilities_gradient(y, p))
    size = int(np.prod(shape))
    assert_loss_value(value, expected_value, size, dtype)
    assert_sum(gradient, expected_gradient, (expected_p + np.abs(y)) / size, 4)


def test_the_sigmoid_gives_numpys_special_values_and_keeps_subnormals():
    z = np.array([np.inf, -np.inf, np.nan, 100.0, 0.0, -0.0, -100.0], np.float32)
    y = np.ones_like(z)
    p, _, gradient = fast.sigmoid_binary_crossentropy(y, z)
    with np.errstate(over="ignore"):
        expected = reference.sigmoid(z)
    np.testing.assert_array_equal(p[:-1], expected[:-1])
    np.testing.assert_array_equal(np.isnan(gradient), np.isnan(expected))
    # Far below zero, e / (1 + e) keeps the subnormal sigmoid where 1 / (1 + exp(-z))
    # gives 0 (exp(100) overflows float32): the float64 value, to the subnormal spacing.
    truth = np.exp(-100.0) / (1 + np.exp(-100.0))
    assert (
        expected[-1] == 0
        and abs(float(p[-1]) - truth) <= 2 * np.finfo(np.float32).smallest_subnormal
    )
    assert_exact(fast.sigmoid(z), p)


# ------------------------------------------------------------------ dense
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize(
    "n, fan_in, fan_out", [(1, 1, 1), (5, 7, 3), (33, 17, 64), (256, 784, 32), (300, 5, 1)]
)
def test_dense_agrees(n, fan_in, fan_out, dtype):
    rng = np.random.default_rng(3)
    x, kernel, bias = (random(rng, s, dtype) for s in [(n, fan_in), (fan_in, fan_out), (fan_out,)])
    # Same BLAS, but OpenBLAS's result depends on its thread count, which differs (the
    # Numba backend runs products single-threaded): round-off bounds, not bit equality.
    scale = np.abs(x) @ np.abs(kernel) + np.abs(bias)
    expected = reference.dense_forward(x, kernel, bias)
    assert_sum(fast.dense_forward(x, kernel, bias), expected, scale, fan_in + 1)
    assert_sum(
        fast.dense_forward(x, kernel, 0), reference.dense_forward(x, kernel, 0), scale, fan_in
    )
    grad_z = random(rng, (n, fan_out), dtype)
    grad_kernel, expected_grad_kernel = (np.empty((fan_in, fan_out), dtype) for _ in range(2))
    fast.dense_kernel_gradient(x, grad_z, grad_kernel)
    reference.dense_kernel_gradient(x, grad_z, expected_grad_kernel)
    assert_sum(grad_kernel, expected_grad_kernel, np.abs(x).T @ np.abs(grad_z), n)
    grads = [np.empty((fan_in, fan_out), dtype), np.empty(fan_out, dtype)]
    expected_grads = [np.empty_like(g) for g in grads]
    assert_sum(
        fast.dense_backward(x, kernel, grad_z, *grads),
        reference.dense_backward(x, kernel, grad_z, *expected_grads),
        np.abs(grad_z) @ np.abs(kernel).T,
        fan_out,
    )
    assert_sum(grads[0], expected_grads[0], np.abs(x).T @ np.abs(grad_z), n)
    # the bias gradient adds the numbers in NumPy's order (pairwise for one column)
    assert_exact(grads[1], expected_grads[1])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (2, 5, 4, 6), (3, 50, 50, 1)], ids=str)
def test_bias_gradient_is_bit_identical(shape, dtype):
    grad = random(np.random.default_rng(12), shape, dtype)
    assert_exact(fast.bias_gradient(grad), reference.bias_gradient(grad))
    np.testing.assert_allclose(reference.bias_gradient(grad), grad.reshape(-1, shape[-1]).sum(0))


def test_large_products_split_by_rows_are_bit_identical():
    from nn_core.kernels.numba_backend import dense

    rng = np.random.default_rng(4)
    a, b = random(rng, (4099, 64), np.float32), random(rng, (64, 40), np.float32)
    assert a.shape[0] * 64 * 40 >= dense.SPLIT_MIN_MULTIPLY_ADDS
    with threads.limit(blas=1):
        expected = a @ b
    with threads.limit(numba=2):
        assert_exact(dense.matmul(a, b, among_parallel_kernels=True), expected)


# ------------------------------------------------------------------ one pool (products.py)
def _one_pool_products():
    from nn_core.kernels.numba_backend import products

    if not _jit.ONE_POOL:
        pytest.skip("one pool is off here (NN_CORE_ONE_POOL=0 or no 64-bit CBLAS in NumPy)")
    return products


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("layout", ["rows", "a transposed", "b transposed", "both transposed"])
@pytest.mark.parametrize("rows", [2, 31, 33, 256, 1000])
def test_split_products_are_the_single_threaded_product_bit_for_bit(rows, layout, dtype):
    products = _one_pool_products()
    rng = np.random.default_rng(rows)
    a, b = random(rng, (rows, 37), dtype), random(rng, (37, 19), dtype)
    if "a" in layout or "both" in layout:
        a = np.ascontiguousarray(a.T).T
    if "b transposed" in layout or "both" in layout:
        b = np.ascontiguousarray(b.T).T
    with threads.limit(blas=1):
        expected = a @ b
    np.testing.assert_allclose(
        expected, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-4
    )
    for parts in (1, 2, 3):
        out = np.full((rows, 19), np.nan, dtype)
        with threads.limit(numba=parts):
            assert products.split_product(a, b, out, parts)
        assert_exact(out, expected)


def test_split_product_row_bounds_are_aligned_and_even():
    # (an inner bound may also be the row count: the parts after it are empty)
    products = _one_pool_products()
    align = products.ROW_ALIGNMENT
    assert products.row_bounds(256, 2).tolist() == [0, 128, 256]
    assert products.row_bounds(4099, 2).tolist() == [0, 2048, 4099]
    assert products.row_bounds(5, 2).tolist() == [0, 0, 5]
    for rows in (1, 31, 32, 100, 257, 1024):
        for parts in (1, 2, 3, 4):
            bounds = products.row_bounds(rows, parts)
            assert bounds[0] == 0 and bounds[-1] == rows and len(bounds) == parts + 1
            assert all(bound % align == 0 or bound == rows for bound in bounds[1:-1])
            assert np.all(np.diff(bounds) >= 0)


def test_split_product_declines_what_blas_cannot_take():
    products = _one_pool_products()
    rng = np.random.default_rng(3)
    a, b = random(rng, (64, 8), np.float32), random(rng, (8, 5), np.float32)
    out = np.full((64, 5), np.nan, np.float32)
    assert not products.split_product(a.astype(np.float64), b, out, 2)  # mixed dtypes
    assert not products.split_product(a[:, ::2], b[::2], out, 2)  # strided columns
    assert not products.split_product(a, b, np.empty((5, 64), np.float32).T, 2)  # out not C
    assert not products.split_product(a[:, :0], b[:0], out, 2)  # empty product
    ints = np.ones((64, 8), np.int64), np.ones((8, 5), np.int64), np.empty((64, 5), np.int64)
    assert not products.split_product(*ints, 2)
    square = random(rng, (64, 64), np.float32)
    assert not products.split_product(square, square, square, 2)  # out overlaps the inputs
    with pytest.raises(ValueError, match="does not give out's shape"):
        products.split_product(a, b, np.empty((64, 6), np.float32), 2)
    with pytest.raises(ValueError, match="does not give out's shape"):
        products.split_product(a, a, np.empty((64, 8), np.float32), 2)
    assert np.isnan(out).all()  # nothing was computed into it
    assert products.split_product(a, b, out, 2) and not np.isnan(out).any()


@pytest.mark.parametrize("on", [True, False], ids=["one pool", "two pools"])
def test_dense_matmul_agrees_with_numpy_in_either_design(on, monkeypatch):
    from nn_core.kernels.numba_backend import dense

    if on and not _jit.ONE_POOL:
        pytest.skip("one pool is off here")
    monkeypatch.setattr(dense, "ONE_POOL", on)
    monkeypatch.setattr(dense, "ONE_POOL_SPLIT_MIN_MULTIPLY_ADDS", 0)
    rng = np.random.default_rng(9)
    for shape_a, shape_b in [((300, 40), (40, 7)), ((7, 300), (300, 40)), ((1, 5), (5, 3))]:
        a, b = random(rng, shape_a, np.float32), random(rng, shape_b, np.float32)
        with threads.limit(numba=2):
            np.testing.assert_allclose(dense.matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(
                dense.matmul(np.ascontiguousarray(a.T).T, b.T.copy().T), a @ b, rtol=1e-5, atol=1e-5
            )


def test_one_pool_can_be_turned_off_by_the_environment():
    code = (
        "import os; from nn_core.kernels.numba_backend import _jit;"
        "print(_jit.ONE_POOL, _jit.PARALLEL_MIN_WORK, os.environ.get('GOMP_SPINCOUNT'))"
    )
    environment = {**os.environ, "NN_CORE_ONE_POOL": "0"}
    environment.pop("GOMP_SPINCOUNT", None)
    printed = subprocess.run(
        [sys.executable, "-c", code], env=environment, check=True, capture_output=True, text=True
    ).stdout.split()
    assert printed == ["False", str(1 << 20), "3000"]
    code = "from nn_core import threads; print(threads.info()['one_pool'])"
    printed = subprocess.run(
        [sys.executable, "-c", code], env={**environment, "NN_CORE_BACKEND": "numpy"},
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert printed == ["None"]  # the Numba backend not loaded


# ------------------------------------------------------------------ convolution
# (x shape, kernel shape (kh, kw, C, F), strides, padding (top, bottom, left, right))
CONV_GEOMETRIES = [
    ((1, 5, 5, 1), (3, 3, 1, 1), (1, 1), (1, 1, 1, 1)),
    ((2, 7, 6, 3), (3, 2, 3, 5), (1, 1), (0, 0, 0, 0)),
    ((3, 9, 7, 4), (3, 3, 4, 8), (2, 2), (1, 1, 1, 1)),
    ((2, 8, 9, 5), (2, 3, 5, 6), (2, 3), (0, 1, 1, 0)),
    ((1, 6, 6, 16), (3, 3, 16, 1), (1, 1), (1, 1, 1, 1)),
    ((2, 4, 5, 2), (1, 1, 2, 3), (3, 2), (0, 0, 0, 0)),
    ((2, 7, 7, 8), (3, 3, 8, 8), (1, 1), (1, 1, 1, 1)),
    ((2, 6, 5, 3), (3, 2, 3, 2), (1, 1), (0, 2, 1, 0)),
    # stride 1 (the plane loops), kernels 3, 2, 4, 1 and 5 wide, one channel or one filter
    ((3, 7, 6, 1), (3, 3, 1, 5), (1, 1), (1, 1, 1, 1)),
    ((2, 6, 7, 1), (2, 4, 1, 3), (1, 1), (0, 1, 2, 1)),
    ((3, 5, 6, 4), (3, 2, 4, 1), (1, 1), (2, 0, 0, 1)),
    ((2, 5, 4, 6), (1, 1, 6, 2), (1, 1), (0, 0, 0, 0)),
    ((2, 9, 8, 3), (5, 5, 3, 4), (1, 1), (2, 2, 3, 1)),
    # 11 images: uneven chunks of the batch in the kernel gradients
    ((11, 6, 7, 3), (3, 3, 3, 4), (1, 1), (1, 1, 0, 1)),
    # nine taps (conv_nine_taps): 7 filters = blocks of 4 (or 2) and a remainder; a 1x9 kernel
    ((2, 6, 5, 7), (3, 3, 7, 7), (1, 1), (1, 1, 1, 1)),
    ((2, 4, 11, 2), (1, 9, 2, 6), (1, 1), (0, 0, 4, 4)),
    # padding as wide as the kernel: not for the plane loops
    ((2, 4, 4, 1), (2, 2, 1, 3), (1, 1), (2, 1, 0, 2)),
]


@pytest.fixture(params=fast_conv.STRATEGIES)
def conv_strategy(request, monkeypatch):
    """Run the test with every convolution forced through one of the algorithms (the plane
    loops where they apply, the direct loops elsewhere)."""

    def forced(op, kernel_shape, strides, padding, multiply_adds):
        if request.param == "planes" and not conv_planes.applies(kernel_shape, strides, padding):
            return "direct"
        return request.param

    monkeypatch.setattr(fast_conv, "_strategy", forced)
    return request.param


def _conv_arrays(geometry, dtype, seed=5):
    x_shape, kernel_shape, strides, padding = geometry
    rng = np.random.default_rng(seed)
    x = random(rng, x_shape, dtype)
    kernel = random(rng, kernel_shape, dtype)
    bias = random(rng, kernel_shape[3], dtype)
    z_shape = reference.conv2d_forward(x, kernel, None, strides, padding).shape
    return x, kernel, bias, random(rng, z_shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=str)
def test_conv2d_agrees(geometry, dtype, conv_strategy):
    x, kernel, bias, grad_z = _conv_arrays(geometry, dtype)
    _, (kh, kw, channels, filters), strides, padding = geometry
    ax, ak, ab, ag = np.abs(x), np.abs(kernel), np.abs(bias), np.abs(grad_z)

    expected = reference.conv2d_forward(x, kernel, bias, strides, padding)
    scale = reference.conv2d_forward(ax, ak, ab, strides, padding)
    assert_sum(
        fast.conv2d_forward(x, kernel, bias, strides, padding),
        expected,
        scale,
        kh * kw * channels + 1,
    )
    assert_sum(
        fast.conv2d_forward(x, kernel, None, strides, padding),
        reference.conv2d_forward(x, kernel, None, strides, padding),
        scale,
        kh * kw * channels,
    )

    expected = reference.conv2d_backward_input(grad_z, kernel, x.shape, strides, padding)
    scale = reference.conv2d_backward_input(ag, ak, x.shape, strides, padding)
    actual = fast.conv2d_backward_input(grad_z, kernel, x.shape, strides, padding)
    assert_sum(actual, expected, scale, kh * kw * filters)

    expected = reference.conv2d_backward_kernel(x, grad_z, kernel.shape, strides, padding)
    scale = reference.conv2d_backward_kernel(ax, ag, kernel.shape, strides, padding)
    actual = fast.conv2d_backward_kernel(x, grad_z, kernel.shape, strides, padding)
    assert_sum(actual, expected, scale, grad_z.size // filters)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=str)
def test_conv2d_forward_relu_is_relu_of_the_forward(geometry, dtype, conv_strategy):
    # bit for bit on each backend (the plane loops take the max as they copy out), NaN
    # kept and -0.0 made 0.0 as np.maximum does
    x, kernel, bias, _ = _conv_arrays(geometry, dtype)
    _, _, strides, padding = geometry
    x[0, 0, 0, 0] = np.nan
    for b in (bias, None, np.zeros_like(bias)):
        for backend in (fast, reference):
            fused = backend.conv2d_forward_relu(x, kernel, b, strides, padding)
            expected = backend.relu(backend.conv2d_forward(x, kernel, b, strides, padding))
            assert_exact(fused, expected)
            assert not np.signbit(fused).any()
    zeros = np.zeros_like(x)  # every z is 0.0 or -0.0 (negative weights times 0)
    assert not np.signbit(fast.conv2d_forward_relu(zeros, kernel, None, strides, padding)).any()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (2, 5, 4, 6), (3, 50, 50, 1), (0, 4)], ids=str)
def test_relu_backward_bias_gradient_is_the_two_ops_bit_for_bit(shape, dtype):
    rng = np.random.default_rng(13)
    y = np.maximum(random(rng, shape, dtype), 0)  # a ReLU's output: about half zeros
    y.reshape(-1)[::5] = np.nan  # z NaN gives y NaN: no gradient passes, as [z > 0]
    grad = random(rng, shape, dtype)
    results = {}
    for backend in (fast, reference):
        grad_z, grad_bias = backend.relu_backward_bias_gradient(y, grad)
        assert_exact(grad_z, backend.relu_backward(y, grad))
        assert_exact(grad_bias, backend.bias_gradient(backend.relu_backward(y, grad)))
        results[backend] = grad_z, grad_bias
    for fast_result, reference_result in zip(results[fast], results[reference]):
        assert_exact(fast_result, reference_result)


@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=str)
def test_conv2d_transpose_agrees(geometry, conv_strategy):
    # A transposed conv maps (N, OH, OW, F) back to (N, H, W, C): here the "x" of the
    # conv2d geometry is the output, its gradient grad_z the input.
    x, kernel, _, grad_z = _conv_arrays(geometry, np.float64)
    _, (kh, kw, channels, filters), strides, padding = geometry
    transpose_kernel = kernel  # (kh, kw, C, F) read as (kh, kw, F_out=C, C_in=F)
    output_hw = x.shape[1:3]
    expected = reference.conv2d_transpose_forward(
        grad_z, transpose_kernel, np.ones(channels), strides, padding, output_hw
    )
    scale = reference.conv2d_transpose_forward(
        np.abs(grad_z), np.abs(transpose_kernel), np.ones(channels), strides, padding, output_hw
    )
    actual = fast.conv2d_transpose_forward(
        grad_z, transpose_kernel, np.ones(channels), strides, padding, output_hw
    )
    assert_sum(actual, expected, scale, kh * kw * filters + 1)


@pytest.mark.parametrize("images_per_chunk", [1, 2])
def test_conv_products_in_chunks_agree_and_do_not_depend_on_threads(images_per_chunk, monkeypatch):
    # 5 images (the last chunk of 2 is short), stride 2, asymmetric padding; the chunks are
    # split between two threads from any size on.
    geometry = ((5, 9, 8, 3), (3, 2, 3, 4), (2, 1), (1, 0, 0, 1))
    x, kernel, bias, grad_z = _conv_arrays(geometry, np.float32)
    _, kernel_shape, strides, padding = geometry
    rows_per_image = grad_z.shape[1] * grad_z.shape[2]
    image_bytes = rows_per_image * 3 * 2 * 3 * x.itemsize
    monkeypatch.setattr(fast_conv, "PATCH_CHUNK_BYTES", images_per_chunk * image_bytes)
    monkeypatch.setattr(fast_conv, "SPLIT_MIN_MULTIPLY_ADDS", 0)
    monkeypatch.setattr(fast_conv, "_strategy", lambda *args: "gemm")
    chunks = fast_conv._PatchChunks(x, 3, 2, strides, padding)
    assert (chunks.images_per_chunk, chunks.count) == (images_per_chunk, -(-5 // images_per_chunk))

    def both_maps():
        return (
            fast.conv2d_forward(x, kernel, bias, strides, padding),
            fast.conv2d_backward_kernel(x, grad_z, kernel_shape, strides, padding),
        )

    with threads.limit(numba=1):
        z_one, grad_kernel_one = both_maps()
    with threads.limit(numba=2):
        if threads.get_numba_threads() != 2:
            pytest.skip("Numba has one thread here")
        z_two, grad_kernel_two = both_maps()
    assert_exact(z_two, z_one)
    assert_exact(grad_kernel_two, grad_kernel_one)
    ax, ak, ag = np.abs(x), np.abs(kernel), np.abs(grad_z)
    assert_sum(
        z_one,
        reference.conv2d_forward(x, kernel, bias, strides, padding),
        reference.conv2d_forward(ax, ak, np.abs(bias), strides, padding),
        3 * 2 * 3 + 1,
    )
    assert_sum(
        grad_kernel_one,
        reference.conv2d_backward_kernel(x, grad_z, kernel_shape, strides, padding),
        reference.conv2d_backward_kernel(ax, ag, kernel_shape, strides, padding),
        grad_z[..., 0].size,
    )


@pytest.mark.parametrize("kernel_shape", [(3, 3, 1, 5), (3, 2, 4, 1), (3, 3, 3, 4)], ids=str)
def test_plane_loops_do_not_depend_on_threads(kernel_shape, monkeypatch):
    # 11 images: the kernel gradient's 8 fixed chunks are uneven, and two threads split
    # both the images of the forward map (one per grid) and the chunks.
    x, kernel, bias, grad_z = _conv_arrays(
        ((11, 6, 7, kernel_shape[2]), kernel_shape, (1, 1), (1, 1, 0, 1)), np.float32
    )
    padding = (1, 1, 0, 1)
    monkeypatch.setattr(fast_conv, "_strategy", lambda *args: "planes")
    monkeypatch.setattr(conv_planes, "GRID_BYTES", 0)
    monkeypatch.setattr(_jit, "PARALLEL_MIN_WORK", 0)

    def all_maps():
        return (
            fast.conv2d_forward(x, kernel, bias, (1, 1), padding),
            fast.conv2d_backward_input(grad_z, kernel, x.shape, (1, 1), padding),
            fast.conv2d_backward_kernel(x, grad_z, kernel_shape, (1, 1), padding),
        )

    with threads.limit(numba=1):
        one = all_maps()
    with threads.limit(numba=2):
        if threads.get_numba_threads() != 2:
            pytest.skip("Numba has one thread here")
        two = all_maps()
    for single, double in zip(one, two):
        assert_exact(double, single)


@pytest.mark.parametrize("per_grid", [1, 3])
def test_plane_loops_agree_with_images_stacked_on_a_grid(per_grid, monkeypatch):
    # 11 images 3 to a grid: the last grid holds 2; each chunk of the kernel gradient
    # (1 or 2 images) fits on one grid.
    geometry = ((11, 6, 7, 3), (3, 3, 3, 4), (1, 1), (1, 1, 0, 1))
    x, kernel, bias, grad_z = _conv_arrays(geometry, np.float32)
    _, kernel_shape, strides, padding = geometry
    padded_h, padded_w = 6 + 2, 7 + 1
    image_bytes = padded_h * padded_w * (3 + 4) * x.itemsize
    monkeypatch.setattr(conv_planes, "GRID_BYTES", per_grid * image_bytes + image_bytes // 2)
    assert conv_planes._images_per_grid(padded_h, padded_w, 3, 4, x.itemsize) == per_grid
    monkeypatch.setattr(fast_conv, "_strategy", lambda *args: "planes")
    ax, ak, ag = np.abs(x), np.abs(kernel), np.abs(grad_z)
    assert_sum(
        fast.conv2d_forward(x, kernel, bias, strides, padding),
        reference.conv2d_forward(x, kernel, bias, strides, padding),
        reference.conv2d_forward(ax, ak, np.abs(bias), strides, padding),
        3 * 3 * 3 + 1,
    )
    assert_sum(
        fast.conv2d_backward_input(grad_z, kernel, x.shape, strides, padding),
        reference.conv2d_backward_input(grad_z, kernel, x.shape, strides, padding),
        reference.conv2d_backward_input(ag, ak, x.shape, strides, padding),
        3 * 3 * 4,
    )
    assert_sum(
        fast.conv2d_backward_kernel(x, grad_z, kernel_shape, strides, padding),
        reference.conv2d_backward_kernel(x, grad_z, kernel_shape, strides, padding),
        reference.conv2d_backward_kernel(ax, ag, kernel_shape, strides, padding),
        grad_z[..., 0].size,
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=str)
def test_im2col_is_exact_and_col2im_agrees(geometry, dtype):
    x, kernel, _, _ = _conv_arrays(geometry, dtype)
    _, (kh, kw, _, _), strides, padding = geometry
    arguments = (kh, kw, *strides, *padding)
    cols = reference.im2col(x, *arguments)
    assert_exact(fast.im2col(x, *arguments), cols)
    other = random(np.random.default_rng(6), cols.shape, dtype)
    # Each input cell receives at most ceil(kh/sh) * ceil(kw/sw) patch cells.
    overlap = -(-kh // strides[0]) * -(-kw // strides[1])
    assert_sum(
        fast.col2im(other, x.shape, *arguments),
        reference.col2im(other, x.shape, *arguments),
        reference.col2im(np.abs(other), x.shape, *arguments),
        overlap,
    )


def test_conv_shape_helpers_are_the_reference_ones():
    assert fast.conv_output_size is reference.conv_output_size
    assert fast.same_padding is reference.same_padding


def test_conv2d_backward_input_rejects_a_mismatched_gradient():
    x, kernel, _, grad_z = _conv_arrays(CONV_GEOMETRIES[2], np.float32)
    with pytest.raises(ValueError, match="does not match input shape"):
        fast.conv2d_backward_input(grad_z[:, 1:], kernel, x.shape, (2, 2), (1, 1, 1, 1))


# ------------------------------------------------------------------ pooling, upsampling
# (x shape, pool, strides, padding)
POOL_GEOMETRIES = [
    ((1, 4, 4, 1), (2, 2), (2, 2), (0, 0, 0, 0)),
    ((2, 7, 7, 3), (2, 2), (2, 2), (0, 1, 0, 1)),
    ((3, 6, 9, 2), (3, 2), (1, 2), (1, 1, 0, 1)),
    ((2, 5, 5, 4), (3, 3), (2, 2), (1, 1, 1, 1)),
    # windows that tile the input, with a last row and column that no window reaches
    ((2, 7, 5, 3), (2, 2), (2, 2), (0, 0, 0, 0)),
    ((2, 5, 7, 2), (2, 3), (2, 3), (1, 0, 2, 1)),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=str)
def test_pooling_agrees(geometry, dtype):
    x_shape, pool, strides, padding = geometry
    rng = np.random.default_rng(7)
    x = random(rng, x_shape, dtype)
    x.reshape(-1)[::5] = x.reshape(-1)[1]  # ties: the first maximum must win in both
    y, argmax = reference.max_pool2d_forward(x, pool, strides, padding)
    fast_y, fast_argmax = fast.max_pool2d_forward(x, pool, strides, padding)
    assert_exact(fast_y, y)
    assert_exact(fast_argmax, argmax)
    grad_y = random(rng, y.shape, dtype)
    overlap = -(-pool[0] // strides[0]) * -(-pool[1] // strides[1])
    assert_sum(
        fast.max_pool2d_backward(grad_y, argmax, x.shape, pool, strides, padding),
        reference.max_pool2d_backward(grad_y, argmax, x.shape, pool, strides, padding),
        reference.max_pool2d_backward(np.abs(grad_y), argmax, x.shape, pool, strides, padding),
        overlap,
    )
    cells = pool[0] * pool[1]
    assert_sum(
        fast.avg_pool2d_forward(x, pool, strides, padding),
        reference.avg_pool2d_forward(x, pool, strides, padding),
        reference.avg_pool2d_forward(np.abs(x), pool, strides, padding),
        cells + 1,
    )
    assert_sum(
        fast.avg_pool2d_backward(grad_y, x.shape, pool, strides, padding),
        reference.avg_pool2d_backward(grad_y, x.shape, pool, strides, padding),
        reference.avg_pool2d_backward(np.abs(grad_y), x.shape, pool, strides, padding),
        overlap + 1,
    )


@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=str)
def test_max_pool_backward_writes_every_cell(geometry, monkeypatch):
    # Output arrays start as NaN instead of whatever np.empty returns (often zeros): a
    # cell the kernel forgets (one that no window reaches) then shows.
    x_shape, pool, strides, padding = geometry
    x = random(np.random.default_rng(8), x_shape, np.float32)
    y, argmax = reference.max_pool2d_forward(x, pool, strides, padding)
    grad_y = random(np.random.default_rng(9), y.shape, np.float32)
    expected = reference.max_pool2d_backward(grad_y, argmax, x.shape, pool, strides, padding)
    empty = np.empty
    monkeypatch.setattr(np, "empty", lambda *args, **kwargs: empty(*args, **kwargs) * np.nan)
    actual = fast.max_pool2d_backward(grad_y, argmax, x.shape, pool, strides, padding)
    monkeypatch.undo()
    assert not np.isnan(actual).any()
    # (overlapping windows add in another order than the reference: round-off)
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


def test_max_pooling_of_nan_and_minus_infinity_matches_numpy():
    x = np.full((1, 4, 4, 2), -np.inf, np.float32)
    x[0, 1, 1, 0] = np.nan
    x[0, 2, 3, 1] = 3.0
    for padding in [(0, 0, 0, 0), (1, 1, 1, 1)]:
        y, argmax = reference.max_pool2d_forward(x, (2, 2), (2, 2), padding)
        fast_y, fast_argmax = fast.max_pool2d_forward(x, (2, 2), (2, 2), padding)
        assert_exact(fast_y, y)
        assert_exact(fast_argmax, argmax)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape, size", [((1, 1, 1, 1), (2, 2)), ((2, 3, 5, 4), (2, 3))], ids=str)
def test_upsampling_agrees(shape, size, dtype):
    rng = np.random.default_rng(8)
    x = random(rng, shape, dtype)
    y = reference.upsample_nearest2d_forward(x, *size)
    assert_exact(fast.upsample_nearest2d_forward(x, *size), y)
    grad_y = random(rng, y.shape, dtype)
    assert_sum(
        fast.upsample_nearest2d_backward(grad_y, *size),
        reference.upsample_nearest2d_backward(grad_y, *size),
        reference.upsample_nearest2d_backward(np.abs(grad_y), *size),
        size[0] * size[1],
    )


# ------------------------------------------------------------------ batch normalisation
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("rows, channels", [(1, 1), (5, 3), (64, 8)])
def test_batch_norm_is_bit_identical(rows, channels, dtype):
    rng = np.random.default_rng(9)
    x = random(rng, (rows, channels), dtype, -1, 3)
    statistics = reference.batch_norm_statistics(x)
    for actual, expected in zip(fast.batch_norm_statistics(x), statistics):
        assert_exact(actual, expected)
    gamma, beta = random(rng, channels, dtype), random(rng, channels, dtype)
    forward = reference.batch_norm_forward(x, *statistics, gamma, beta, 1e-3)
    for actual, expected in zip(
        fast.batch_norm_forward(x, *statistics, gamma, beta, 1e-3), forward
    ):
        assert_exact(actual, expected)
    grad = random(rng, (rows, channels), dtype)
    _, normalized, inverse_std = forward
    for name in ("batch_norm_backward", "batch_norm_inference_backward"):
        expected = getattr(reference, name)(grad, normalized, inverse_std, gamma)
        actual = getattr(fast, name)(grad, normalized, inverse_std, gamma)
        for a, e in zip(actual, expected):
            assert_exact(a, e)


# ------------------------------------------------------------------ optimizer updates
OPTIMIZER_CASES = {
    "sgd": (
        "sgd_update",
        ("momentum_buffer",),
        dict(lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0),
    ),
    "sgd-momentum-decay": (
        "sgd_update",
        ("momentum_buffer",),
        dict(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.01),
    ),
    "sgd-nesterov": (
        "sgd_update",
        ("momentum_buffer",),
        dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.0),
    ),
    "adagrad": ("adagrad_update", ("squared_sum",), dict(lr=0.01, epsilon=1e-7)),
    "adadelta": (
        "adadelta_update",
        ("square_avg", "acc_delta"),
        dict(lr=1.0, rho=0.95, epsilon=1e-7),
    ),
    "rmsprop": (
        "rmsprop_update",
        ("square_avg", "grad_avg", "momentum_buffer"),
        dict(lr=1e-3, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
    ),
    "rmsprop-centered-momentum": (
        "rmsprop_update",
        ("square_avg", "grad_avg", "momentum_buffer"),
        dict(lr=1e-2, rho=0.8, momentum=0.9, epsilon=1e-7, centered=True),
    ),
    "adam": (
        "adam_update",
        ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
        dict(lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    ),
    "adamw": (
        "adamw_update",
        ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
        dict(lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.01),
    ),
}


# (case, amsgrad): AMSGrad is an option of the Adam family only.
OPTIMIZER_VARIANTS = [
    (case, amsgrad)
    for case in sorted(OPTIMIZER_CASES)
    for amsgrad in (False, True)
    if not amsgrad or "max_exp_avg_sq" in OPTIMIZER_CASES[case][1]
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize(
    "case, amsgrad",
    OPTIMIZER_VARIANTS,
    ids=[case + ("-amsgrad" if amsgrad else "") for case, amsgrad in OPTIMIZER_VARIANTS],
)
def test_optimizer_updates_are_bit_identical(case, amsgrad, dtype):
    name, slots, hyperparameters = OPTIMIZER_CASES[case]
    shape = (3, 7)
    states = {}
    for backend in (reference, fast):
        param = random(np.random.default_rng(11), shape, dtype)
        state = {slot: np.zeros(shape, dtype) for slot in slots}
        # An option that is off has no state array, as in the optimizers.
        unused = {
            "max_exp_avg_sq": not amsgrad,
            "momentum_buffer": not hyperparameters.get("momentum"),
            "grad_avg": not hyperparameters.get("centered"),
        }
        for slot in state:
            if unused.get(slot):
                state[slot] = None
        for step in range(1, 6):
            grad = random(np.random.default_rng(step), shape, dtype)
            extra = {"step": step} if "adam" in name else {}
            getattr(backend, name)(param, grad, *state.values(), **hyperparameters, **extra)
        states[backend] = (param, state)
    (param, state), (fast_param, fast_state) = states[reference], states[fast]
    assert_exact(fast_param, param)
    assert not np.array_equal(param, random(np.random.default_rng(11), shape, dtype))
    for slot, value in state.items():
        if value is not None:
            assert_exact(fast_state[slot], value)


def test_optimizer_update_of_a_non_contiguous_param_still_updates_it_in_place():
    base = np.ones((4, 6))
    param = base[:, ::2]
    fast.sgd_update(param, np.ones_like(param), None, 0.5, 0.0, False, 0.0)
    np.testing.assert_array_equal(base[:, ::2], 0.5)
    np.testing.assert_array_equal(base[:, 1::2], 1.0)


# ------------------------------------------------------------------ completeness
def test_every_reference_op_exists_in_the_numba_backend_with_the_same_signature():
    import inspect

    missing = [name for name in reference.__all__ if not hasattr(fast, name)]
    assert missing == []
    assert sorted(fast.__all__) == sorted(reference.__all__)
    for name in reference.__all__:
        assert list(inspect.signature(getattr(fast, name)).parameters) == list(
            inspect.signature(getattr(reference, name)).parameters
        ), name


def test_every_reference_op_has_an_agreement_case_here():
    covered = (
        set(ELEMENTWISE)
        | set(LOSS_VALUES)
        | set(LOSS_GRADIENTS)
        | {name for name, _, _ in OPTIMIZER_CASES.values()}
        | {"softmax", "softmax_backward", "dense_forward", "dense_backward", "bias_gradient"}
        | {"dense_kernel_gradient"}
        | {"conv2d_forward", "conv2d_backward_input", "conv2d_backward_kernel"}
        | {"conv2d_transpose_forward", "im2col", "col2im", "conv_output_size", "same_padding"}
        | {"max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward"}
        | {"avg_pool2d_backward", "upsample_nearest2d_forward", "upsample_nearest2d_backward"}
        | {"batch_norm_statistics", "batch_norm_forward", "batch_norm_backward"}
        | {"batch_norm_inference_backward", "sigmoid_binary_crossentropy"}
        | {"conv2d_forward_relu", "relu_backward_bias_gradient"}
    )
    assert sorted(set(reference.__all__) - covered) == []


# ------------------------------------------------------------------ the fast exp / log1p
def test_float32_exp_and_log1p_are_within_an_ulp_or_two_over_the_whole_range():
    from nn_core.kernels.numba_backend._jit import jit

    @jit
    def apply(x, out, which):
        for i in range(x.size):
            out[i] = _math.fast_exp(x[i]) if which == 0 else _math.fast_log1p_unit(x[i])

    x = np.concatenate(
        [np.linspace(-104, 89, 200_001, dtype=np.float32), [np.inf, -np.inf, np.nan, 0, -0.0]]
    ).astype(np.float32)
    out = np.empty_like(x)
    apply(x, out, 0)
    with np.errstate(over="ignore"):
        truth = np.exp(x.astype(np.float64))
        expected = truth.astype(np.float32)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(out), np.isinf(expected))
    finite = np.isfinite(expected) & (expected > np.finfo(np.float32).tiny)
    ulps = np.abs(out[finite] - truth[finite]) / np.spacing(expected[finite])
    assert ulps.max() <= 2

    u = np.concatenate([np.linspace(0, 1, 100_001, dtype=np.float32), [1e-30, np.nan]])
    u = u.astype(np.float32)
    out = np.empty_like(u)
    apply(u, out, 1)
    truth = np.log1p(u.astype(np.float64))
    ok = ~np.isnan(truth)
    assert np.isnan(out[~ok]).all()
    assert (np.abs(out[ok] - truth[ok]) / np.spacing(truth[ok].astype(np.float32))).max() <= 2


# ------------------------------------------------------------------ gradient checks
def _away_from_zero(rng, shape):
    values = rng.uniform(-1, 1, size=shape)
    return np.sign(values) * (0.1 + np.abs(values))


@pytest.fixture
def numba_backend():
    previous = kernels.backend_name()
    kernels.set_backend("numba")
    yield
    kernels.set_backend(previous)


@pytest.mark.parametrize("name", discovered_layers())
def test_every_layer_passes_a_gradient_check_on_the_numba_backend(name, numba_backend):
    _, factory, shape = LAYER_EXAMPLES[name][0]
    layer = factory()
    layer.set_rng(np.random.default_rng(1))
    errors = check_layer(layer, example_inputs(np.random.default_rng(0), shape))
    assert max(errors.values()) < 1e-6, errors


def test_dense_gradients_through_split_products_pass_a_gradient_check(numba_backend, monkeypatch):
    # The layer examples are too small for the split (ONE_POOL_SPLIT_MIN_MULTIPLY_ADDS):
    # here every product of the forward and backward pass goes through it, in float64.
    from nn_core.kernels.numba_backend import dense, products

    if not _jit.ONE_POOL:
        pytest.skip("one pool is off here")
    monkeypatch.setattr(dense, "ONE_POOL_SPLIT_MIN_MULTIPLY_ADDS", 0)
    split = products.split_product
    calls = []
    monkeypatch.setattr(
        products, "split_product", lambda *args: calls.append(args[0].shape) or split(*args)
    )
    layer = nn_core.layers.Dense(65, activation="tanh")
    layer.set_rng(np.random.default_rng(1))
    with threads.limit(numba=2):
        errors = check_layer(layer, np.random.default_rng(0).standard_normal((70, 66)))
    assert max(errors.values()) < 1e-6, errors
    assert {(70, 66), (66, 70), (70, 65)} <= set(calls)  # x @ W, x.T @ dz, dz @ W.T


# ------------------------------------------------------------------ selection, compilation
def _run_python(code, **environment):
    env = {key: value for key, value in os.environ.items() if not key.startswith("NN_CORE_")}
    env.update(environment, PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    return result


@pytest.mark.parametrize(
    "requested, expected", [("", "numba"), ("numpy", "numpy"), ("numba", "numba")]
)
def test_backend_is_chosen_by_the_environment_variable(requested, expected):
    result = _run_python(
        "import nn_core; print(nn_core.kernels.backend_name())", NN_CORE_BACKEND=requested
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_an_unknown_backend_name_is_an_error_naming_the_choices():
    result = _run_python("import nn_core", NN_CORE_BACKEND="cuda")
    assert result.returncode != 0
    assert "unknown kernel backend 'cuda'" in result.stderr and "numba" in result.stderr


def test_set_backend_switches_and_missing_ops_fall_back(numba_backend):
    assert kernels.backend_name() == "numba"
    assert kernels.relu is fast.relu
    kernels.set_backend("numpy")
    assert kernels.relu is reference.relu


def test_importing_nn_core_compiles_nothing():
    result = _run_python(
        """
        import sys
        import nn_core
        from numba.core.registry import CPUDispatcher
        from nn_core.kernels.numba_backend._jit import ParallelKernel
        assert nn_core.kernels.backend_name() == "numba"
        values = [
            value
            for name, module in list(sys.modules.items())
            if name.startswith("nn_core")
            for value in vars(module).values()
        ]
        dispatchers = [v for v in values if isinstance(v, CPUDispatcher)]
        kernels = [v for v in values if isinstance(v, ParallelKernel)]
        dispatchers += [d for v in kernels for d in (v.dispatcher, v.serial)]
        compiled = [d.py_func.__qualname__ for d in dispatchers if d.signatures]
        print(len(dispatchers), compiled)
        """
    )
    assert result.returncode == 0, result.stderr
    count, compiled = result.stdout.split(" ", 1)
    assert int(count) > 40  # the kernels were found...
    assert compiled.strip() == "[]"  # ...and none of them was compiled by the import


# ------------------------------------------------------------------ threads
def test_blas_thread_count_can_be_set_and_is_restored():
    if not threads.info()["blas_library"]:
        pytest.skip(threads.info()["blas_unavailable_reason"])
    before = threads.get_blas_threads()
    with threads.limit(blas=1, numba=1):
        assert threads.get_blas_threads() == 1
        assert threads.get_numba_threads() == 1
    assert threads.get_blas_threads() == before
    with pytest.raises(ValueError, match="blas must be a positive integer"):
        threads.set_blas_threads(0)


def test_thread_count_environment_variable_sets_both_pools():
    result = _run_python(
        "import nn_core; i = nn_core.threads.info(); print(i['blas'], i['numba'])",
        NN_CORE_NUM_THREADS="1",
    )
    assert result.returncode == 0, result.stderr
    blas, numba_threads = result.stdout.split()
    assert numba_threads == "1" and blas in ("1", "None")
    result = _run_python("import nn_core", NN_CORE_NUM_THREADS="two")
    assert result.returncode != 0 and "NN_CORE_NUM_THREADS" in result.stderr


def test_one_pool_holds_openblas_at_one_thread_and_gives_the_numpy_backend_its_count():
    if not _jit.ONE_POOL:
        pytest.skip("one pool is off here")
    code = (
        "import nn_core; from nn_core import kernels, threads;"
        "a = threads.get_blas_threads(); kernels.set_backend('numpy');"
        "b = threads.get_blas_threads(); kernels.set_backend('numba');"
        "print(a, b, threads.get_blas_threads())"
    )
    result = _run_python(code, NN_CORE_BACKEND="numba", NN_CORE_NUM_THREADS="2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "2", "1"]
    assert threads.info()["one_pool"] is True


def test_gemm_addresses_need_both_cblas_products():
    from types import SimpleNamespace

    assert threads._gemm_addresses(SimpleNamespace()) is None
    if threads.info()["blas_library"] and _jit.ONE_POOL:
        import ctypes

        library = ctypes.CDLL(threads.info()["blas_library"])
        only_single = SimpleNamespace(scipy_cblas_sgemm64_=library.scipy_cblas_sgemm64_)
        assert threads._gemm_addresses(only_single) is None  # no dgemm: no one pool
        addresses = threads.blas_gemm_addresses()
        assert set(addresses) == {"float32", "float64"}
        assert all(isinstance(a, int) and a > 0 for a in addresses.values())


def test_training_on_the_numba_backend_is_deterministic(numba_backend):
    def train():
        model = nn_core.Sequential(
            [
                nn_core.layers.Conv2D(4, 3, activation="relu", padding="same"),
                nn_core.layers.MaxPooling2D(2),
                nn_core.layers.UpSampling2D(2),
                nn_core.layers.Conv2D(1, 3, activation="sigmoid", padding="same"),
            ],
            seed=3,
        )
        model.compile(optimizer="adadelta", loss="binary_crossentropy")
        x = np.random.default_rng(0).uniform(0, 1, (20, 8, 8, 1)).astype(np.float32)
        history = model.fit(x, x, epochs=2, batch_size=8, verbose=0)
        return history.history["loss"], model.get_weights()

    (loss_a, weights_a), (loss_b, weights_b) = train(), train()
    assert loss_a == loss_b
    for a, b in zip(weights_a, weights_b):
        assert_exact(a, b)
