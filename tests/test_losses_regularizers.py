"""Losses and regularizers: values against plain-Python formulas, gradient checks,
name lookup, and the Keras scaling of activity penalties."""

import math

import numpy as np
import pytest

import nn_core as nn
from nn_core.gradcheck import check_loss, check_regularizer

L = nn.layers
R = nn.regularizers
TOLERANCE = 1e-6


def mean(values):
    values = list(values)
    return math.fsum(values) / len(values)


def pairs(y_true, y_pred):
    return zip(np.asarray(y_true, dtype=float).ravel(), np.asarray(y_pred, dtype=float).ravel())


def bce_reference(y_true, y_pred, epsilon=1e-7):
    """Element-wise in plain Python: -(y log p + (1 - y) log(1 - p)), p clipped."""

    def term(y, p):
        p = min(max(p, epsilon), 1 - epsilon)
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    return mean(term(y, p) for y, p in pairs(y_true, y_pred))


def bce_logits_reference(y_true, logits):
    """-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))), with exact logs of sigmoids."""

    def log_sigmoid(z):
        return -math.log1p(math.exp(-z)) if z >= 0 else z - math.log1p(math.exp(z))

    return mean(-(y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z)) for y, z in pairs(y_true, logits))


def random_pair(shape=(4, 5), seed=0, low=0.05, high=0.95):
    rng = np.random.default_rng(seed)
    return rng.random(shape), rng.uniform(low, high, size=shape)


def away_from_zero(rng, shape, low=0.1):
    values = rng.uniform(-1, 1, size=shape)
    return np.sign(values) * (low + np.abs(values))


# ---------------------------------------------------------------------- values
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_crossentropy_value(dtype):
    y_true, y_pred = random_pair()
    loss = nn.losses.BinaryCrossentropy()
    value = loss(y_true.astype(dtype), y_pred.astype(dtype))
    assert isinstance(value, float)
    assert value == pytest.approx(
        bce_reference(y_true, y_pred), rel=1e-12 if dtype == np.float64 else 1e-5
    )


def test_binary_crossentropy_clips_probabilities_like_keras():
    loss = nn.losses.BinaryCrossentropy()
    y_true = np.array([[1.0, 0.0, 1.0, 0.0]])
    y_pred = np.array([[0.0, 1.0, 1.0, 0.0]])  # two certain mistakes, two certain hits
    # Each mistake costs -log(1e-7); each hit -log(1 - 1e-7) ~ 1e-7.
    # (rel 1e-9: 1 - 1e-7 rounds in float64, so the clipped log of a mistake is -log of
    # 1e-7 * (1 + 6e-10).)
    expected = (2 * -math.log(1e-7) + 2 * -math.log1p(-1e-7)) / 4
    assert loss(y_true, y_pred) == pytest.approx(expected, rel=1e-9)
    assert loss(y_true, y_pred) == pytest.approx(bce_reference(y_true, y_pred), rel=1e-12)
    # Outside the clip range the clipped function is flat: gradient exactly 0.
    np.testing.assert_array_equal(loss.gradient(y_true, y_pred), np.zeros((1, 4)))
    custom = nn.losses.BinaryCrossentropy(epsilon=1e-3)
    assert custom(np.array([[1.0]]), np.array([[0.0]])) == pytest.approx(-math.log(1e-3))


