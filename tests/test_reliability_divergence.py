"""Divergence: a NaN or infinite loss, gradient or updated weight stops ``fit`` with
``TrainingDivergedError`` naming the epoch and batch, with every weight (and the optimizer
state) left at its last finite value, by default (issue 6, "Divergence")."""

import numpy as np
import pytest
from model_kinds import KINDS, make_model

import nn_core as nn

L = nn.layers
# The poisoned values travel through the kernels on purpose; NumPy's warnings are noise here.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


class SnapshotBeforeEachBatch(nn.callbacks.Callback):
    """Weights and optimizer state as they are when each batch starts."""

    def on_batch_begin(self, batch, logs=None):
        self.weights = self.model.get_weights()
        self.optimizer_state = self.model.optimizer.get_state()


class PoisonedLoss(nn.losses.MeanSquaredError):
    """MSE whose value (or gradient) is ``bad`` at call number ``at`` (counting from 0)."""

    def __init__(self, at, bad=np.nan, where="value"):
        super().__init__()
        self.at, self.bad, self.where, self.calls = at, bad, where, 0

    def __call__(self, y_true, y_pred):
        value = super().__call__(y_true, y_pred)
        if self.where == "value" and self.calls == self.at:
            value = self.bad
        self.calls += self.where == "value"
        return value

    def gradient(self, y_true, y_pred):
        gradient = super().gradient(y_true, y_pred)
        if self.where == "gradient":
            if self.calls == self.at:
                gradient = gradient.copy()
                gradient.flat[0] = self.bad
            self.calls += 1
        return gradient


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 6)).astype(np.float32), rng.random((n, 3)).astype(np.float32)


@pytest.fixture(autouse=True, params=KINDS)
def model_kind(request):
    """Every test of this file runs on a Sequential and on the same stack as a Model."""
    global KIND
    KIND = request.param
    yield request.param


KIND = "sequential"


def model_with(loss, optimizer="adam", batch_norm=True):
    layers = [L.Dense(5, activation="tanh")]
    if batch_norm:
        layers.append(L.BatchNormalization())
    layers.append(L.Dense(3))
    model = make_model(KIND, layers, seed=3, input_shape=(6,))
    model.compile(optimizer=optimizer, loss=loss)
    return model


def assert_state_equal(first, second):
    assert sorted(first) == sorted(second)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


@pytest.mark.parametrize(
    ("bad", "where"),
    [(np.nan, "value"), (np.inf, "value"), (np.nan, "gradient"), (-np.inf, "gradient")],
)
def test_non_finite_loss_or_gradient_stops_at_its_epoch_and_batch(bad, where):
    x, y = data()  # 32 samples, batch 8: 4 batches per epoch; call 9 = epoch 3, batch 2
    model = model_with(PoisonedLoss(at=9, bad=bad, where=where))
    snapshot = SnapshotBeforeEachBatch()
    with pytest.raises(nn.TrainingDivergedError) as raised:
        model.fit(x, y, epochs=5, batch_size=8, callbacks=[snapshot], verbose=0)
    message = str(raised.value)
    assert "epoch 3, batch 2" in message
    assert ("the loss is" in message) if where == "value" else ("gradient" in message)
    assert "lower learning rate" in message
    # Bit for bit the weights (batch-norm moving statistics included) and optimizer
    # state from before the failing batch: its step was never applied.
    for before, after in zip(snapshot.weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert_state_equal(snapshot.optimizer_state, model.optimizer.get_state())
    assert model.optimizer.iterations == 9


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_an_update_that_overflows_a_weight_is_undone(optimizer):
    """Finite loss and gradients, but the step itself overflows float32 (lr = 1e38)."""
    x, y = data()
    rates = {"sgd": 1e38, "adam": 3e38, "rmsprop": 3e38}
    model = model_with("mse", nn.optimizers.get(optimizer, learning_rate=rates[optimizer]))
    snapshot = SnapshotBeforeEachBatch()
    with pytest.raises(nn.TrainingDivergedError) as raised:
        model.fit(x * 1e3, y * 1e3, epochs=3, batch_size=8, callbacks=[snapshot], verbose=0)
    message = str(raised.value)
    assert "epoch 1, batch" in message and "optimizer step made" in message
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    for before, after in zip(snapshot.weights, weights, strict=True):
        np.testing.assert_array_equal(before, after)
    assert_state_equal(snapshot.optimizer_state, model.optimizer.get_state())


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_an_overflow_after_some_good_steps_puts_the_state_back(optimizer):
    # A sane learning rate for 4 steps, then one that overflows: the optimizer state
    # exists before the bad step, and must come back bit for bit with its step count.
    x, y = data()

    def rate(step):
        return 1e-3 if step < 4 else 3e38

    model = model_with("mse", nn.optimizers.get(optimizer, learning_rate=rate))
    snapshot = SnapshotBeforeEachBatch()
    with pytest.raises(nn.TrainingDivergedError, match="optimizer step made"):
        model.fit(x * 1e3, y * 1e3, epochs=3, batch_size=8, callbacks=[snapshot], verbose=0)
    assert model.optimizer.iterations == 4
    for before, after in zip(snapshot.weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert_state_equal(snapshot.optimizer_state, model.optimizer.get_state())


def test_divergence_is_a_floating_point_error_raised_without_any_callback():
    x, y = data()
    model = model_with(PoisonedLoss(at=0))
    with pytest.raises(FloatingPointError, match="epoch 1, batch 1"):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
