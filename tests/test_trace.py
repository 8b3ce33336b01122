"""nn_core.trace.trace_step: the numbers it reports, that it leaves the model alone by
default, that apply=True is a real training step, and that it shows vanishing and
exploding gradients."""

import numpy as np
import pytest

import nn_core as nn
from nn_core.trace import trace_step

L = nn.layers


def norm(array):
    return float(np.linalg.norm(np.asarray(array, dtype=np.float64).ravel()))


def batch(n=5, features=6, outputs=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)), rng.random((n, outputs))


def assert_same_arrays(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_is_exported_from_nn_core():
    assert "trace" in nn.__all__
    assert nn.trace.trace_step is trace_step


def test_every_number_matches_a_direct_computation():
    x, y = batch()
    learning_rate = 0.1
    model = nn.Sequential([L.Dense(4, activation="tanh"), L.Dense(3)], seed=3)
    model.build((6,), "float64")
    model.compile(optimizer=nn.optimizers.SGD(learning_rate), loss="mse")
    W1, b1, W2, b2 = model.get_weights()
    b1 += 0.5  # non-zero biases, so that every update/param ratio is defined
    b2 -= 0.25
    model.set_weights([W1, b1, W2, b2])

    # The step written out by hand: forward, loss, backward, SGD.
    h = np.tanh(x @ W1 + b1)  # (5, 4)
    out = h @ W2 + b2  # (5, 3)
    loss = np.mean((out - y) ** 2)
    grad_out = 2 * (out - y) / out.size
    grad_W2, grad_b2 = h.T @ grad_out, grad_out.sum(axis=0)
    grad_h = grad_out @ W2.T
    grad_z1 = grad_h * (1 - h**2)
    grad_W1, grad_b1 = x.T @ grad_z1, grad_z1.sum(axis=0)
    grad_x = grad_z1 @ W1.T

    trace = trace_step(model, x, y, print_fn=None)

    assert trace.loss == pytest.approx(loss, rel=1e-12)
    first, second = trace.layers
    assert (first.name, first.type_name) == (model.layers[0].name, "Dense")
    assert (first.input_shape, first.output_shape) == ((5, 6), (5, 4))
    assert (second.input_shape, second.output_shape) == ((5, 4), (5, 3))
    expected_layers = [
        (first, h, grad_h, grad_x),
        (second, out, grad_out, grad_h),
    ]
    for layer, output, grad_output, grad_input in expected_layers:
        assert layer.output_mean == pytest.approx(output.mean(), rel=1e-12)
        assert layer.output_std == pytest.approx(output.std(), rel=1e-12)
        assert layer.output_norm == pytest.approx(norm(output), rel=1e-12)
        assert layer.grad_output_norm == pytest.approx(norm(grad_output), rel=1e-12)
        assert layer.grad_input_norm == pytest.approx(norm(grad_input), rel=1e-12)

    names = [p.name for p in trace.parameters]
    assert names == model.weight_names()
    for parameter, value, grad in zip(
        trace.parameters, (W1, b1, W2, b2), (grad_W1, grad_b1, grad_W2, grad_b2)
    ):
        assert parameter.shape == value.shape
        assert parameter.norm == pytest.approx(norm(value), rel=1e-12)
        assert parameter.grad_norm == pytest.approx(norm(grad), rel=1e-12)
        assert parameter.update_norm == pytest.approx(learning_rate * norm(grad), rel=1e-9)
        assert parameter.update_ratio == pytest.approx(
            learning_rate * norm(grad) / norm(value), rel=1e-9
        )


def test_fused_sigmoid_cross_entropy_reports_the_output_gradient_and_logits_backward():
    x, y = batch()
    model = nn.Sequential([L.Dense(3, activation="sigmoid")], seed=0)
    model.build((6,), "float64")
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    kernel, bias = model.get_weights()
    probabilities = 1 / (1 + np.exp(-(x @ kernel + bias)))

    (layer,) = trace_step(model, x, y, print_fn=None).layers

    grad_output = nn.losses.BinaryCrossentropy().gradient(y, probabilities)
    grad_logits = (probabilities - y) / y.size
    assert layer.grad_output_norm == pytest.approx(norm(grad_output), rel=1e-12)
    assert layer.grad_input_norm == pytest.approx(norm(grad_logits @ kernel.T), rel=1e-12)


def mixed_model(seed=0):
    """Dense -> BatchNorm (buffers) -> Dropout (randomness) -> Dense sigmoid, Adam."""
    model = nn.Sequential(
        [
            L.Dense(5, activation="relu"),
            L.BatchNormalization(),
            L.Dropout(0.3),
            L.Dense(3, activation="sigmoid"),
        ],
        seed=seed,
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def test_default_trace_leaves_weights_buffers_optimizer_and_randomness_unchanged():
    x, y = batch(n=16)
    traced, twin = mixed_model(), mixed_model()
    for model in (traced, twin):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # optimizer state exists
    optimizer = traced.optimizer
    weights, state, rng = traced.get_weights(), optimizer.get_state(), traced.rng_state()

    trace = trace_step(traced, x, y, print_fn=None)

    assert not trace.applied
    assert any(p.update_norm > 0 for p in trace.parameters)  # a step was measured
    assert traced.optimizer is optimizer
    assert_same_arrays(traced.get_weights(), weights)
    assert optimizer.get_state().keys() == state.keys()
    assert_same_arrays(list(optimizer.get_state().values()), list(state.values()))
    assert traced.rng_state() == rng
    # ... so that training afterwards is bit-identical to never having traced.
    for model in (traced, twin):
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert_same_arrays(traced.get_weights(), twin.get_weights())


def test_apply_true_is_one_train_on_batch_step():
    x, y = batch(n=16)
    traced, twin = mixed_model(), mixed_model()
    twin.build((6,), "float32")
    before = twin.get_weights()

    trace = trace_step(traced, x, y, apply=True, print_fn=None)
    loss = twin.train_on_batch(x.astype(np.float32), y.astype(np.float32))

    assert trace.applied and trace.loss == loss
    assert_same_arrays(traced.get_weights(), twin.get_weights())
    assert_same_arrays(
        list(traced.optimizer.get_state().values()), list(twin.optimizer.get_state().values())
    )
    names = traced.weight_names()  # the twins' layers are named differently
    after = dict(zip(names, twin.get_weights()))
    before = dict(zip(names, before))
    for parameter in trace.parameters:
        change = after[parameter.name].astype(np.float64) - before[parameter.name]
        assert parameter.update_norm == norm(change)


def test_deep_sigmoid_net_shows_vanishing_gradients_layer_by_layer():
    x, y = batch(n=8, features=10, outputs=10)
    model = nn.Sequential([L.Dense(10, activation="sigmoid") for _ in range(10)], seed=0)
    model.build((10,), "float64")
    model.compile(optimizer="sgd", loss="mse")

    trace = trace_step(model, x, y, print_fn=None)

    grad_inputs = [layer.grad_input_norm for layer in trace.layers]
    # sigmoid' <= 1/4: going back through each layer shrinks the gradient.
    assert all(earlier < later for earlier, later in zip(grad_inputs, grad_inputs[1:]))
    assert grad_inputs[0] < 1e-4 * grad_inputs[-1]
    kernels = [p for p in trace.parameters if p.name.endswith("kernel")]
    assert kernels[0].update_ratio < 1e-4 * kernels[-1].update_ratio


def test_deep_linear_net_with_gain_3_shows_exploding_gradients():
    def three_times_identity(shape, rng, dtype):
        return 3 * np.eye(*shape, dtype=dtype)

    x, y = batch(n=4, features=8, outputs=8)
    model = nn.Sequential(
        [L.Dense(8, kernel_initializer=three_times_identity) for _ in range(6)], seed=0
    )
    model.build((8,), "float64")
    model.compile(optimizer="sgd", loss="mse")

    trace = trace_step(model, x, y, print_fn=None)

    # dL/dx = dL/dy @ (3 I).T: each layer going back multiplies the norm by exactly 3.
    for layer in trace.layers:
        assert layer.grad_input_norm == pytest.approx(3 * layer.grad_output_norm, rel=1e-12)
    for earlier, later in zip(trace.layers, trace.layers[1:]):
        assert earlier.grad_output_norm == pytest.approx(later.grad_input_norm, rel=1e-12)


def test_a_diverging_step_is_reported_and_not_applied():
    x, y = batch()
    model = nn.Sequential([L.Dense(3)], seed=0)
    model.build((6,), "float32")
    model.compile(optimizer="sgd", loss="mse")
    kernel, bias = model.get_weights()
    model.set_weights([kernel * 1e30, bias])  # squared errors overflow float32
    weights = model.get_weights()

    with np.errstate(over="ignore", invalid="ignore"):
        trace = trace_step(model, x, y, apply=True, print_fn=None)

    assert trace.diverged and not trace.applied
    assert not np.isfinite(trace.loss)
    assert all(p.update_norm == 0 for p in trace.parameters)
    assert_same_arrays(model.get_weights(), weights)
    assert "NOT applied" in str(trace)


def test_printed_table_names_every_layer_and_parameter():
    x, y = batch()
    model = nn.Sequential([nn.Sequential([L.Dense(4, activation="relu")]), L.Dense(3)], seed=0)
    model.compile(optimizer="adam", loss="mse")
    printed = []

    trace = trace_step(model, x, y, print_fn=printed.append)

    assert printed == [str(trace)]
    assert [layer.type_name for layer in trace.layers] == ["Dense", "Dense"]  # leaves only
    for name in [layer.name for layer in model.leaf_layers()] + model.weight_names():
        assert name in printed[0]
    assert "the model is unchanged" in printed[0]
    # Watching left no wrapper behind: the layers' methods are their classes' again.
    for layer in model.leaf_layers():
        assert "forward" not in vars(layer) and "backward" not in vars(layer)


def test_refuses_what_it_cannot_trace():
    x, y = batch()
    with pytest.raises(ValueError, match="Sequential"):
        trace_step(L.Dense(3), x, y)
    with pytest.raises(ValueError, match="compile"):
        trace_step(nn.Sequential([L.Dense(3)]), x, y)
    model = nn.Sequential([L.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="targets y have shape"):
        trace_step(model, x, y[:, :2], print_fn=None)
