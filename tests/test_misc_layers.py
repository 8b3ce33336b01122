"""Flatten, Reshape, Dropout, GaussianNoise and BatchNormalization: gradients, semantics,
dtypes and argument errors. BatchNormalization is also compared against PyTorch."""

import json

import numpy as np
import pytest

from nn_core.gradcheck import check_layer
from nn_core.layers.batch_normalization import BatchNormalization
from nn_core.layers.dropout import Dropout
from nn_core.layers.noise import GaussianNoise
from nn_core.layers.reshape import Flatten, Reshape

TOLERANCE = 1e-6
# (N, F) and NHWC inputs, odd sizes, including a batch of one.
SHAPES = [(3, 5), (1, 7), (2, 3, 5, 3), (1, 3, 3, 2)]


def seeded(layer, seed=0):
    layer.set_rng(np.random.default_rng(seed))
    return layer


def random_input(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def assert_gradients_match(layer, x, training=True):
    errors = check_layer(layer, x, training=training)
    assert errors.keys() == {"input", *layer.params}
    for key, error in errors.items():
        assert error < TOLERANCE, f"{type(layer).__name__} d/d{key}: relative error {error:.2e}"


# ---------------------------------------------------------------------- Flatten / Reshape
@pytest.mark.parametrize("shape", SHAPES)
def test_flatten_gradient(shape):
    assert_gradients_match(Flatten(), random_input(shape))


@pytest.mark.parametrize(
    ("input_shape", "target", "output_shape"),
    [((3, 5), (5, 1), (5, 1)), ((2, 3, 5, 3), (-1, 3), (15, 3)), ((1, 3, 3, 2), (2, -1), (2, 9))],
)
def test_reshape_gradient_and_shapes(input_shape, target, output_shape):
    layer = Reshape(target)
    assert_gradients_match(layer, random_input(input_shape))
    assert layer.output_shape == output_shape


def test_flatten_is_row_major_like_keras():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    layer = Flatten()
    y = layer.forward(x)
    assert y.shape == (2, 60) and layer.output_shape == (60,)
    np.testing.assert_array_equal(y, x.reshape(2, -1))
    np.testing.assert_array_equal(layer.backward(y), x)
    assert Flatten().compute_output_shape(()) == (1,)


def test_reshape_infers_minus_one_and_round_trips():
    x = random_input((4, 6, 2))
    layer = Reshape((3, -1, 2))
    y = layer.forward(x)
    assert y.shape == (4, 3, 2, 2)
    np.testing.assert_array_equal(y.reshape(4, -1), x.reshape(4, -1))
    np.testing.assert_array_equal(layer.backward(y), x)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    assert Reshape.from_config(config).target_shape == (3, -1, 2)


@pytest.mark.parametrize(
    ("target", "input_shape"), [((4, 2), (2, 3)), ((4, -1), (2, 3)), ((7,), (3, 3))]
)
def test_reshape_size_mismatch_names_layer_input_and_target(target, input_shape):
    layer = Reshape(target, name="to_image")
    with pytest.raises(ValueError) as error:
        layer.build(input_shape)
    message = str(error.value)
    assert "'to_image'" in message
    assert "(N, " + ", ".join(map(str, input_shape)) + ")" in message
    assert str(target) in message


@pytest.mark.parametrize("target", [(2, -1, -1), (0, 3), (-2,), (), 12, (2.0, 3), (True, 2), None])
def test_reshape_rejects_bad_target_shape(target):
    with pytest.raises(ValueError, match="target_shape"):
        Reshape(target)


def test_reshape_rejects_other_input_shape_after_build():
    layer = Reshape((6,))
    layer.forward(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 2, 3\)"):
        layer.forward(np.zeros((2, 3, 2)))


# ---------------------------------------------------------------------- Dropout
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_dropout_gradient(shape, training):
    assert_gradients_match(seeded(Dropout(0.4)), random_input(shape), training=training)


def test_dropout_zero_fraction_and_expectation():
    rate = 0.3
    layer = seeded(Dropout(rate))
    x = np.ones((1000, 1000))
    y = layer.forward(x, training=True)
    # Binomial standard errors are about 5e-4 here.
    assert abs(np.mean(y == 0) - rate) < 5e-3
    assert abs(np.mean(y) - 1.0) < 5e-3
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate))


def test_dropout_backward_uses_the_forward_mask():
    layer = seeded(Dropout(0.5))
    x = random_input((6, 7))
    y = layer.forward(x, training=True)
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad == 0, y == 0)
    np.testing.assert_allclose(grad[grad != 0], 2.0)


def test_dropout_same_seed_same_mask():
    x = np.ones((20, 30))
    first = seeded(Dropout(0.5), seed=7).forward(x, training=True)
    second = seeded(Dropout(0.5), seed=7).forward(x, training=True)
    other = seeded(Dropout(0.5), seed=8).forward(x, training=True)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    # The seed fixes the mask in float32 too.
    in_float32 = seeded(Dropout(0.5), seed=7).forward(x.astype(np.float32), training=True)
    np.testing.assert_array_equal(in_float32 == 0, first == 0)


