"""Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D and UpSampling2D.

Gradient checks (float64) over strides, paddings, odd sizes, channels, bias, activations
and regularizers; outputs against naive loops written here (independent of im2col) and,
in separate tests that skip without it, against PyTorch; TensorFlow's "same" arithmetic;
dtypes, configs, FLOPs and argument errors.
"""

import json
import math

import numpy as np
import pytest

from nn_core import kernels
from nn_core.gradcheck import check_layer
from nn_core.layers.conv2d import Conv2D
from nn_core.layers.conv2d_transpose import Conv2DTranspose
from nn_core.layers.pooling import AveragePooling2D, MaxPooling2D
from nn_core.layers.upsampling import UpSampling2D
from nn_core.regularizers import L1L2, L2

TOLERANCE = 1e-6

# (input shape NHWC, layer keyword arguments): strides 1, 2 and (2, 1), both paddings,
# odd sizes, square and 2x3 kernels, a batch of one, 1 to 3 channels, with and without
# bias, activations and regularizers.
CONV_CASES = [
    ((2, 7, 5, 3), dict(filters=4, kernel_size=3)),
    ((1, 7, 5, 2), dict(filters=3, kernel_size=(2, 3), strides=2, padding="same")),
    ((2, 6, 5, 1), dict(filters=2, kernel_size=3, strides=(2, 1), padding="SAME", use_bias=False)),
    ((1, 5, 7, 3), dict(filters=1, kernel_size=(3, 2), strides=2, activation="tanh")),
    ((2, 4, 5, 2), dict(filters=2, kernel_size=3, padding="same", activation="sigmoid",
                        kernel_regularizer=L2(0.1), activity_regularizer=L2(0.05))),
    ((1, 5, 5, 2), dict(filters=3, kernel_size=2, strides=3, padding="same", activation="elu",
                        kernel_regularizer=L1L2(0.01, 0.02))),
    # ReLU: fused into the convolution's kernel (with an activity penalty), then without bias
    ((2, 6, 5, 3), dict(filters=5, kernel_size=3, padding="same", activation="relu",
                        activity_regularizer=L2(0.05))),
    ((1, 6, 6, 2), dict(filters=4, kernel_size=3, activation="relu", use_bias=False)),
    ((1, 3, 4, 1), dict(filters=2, kernel_size=(3, 4))),  # the kernel covers the whole input
]  # fmt: skip

# Conv2DTranspose also covers kernels smaller than the stride (Keras then pads the output).
TRANSPOSE_CASES = CONV_CASES[:-1] + [
    ((1, 3, 2, 2), dict(filters=2, kernel_size=1, strides=2)),
    ((2, 2, 3, 1), dict(filters=1, kernel_size=(2, 3), strides=3, padding="same")),
]

POOL_CASES = [
    ((2, 6, 4, 3), dict()),
    ((1, 7, 5, 2), dict(pool_size=3, strides=2, padding="same")),
    ((2, 5, 7, 1), dict(pool_size=(2, 3), strides=(2, 1), padding="same")),
    ((1, 7, 5, 2), dict(pool_size=3, strides=1)),
    ((1, 5, 5, 1), dict(pool_size=2, padding="same")),
]