def test_binary_crossentropy_from_logits_value_and_stability():
    rng = np.random.default_rng(1)
    y_true = rng.random((3, 4))
    logits = rng.uniform(-8, 8, size=(3, 4))
    loss = nn.losses.BinaryCrossentropy(from_logits=True)
    assert loss(y_true, logits) == pytest.approx(bce_logits_reference(y_true, logits), rel=1e-12)
    # Equal to the probability form where no clipping happens.
    probabilities = 1 / (1 + np.exp(-logits))
    assert loss(y_true, logits) == pytest.approx(
        nn.losses.BinaryCrossentropy()(y_true, probabilities), rel=1e-9
    )
    # Huge logits: finite, exact (a wrong answer at z costs |z|), gradient (sigmoid - y)/size.
    huge = np.array([[1000.0, -1000.0, 1000.0, -1000.0]])
    targets = np.array([[0.0, 1.0, 1.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # exp(-1000) may underflow
        assert loss(targets, huge) == pytest.approx(500.0, rel=1e-12)
        np.testing.assert_allclose(loss.gradient(targets, huge), [[0.25, -0.25, 0.0, 0.0]])


def test_mean_squared_and_absolute_error_values():
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    mse = nn.losses.MeanSquaredError()(y_true, y_pred)
    mae = nn.losses.MeanAbsoluteError()(y_true, y_pred)
    assert mse == pytest.approx(mean((p - t) ** 2 for t, p in pairs(y_true, y_pred)), rel=1e-12)
    assert mae == pytest.approx(mean(abs(p - t) for t, p in pairs(y_true, y_pred)), rel=1e-12)
    assert nn.losses.MeanSquaredError()([[1.0, 2.0]], [[3.0, 2.0]]) == 2.0
    assert nn.losses.MeanAbsoluteError()([[1.0, 2.0]], [[3.0, 2.5]]) == 1.25


def test_mean_absolute_error_gradient_is_zero_at_equality():
    gradient = nn.losses.MeanAbsoluteError().gradient([[1.0, 2.0]], [[1.0, 3.0]])
    np.testing.assert_array_equal(gradient, [[0.0, 0.5]])


@pytest.mark.parametrize(
    "loss",
    [nn.losses.BinaryCrossentropy(), nn.losses.MeanSquaredError(), nn.losses.MeanAbsoluteError()],
)
def test_losses_keep_dtype_and_refuse_shape_mismatch(loss):
    y_true, y_pred = random_pair((2, 3))
    gradient = loss.gradient(y_true.astype(np.float32), y_pred.astype(np.float32))
    assert gradient.dtype == np.float32 and gradient.shape == (2, 3)
    assert loss.gradient(y_true, y_pred).dtype == np.float64
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3\) and \(3, 2\)"):
        loss(y_true, y_pred.T)
    with pytest.raises(ValueError, match="empty"):
        loss(np.zeros((0, 3)), np.zeros((0, 3)))


# ---------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_gradient_checks(seed):
    rng = np.random.default_rng(seed)
    shape = (3, 4)
    y_true, probabilities = rng.random(shape), rng.uniform(0.05, 0.95, size=shape)
    logits = away_from_zero(rng, shape) * 3
    assert check_loss(nn.losses.BinaryCrossentropy(), y_true, probabilities) < TOLERANCE
    assert check_loss(nn.losses.BinaryCrossentropy(from_logits=True), y_true, logits) < TOLERANCE
    assert check_loss(nn.losses.MeanSquaredError(), rng.standard_normal(shape), logits) < TOLERANCE
    # MAE has a kink where y_pred == y_true: keep every difference at least 0.1 away.
    mae_targets = logits + away_from_zero(rng, shape)
    assert check_loss(nn.losses.MeanAbsoluteError(), mae_targets, logits) < TOLERANCE


@pytest.mark.parametrize(
    "regularizer",
    [R.L1(0.01), R.L2(0.01), R.L1L2(0.01, 0.02), R.L1L2(l2=0.3)],
    ids=["l1", "l2", "l1l2", "l1l2-only-l2"],
)
def test_regularizer_gradient_checks(regularizer):
    weights = away_from_zero(np.random.default_rng(0), (4, 3))  # L1's kink at 0 avoided
    assert check_regularizer(regularizer, weights) < TOLERANCE


# ---------------------------------------------------------------------- regularizer values
def test_regularizer_values_by_hand():
    weights = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert R.L1(0.1)(weights) == pytest.approx(0.1 * 3.5)
    assert R.L2(0.1)(weights) == pytest.approx(0.1 * 5.25)  # no 1/2 factor, as Keras
    assert R.L1L2(0.1, 0.2)(weights) == pytest.approx(0.35 + 0.2 * 5.25)
    assert isinstance(R.L2(0.1)(weights.astype(np.float32)), float)
    np.testing.assert_allclose(R.L1(0.1).gradient(weights), [[0.1, -0.1], [0.1, 0.0]])
    np.testing.assert_allclose(R.L2(0.1).gradient(weights), [[0.2, -0.4], [0.1, 0.0]])
    assert R.L1L2(0.1, 0.2).gradient(weights.astype(np.float32)).dtype == np.float32


def test_regularizer_lookup_and_errors():
    assert R.get(None) is None
    l2 = R.L2(0.5)
    assert R.get(l2) is l2
    for name, (l1, l2_value) in {
        "l1": (0.01, 0.0),
        "l2": (0.0, 0.01),
        "l1_l2": (0.01, 0.01),
    }.items():
        regularizer = R.get(name)
        assert (regularizer.l1, regularizer.l2) == (l1, l2_value)
    rebuilt = R.get(R.L1L2(0.3, 0.4).get_config())
    assert (rebuilt.l1, rebuilt.l2) == (0.3, 0.4)
    with pytest.raises(ValueError, match="unknown regularizer 'l22'.*did you mean 'l2'"):
        R.get("l22")
    with pytest.raises(ValueError, match="l1 must be >= 0"):
        R.L1(-0.1)
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        R.L2(float("nan"))


# ---------------------------------------------------------------------- loss lookup
@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("binary_crossentropy", nn.losses.BinaryCrossentropy),
        ("bce", nn.losses.BinaryCrossentropy),
        ("mean_squared_error", nn.losses.MeanSquaredError),
        ("mse", nn.losses.MeanSquaredError),
        ("MSE", nn.losses.MeanSquaredError),
        ("mean_absolute_error", nn.losses.MeanAbsoluteError),
        ("mae", nn.losses.MeanAbsoluteError),
    ],
)
def test_losses_get_by_name(name, cls):
    assert type(nn.losses.get(name)) is cls