def test_dropout_inference_and_rate_zero_are_identity():
    x = random_input((4, 5))
    layer = seeded(Dropout(0.5))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    np.testing.assert_array_equal(seeded(Dropout(0.0)).forward(x, training=True), x)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan"), "0.5", None, True])
def test_dropout_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        Dropout(rate)


# ---------------------------------------------------------------------- GaussianNoise
@pytest.mark.parametrize("shape", SHAPES)
def test_gaussian_noise_gradient(shape):
    assert_gradients_match(seeded(GaussianNoise(0.5)), random_input(shape))


def test_gaussian_noise_statistics():
    stddev = 0.7
    x = np.full((500, 1000), 3.0)
    noise = seeded(GaussianNoise(stddev)).forward(x, training=True) - x
    # Standard errors: 1e-3 for the mean, 7e-4 for the standard deviation.
    assert abs(noise.mean()) < 5e-3
    assert abs(noise.std() - stddev) < 5e-3
    assert abs(np.mean(np.abs(noise) < stddev) - 0.6827) < 5e-3  # one-sigma mass
    repeat = seeded(GaussianNoise(stddev)).forward(x, training=True) - x
    np.testing.assert_array_equal(noise, repeat)


def test_gaussian_noise_inference_is_identity():
    x = random_input((3, 4, 4, 2))
    layer = seeded(GaussianNoise(1.0))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(x), x)


@pytest.mark.parametrize("stddev", [-1.0, float("inf"), float("nan"), "1", None, False])
def test_gaussian_noise_rejects_bad_stddev(stddev):
    with pytest.raises(ValueError, match="stddev"):
        GaussianNoise(stddev)


# ---------------------------------------------------------------------- BatchNormalization
def batch_norm_with_random_weights(shape, seed=2, **kwargs):
    """A float64 BatchNormalization for ``shape`` with non-trivial gamma, beta and moving stats."""
    layer = BatchNormalization(**kwargs)
    layer.build(shape[1:], dtype="float64")
    rng = np.random.default_rng(seed)
    channels = shape[-1]
    for key in layer.params:
        layer.params[key][...] = rng.uniform(0.5, 1.5, channels) * rng.choice([-1, 1], channels)
    layer.buffers["moving_mean"][...] = rng.standard_normal(channels)
    layer.buffers["moving_variance"][...] = rng.uniform(0.5, 2.0, channels)
    return layer


# Batch 1 on (N, F) has zero variance, so the (N, F) case uses a batch of 3.
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 5, 3), (1, 3, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(("center", "scale"), [(True, True), (False, True), (True, False)])
def test_batch_norm_gradient(shape, training, center, scale):
    layer = batch_norm_with_random_weights(shape, center=center, scale=scale)
    assert list(layer.params) == [key for key, on in (("gamma", scale), ("beta", center)) if on]
    # Shift and stretch the input so that the statistics are far from 0 and 1.
    x = 2.0 + 3.0 * random_input(shape)
    assert_gradients_match(layer, x, training=training)


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5, 3)])
def test_batch_norm_training_output_is_standardised(shape):
    layer = BatchNormalization()
    x = 5.0 + 4.0 * random_input(shape)
    y = layer.forward(x, training=True)
    axes = tuple(range(len(shape) - 1))
    variance = np.var(x, axis=axes)
    np.testing.assert_allclose(np.mean(y, axis=axes), 0.0, atol=1e-12)
    # Var(y) = var / (var + eps): 1 up to epsilon.
    np.testing.assert_allclose(np.var(y, axis=axes), variance / (variance + 1e-3), rtol=1e-10)


def test_batch_norm_moving_statistics_after_two_steps():
    momentum = 0.9
    layer = BatchNormalization(momentum=momentum)
    first, second = 1.0 + random_input((6, 4), seed=3), 2.0 * random_input((6, 4), seed=4)
    layer.forward(first, training=True)
    layer.forward(second, training=True)
    expected_mean = momentum * (momentum * 0.0 + (1 - momentum) * first.mean(0))
    expected_mean += (1 - momentum) * second.mean(0)
    # The biased variance (np.var divides by M), as Keras 3.
    expected_variance = momentum * (momentum * 1.0 + (1 - momentum) * first.var(0))
    expected_variance += (1 - momentum) * second.var(0)
    np.testing.assert_allclose(layer.buffers["moving_mean"], expected_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.buffers["moving_variance"], expected_variance, rtol=1e-12)
    # Inference neither uses nor updates the batch statistics.
    layer.forward(3.0 + random_input((6, 4), seed=5), training=False)
    np.testing.assert_allclose(layer.buffers["moving_mean"], expected_mean, rtol=1e-12)