def random_input(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def seeded(layer, seed=0):
    layer.set_rng(np.random.default_rng(seed))
    return layer


def assert_gradients_match(layer, x):
    errors = check_layer(layer, x)
    assert errors.keys() == {"input", *layer.params}
    for key, error in errors.items():
        assert error < TOLERANCE, f"{type(layer).__name__} d/d{key}: relative error {error:.2e}"


def build_with_random_bias(layer_class, input_shape, kwargs):
    """A float64 layer whose bias (if any) is non-zero, so that bias errors show."""
    layer = seeded(layer_class(**kwargs))
    layer.build(input_shape[1:], dtype="float64")
    if layer.use_bias:
        layer.params["bias"][...] = np.random.default_rng(2).standard_normal(layer.filters)
    return layer


# ---------------------------------------------------------------------- naive references
def tf_same_padding(size, kernel, stride):
    """TensorFlow's "same": (before, after) with the odd cell after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def naive_conv2d(x, kernel, bias, strides, padding):
    """Direct cross-correlation, one output pixel at a time."""
    kernel_h, kernel_w, _, filters = kernel.shape
    if padding == "same":
        pads = [tf_same_padding(x.shape[1 + a], kernel.shape[a], strides[a]) for a in (0, 1)]
    else:
        pads = [(0, 0), (0, 0)]
    x_padded = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    out_h = (x_padded.shape[1] - kernel_h) // strides[0] + 1
    out_w = (x_padded.shape[2] - kernel_w) // strides[1] + 1
    z = np.zeros((x.shape[0], out_h, out_w, filters))
    for n in range(x.shape[0]):
        for oh in range(out_h):
            for ow in range(out_w):
                top, left = oh * strides[0], ow * strides[1]
                patch = x_padded[n, top : top + kernel_h, left : left + kernel_w, :]
                for f in range(filters):
                    z[n, oh, ow, f] = np.sum(patch * kernel[:, :, :, f])
    return z if bias is None else z + bias


def naive_conv2d_transpose(x, kernel, bias, strides, padding):
    """Scatter form: input pixel (h, w) adds kernel @ x[n, h, w] at (h*sh, w*sw), then
    Keras's output size and TensorFlow's crop."""
    kernel_h, kernel_w, filters, _ = kernel.shape
    n, height, width, _ = x.shape
    output_hw, pads = [], []
    for size, k, s in zip((height, width), (kernel_h, kernel_w), strides, strict=True):
        out = size * s if padding == "same" else size * s + max(k - s, 0)
        output_hw.append(out)
        pads.append(tf_same_padding(out, k, s) if padding == "same" else (0, 0))
    full = np.zeros((n, output_hw[0] + sum(pads[0]), output_hw[1] + sum(pads[1]), filters))
    for b in range(n):
        for h in range(height):
            for w in range(width):
                block = np.einsum("ijfc,c->ijf", kernel, x[b, h, w])
                top, left = h * strides[0], w * strides[1]
                full[b, top : top + kernel_h, left : left + kernel_w, :] += block
    y = full[:, pads[0][0] : pads[0][0] + output_hw[0], pads[1][0] : pads[1][0] + output_hw[1]]
    return y if bias is None else y + bias


def naive_pool2d(x, pool_size, strides, padding, reduce):
    """Pool each window's real cells (padded cells never count) with ``reduce``."""
    pads = [(0, 0), (0, 0)]
    if padding == "same":
        pads = [tf_same_padding(x.shape[1 + a], pool_size[a], strides[a]) for a in (0, 1)]
    out_h = (x.shape[1] + sum(pads[0]) - pool_size[0]) // strides[0] + 1
    out_w = (x.shape[2] + sum(pads[1]) - pool_size[1]) // strides[1] + 1
    y = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
    for oh in range(out_h):
        for ow in range(out_w):
            top = oh * strides[0] - pads[0][0]
            left = ow * strides[1] - pads[1][0]
            rows = slice(max(top, 0), top + pool_size[0])
            columns = slice(max(left, 0), left + pool_size[1])
            y[:, oh, ow, :] = reduce(x[:, rows, columns, :], axis=(1, 2))
    return y


def as_pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def conv_geometry(kwargs):
    """(strides, padding) of Conv2D/Conv2DTranspose kwargs, for the references."""
    return as_pair(kwargs.get("strides", 1)), kwargs.get("padding", "valid").lower()


def pool_geometry(kwargs):
    """(pool_size, strides, padding) of pooling kwargs; strides default to the pool size."""
    pool_size = as_pair(kwargs.get("pool_size", 2))
    strides = as_pair(kwargs.get("strides") or pool_size)
    return pool_size, strides, kwargs.get("padding", "valid").lower()


# ---------------------------------------------------------------------- "same" arithmetic
@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 28])
@pytest.mark.parametrize(("kernel", "stride"), [(1, 1), (2, 2), (3, 1), (3, 2), (5, 2), (2, 3)])
def test_same_padding_and_output_size_follow_tensorflow(size, kernel, stride):
    out = math.ceil(size / stride)
    assert kernels.conv_output_size(size, kernel, stride, "same") == out
    before, after = kernels.same_padding(size, kernel, stride)
    assert before + after == max((out - 1) * stride + kernel - size, 0)
    assert before == (before + after) // 2 and after >= before
    # The padded input holds exactly `out` windows.
    assert kernels.conv_output_size(size + before + after, kernel, stride, "valid") == out


