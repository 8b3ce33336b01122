"""Sequential: building, dtypes, weights, gradients, fit/evaluate/predict semantics,
determinism, nesting, summary, error messages and divergence."""

import math

import numpy as np
import pytest

import nn_core as nn
from nn_core.gradcheck import check_model

L = nn.layers
R = nn.regularizers
TOLERANCE = 1e-6


def random_data(n=37, features=6, outputs=3, seed=0):
    """x: (n, features) standard normal; y: (n, outputs) uniform in [0, 1] (BCE targets)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = rng.random((n, outputs)).astype(np.float32)
    return x, y


def mixed_model(seed=0, dtype=None, optimizer="adam"):
    """Dense relu (L2 kernel) -> BatchNorm -> Dropout -> Dense sigmoid, compiled with BCE."""
    model = nn.Sequential(
        [
            L.Dense(5, activation="relu", kernel_regularizer=R.L2(0.01)),
            L.BatchNormalization(),
            L.Dropout(0.25),
            L.Dense(3, activation="sigmoid"),
        ],
        seed=seed,
    )
    if dtype is not None:
        model.build((6,), dtype)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def assert_same_arrays(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- build, shapes, dtypes
def test_build_sets_every_shape_and_defaults_to_float32():
    model = mixed_model(dtype="float32")
    assert model.built and model.input_shape == (6,) and model.output_shape == (3,)
    assert [layer.output_shape for layer in model.layers] == [(5,), (5,), (5,), (3,)]
    assert [w.shape for w in model.get_weights()] == [
        (6, 5),
        (5,),  # dense kernel (in, out), bias
        (5,),
        (5,),
        (5,),
        (5,),  # gamma, beta, moving_mean, moving_variance
        (5, 3),
        (3,),
    ]
    assert all(w.dtype == np.float32 for w in model.get_weights())
    x, y = random_data()
    assert model.predict(x).dtype == np.float32
    _, gradients = model.loss_and_gradients(x, y)
    assert all(g.dtype == np.float32 for g in gradients)

    unbuilt = nn.Sequential([L.Dense(2)])
    unbuilt.build((4,))
    assert unbuilt.dtype == np.float32


def test_float64_model_is_float64_everywhere():
    model = mixed_model(dtype="float64")
    x, y = random_data()  # float32 data: the model converts it to its own dtype
    for layer in model.leaf_layers():
        assert layer.dtype == np.float64
        assert all(p.dtype == np.float64 for p in layer.params.values())
        assert all(b.dtype == np.float64 for b in layer.buffers.values())
    outputs = model.forward(x, training=True)
    assert outputs.dtype == np.float64
    assert model.backward(np.ones_like(outputs)).dtype == np.float64
    for layer in model.leaf_layers():
        assert all(g.dtype == np.float64 for g in layer.grads.values())
    _, gradients = model.loss_and_gradients(x, y)
    assert all(g.dtype == np.float64 for g in gradients)
    assert model.predict(x, batch_size=8).dtype == np.float64
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert all(w.dtype == np.float64 for w in model.get_weights())


def test_unbuilt_model_builds_on_first_forward_from_x():
    model = nn.Sequential([L.Dense(4, activation="tanh"), L.Dense(2)], seed=0)
    x = np.random.default_rng(0).standard_normal((3, 7))  # float64
    assert model.forward(x).shape == (3, 2)
    assert model.built and model.input_shape == (7,) and model.dtype == np.float64
    assert model.layers[0].params["kernel"].shape == (7, 4)


# ---------------------------------------------------------------------- get/set_weights
def test_get_weights_is_in_layer_order_with_keras_layouts():
    model = mixed_model(dtype="float32")
    dense_in, batch_norm, _, dense_out = model.layers
    expected = [
        dense_in.params["kernel"],
        dense_in.params["bias"],
        batch_norm.params["gamma"],
        batch_norm.params["beta"],
        batch_norm.buffers["moving_mean"],
        batch_norm.buffers["moving_variance"],
        dense_out.params["kernel"],
        dense_out.params["bias"],
    ]
    assert_same_arrays(model.get_weights(), expected)
    assert model.weight_names()[0].endswith("/kernel") and model.weight_names()[1].endswith("/bias")


def test_get_weights_returns_copies():
    model = mixed_model(dtype="float32")
    weights = model.get_weights()
    weights[0] += 1.0
    assert not np.array_equal(weights[0], model.layers[0].params["kernel"])


def test_set_weights_copies_into_the_existing_arrays():
    model = nn.Sequential([L.Dense(3), L.Dense(2)], seed=0)
    model.build((4,))
    live = model.weight_arrays()
    rng = np.random.default_rng(1)
    new = [rng.standard_normal(w.shape) for w in model.get_weights()]  # float64 in
    model.set_weights(new)
    after = model.weight_arrays()
    assert all(a is b for a, b in zip(live, after))
    assert model.layers[0].params["kernel"] is live[0]
    assert all(w.dtype == np.float32 for w in after)
    for array, value in zip(after, new):
        np.testing.assert_array_equal(array, value.astype(np.float32))
    new[0][...] = 0.0  # the model holds copies, not the caller's arrays
    assert np.any(model.layers[0].params["kernel"] != 0)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    kernel_0, bias_0, kernel_1, bias_1 = model.get_weights()
    np.testing.assert_allclose(
        model.predict(x), (x @ kernel_0 + bias_0) @ kernel_1 + bias_1, rtol=1e-6
    )


def test_set_weights_refuses_wrong_count_and_shape():
    model = nn.Sequential([L.Dense(3)], seed=0)
    model.build((4,))
    kernel, bias = model.get_weights()
    with pytest.raises(ValueError, match="2 weight arrays, got 1"):
        model.set_weights([kernel])
    with pytest.raises(ValueError, match=r"kernel has shape \(4, 3\), got \(3, 4\)"):
        model.set_weights([kernel.T, bias])


# ---------------------------------------------------------------------- loss_and_gradients
def test_loss_and_gradients_order_total_loss_and_no_update():
    model = mixed_model(dtype="float64")
    x, y = random_data()
    before = model.get_weights()
    loss, gradients = model.loss_and_gradients(x, y)
    # Nothing updated: weights, batch-norm moving statistics, optimizer.
    assert_same_arrays(model.get_weights(), before)
    assert model.optimizer.iterations == 0
    # get_weights() order and shapes; buffers get zero gradients.
    assert [g.shape for g in gradients] == [w.shape for w in before]
    dense_in, batch_norm, _, dense_out = model.layers
    expected = [
        dense_in.grads["kernel"],
        dense_in.grads["bias"],
        batch_norm.grads["gamma"],
        batch_norm.grads["beta"],
        np.zeros(5),
        np.zeros(5),
        dense_out.grads["kernel"],
        dense_out.grads["bias"],
    ]
    assert_same_arrays(gradients, expected)
    # The loss includes the kernel penalty: a twin without the regularizer (same seed,
    # so the same weights and dropout masks) differs by exactly 0.01 * sum(W^2).
    twin = nn.Sequential(
        [
            L.Dense(5, activation="relu"),
            L.BatchNormalization(),
            L.Dropout(0.25),
            L.Dense(3, activation="sigmoid"),
        ],
        seed=0,
    )
    twin.build((6,), "float64")
    twin.compile(optimizer="adam", loss="binary_crossentropy")
    assert_same_arrays(twin.get_weights(), before)
    twin_loss, twin_gradients = twin.loss_and_gradients(x, y)
    assert math.isclose(loss - twin_loss, 0.01 * np.sum(before[0] ** 2), rel_tol=1e-9)
    np.testing.assert_allclose(gradients[0] - twin_gradients[0], 0.02 * before[0], atol=1e-12)
    assert_same_arrays(gradients[1:], twin_gradients[1:])


def test_loss_and_gradients_returns_arrays_a_later_call_does_not_overwrite():
    model = mixed_model(dtype="float64")
    x, y = random_data()
    _, first = model.loss_and_gradients(x, y)
    kept = [g.copy() for g in first]
    model.loss_and_gradients(x[:5] * 3, y[:5])
    assert_same_arrays(first, kept)


def test_loss_includes_kernel_penalty_by_hand():
    model = nn.Sequential([L.Dense(2, kernel_regularizer=R.L1L2(0.01, 0.02))], seed=0)
    model.build((3,), "float64")
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    kernel, bias = model.get_weights()
    mse = np.mean((x @ kernel + bias - y) ** 2)
    penalty = 0.01 * np.sum(np.abs(kernel)) + 0.02 * np.sum(kernel**2)
    loss, _ = model.loss_and_gradients(x, y)
    assert math.isclose(loss, mse + penalty, rel_tol=1e-12)
    assert math.isclose(model.evaluate(x, y, batch_size=4), mse + penalty, rel_tol=1e-12)


# ---------------------------------------------------------------------- whole-model gradients
GRADIENT_MODELS = {
    "dense relu + dense sigmoid, BCE": lambda: [
        L.Dense(5, activation="relu"),
        L.Dense(3, activation="sigmoid"),
    ],
    "kernel and activity regularizers": lambda: [
        L.Dense(5, activation="tanh", kernel_regularizer=R.L1L2(0.01, 0.02)),
        L.Dense(4, activation="relu", activity_regularizer=R.L2(0.05)),
        L.Dense(3, activation="sigmoid", activity_regularizer=R.L1(0.03)),
    ],
    "dropout": lambda: [
        L.Dense(6, activation="relu"),
        L.Dropout(0.4),
        L.Dense(3, activation="sigmoid"),
    ],
    # No bias before batch norm: the mean subtraction cancels it, so its true gradient is
    # 0 and the relative error of two round-off-sized numbers would be meaningless.
    "batch normalization": lambda: [
        L.Dense(5, use_bias=False),
        L.BatchNormalization(),
        L.ReLU(),
        L.Dense(3, activation="sigmoid"),
    ],
}


@pytest.mark.parametrize("name", list(GRADIENT_MODELS))
def test_whole_model_gradient_check(name):
    model = nn.Sequential(GRADIENT_MODELS[name](), seed=3)
    model.build((4,), "float64")
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 4))
    y = rng.random((6, 3))
    errors = check_model(model, x, y)
    assert len(errors) == len(model.get_weights())
    assert max(errors) < TOLERANCE, dict(zip(model.weight_names(), errors))


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_whole_model_gradient_check_other_losses(loss):
    model = nn.Sequential([L.Dense(5, activation="tanh"), L.Dense(2)], seed=5)
    model.build((3,), "float64")
    model.compile(optimizer="sgd", loss=loss)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 3))
    y = model.predict(x) + np.sign(rng.standard_normal((4, 2))) * 0.5  # MAE away from 0
    assert max(check_model(model, x, y)) < TOLERANCE


# ---------------------------------------------------------------------- sigmoid + BCE
def single_logit_model():
    """y = sigmoid(w x + b) with w = 1, b = 0: the logit is the input itself."""
    model = nn.Sequential([L.Dense(1, activation="sigmoid")], seed=0)
    model.build((1,), "float64")
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    model.set_weights([np.ones((1, 1)), np.zeros(1)])
    return model


def clipped_bce(y, p, epsilon=1e-7):
    p = np.clip(p, epsilon, 1 - epsilon)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def test_sigmoid_bce_from_logits_equals_clipped_bce_without_clipping():
    model = single_logit_model()
    logits = np.linspace(-6, 6, 9).reshape(-1, 1)
    y = np.random.default_rng(0).random((9, 1))
    probabilities = 1 / (1 + np.exp(-logits))
    loss, (grad_kernel, grad_bias) = model.loss_and_gradients(logits, y)
    assert math.isclose(loss, clipped_bce(y, probabilities), rel_tol=1e-12)
    assert math.isclose(model.evaluate(logits, y), clipped_bce(y, probabilities), rel_tol=1e-12)
    # Chain rule through the clipped loss and the sigmoid gives the same gradients.
    grad_p = nn.losses.BinaryCrossentropy().gradient(y, probabilities)
    grad_logits = grad_p * probabilities * (1 - probabilities)
    np.testing.assert_allclose(grad_kernel, logits.T @ grad_logits, rtol=1e-9)
    np.testing.assert_allclose(grad_bias, grad_logits.sum(axis=0), rtol=1e-9)


def test_sigmoid_bce_gradient_survives_saturation():
    model = single_logit_model()
    x, y = np.array([[40.0]]), np.array([[0.0]])
    loss, (grad_kernel, grad_bias) = model.loss_and_gradients(x, y)
    # Exact BCE of logit 40 with target 0 is 40 (+ log(1 + e^-40)); the clipped form caps
    # it at -log(1e-7) and has a zero gradient there.
    assert math.isclose(loss, 40.0, rel_tol=1e-12)
    probability = model.predict(x)
    assert probability[0, 0] == 1.0
    assert nn.losses.BinaryCrossentropy().gradient(y, probability)[0, 0] == 0.0
    # From the logits: dL/dz = sigmoid(40) - 0 = 1, so dL/dw = 40 and dL/db = 1.
    np.testing.assert_allclose(grad_kernel, [[40.0]], rtol=1e-12)
    np.testing.assert_allclose(grad_bias, [1.0], rtol=1e-12)
    model.fit(x, y, epochs=1, batch_size=1, verbose=0)
    assert model.predict(x)[0, 0] < 1.0  # one SGD step moved it out of saturation


# ---------------------------------------------------------------------- fit / evaluate / predict
def test_epoch_loss_is_sample_weighted_mean_of_batch_losses():
    x, y = random_data(n=37)  # batch 16: batches of 16, 16 and 5
    model, replay = mixed_model(seed=7), mixed_model(seed=7)
    history = model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    assert isinstance(history.history["loss"], list) and len(history.history["loss"]) == 3
    assert "val_loss" not in history.history
    replay.build((6,))
    for epoch in range(3):
        batch_losses, sizes = [], []
        for start in range(0, 37, 16):
            xb, yb = x[start : start + 16], y[start : start + 16]
            batch_losses.append(replay.train_on_batch(xb, yb))
            sizes.append(len(xb))
        weighted = sum(l * n for l, n in zip(batch_losses, sizes)) / sum(sizes)
        assert sizes == [16, 16, 5]
        assert history.history["loss"][epoch] == pytest.approx(weighted, rel=1e-12, abs=0)
        # The unweighted mean is measurably different, so the check above has teeth.
        assert abs(np.mean(batch_losses) - weighted) > 1e-6
    assert_same_arrays(model.get_weights(), replay.get_weights())


def test_validation_loss_equals_evaluate():
    x, y = random_data(n=40)
    x_val, y_val = random_data(n=13, seed=1)
    model = mixed_model(seed=2)
    recorded = []

    class EvaluateAtEpochEnd(nn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            recorded.append((logs["val_loss"], self.model.evaluate(x_val, y_val, batch_size=5)))

    history = model.fit(
        x,
        y,
        epochs=3,
        batch_size=5,
        validation_data=(x_val, y_val),
        callbacks=[EvaluateAtEpochEnd()],
        verbose=0,
    )
    assert len(recorded) == 3
    for logged, evaluated in recorded:
        assert logged == evaluated
    assert history.history["val_loss"] == [logged for logged, _ in recorded]
    final = model.evaluate(x_val, y_val, batch_size=5)
    assert isinstance(final, float) and final == history.history["val_loss"][-1]
    # evaluate = clipped BCE of the inference predictions + the kernel penalty.
    expected = clipped_bce(y_val, model.predict(x_val)) + 0.01 * np.sum(
        model.layers[0].params["kernel"].astype(np.float64) ** 2
    )
    assert final == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("batch_size", [1, 7, 37, 100])
def test_predict_in_batches_equals_one_forward(batch_size):
    x, y = random_data(n=37)
    model = mixed_model(seed=1)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # moving statistics away from 0/1
    predictions = model.predict(x, batch_size=batch_size)
    assert isinstance(predictions, np.ndarray) and predictions.shape == (37, 3)
    np.testing.assert_array_equal(predictions, model.forward(x, training=False))


def test_same_seed_is_bit_identical_and_different_seed_differs():
    x, y = random_data(n=50)
    x_val, y_val = random_data(n=10, seed=1)

    def run(seed):
        model = mixed_model(seed=seed)
        history = model.fit(x, y, epochs=3, batch_size=8, validation_data=(x_val, y_val), verbose=0)
        return model.get_weights(), history.history

    weights_a, history_a = run(11)
    weights_b, history_b = run(11)
    weights_c, history_c = run(12)
    assert_same_arrays(weights_a, weights_b)
    assert history_a == history_b  # float equality: bit-identical losses
    assert history_a["loss"] != history_c["loss"]
    assert not np.array_equal(weights_a[0], weights_c[0])
    initial_a, initial_c = (
        mixed_model(seed=11, dtype="float32"),
        mixed_model(seed=12, dtype="float32"),
    )
    assert not np.array_equal(initial_a.get_weights()[0], initial_c.get_weights()[0])


# ---------------------------------------------------------------------- nesting
def test_nested_sequential_shares_layers_with_encoder_and_decoder():
    rng = np.random.default_rng(0)
    x = rng.random((64, 8)).astype(np.float32)
    encoder = nn.Sequential([L.Dense(3, activation="relu")], seed=0)
    decoder = nn.Sequential([L.Dense(8, activation="sigmoid")], seed=1)
    autoencoder = nn.Sequential([encoder, decoder], seed=2)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    autoencoder.build((8,))
    assert autoencoder.layers[0] is encoder and autoencoder.layers[1] is decoder
    assert encoder.output_shape == (3,) and decoder.input_shape == (3,)
    assert autoencoder.leaf_layers() == [*encoder.layers, *decoder.layers]
    assert all(
        a is b
        for a, b in zip(
            autoencoder.weight_arrays(), encoder.weight_arrays() + decoder.weight_arrays()
        )
    )
    codes_before = encoder.predict(x)
    history = autoencoder.fit(x, x, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    codes_after = encoder.predict(x)
    assert codes_after.shape == (64, 3) and not np.array_equal(codes_before, codes_after)
    np.testing.assert_array_equal(autoencoder.predict(x), decoder.predict(encoder.predict(x)))


# ---------------------------------------------------------------------- summary
def test_summary_lists_layers_params_and_flops():
    model = nn.Sequential(
        [L.Dense(5, activation="relu", name="hidden"), L.Dense(3, name="output")], seed=0
    )
    model.build((6,))
    printed = []
    text = model.summary(print_fn=printed.append)
    assert printed == [text]
    assert "hidden (Dense)" in text and "output (Dense)" in text
    # hidden: 6*5 + 5 = 35 params, 2*6*5 + 5 (relu) = 65 FLOPs; output: 18 params, 30 FLOPs.
    hidden_row = next(line for line in text.splitlines() if "hidden" in line)
    output_row = next(line for line in text.splitlines() if "output (Dense)" in line)
    assert hidden_row.split("|")[2].strip() == "35" and hidden_row.split("|")[3].strip() == "65"
    assert output_row.split("|")[2].strip() == "18" and output_row.split("|")[3].strip() == "30"
    assert "(None, 5)" in hidden_row and "(None, 3)" in output_row
    assert "Total params: 53" in text and "FLOPs" in text


def test_summary_before_build_is_refused():
    with pytest.raises(ValueError, match="not built"):
        nn.Sequential([L.Dense(2)]).summary()


# ---------------------------------------------------------------------- error messages
def test_wrong_input_shape_names_layer_expected_and_received():
    model = nn.Sequential([L.Dense(4, name="encoder_dense"), L.Dense(2)], name="net", seed=0)
    model.compile(optimizer="sgd", loss="mse")
    model.build((6,))
    bad = np.zeros((5, 7), dtype=np.float32)
    with pytest.raises(ValueError) as raised:
        model.predict(bad)
    assert "'net'" in str(raised.value)
    assert "(N, 6)" in str(raised.value) and "(5, 7)" in str(raised.value)
    with pytest.raises(ValueError) as raised:
        model.fit(bad, np.zeros((5, 2)), verbose=0)
    assert "'net'" in str(raised.value)
    assert "(N, 6)" in str(raised.value) and "(5, 7)" in str(raised.value)
    with pytest.raises(ValueError) as raised:
        model.layers[0].forward(bad)
    message = str(raised.value)
    assert "'encoder_dense'" in message and "(N, 6)" in message and "(5, 7)" in message


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_fit_inputs_are_refused(bad_value):
    model = nn.Sequential([L.Dense(2)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((10, 3)), np.zeros((10, 2))
    x_bad = x.copy()
    x_bad[4, 1] = bad_value
    with pytest.raises(ValueError, match=r"x contains NaN or Inf \(first at sample 4\)"):
        model.fit(x_bad, y, verbose=0)
    y_bad = y.copy()
    y_bad[2, 0] = bad_value
    with pytest.raises(ValueError, match="y contains NaN or Inf"):
        model.fit(x, y_bad, verbose=0)
    with pytest.raises(ValueError, match="x_val contains NaN or Inf"):
        model.fit(x, y, validation_data=(x_bad, y), verbose=0)


def test_boolean_and_non_numeric_inputs_are_refused():
    model = nn.Sequential([L.Dense(2)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="booleans"):
        model.fit(np.ones((4, 3), dtype=bool), np.zeros((4, 2)), verbose=0)
    with pytest.raises(ValueError, match="numeric"):
        model.fit(np.full((4, 3), "a"), np.zeros((4, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"shape \(N, \.\.\.\)"):
        model.fit(np.zeros(4), np.zeros((4, 2)), verbose=0)


def test_target_shape_and_length_mismatches_are_refused():
    model = nn.Sequential([L.Dense(2)], name="net", seed=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"outputs \(N, 2\), but y has shape \(4, 3\)"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 3)), verbose=0)
    with pytest.raises(ValueError, match="same number of samples, got 4 and 5"):
        model.fit(np.zeros((4, 3)), np.zeros((5, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"y have shape \(4, 3\)"):
        model.loss_and_gradients(np.zeros((4, 3)), np.zeros((4, 3)))


def test_unknown_optimizer_and_loss_names_suggest_the_close_one():
    model = nn.Sequential([L.Dense(2)])
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'.*did you mean 'adam'"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(
        ValueError, match="unknown loss 'binary_crosentropy'.*did you mean 'binary_crossentropy'"
    ):
        model.compile(optimizer="adam", loss="binary_crosentropy")


def test_training_before_compile_is_refused():
    model = nn.Sequential([L.Dense(2)])
    x, y = np.zeros((4, 3)), np.zeros((4, 2))
    for call in (
        lambda: model.fit(x, y, verbose=0),
        lambda: model.evaluate(x, y),
        lambda: model.loss_and_gradients(x, y),
    ):
        with pytest.raises(ValueError, match=r"call model\.compile"):
            call()


def test_bad_fit_arguments_are_refused():
    model = nn.Sequential([L.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((4, 3)), np.zeros((4, 2))
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="epochs"):
        model.fit(x, y, epochs=-1, verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(x, y, validation_data=x, verbose=0)
    with pytest.raises(ValueError, match="Callback"):
        model.fit(x, y, callbacks=[object()], verbose=0)
    with pytest.raises(ValueError, match="seed"):
        nn.Sequential([L.Dense(2)], seed=1.5)


# ---------------------------------------------------------------------- divergence
class WeightsBeforeEachBatch(nn.callbacks.Callback):
    def on_batch_begin(self, batch, logs=None):
        self.weights = self.model.get_weights()


@pytest.mark.parametrize("with_batch_norm", [False, True])
def test_divergence_stops_with_last_finite_weights(with_batch_norm):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 6)) * 10).astype(np.float32)
    y = (rng.standard_normal((64, 3)) * 10).astype(np.float32)
    layers = [L.Dense(16, activation="relu")]
    if with_batch_norm:
        layers.append(L.BatchNormalization())
    layers += [L.Dense(16, activation="relu"), L.Dense(3)]
    model = nn.Sequential(layers, seed=0)
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=1e4), loss="mse")
    snapshot = WeightsBeforeEachBatch()
    with np.errstate(all="ignore"), pytest.raises(nn.TrainingDivergedError) as raised:
        model.fit(x, y, epochs=20, batch_size=8, callbacks=[snapshot], verbose=0)
    message = str(raised.value)
    assert "epoch 1" in message and "batch" in message
    assert "loss" in message or "gradient" in message
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert_same_arrays(weights, snapshot.weights)  # the failing step was not applied
    assert isinstance(raised.value, FloatingPointError)
