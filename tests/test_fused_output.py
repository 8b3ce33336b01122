"""The fused output layer: a training step of a model ending in a sigmoid and trained with
binary cross-entropy computes p = sigmoid(z), the loss and dL/dz in one kernel call
(``kernels.sigmoid_binary_crossentropy``) instead of the sigmoid's pass and the loss's two.
It must give the step it replaces: the same loss, gradients, predictions and metrics."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import nn_core as nn
from nn_core.trace import trace_step
from nn_core.training import TrainableModel

L = nn.layers
BACKENDS = ["numpy"] + (["numba"] if importlib.util.find_spec("numba") else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    previous = nn.kernels.backend_name()
    nn.kernels.set_backend(request.param)
    yield request.param
    nn.kernels.set_backend(previous)


@pytest.fixture
def count_calls(monkeypatch):
    """count_calls(name) -> a list that grows by one at each call of kernel op ``name``."""

    def start(name):
        calls = []
        module = nn.kernels._active
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a: calls.append(name) or real(*a))
        return calls

    return start


def unfused(monkeypatch):
    """Switch the fused output off: the step as it was before (three separate passes)."""
    monkeypatch.setattr(TrainableModel, "_sigmoids_with_their_loss", lambda self: [])


def images(n=40, d=12, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, d)).astype(np.float32)


def trained(monkeypatch, fuse, **compile_options):
    with monkeypatch.context() as patch:
        if not fuse:
            unfused(patch)
        model = nn.Sequential(
            [L.Dense(6, activation="relu"), L.Dense(12, activation="sigmoid")], seed=3
        )
        model.compile(optimizer="adam", loss="binary_crossentropy", **compile_options)
        history = model.fit(images(), images(), epochs=3, batch_size=8, verbose=0)
        return model, history.history


def assert_same(a, b):
    # On both backends the fused op gives, bit for bit, what the three separate ops give.
    np.testing.assert_array_equal(a, b)


def test_a_training_step_computes_the_sigmoid_with_its_loss(backend, count_calls):
    model = nn.Sequential(
        [L.Dense(5, activation="relu"), L.Dense(12, activation="sigmoid")], seed=1
    )
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    model.train_on_batch(images(8), images(8))  # builds the model and resolves its loss
    sigmoids = count_calls("sigmoid")
    values = count_calls("binary_crossentropy_from_logits")
    fused = count_calls("sigmoid_binary_crossentropy")
    model.train_on_batch(images(8), images(8))
    assert (len(sigmoids), len(values), len(fused)) == (0, 0, 1)
    model.predict(images(8))  # inference computes the sigmoid as always
    assert len(sigmoids) == 1
    assert "output_from_loss" not in vars(model.layers[-1].activation)


def test_the_fused_step_gives_the_unfused_losses_weights_and_predictions(backend, monkeypatch):
    fused_model, fused_history = trained(monkeypatch, fuse=True, metrics=["mae"])
    plain_model, plain_history = trained(monkeypatch, fuse=False, metrics=["mae"])
    assert fused_history.keys() == plain_history.keys()
    for key in fused_history:
        assert_same(np.array(fused_history[key]), np.array(plain_history[key]))
    for fused_weight, plain_weight in zip(fused_model.get_weights(), plain_model.get_weights()):
        assert_same(fused_weight, plain_weight)
    assert_same(fused_model.predict(images()), plain_model.predict(images()))


def test_loss_and_gradients_agree_with_the_unfused_step(backend, monkeypatch):
    def step(fuse):
        with monkeypatch.context() as patch:
            if not fuse:
                unfused(patch)
            model = nn.Sequential([L.Dense(12, activation="sigmoid")], seed=4)
            model.compile(optimizer="sgd", loss="binary_crossentropy")
            model.build((12,))
            model.loss_and_gradients(images(8), images(8))  # resolves the loss
            return model.loss_and_gradients(images(8, seed=1), images(8, seed=2))

    (fused_loss, fused_grads), (plain_loss, plain_grads) = step(True), step(False)
    assert_same(np.array(fused_loss), np.array(plain_loss))
    for a, b in zip(fused_grads, plain_grads):
        assert_same(a, b)


def test_a_graph_output_trained_with_cross_entropy_is_fused_beside_another(backend, count_calls):
    inputs = nn.Input((10,))
    code = L.Dense(4, activation="relu")(inputs)
    image = L.Dense(10, activation="sigmoid", name="image")(code)
    value = L.Dense(1, name="value")(code)
    model = nn.Model(inputs, [image, value])
    model.compile(optimizer="sgd", loss={"image": "binary_crossentropy", "value": "mse"})
    x = images(8, 10)
    targets = {"image": x, "value": x[:, :1]}
    model.train_on_batch(x, targets)
    fused = count_calls("sigmoid_binary_crossentropy")
    before_the_step = model.predict(x)[0]
    loss = model.train_on_batch(x, targets)
    assert len(fused) == 1 and np.isfinite(loss)
    # The step's predictions (metrics read them) are the probabilities, not the logits.
    probabilities = model._last_predictions[0]
    assert probabilities.min() >= 0 and probabilities.max() <= 1
    assert_same(probabilities, before_the_step)


def test_a_sigmoid_read_by_another_layer_is_not_fused(backend, count_calls):
    inputs = nn.Input((10,))
    image = L.Dense(10, activation="sigmoid", name="image")(inputs)
    again = L.Dense(10, activation="sigmoid", name="again")(image)  # reads the first output
    model = nn.Model(inputs, [image, again])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = images(8, 10)
    model.train_on_batch(x, [x, x])
    fused = count_calls("sigmoid_binary_crossentropy")
    model.train_on_batch(x, [x, x])
    assert len(fused) == 1  # only the output that nothing reads


def test_trace_step_reports_the_probabilities_it_watches(backend):
    model = nn.Sequential([L.Dense(12, activation="sigmoid")], seed=2)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = images(16)
    model.train_on_batch(x, x)
    report = trace_step(model, x, x, print_fn=None)
    last = report.layers[-1]
    expected = model.predict(x).astype(np.float64)
    assert last.output_mean == pytest.approx(expected.mean(), rel=1e-6)


def test_a_failing_forward_leaves_no_sigmoid_waiting_for_its_loss():
    model = nn.Sequential([L.Dense(12, activation="sigmoid")], seed=2)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    model.train_on_batch(images(8), images(8))
    with pytest.raises(ValueError, match="expected input of shape"):
        model.train_on_batch(images(8, 5), images(8))
    assert "output_from_loss" not in vars(model.layers[-1].activation)
    assert model.predict(images(8)).max() <= 1


def test_the_summed_cross_entropy_of_a_vae_is_fused_bit_for_bit(backend, monkeypatch, count_calls):
    def run(fuse):
        with monkeypatch.context() as patch:
            if not fuse:
                unfused(patch)
            model = nn.Sequential([L.Dense(12, activation="sigmoid")], seed=5)
            model.compile(optimizer="adam", loss=nn.losses.SummedBinaryCrossentropy())
            history = model.fit(images(), images(), epochs=2, batch_size=8, verbose=0)
            return history.history["loss"], model.get_weights()

    fused_calls = count_calls("sigmoid_binary_crossentropy")
    (fused_loss, fused_weights) = run(True)
    assert len(fused_calls) > 0
    (plain_loss, plain_weights) = run(False)
    assert_same(np.array(fused_loss), np.array(plain_loss))
    for a, b in zip(fused_weights, plain_weights):
        assert_same(a, b)


def test_a_subclass_that_changes_the_loss_but_not_the_fused_step_is_not_fused(count_calls):
    class HalfCrossentropy(nn.losses.BinaryCrossentropy):
        def logits_value(self, y_true, logits):
            return 0.5 * super().logits_value(y_true, logits)

    assert not HalfCrossentropy().fuses_with_its_sigmoid()
    assert nn.losses.BinaryCrossentropy().fuses_with_its_sigmoid()
    model = nn.Sequential([L.Dense(12, activation="sigmoid")], seed=5)
    model.compile(optimizer="sgd", loss=HalfCrossentropy())
    model.train_on_batch(images(8), images(8))
    fused = count_calls("sigmoid_binary_crossentropy")
    loss = model.train_on_batch(images(8), images(8))
    logits = model.layers[-1].activation.inputs
    assert fused == [] and loss == 0.5 * nn.kernels.binary_crossentropy_from_logits(
        images(8), logits
    )