def test_same_padding_known_values():
    # TensorFlow puts the odd padding cell at the bottom/right.
    assert kernels.same_padding(5, 3, 2) == (1, 1)
    assert kernels.same_padding(6, 3, 2) == (0, 1)
    assert kernels.same_padding(7, 4, 1) == (1, 2)
    assert kernels.same_padding(4, 1, 3) == (0, 0)
    assert kernels.conv_output_size(7, 3, 2, "valid") == 3


# ---------------------------------------------------------------------- kernels are adjoints
def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 5, 3))
    geometry = (3, 2, 2, 1, 1, 1, 0, 1)  # kh, kw, sh, sw, top, bottom, left, right
    cols = kernels.im2col(x, *geometry)
    other = rng.standard_normal(cols.shape)
    back = kernels.col2im(other, x.shape, *geometry)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(cols * other), np.sum(x * back), rtol=1e-12)


@pytest.mark.parametrize("strides", [(1, 1), (2, 2), (2, 1)])
@pytest.mark.parametrize("padding", [(0, 0, 0, 0), (1, 1, 0, 1)])
def test_conv2d_backward_input_is_the_adjoint_of_forward(strides, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 5, 3))
    kernel = rng.standard_normal((3, 2, 3, 4))
    z = kernels.conv2d_forward(x, kernel, None, strides, padding)
    grad_z = rng.standard_normal(z.shape)
    grad_x = kernels.conv2d_backward_input(grad_z, kernel, x.shape, strides, padding)
    np.testing.assert_allclose(np.sum(z * grad_z), np.sum(x * grad_x), rtol=1e-12)


def test_conv2d_transpose_layer_is_the_adjoint_of_conv2d_layer():
    """<T x, y> = <x, C y> for Conv2DTranspose T and Conv2D C sharing one kernel."""
    rng = np.random.default_rng(0)
    transpose = Conv2DTranspose(4, 3, strides=2, padding="same", use_bias=False)
    transpose.build((3, 4, 2), dtype="float64")
    conv = Conv2D(2, 3, strides=2, padding="same", use_bias=False)
    conv.build(transpose.output_shape, dtype="float64")
    conv.params["kernel"][...] = transpose.params["kernel"]
    x = rng.standard_normal((2, 3, 4, 2))
    y = rng.standard_normal((2, *transpose.output_shape))
    np.testing.assert_allclose(
        np.sum(transpose.forward(x) * y), np.sum(x * conv.forward(y)), rtol=1e-12
    )


# ---------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize(("input_shape", "kwargs"), CONV_CASES)
def test_conv2d_gradients(input_shape, kwargs):
    layer = build_with_random_bias(Conv2D, input_shape, kwargs)
    assert_gradients_match(layer, random_input(input_shape))


@pytest.mark.parametrize(("input_shape", "kwargs"), TRANSPOSE_CASES)
def test_conv2d_transpose_gradients(input_shape, kwargs):
    layer = build_with_random_bias(Conv2DTranspose, input_shape, kwargs)
    assert_gradients_match(layer, random_input(input_shape))