def test_batch_norm_inference_uses_moving_statistics():
    shape = (2, 3, 3, 4)
    layer = batch_norm_with_random_weights(shape)
    x = random_input(shape)
    buffers, params = layer.buffers, layer.params
    expected = (x - buffers["moving_mean"]) / np.sqrt(buffers["moving_variance"] + 1e-3)
    expected = expected * params["gamma"] + params["beta"]
    np.testing.assert_allclose(layer.forward(x, training=False), expected, rtol=1e-12)
    # A frozen layer (trainable = False) runs in inference mode even when training, as Keras.
    moving_mean = buffers["moving_mean"].copy()
    layer.trainable = False
    np.testing.assert_allclose(layer.forward(x, training=True), expected, rtol=1e-12)
    np.testing.assert_array_equal(buffers["moving_mean"], moving_mean)


def test_batch_norm_defaults_config_and_state():
    layer = BatchNormalization()
    assert (layer.momentum, layer.epsilon, layer.center, layer.scale) == (0.99, 1e-3, True, True)
    layer.build((5, 5, 3))
    assert list(layer.params) == ["gamma", "beta"]
    assert list(layer.buffers) == ["moving_mean", "moving_variance"]
    np.testing.assert_array_equal(layer.params["gamma"], 1.0)
    np.testing.assert_array_equal(layer.params["beta"], 0.0)
    np.testing.assert_array_equal(layer.buffers["moving_mean"], 0.0)
    np.testing.assert_array_equal(layer.buffers["moving_variance"], 1.0)
    assert layer.count_params() == 6  # the moving statistics are not trainable params
    assert layer.flops() == 4 * 75
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    clone = BatchNormalization.from_config({**config, "name": "clone"})
    assert clone.get_config() == {**config, "name": "clone"}


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"momentum": 1.5}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"momentum": "0.9"}, "momentum"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"center": "yes"}, "center"),
        ({"scale": 1}, "scale"),
    ],
)
def test_batch_norm_rejects_bad_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        BatchNormalization(**kwargs)


def test_batch_norm_needs_a_channel_axis():
    with pytest.raises(ValueError, match="channel axis"):
        BatchNormalization(name="bn").forward(np.zeros(4))


def test_batch_norm_matches_torch():
    torch = pytest.importorskip("torch")
    momentum, epsilon = 0.9, 1e-3
    x = 1.5 + 2.0 * random_input((3, 4, 5, 6))  # NHWC; torch wants NCHW
    projection = random_input(x.shape, seed=9)
    layer = batch_norm_with_random_weights(x.shape, momentum=momentum, epsilon=epsilon)
    layer.buffers["moving_mean"][...] = 0.0
    layer.buffers["moving_variance"][...] = 1.0
    gamma, beta = layer.params["gamma"].copy(), layer.params["beta"].copy()

    y = layer.forward(x, training=True)
    grad_x = layer.backward(projection)

    def to_torch(array, grad=False):
        return torch.tensor(array, dtype=torch.float64, requires_grad=grad)

    x_torch = to_torch(x.transpose(0, 3, 1, 2), grad=True)
    gamma_torch, beta_torch = to_torch(gamma, grad=True), to_torch(beta, grad=True)
    running_mean, running_var = (
        torch.zeros(6, dtype=torch.float64),
        torch.ones(6, dtype=torch.float64),
    )
    y_torch = torch.nn.functional.batch_norm(
        x_torch,
        running_mean,
        running_var,
        gamma_torch,
        beta_torch,
        training=True,
        momentum=1 - momentum,  # torch weighs the new batch statistic by its momentum
        eps=epsilon,
    )
    (y_torch * to_torch(projection.transpose(0, 3, 1, 2))).sum().backward()

    np.testing.assert_allclose(y, y_torch.detach().numpy().transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(grad_x, x_torch.grad.numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(layer.grads["gamma"], gamma_torch.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.grads["beta"], beta_torch.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.buffers["moving_mean"], running_mean.numpy(), rtol=1e-12)
    # The moving variances differ on purpose. Both normalise with the biased batch
    # variance (divided by M = N*H*W), but torch's running_var averages the unbiased
    # one (divided by M - 1), while Keras 3, and this layer, average the biased one.
    # Converting torch's batch term to the biased variance recovers ours exactly.
    rows = x.shape[0] * x.shape[1] * x.shape[2]
    torch_batch_term = (running_var.numpy() - momentum * 1.0) / (1 - momentum)
    our_batch_term = (layer.buffers["moving_variance"] - momentum * 1.0) / (1 - momentum)
    np.testing.assert_allclose(our_batch_term, torch_batch_term * (rows - 1) / rows, rtol=1e-10)


# ---------------------------------------------------------------------- dtypes
@pytest.mark.parametrize(
    "make_layer",
    [
        Flatten,
        lambda: Reshape((-1, 2)),
        lambda: seeded(Dropout(0.5)),
        lambda: seeded(GaussianNoise(0.3)),
        BatchNormalization,
    ],
)
@pytest.mark.parametrize("training", [True, False])
def test_float32_stays_float32(make_layer, training):
    layer = make_layer()
    x = random_input((2, 3, 3, 4)).astype(np.float32)
    y = layer.forward(x, training=training)
    assert layer.dtype == np.float32 and y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32
    arrays = {**layer.params, **layer.grads, **getattr(layer, "buffers", {})}
    assert all(array.dtype == np.float32 for array in arrays.values())