def test_losses_get_instances_configs_and_unknown_names():
    loss = nn.losses.BinaryCrossentropy(from_logits=True, epsilon=1e-4)
    assert nn.losses.get(loss) is loss
    rebuilt = nn.losses.get(loss.get_config())
    assert isinstance(rebuilt, nn.losses.BinaryCrossentropy)
    assert rebuilt.from_logits and rebuilt.epsilon == 1e-4
    assert isinstance(
        nn.losses.get({"class_name": "MeanAbsoluteError"}), nn.losses.MeanAbsoluteError
    )
    with pytest.raises(ValueError, match="unknown loss 'msee'.*did you mean 'mse'"):
        nn.losses.get("msee")
    with pytest.raises(ValueError, match="unknown loss class 'Huber'"):
        nn.losses.get({"class_name": "Huber"})
    with pytest.raises(ValueError, match="epsilon"):
        nn.losses.BinaryCrossentropy(epsilon=0.7)


# ---------------------------------------------------------------------- activity regularizers
def test_activity_penalty_is_per_sample_mean_over_the_batch():
    """Keras: the penalty of a batch is regularizer(outputs) / batch size."""
    layer = L.Dense(2, activity_regularizer=R.L2(0.1), kernel_initializer="ones")
    layer.build((3,), "float64")
    x = np.array([[1.0, 0.0, 2.0], [0.0, -1.0, 1.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.0]])
    outputs = layer.forward(x)  # bias 0, kernel of ones: each output is the row sum, twice
    row_sums = [3.0, 0.0, 3.0, 1.0]
    np.testing.assert_array_equal(outputs, np.repeat(np.array(row_sums)[:, None], 2, axis=1))
    by_hand = 0.1 * sum(2 * s**2 for s in row_sums) / 4
    assert layer.penalty() == pytest.approx(by_hand, rel=1e-12)
    # The same samples twice over: the same per-sample mean, the same penalty.
    layer.forward(np.concatenate([x, x]))
    assert layer.penalty() == pytest.approx(by_hand, rel=1e-12)
    # Its gradient is d(penalty)/dy = 0.1 * 2 y / N, added to dL/dy in backward.
    layer.forward(x)
    grad_input = layer.backward(np.zeros((4, 2)))
    grad_outputs = 0.2 * outputs / 4
    np.testing.assert_allclose(layer.grads["kernel"], x.T @ grad_outputs, rtol=1e-12)
    np.testing.assert_allclose(grad_input, grad_outputs @ layer.params["kernel"].T, rtol=1e-12)


def test_model_loss_adds_activity_and_kernel_penalties_by_hand():
    model = nn.Sequential(
        [
            L.Dense(
                2,
                activation="relu",
                kernel_regularizer=R.L1(0.01),
                activity_regularizer=R.L1(0.05),
            )
        ],
        seed=0,
    )
    model.build((3,), "float64")
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    kernel, bias = model.get_weights()
    outputs = np.maximum(x @ kernel + bias, 0)
    expected = (
        np.mean((outputs - y) ** 2)
        + 0.01 * np.sum(np.abs(kernel))
        + 0.05 * np.sum(np.abs(outputs)) / 5
    )
    loss, _ = model.loss_and_gradients(x, y)
    assert loss == pytest.approx(expected, rel=1e-12)
    assert model.evaluate(x, y, batch_size=5) == pytest.approx(expected, rel=1e-12)