@pytest.mark.parametrize("layer_class", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize(("input_shape", "kwargs"), POOL_CASES)
def test_pooling_gradients(layer_class, input_shape, kwargs):
    assert_gradients_match(layer_class(**kwargs), random_input(input_shape))


@pytest.mark.parametrize(("input_shape", "size"), [((2, 3, 2, 3), 2), ((1, 2, 3, 1), (3, 2))])
def test_upsampling_gradients(input_shape, size):
    assert_gradients_match(UpSampling2D(size), random_input(input_shape))


# ---------------------------------------------------------------------- values and shapes
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("input_shape", "kwargs"),
    [
        ((3, 8, 7, 2), dict(filters=6, kernel_size=3, padding="same")),  # plane loops (Numba)
        ((2, 9, 8, 3), dict(filters=4, kernel_size=3, strides=2)),
        ((2, 6, 6, 16), dict(filters=1, kernel_size=3)),
    ],
)
def test_conv2d_with_relu_is_bit_for_bit_conv2d_then_relu(input_shape, kwargs, dtype):
    """The fused ReLU (conv2d_forward_relu, relu_backward_bias_gradient) gives exactly what
    a linear Conv2D followed by its ReLU gives: outputs, dL/dx, dL/dkernel and dL/dbias."""
    fused = Conv2D(activation="relu", **kwargs)
    plain = Conv2D(**kwargs)  # linear, followed by its own ReLU layer
    for layer in (fused, plain):
        layer.build(input_shape[1:], dtype=dtype)
    rng = np.random.default_rng(4)
    for name in ("kernel", "bias"):
        plain.params[name][...] = fused.params[name][...] = rng.standard_normal(
            fused.params[name].shape
        )
    relu = type(fused.activation)()
    x = rng.standard_normal(input_shape).astype(dtype)
    y = fused.forward(x, training=True)
    expected = relu.forward(plain.forward(x, training=True), training=True)
    np.testing.assert_array_equal(y, expected)
    grad_y = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_array_equal(fused.backward(grad_y), plain.backward(relu.backward(grad_y)))
    for name in ("kernel", "bias"):
        np.testing.assert_array_equal(fused.grads[name], plain.grads[name])


@pytest.mark.parametrize(("input_shape", "kwargs"), CONV_CASES)
def test_conv2d_matches_naive_loop(input_shape, kwargs):
    layer = build_with_random_bias(Conv2D, input_shape, kwargs)
    x = random_input(input_shape)
    bias = layer.params["bias"] if layer.use_bias else None
    z = naive_conv2d(x, layer.params["kernel"], bias, *conv_geometry(kwargs))
    y = layer.forward(x)
    assert y.shape == (input_shape[0], *layer.compute_output_shape(input_shape[1:]))
    np.testing.assert_allclose(y, layer.activation.forward(z), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("input_shape", "kwargs"), TRANSPOSE_CASES)
def test_conv2d_transpose_matches_naive_loop(input_shape, kwargs):
    layer = build_with_random_bias(Conv2DTranspose, input_shape, kwargs)
    x = random_input(input_shape)
    bias = layer.params["bias"] if layer.use_bias else None
    z = naive_conv2d_transpose(x, layer.params["kernel"], bias, *conv_geometry(kwargs))
    y = layer.forward(x)
    assert y.shape == (input_shape[0], *layer.compute_output_shape(input_shape[1:]))
    np.testing.assert_allclose(y, layer.activation.forward(z), rtol=1e-10, atol=1e-12)


def test_conv2d_transpose_output_sizes_follow_keras():
    def output_shape(input_hw, kernel, strides, padding):
        layer = Conv2DTranspose(1, kernel, strides=strides, padding=padding)
        return layer.compute_output_shape((*input_hw, 1))[:2]

    assert output_shape((4, 5), 3, 2, "valid") == (9, 11)  # (in - 1) * s + k
    assert output_shape((4, 5), 3, 2, "same") == (8, 10)  # in * s
    assert output_shape((4, 5), 1, 2, "valid") == (8, 10)  # k < s: in * s, as Keras
    assert output_shape((4, 5), (5, 2), (1, 3), "valid") == (8, 15)


