"""Classification: categorical and sparse categorical cross-entropy (plain and fused with
a final Softmax), metrics in compile / fit / evaluate / model files, and bad labels."""

import numpy as np
import pytest

import nn_core as nn
from nn_core import losses, metrics
from nn_core.gradcheck import check_loss, check_model, numerical_gradient, relative_error

L = nn.layers
TOLERANCE = 1e-6


def probabilities(rng, rows=5, classes=4):
    logits = rng.standard_normal((rows, classes))
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def labels_and_one_hot(rng, rows=5, classes=4):
    labels = rng.integers(0, classes, rows)
    return labels, np.eye(classes)[labels]


def classifier(loss="sparse_categorical_crossentropy", metrics_=("accuracy",), seed=0, **kw):
    model = nn.Sequential(
        [L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")], seed=seed
    )
    model.compile(
        optimizer=kw.pop("optimizer", "adam"),
        loss=loss,
        metrics=None if metrics_ is None else list(metrics_),
    )
    return model


def blobs(n=60, seed=0, classes=3, features=4):
    """Three well-separated Gaussian blobs: x (n, features), labels (n,) int64."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centres = 3 * rng.standard_normal((classes, features))
    x = centres[labels] + 0.5 * rng.standard_normal((n, features))
    return x.astype(np.float32), labels


# ------------------------------------------------------------------------- loss values
def test_categorical_crossentropy_value_by_hand():
    y_true = np.array([[0, 1, 0], [0.2, 0.3, 0.5]])
    y_pred = np.array([[0.1, 0.8, 0.1], [0.5, 0.25, 0.25]])
    expected = (-np.log(0.8) - (0.2 * np.log(0.5) + 0.3 * np.log(0.25) + 0.5 * np.log(0.25))) / 2
    assert losses.CategoricalCrossentropy()(y_true, y_pred) == pytest.approx(expected, rel=1e-12)


def test_sparse_equals_categorical_of_one_hot_and_accepts_both_label_shapes():
    rng = np.random.default_rng(0)
    p = probabilities(rng)
    labels, one_hot = labels_and_one_hot(rng)
    expected = -np.mean(np.log(p[np.arange(5), labels]))
    sparse = losses.SparseCategoricalCrossentropy()
    assert sparse(labels, p) == pytest.approx(expected, rel=1e-12)
    assert sparse(labels[:, None].astype(np.float64), p) == pytest.approx(expected, rel=1e-12)
    assert losses.CategoricalCrossentropy()(one_hot, p) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(
        sparse.gradient(labels, p), losses.CategoricalCrossentropy().gradient(one_hot, p)
    )


def test_crossentropy_clips_probabilities_and_from_logits_is_exact():
    loss = losses.CategoricalCrossentropy()
    # A confident mistake costs -log(1e-7), not inf, and its clipped gradient is 0.
    assert loss([[1.0, 0.0]], [[0.0, 1.0]]) == pytest.approx(-np.log(1e-7), rel=1e-9)
    assert not np.any(loss.gradient([[1.0, 0.0]], [[0.0, 1.0]]))
    # From logits, huge logits still give the exact loss and gradient.
    logits = np.array([[1000.0, 0.0, -1000.0]])
    from_logits = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert from_logits([2], logits) == pytest.approx(2000.0, rel=1e-12)
    np.testing.assert_allclose(from_logits.gradient([2], logits), [[1.0, 0.0, -1.0]])


# ------------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crossentropy_gradient_checks(from_logits, seed):
    rng = np.random.default_rng(seed)
    p = probabilities(rng, rows=6, classes=5)
    y_pred = np.log(p) + 0.3 if from_logits else p
    labels, one_hot = labels_and_one_hot(rng, rows=6, classes=5)
    soft = probabilities(rng, rows=6, classes=5)
    sparse = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    categorical = losses.CategoricalCrossentropy(from_logits=from_logits)
    assert check_loss(sparse, labels, y_pred) < TOLERANCE
    assert check_loss(categorical, one_hot, y_pred) < TOLERANCE
    assert check_loss(categorical, soft, y_pred) < TOLERANCE
    assert check_loss(categorical, 0.7 * soft, y_pred) < TOLERANCE  # rows not summing to 1


@pytest.mark.parametrize("name", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_fused_softmax_logits_gradient_checks(name):
    """logits_gradient (p - y) / N against centred differences of logits_value."""
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((6, 4)) * 3
    labels, one_hot = labels_and_one_hot(rng, rows=6)
    y_true = labels if name.startswith("sparse") else one_hot
    loss = losses.get(name)
    analytic = loss.logits_gradient(y_true, logits)
    numeric = numerical_gradient(lambda: loss.logits_value(y_true, logits), logits)
    assert relative_error(analytic, numeric) < TOLERANCE
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(analytic, (p - one_hot) / 6, atol=1e-15)
    np.testing.assert_allclose(loss.logits_gradient(y_true, logits, p), analytic, atol=1e-15)


@pytest.mark.parametrize("name", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
@pytest.mark.parametrize("softmax", ["activation", "layer"])
def test_model_gradient_checks_through_the_fused_softmax(name, softmax):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 5))
    labels, one_hot = labels_and_one_hot(rng, rows=7)
    if softmax == "activation":
        layers = [L.Dense(6, activation="tanh"), L.Dense(4, activation="softmax")]
    else:
        layers = [L.Dense(6, activation="tanh"), L.Dense(4), L.Softmax()]
    model = nn.Sequential(layers, seed=1)
    model.build((5,), "float64")
    model.compile("sgd", name)
    assert model._logits_flags() == [True]
    y = labels if name.startswith("sparse") else one_hot
    assert max(check_model(model, x, y)) < TOLERANCE
    # The fused loss is the plain loss of the softmax output.
    loss, _ = model.loss_and_gradients(x, y)
    assert loss == pytest.approx(losses.get(name)(y, model.predict(x)), rel=1e-12)


def test_sparse_crossentropy_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((8, 6)) * 2
    labels = rng.integers(0, 6, 8)
    z = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(z, torch.tensor(labels))
    expected.backward()
    loss = losses.SparseCategoricalCrossentropy()
    assert loss.logits_value(labels, logits) == pytest.approx(expected.item(), abs=1e-6, rel=0)
    np.testing.assert_allclose(loss.logits_gradient(labels, logits), z.grad.numpy(), atol=1e-6)
    # The probability path agrees too.
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss(labels, p) == pytest.approx(expected.item(), abs=1e-6, rel=0)


# ------------------------------------------------------------------------- registry, configs
def test_losses_by_name_and_config_round_trip():
    for name, cls in [
        ("categorical_crossentropy", losses.CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ]:
        loss = losses.get(name)
        assert type(loss) is cls
        copy = losses.get(cls(from_logits=True, epsilon=1e-5).get_config())
        assert type(copy) is cls and copy.from_logits and copy.epsilon == 1e-5
    with pytest.raises(ValueError, match="epsilon"):
        losses.CategoricalCrossentropy(epsilon=0.7)


# ------------------------------------------------------------------------- bad labels
@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 1, 3]), r"in \[0, 3\).*got 3"),
        (np.array([0, -1, 2]), r"in \[0, 3\).*got -1"),
        (np.array([0.0, 1.5, 2.0]), "must be integers, got 1.5"),
        (np.array([[0, 1], [1, 2], [2, 0]]), r"labels of shape \(3,\) or \(3, 1\).*got shape"),
        (np.array(["a", "b", "c"]), "must be integers, got dtype"),
    ],
)
def test_sparse_loss_refuses_bad_labels(labels, message):
    p = probabilities(np.random.default_rng(0), rows=3, classes=3)
    with pytest.raises(ValueError, match=message):
        losses.SparseCategoricalCrossentropy()(labels, p)


def test_fit_refuses_bad_labels_naming_the_argument():
    x, labels = blobs(n=12)
    model = classifier()
    with pytest.raises(ValueError, match=r"^y: class labels must be in \[0, 3\)"):
        model.fit(x, labels + 3, verbose=0)
    with pytest.raises(ValueError, match=r"^y_val: class labels must be integers"):
        model.fit(x, labels, validation_data=(x, labels + 0.5), verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(x, labels[:-1], verbose=0)
    with pytest.raises(ValueError, match="class labels must be"):
        model.train_on_batch(x, labels + 7)
    one_hot_model = classifier(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy' for labels"):
        one_hot_model.fit(x, labels, verbose=0)
    with pytest.raises(ValueError, match="one-hot"):
        one_hot_model.evaluate(x, labels[:, None])


def test_integer_labels_train_with_sparse_loss_in_every_form():
    x, labels = blobs(n=30)
    for y in (labels, labels.astype(np.uint8), labels[:, None], labels.astype(np.float32)):
        model = classifier()
        model.fit(x, y, epochs=1, verbose=0)
        assert model.train_on_batch(x, y) > 0


# ------------------------------------------------------------------------- metrics
def test_accuracy_equals_a_hand_computation():
    y_pred = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    labels = np.array([1, 2, 2, 0])  # right, wrong, right, wrong
    assert metrics.SparseCategoricalAccuracy()(labels, y_pred) == 0.5
    assert metrics.SparseCategoricalAccuracy()(labels[:, None], y_pred) == 0.5
    assert metrics.CategoricalAccuracy()(np.eye(3)[labels], y_pred) == 0.5
    binary = metrics.BinaryAccuracy()
    assert binary(np.array([[1.0], [0.0], [1.0]]), np.array([[0.6], [0.4], [0.5]])) == 2 / 3
    assert metrics.get("mae")(np.zeros((2, 2)), np.array([[1.0, -1], [2, 0]])) == 1.0
    assert metrics.get("mse")(np.zeros((2, 2)), np.array([[1.0, -1], [2, 0]])) == 1.5


def test_accuracy_is_resolved_from_the_loss_like_keras():
    def resolved(loss, shape=(3,)):
        return type(metrics.get("accuracy", losses.get(loss), shape))

    assert resolved("sparse_categorical_crossentropy") is metrics.SparseCategoricalAccuracy
    assert resolved("categorical_crossentropy") is metrics.CategoricalAccuracy
    assert resolved("binary_crossentropy") is metrics.BinaryAccuracy
    assert resolved("mse", (1,)) is metrics.BinaryAccuracy
    assert resolved("mse", (3,)) is metrics.CategoricalAccuracy
    assert metrics.get("acc", losses.get("mse"), (3,)).name == "acc"


def test_unknown_metric_names_are_refused_listing_known_names():
    with pytest.raises(ValueError, match=r"unknown metric 'acuracy'.*valid names:.*accuracy"):
        classifier(metrics_=["acuracy"]).fit(*blobs(n=6), verbose=0)
    with pytest.raises(ValueError, match="metrics must be a list"):
        nn.Sequential([L.Dense(2)]).compile("sgd", "mse", metrics="accuracy")


def test_history_keys_and_epoch_accuracy_over_all_samples():
    x, labels = blobs(n=50)  # batches of 16, 16, 16 and 2
    # A learning rate far below float32's resolution: the weights cannot move.
    model = classifier(optimizer=nn.optimizers.SGD(learning_rate=1e-30))
    model.build((4,))
    model.set_weights([w if w.ndim > 1 else w + 0.5 for w in model.get_weights()])  # no 0 bias
    before = model.get_weights()
    history = model.fit(
        x, labels, epochs=2, batch_size=16, validation_data=(x[:20], labels[:20]), verbose=0
    )
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    # Nothing moved and there is no dropout: the epoch's accuracy over its four
    # unequal batches is the accuracy of the concatenated predictions.
    predicted = np.argmax(model.predict(x), axis=1)
    assert history.history["accuracy"] == [np.mean(predicted == labels)] * 2
    assert history.history["val_accuracy"][-1] == np.mean(predicted[:20] == labels[:20])


def test_evaluate_return_forms():
    x, labels = blobs(n=20)
    model = classifier(loss="categorical_crossentropy", metrics_=["accuracy", "mse"])
    one_hot = np.eye(3)[labels]
    model.fit(x, one_hot, epochs=2, verbose=0)
    values = model.evaluate(x, one_hot, batch_size=7)
    result = model.evaluate(x, one_hot, return_dict=True)
    assert list(result) == ["loss", "accuracy", "mse"]
    assert values == pytest.approx(list(result.values()), rel=1e-6)  # float32 sums
    accuracy = np.mean(np.argmax(model.predict(x), axis=1) == labels)
    assert result["accuracy"] == accuracy
    assert result["mse"] == pytest.approx(np.mean((model.predict(x) - one_hot) ** 2), rel=1e-6)
    no_metrics = classifier(metrics_=None)
    no_metrics.fit(x, labels, epochs=1, verbose=0)
    assert isinstance(no_metrics.evaluate(x, labels), float)


def test_progress_bar_shows_the_metrics(capsys):
    x, labels = blobs(n=20)
    classifier().fit(x, labels, epochs=1, validation_data=(x, labels), verbose=1)
    out = capsys.readouterr().out
    assert "accuracy:" in out and "val_accuracy:" in out


def test_save_and_load_keep_the_metrics(tmp_path):
    x, labels = blobs(n=20)
    one_hot = np.eye(3)[labels]
    model = classifier(
        loss="categorical_crossentropy", metrics_=["acc", metrics.BinaryAccuracy(threshold=0.3)]
    )
    model.fit(x, one_hot, epochs=1, verbose=0)
    model.save(tmp_path / "model.npz")
    loaded = nn.load_model(tmp_path / "model.npz")
    result = loaded.evaluate(x, one_hot, return_dict=True)
    assert result == model.evaluate(x, one_hot, return_dict=True)
    assert list(result) == ["loss", "acc", "binary_accuracy"]
    assert loaded._output_metrics[0][1].threshold == 0.3


def test_early_stopping_and_checkpoint_on_val_accuracy(tmp_path):
    x, labels = blobs(n=60)
    model = classifier()
    stopper = nn.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=1, restore_best_weights=True
    )
    checkpoint = nn.callbacks.ModelCheckpoint(
        str(tmp_path / "best.npz"), monitor="val_accuracy", save_best_only=True
    )
    assert stopper.mode == "max"
    history = model.fit(
        x,
        labels,
        epochs=40,
        batch_size=8,
        validation_data=(x, labels),
        callbacks=[stopper, checkpoint],
        verbose=0,
    )
    accuracies = history.history["val_accuracy"]
    assert len(accuracies) < 40  # 100% is reached, then cannot improve
    best = max(accuracies)
    assert model.evaluate(x, labels, return_dict=True)["accuracy"] == best
    saved = nn.load_model(tmp_path / "best.npz")
    assert saved.evaluate(x, labels, return_dict=True)["accuracy"] == best


def test_graph_model_with_two_outputs_reports_per_output_metrics():
    x, labels = blobs(n=30)
    inputs = nn.Input((4,))
    hidden = L.Dense(8, activation="relu")(inputs)
    digits = L.Dense(3, activation="softmax", name="digits")(hidden)
    big = L.Dense(1, activation="sigmoid", name="big")(hidden)
    model = nn.Model(inputs, [digits, big], seed=0)
    model.compile(
        "adam",
        loss=["sparse_categorical_crossentropy", "binary_crossentropy"],
        metrics={"digits": "accuracy", "big": ["accuracy", "mae"]},
    )
    y = [labels, (x[:, :1] > 0).astype(np.float32)]
    history = model.fit(x, y, epochs=1, validation_data=(x, y), verbose=0)
    keys = ["digits_accuracy", "big_accuracy", "big_mae"]
    assert list(history.history) == [
        "loss",
        "digits_loss",
        "big_loss",
        *keys,
        "val_loss",
        "val_digits_loss",
        "val_big_loss",
        *[f"val_{key}" for key in keys],
    ]
    result = model.evaluate(x, y, return_dict=True)
    predicted = model.predict(x)
    assert result["digits_accuracy"] == np.mean(np.argmax(predicted[0], axis=1) == labels)
    assert result["big_accuracy"] == np.mean((predicted[1] > 0.5) == y[1])
    with pytest.raises(ValueError, match="names outputs"):
        model.compile("adam", "mse", metrics={"digitz": "accuracy"})
        model.evaluate(x, y)


def test_mnist_softmax_classifier_learns():
    from nn_core.datasets import mnist

    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train[:2000].reshape(-1, 784) / np.float32(255)
    x_test = x_test[:1000].reshape(-1, 784) / np.float32(255)
    model = nn.Sequential(
        [L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")], seed=0
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train[:2000], epochs=3, verbose=0)
    accuracy = model.evaluate(x_test, y_test[:1000], return_dict=True)["accuracy"]
    # Measured: train 0.90, test 0.845 (seed 0); chance is 0.1.
    assert history.history["accuracy"][-1] > 0.85
    assert accuracy > 0.8
