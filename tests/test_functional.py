"""Graph models: Input, layers called on symbolic tensors, Model(inputs, outputs).

Every graph here is also checked by finite differences (float64) and saved and loaded.
The merge layers' own checks are in test_merge_layers.py; the graphs built with them
(skip connections, two inputs) are in test_functional_graphs.py.
"""

import numpy as np
import pytest

import nn_core as nn
from nn_core import layers as L
from nn_core.gradcheck import check_model

TOLERANCE = 1e-6


def data(n=16, features=6, seed=0, dtype="float32"):
    return np.random.default_rng(seed).uniform(0.05, 0.95, (n, features)).astype(dtype)


def chain(seed=0, dtype="float32"):
    x = nn.Input((6,), dtype=dtype)
    h = L.Dense(4, activation="relu")(x)
    return nn.Model(x, L.Dense(6, activation="sigmoid")(h), seed=seed)


# ------------------------------------------------------------------ symbolic tensors
def test_input_shows_the_batch_axis_as_none_and_keeps_its_dtype():
    x = nn.Input((28, 28, 1), dtype="float64", name="images")
    assert x.shape == (None, 28, 28, 1)
    assert x.dtype == np.float64
    assert x.name == "images/0"
    assert nn.Input(784).shape == (None, 784)


@pytest.mark.parametrize("shape", [(), (None, 784), (0,), (-3,), "784", (2.5,), (True,)])
def test_input_refuses_shapes_that_are_not_positive_integers(shape):
    with pytest.raises(ValueError, match="Input"):
        nn.Input(shape)


def test_a_symbolic_call_records_a_node_and_builds_nothing():
    x = nn.Input((6,))
    dense = L.Dense(3)
    y = dense(x)
    assert y.shape == (None, 3) and not dense.built
    assert y.node.layer is dense and y.node.inputs == [x]
    assert dense._inbound_nodes == [y.node]


def test_calling_a_layer_on_an_array_runs_forward():
    dense = L.Dense(3)
    x = data()
    np.testing.assert_array_equal(dense(x), dense.forward(x))