@pytest.mark.parametrize(
    ("layer_class", "reduce"), [(MaxPooling2D, np.max), (AveragePooling2D, np.mean)]
)
@pytest.mark.parametrize(("input_shape", "kwargs"), POOL_CASES)
def test_pooling_matches_naive_loop(layer_class, reduce, input_shape, kwargs):
    layer = layer_class(**kwargs)
    x = random_input(input_shape)
    expected = naive_pool2d(x, *pool_geometry(kwargs), reduce)
    y = layer.forward(x)
    assert y.shape == (input_shape[0], *layer.compute_output_shape(input_shape[1:]))
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_pooling_same_padding_by_hand():
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    # 2x2 windows, stride 2, "same": one padded row and column at the bottom/right.
    max_pool = MaxPooling2D(2, padding="same")
    np.testing.assert_array_equal(max_pool.forward(x)[0, :, :, 0], [[5, 6], [8, 9]])
    avg_pool = AveragePooling2D(2, padding="same")
    y = avg_pool.forward(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[3, 4.5], [7.5, 9]])
    # Each output's gradient is shared by the real cells of its window only.
    grad_x = avg_pool.backward(np.ones_like(y))[0, :, :, 0]
    np.testing.assert_array_equal(grad_x, [[0.25, 0.25, 0.5], [0.25, 0.25, 0.5], [0.5, 0.5, 1]])
    # Padded -inf cells never win, even over negative inputs.
    np.testing.assert_array_equal(max_pool.forward(-x)[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_max_pooling_ties_send_the_gradient_to_the_first_maximum():
    x = np.array([[[1.0, 7.0], [7.0, 7.0]]])[..., None]  # (1, 2, 2, 1), three tied maxima
    layer = MaxPooling2D(2)
    layer.forward(x)
    grad_x = layer.backward(np.full((1, 1, 1, 1), 3.0))
    np.testing.assert_array_equal(grad_x[0, :, :, 0], [[0, 3], [0, 0]])


def test_overlapping_max_windows_add_their_gradients():
    x = np.zeros((1, 3, 1, 1))
    x[0, 1, 0, 0] = 5.0  # the centre wins both windows of a 2x1 pool with stride 1
    layer = MaxPooling2D((2, 1), strides=1)
    layer.forward(x)
    grad_x = layer.backward(np.array([1.0, 2.0]).reshape(1, 2, 1, 1))
    np.testing.assert_array_equal(grad_x[0, :, 0, 0], [0, 3, 0])


def test_upsampling_repeats_and_sums_blocks():
    x = np.arange(6.0).reshape(1, 2, 3, 1)
    layer = UpSampling2D((2, 3))
    y = layer.forward(x)
    assert y.shape == (1, 4, 9, 1) and layer.output_shape == (4, 9, 1)
    np.testing.assert_array_equal(y[0, :, :, 0], np.kron(x[0, :, :, 0], np.ones((2, 3))))
    np.testing.assert_array_equal(layer.backward(np.ones_like(y)), np.full(x.shape, 6.0))


def test_backward_from_logits_skips_the_final_sigmoid():
    for layer_class in (Conv2D, Conv2DTranspose):
        layer = layer_class(2, 3, strides=2, padding="same", activation="sigmoid")
        x = random_input((2, 5, 4, 3))
        y = layer.forward(x)
        assert type(layer.final_activation).__name__ == "Sigmoid"
        grad_y = random_input(y.shape, seed=3)
        grad_input = layer.backward(grad_y)
        kernel_grad = layer.grads["kernel"].copy()
        grad_logits = layer.final_activation.backward(grad_y)
        np.testing.assert_allclose(layer.backward_from_logits(grad_logits), grad_input)
        np.testing.assert_allclose(layer.grads["kernel"], kernel_grad)


# ---------------------------------------------------------------------- dtypes and configs
@pytest.mark.parametrize(
    "layer",
    [
        Conv2D(3, 3, strides=2, padding="same", activation="relu"),
        Conv2DTranspose(3, (2, 3), strides=2, activation="tanh"),
        MaxPooling2D(3, strides=2, padding="same"),
        AveragePooling2D(3, strides=2, padding="same"),
        UpSampling2D(2),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_float32_inputs_give_float32_outputs_and_gradients(layer):
    x = random_input((2, 7, 5, 2)).astype(np.float32)
    y = layer.forward(x)
    assert layer.dtype == np.float32 and y.dtype == np.float32
    grad_x = layer.backward(np.ones_like(y))
    assert grad_x.dtype == np.float32 and grad_x.shape == x.shape
    assert all(grad.dtype == np.float32 for grad in layer.grads.values())
    assert all(param.dtype == np.float32 for param in layer.params.values())


@pytest.mark.parametrize(
    "layer",
    [
        Conv2D(4, (3, 2), strides=(2, 1), padding="Same", activation="relu", use_bias=False,
               kernel_initializer="he_normal", kernel_regularizer=L2(0.01),
               activity_regularizer="l1", name="encoder_conv"),
        Conv2DTranspose(2, 3, strides=2, activation="sigmoid", bias_initializer="ones"),
        MaxPooling2D(3, strides=(2, 1), padding="same"),
        AveragePooling2D((2, 3)),
        UpSampling2D((2, 3)),
    ],
    ids=lambda layer: type(layer).__name__,
)  # fmt: skip
def test_config_round_trips_through_json(layer):
    config = layer.get_config()
    rebuilt = type(layer).from_config(json.loads(json.dumps(config)))
    assert rebuilt.get_config() == config


def test_pooling_strides_default_to_pool_size():
    assert MaxPooling2D((3, 2)).strides == (3, 2)
    assert AveragePooling2D(2, strides=1).strides == (1, 1)


def test_flops_count_two_per_multiply_add():
    conv = Conv2D(8, 3, padding="same")  # 28x28x1 -> 28x28x8
    conv.build((28, 28, 1))
    assert conv.flops() == 2 * 28 * 28 * 3 * 3 * 1 * 8
    transpose = Conv2DTranspose(1, 3, strides=2, padding="same")  # 7x7x8 -> 14x14x1
    transpose.build((7, 7, 8))
    assert transpose.flops() == 2 * 7 * 7 * 3 * 3 * 8 * 1
    pool = MaxPooling2D(2)
    pool.build((28, 28, 8))
    assert pool.flops() == 14 * 14 * 8 * 4


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("make_layer", "message"),
    [
        (lambda: Conv2D(0, 3, name="c"), r"'c' \(Conv2D\): filters .* positive integer, got 0"),
        (lambda: Conv2D(2.5, 3, name="c"), r"'c' \(Conv2D\): filters"),
        (lambda: Conv2D(2, (3, 0), name="c"), r"'c' \(Conv2D\): kernel_size .* got \(3, 0\)"),
        (lambda: Conv2D(2, (3, 3, 3), name="c"), r"'c' \(Conv2D\): kernel_size"),
        (lambda: Conv2D(2, 3, strides=0, name="c"), r"'c' \(Conv2D\): strides .* got 0"),
        (lambda: Conv2D(2, 3, padding="full", name="c"), r"'c'.*padding.*got 'full'"),
        (lambda: Conv2DTranspose(2, True, name="t"), r"'t' \(Conv2DTranspose\): kernel_size"),
        (lambda: Conv2DTranspose(-1, 3, name="t"), r"'t' \(Conv2DTranspose\): filters"),
        (lambda: MaxPooling2D(0, name="p"), r"'p' \(MaxPooling2D\): pool_size .* got 0"),
        (lambda: AveragePooling2D(2, strides=(1,), name="p"), r"'p' \(AveragePooling2D\): strides"),
        (lambda: MaxPooling2D(2, padding=None, name="p"), r"'p' \(MaxPooling2D\): padding"),
        (lambda: UpSampling2D("2", name="u"), r"'u' \(UpSampling2D\): size"),
    ],
)  # fmt: skip
def test_bad_constructor_arguments_raise_value_error(make_layer, message):
    with pytest.raises(ValueError, match=message):
        make_layer()


@pytest.mark.parametrize(
    "layer_class", [Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D, UpSampling2D]
)
def test_inputs_that_are_not_images_raise_value_error(layer_class):
    args = (2, 3) if layer_class in (Conv2D, Conv2DTranspose) else ()
    layer = layer_class(*args, name="image_layer")
    with pytest.raises(
        ValueError, match=r"'image_layer' .*\(N, height, width, channels\).*\(28, 28\)"
    ):
        layer.forward(np.zeros((4, 28, 28)))
    with pytest.raises(ValueError, match="'image_layer'"):
        layer.forward(np.zeros((4, 784)))


def test_windows_larger_than_the_input_raise_value_error():
    message = (
        r"layer 'conv2d_3' \(Conv2D\): a 5x5 kernel does not fit a 3x3 input with padding='valid'"
    )
    with pytest.raises(ValueError, match=message):
        Conv2D(2, 5, name="conv2d_3").build((3, 3, 1))
    with pytest.raises(ValueError, match=r"'pool' \(MaxPooling2D\): a 2x4 pool window"):
        MaxPooling2D((2, 4), name="pool").forward(np.zeros((1, 3, 3, 1)))
    # "same" padding makes any window fit, as in TensorFlow.
    assert Conv2D(2, 5, padding="same").compute_output_shape((3, 3, 1)) == (3, 3, 2)


def test_input_of_another_shape_after_build_raises_value_error():
    layer = Conv2D(2, 3, name="built_conv")
    layer.forward(np.zeros((1, 8, 8, 1)))
    with pytest.raises(ValueError, match=r"'built_conv' \(Conv2D\) expected input of shape"):
        layer.forward(np.zeros((1, 8, 8, 3)))


# ---------------------------------------------------------------------- PyTorch references
@pytest.fixture
def torch_functional():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


def to_nchw(torch, x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def to_nhwc(tensor):
    return tensor.numpy().transpose(0, 2, 3, 1)


@pytest.mark.parametrize(("input_shape", "kwargs"), CONV_CASES)
def test_conv2d_matches_torch(torch_functional, input_shape, kwargs):
    torch, functional = torch_functional
    layer = build_with_random_bias(Conv2D, input_shape, {**kwargs, "activation": None})
    x = random_input(input_shape)
    top, bottom, left, right = layer.padding_amounts  # checked against TF by the naive test
    x_torch = functional.pad(to_nchw(torch, x), (left, right, top, bottom))
    weight = torch.from_numpy(np.ascontiguousarray(layer.params["kernel"].transpose(3, 2, 0, 1)))
    bias = torch.from_numpy(layer.params["bias"]) if layer.use_bias else None
    expected = to_nhwc(functional.conv2d(x_torch, weight, bias, stride=layer.strides))
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("input_shape", "kwargs"), TRANSPOSE_CASES)
def test_conv2d_transpose_matches_torch(torch_functional, input_shape, kwargs):
    torch, functional = torch_functional
    layer = build_with_random_bias(Conv2DTranspose, input_shape, {**kwargs, "activation": None})
    x = random_input(input_shape)
    # PyTorch's (in, out, kh, kw) weight; its padding=0 output is the full (H - 1)*s + k.
    weight = torch.from_numpy(np.ascontiguousarray(layer.params["kernel"].transpose(3, 2, 0, 1)))
    full = to_nhwc(functional.conv_transpose2d(to_nchw(torch, x), weight, stride=layer.strides))
    top, bottom, left, right = layer.padding_amounts
    out_h, out_w, _ = layer.output_shape
    # Keras keeps rows [top, top + OH) of the full output, zero-extended when k < s.
    missing_h = max(top + out_h - full.shape[1], 0)
    missing_w = max(left + out_w - full.shape[2], 0)
    extended = np.pad(full, ((0, 0), (0, missing_h), (0, missing_w), (0, 0)))
    expected = extended[:, top : top + out_h, left : left + out_w]
    if layer.use_bias:
        expected = expected + layer.params["bias"]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("input_shape", "kwargs"), POOL_CASES)
def test_pooling_matches_torch(torch_functional, input_shape, kwargs):
    torch, functional = torch_functional
    x = random_input(input_shape)
    max_layer, avg_layer = MaxPooling2D(**kwargs), AveragePooling2D(**kwargs)
    max_y, avg_y = max_layer.forward(x), avg_layer.forward(x)
    top, bottom, left, right = max_layer.padding_amounts
    pads = (left, right, top, bottom)
    options = dict(kernel_size=max_layer.pool_size, stride=max_layer.strides)
    x_torch = to_nchw(torch, x)
    expected_max = functional.max_pool2d(functional.pad(x_torch, pads, value=-math.inf), **options)
    np.testing.assert_allclose(max_y, to_nhwc(expected_max), rtol=1e-12)
    # TF's average over real cells = (window sum of zero-padded x) / (window sum of a mask).
    window_sums = functional.avg_pool2d(functional.pad(x_torch, pads), **options)
    real_cells = functional.avg_pool2d(functional.pad(torch.ones_like(x_torch), pads), **options)
    np.testing.assert_allclose(avg_y, to_nhwc(window_sums / real_cells), rtol=1e-12)


def test_upsampling_matches_torch(torch_functional):
    torch, functional = torch_functional
    x = random_input((2, 3, 4, 2))
    y = UpSampling2D((2, 3)).forward(x)
    expected = functional.interpolate(to_nchw(torch, x), scale_factor=(2, 3), mode="nearest")
    np.testing.assert_array_equal(y, to_nhwc(expected))