def test_symbolic_tensors_hold_no_values_and_refuse_arithmetic():
    x = nn.Input((6,))
    with pytest.raises(TypeError, match="holds no values"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Add"):
        x + x  # noqa: B018
    with pytest.raises(TypeError, match="truth value"):
        bool(x)


def test_bad_calls_name_the_layer():
    x = nn.Input((6,), name="x6")
    dense = L.Dense(3, name="d3")
    dense(x)
    with pytest.raises(ValueError, match=r"'d3' \(Dense\) was first called on inputs \(N, 6\)"):
        dense(nn.Input((5,)))
    with pytest.raises(ValueError, match="takes one input tensor, got a list of 2"):
        L.Dense(2)([x, x])
    with pytest.raises(TypeError, match="training= cannot be fixed"):
        L.Dense(2)(x, training=True)
    with pytest.raises(TypeError, match=r"unsupported keyword arguments \['mask'\]"):
        L.Dense(2)(x, mask=None)


# ------------------------------------------------------------------ making a model
def test_model_and_sequential_with_the_same_seed_have_bit_identical_weights_and_training():
    x_train = data(64)
    graph = chain(seed=5)
    stack = nn.Sequential([L.Dense(4, activation="relu"), L.Dense(6, activation="sigmoid")], seed=5)
    stack.build((6,))
    for a, b in zip(graph.get_weights(), stack.get_weights()):
        np.testing.assert_array_equal(a, b)
    histories = []
    for model in (graph, stack):
        model.compile(optimizer=nn.optimizers.Adadelta(learning_rate=1.0))
        histories.append(model.fit(x_train, x_train, epochs=3, batch_size=16, verbose=0))
    assert histories[0].history["loss"] == histories[1].history["loss"]
    for a, b in zip(graph.get_weights(), stack.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_set_random_seed_makes_unseeded_models_reproducible():
    def weights():
        nn.set_random_seed(11)
        try:
            return chain(seed=None).get_weights()
        finally:
            nn.set_random_seed(None)

    first, second = weights(), weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    different = chain(seed=None).get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(first, different))


def test_model_inputs_must_be_input_tensors():
    x = nn.Input((6,))
    h = L.Dense(4, name="hidden")(x)
    with pytest.raises(ValueError, match=r"input 0 is tensor 'hidden/0', made by layer 'hidden'"):
        nn.Model(h, L.Dense(2)(h))
    with pytest.raises(TypeError, match="input 0 is a ndarray"):
        nn.Model(data(), h)


def test_a_disconnected_output_is_refused_naming_the_input_it_needs():
    x, other = nn.Input((6,), name="x"), nn.Input((6,), name="other")
    y = L.Dense(2)(other)
    with pytest.raises(ValueError, match=r"depends on input 'other/0'.*disconnected"):
        nn.Model(x, y)


def test_an_unused_input_is_refused():
    x, unused = nn.Input((6,), name="x"), nn.Input((6,), name="unused")
    with pytest.raises(ValueError, match=r"inputs \['unused/0'\] are not used"):
        nn.Model([x, unused], L.Dense(2)(x))


def test_two_layers_with_one_name_are_refused():
    x = nn.Input((6,))
    y = L.Dense(2, name="twin")(L.Dense(6, name="twin")(x))
    with pytest.raises(ValueError, match="two different layers are named 'twin'"):
        nn.Model(x, y)


def test_a_layer_with_a_penalty_cannot_be_used_twice():
    x = nn.Input((6,))
    shared = L.Dense(6, kernel_regularizer=nn.regularizers.L2(1e-3), name="penalised")
    with pytest.raises(ValueError, match="'penalised' .* is used 2 times and has a penalty"):
        nn.Model(x, shared(shared(x)))


def test_model_layers_get_layer_and_summary():
    x = nn.Input((6,), name="pixels")
    h = L.Dense(4, name="code")(x)
    model = nn.Model(x, L.Dense(6, name="out")(h), name="ae")
    assert [layer.name for layer in model.layers] == ["pixels", "code", "out"]
    assert model.get_layer("code") is h.node.layer
    assert model.get_layer(index=-1).name == "out"
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    text = model.summary(print_fn=None)
    assert "Connected to" in text and "code/0" in text and "pixels/0" in text
    assert "Total params: 58" in text


# ------------------------------------------------------------------ shared layers: the blog
def test_encoder_and_decoder_models_share_the_autoencoders_arrays():
    input_img = nn.Input((6,))
    encoded = L.Dense(3, activation="relu")(input_img)
    decoded = L.Dense(6, activation="sigmoid")(encoded)
    autoencoder = nn.Model(input_img, decoded, seed=0)
    encoder = nn.Model(input_img, encoded)
    encoded_input = nn.Input((3,))
    decoder = nn.Model(encoded_input, autoencoder.layers[-1](encoded_input))
    assert encoder.weight_arrays()[0] is autoencoder.weight_arrays()[0]
    assert decoder.weight_arrays()[0] is autoencoder.weight_arrays()[2]
    autoencoder.compile(optimizer="adam")
    x = data(32)
    autoencoder.fit(x, x, epochs=2, batch_size=8, verbose=0)
    np.testing.assert_allclose(
        decoder.predict(encoder.predict(x)), autoencoder.predict(x), rtol=1e-6, atol=1e-7
    )


# ------------------------------------------------------------------ gradients through graphs
def test_gradient_check_of_a_chain():
    model = chain(dtype="float64").compile(optimizer="sgd", loss="mse")
    x = data(dtype="float64")
    assert max(check_model(model, x, x)) < TOLERANCE


def test_gradient_check_of_a_fork_with_two_outputs_and_loss_weights():
    x = nn.Input((6,), dtype="float64")
    hidden = L.Dense(5, activation="tanh", name="trunk")(x)
    first = L.Dense(6, activation="sigmoid", name="reconstruction")(hidden)
    second = L.Dense(2, name="score")(hidden)
    model = nn.Model(x, [first, second], seed=1)
    model.compile(optimizer="sgd", loss=["binary_crossentropy", "mse"], loss_weights=[1.0, 0.3])
    inputs = data(dtype="float64")
    targets = [inputs, data(features=2, seed=3, dtype="float64")]
    assert max(check_model(model, inputs, targets)) < TOLERANCE


def test_gradient_check_of_a_layer_used_twice_with_dropout_replayed():
    x = nn.Input((6,), dtype="float64")
    shared = L.Dense(6, activation="tanh", name="shared")
    dropout = L.Dropout(0.3, name="drop")
    y = shared(dropout(shared(x)))
    model = nn.Model(x, L.Dense(6, name="head")(y), seed=2)
    model.compile(optimizer="sgd", loss="mse")
    inputs = data(dtype="float64")
    assert max(check_model(model, inputs, inputs)) < TOLERANCE
    assert_round_trip(model, inputs)


def assert_round_trip(model, inputs):
    """save + load_model give the same predictions, bit for bit."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        model.save(f"{folder}/model.npz")
        loaded = nn.load_model(f"{folder}/model.npz")
    np.testing.assert_array_equal(loaded.predict(inputs), model.predict(inputs))


def test_gradient_check_of_a_dropout_layer_used_twice():
    x = nn.Input((6,), dtype="float64")
    drop = L.Dropout(0.4, name="drop_twice")
    first = L.Dense(6, activation="tanh")(drop(x))
    y = L.Dense(6)(drop(first))
    model = nn.Model(x, y, seed=4).compile(optimizer="sgd", loss="mse")
    inputs = data(dtype="float64")
    assert max(check_model(model, inputs, inputs)) < TOLERANCE
    assert_round_trip(model, inputs)


def test_gradient_check_of_models_nested_in_models_and_in_sequential():
    x = nn.Input((6,), dtype="float64")
    encoder = nn.Model(x, L.Dense(3, activation="relu")(x), name="inner_encoder")
    stack = nn.Sequential([L.Dense(6, activation="sigmoid")], name="inner_decoder")
    code_in = nn.Input((6,), dtype="float64")
    outer = nn.Model(code_in, stack(encoder(code_in)), seed=3)
    outer.compile(optimizer="sgd", loss="binary_crossentropy")
    inputs = data(dtype="float64")
    assert max(check_model(outer, inputs, inputs)) < TOLERANCE
    wrapped = nn.Sequential([outer], seed=3).compile(optimizer="sgd", loss="mse")
    wrapped.build((6,), "float64")
    assert max(check_model(wrapped, inputs, inputs)) < TOLERANCE
    assert_round_trip(outer, inputs)
    assert_round_trip(wrapped, inputs)


def test_model_backward_returns_the_input_gradient_of_the_whole_graph():
    model = chain(dtype="float64")
    inputs = data(dtype="float64")
    projection = np.random.default_rng(0).standard_normal((16, 6))

    def objective():
        return float(np.sum(model.forward(inputs) * projection))

    model.forward(inputs)
    analytic = model.backward(projection)
    from nn_core.gradcheck import numerical_gradient, relative_error

    assert relative_error(analytic, numerical_gradient(objective, inputs)) < TOLERANCE


def test_an_output_without_a_loss_gets_no_gradient_and_its_head_stays_put():
    x = nn.Input((6,))
    hidden = L.Dense(5, name="trunk")(x)
    trained = L.Dense(6, name="trained")(hidden)
    ignored = L.Dense(2, name="ignored")(hidden)
    model = nn.Model(x, {"trained": trained, "ignored": ignored}, seed=0)
    model.compile(optimizer="adam", loss={"trained": "mse"})
    before = (
        model.get_layer("ignored").get_config(),
        [w.copy() for w in model.get_layer("ignored").params.values()],
    )
    inputs = data()
    history = model.fit(inputs, {"trained": inputs, "ignored": np.zeros((16, 2))}, verbose=0)
    after = list(model.get_layer("ignored").params.values())
    for a, b in zip(before[1], after):
        np.testing.assert_array_equal(a, b)
    assert set(history.history) == {"loss", "trained_loss", "ignored_loss"}


def test_the_first_layer_skips_its_input_gradient_in_training(monkeypatch):
    model = chain().compile(optimizer="sgd", loss="mse")
    first = model.layers[1]
    seen = []
    original = type(first).backward_from_logits

    def spy(self, grad):
        seen.append((self.name, self.input_gradient_needed))
        return original(self, grad)

    monkeypatch.setattr(type(first), "backward_from_logits", spy)
    x = data()
    model.train_on_batch(x, x)
    assert (first.name, False) in seen
    assert first.input_gradient_needed  # put back after the step


# ------------------------------------------------------------------ several inputs and outputs
def test_dict_outputs_predict_evaluate_and_fit_keys():
    x = nn.Input((6,), name="x")
    hidden = L.Dense(4, activation="relu")(x)
    model = nn.Model(
        {"x": x},
        {"image": L.Dense(6, activation="sigmoid")(hidden), "score": L.Dense(1)(hidden)},
        seed=0,
    )
    model.compile(
        optimizer="adam",
        loss={"image": "binary_crossentropy", "score": "mse"},
        loss_weights={"image": 1.0, "score": 0.5},
    )
    inputs = data()
    targets = {"image": inputs, "score": inputs[:, :1]}
    history = model.fit(
        {"x": inputs},
        targets,
        epochs=2,
        batch_size=4,
        verbose=0,
        validation_data=({"x": inputs}, targets),
    )
    assert set(history.history) == {
        "loss",
        "image_loss",
        "score_loss",
        "val_loss",
        "val_image_loss",
        "val_score_loss",
    }
    predictions = model.predict({"x": inputs})
    assert set(predictions) == {"image", "score"} and predictions["score"].shape == (16, 1)
    total, image_loss, score_loss = model.evaluate({"x": inputs}, targets)
    assert total == pytest.approx(image_loss + 0.5 * score_loss, rel=1e-6)
    assert model.evaluate({"x": inputs}, targets, return_dict=True)["loss"] == total
    with pytest.raises(ValueError, match=r"missing \['score'\]"):
        model.fit({"x": inputs}, {"image": inputs}, verbose=0)
    with pytest.raises(ValueError, match=r"names outputs \['typo'\]"):
        model.compile(loss={"typo": "mse"})


def test_frozen_layers_do_not_move_and_the_summary_counts_them():
    model = chain().compile(optimizer="adam", loss="mse")
    model.layers[1].trainable = False
    frozen = [w.copy() for w in model.layers[1].params.values()]
    x = data()
    model.fit(x, x, epochs=2, verbose=0)
    for a, b in zip(frozen, model.layers[1].params.values()):
        np.testing.assert_array_equal(a, b)
    assert "trainable 30, non-trainable 28" in model.summary(print_fn=None)
    model.trainable = False
    assert model.trainable_weights == []


# ------------------------------------------------------------------ files
def test_save_and_load_round_trip_to_identical_predictions(tmp_path):
    model = chain().compile(optimizer="adam", loss="binary_crossentropy")
    x = data()
    model.fit(x, x, epochs=1, verbose=0)
    model.save(tmp_path / "graph.npz")
    loaded = nn.load_model(tmp_path / "graph.npz")
    assert isinstance(loaded, nn.Model)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.train_on_batch(x, x) == model.train_on_batch(x, x)


def test_backup_and_restore_resumes_a_graph_model_bit_identically(tmp_path):
    def graph_with_dropout():
        x = nn.Input((6,))
        h = L.Dense(5, activation="relu")(x)
        y = L.Dense(6, activation="sigmoid")(L.Concatenate()([L.Dropout(0.3)(h), x]))
        return nn.Model(x, y, seed=9).compile(optimizer="adam")

    class Interrupt(nn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    inputs = data(40)
    reference = graph_with_dropout()
    expected = reference.fit(inputs, inputs, epochs=4, batch_size=8, verbose=0)
    backup = nn.callbacks.BackupAndRestore(tmp_path / "backup")
    interrupted = graph_with_dropout()
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(
            inputs, inputs, epochs=4, batch_size=8, verbose=0, callbacks=[backup, Interrupt()]
        )
    resumed = graph_with_dropout()  # a fresh process would rebuild the model like this
    history = resumed.fit(inputs, inputs, epochs=4, batch_size=8, verbose=0, callbacks=[backup])
    assert history.history["loss"] == expected.history["loss"]
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_diverging_graph_model_keeps_its_last_finite_weights():
    model = chain().compile(optimizer=nn.optimizers.SGD(learning_rate=1e30), loss="mse")
    x = data()
    before = model.get_weights()
    with pytest.raises(nn.TrainingDivergedError, match="epoch 1, batch 1"):
        model.fit(x, x * 1e30, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
