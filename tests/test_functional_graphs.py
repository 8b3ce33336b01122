"""Graphs built with merge layers: skip connections (Add, Concatenate), two inputs and two
outputs, checked by finite differences, saved and loaded, and trained against PyTorch."""

import numpy as np
import pytest

import nn_core as nn
from nn_core import layers as L
from nn_core.gradcheck import check_model

TOLERANCE = 1e-6


def data(n=12, features=6, seed=0, dtype="float64"):
    return np.random.default_rng(seed).uniform(0.05, 0.95, (n, features)).astype(dtype)


def skip_add(dtype="float64"):
    x = nn.Input((6,), dtype=dtype, name="x")
    h = L.Dense(5, activation="tanh", name="h")(x)
    z = L.Dense(5, activation="tanh", name="z")(h)
    y = L.Dense(6, activation="sigmoid", name="y")(L.Add(name="skip")([h, z]))
    return nn.Model(x, y, seed=0).compile(optimizer="sgd", loss="binary_crossentropy")


def skip_concatenate(dtype="float64"):
    x = nn.Input((4, 4, 1), dtype=dtype, name="image")
    down = L.Conv2D(2, 3, padding="same", activation="relu", name="down")(x)
    pooled = L.MaxPooling2D(name="pool")(down)
    up = L.UpSampling2D(name="up")(L.Conv2D(2, 3, padding="same", name="mid")(pooled))
    joined = L.Concatenate(name="join")([down, up])  # the U-Net's skip connection
    y = L.Conv2D(1, 3, padding="same", activation="sigmoid", name="out")(joined)
    return nn.Model(x, y, seed=1).compile(optimizer="sgd", loss="binary_crossentropy")


def two_in_two_out(dtype="float64"):
    a, b = nn.Input((6,), dtype=dtype, name="a"), nn.Input((3,), dtype=dtype, name="b")
    merged = L.Concatenate(name="ab")([L.Dense(4, activation="tanh", name="da")(a), b])
    shared = L.Dense(4, activation="tanh", name="shared")(merged)
    first = L.Dense(6, activation="sigmoid", name="first")(shared)
    second = L.Subtract(name="diff")([L.Dense(3, name="db")(shared), b])
    model = nn.Model([a, b], [first, second], seed=2)
    return model.compile(
        optimizer="sgd", loss=["binary_crossentropy", "mse"], loss_weights=[1.0, 0.25]
    )


def inputs_and_targets(name):
    if name == "add":
        x = data()
        return x, x
    if name == "concatenate":
        x = data(n=3, features=16).reshape(3, 4, 4, 1)
        return x, x
    a, b = data(), data(features=3, seed=1)
    return [a, b], [a, data(features=3, seed=2)]


FACTORIES = {"add": skip_add, "concatenate": skip_concatenate, "two inputs": two_in_two_out}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_gradient_check_of_the_whole_graph(name):
    model = FACTORIES[name]()
    x, y = inputs_and_targets(name)
    assert max(check_model(model, x, y)) < TOLERANCE


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_save_and_load_give_identical_predictions(name, tmp_path):
    model = FACTORIES[name]("float32")
    x, y = inputs_and_targets(name)
    cast = [v.astype("float32") for v in x] if isinstance(x, list) else x.astype("float32")
    targets = [v.astype("float32") for v in y] if isinstance(y, list) else y.astype("float32")
    model.fit(cast, targets, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "graph.npz")
    loaded = nn.load_model(tmp_path / "graph.npz")
    expected, got = model.predict(cast), loaded.predict(cast)
    for a, b in zip(
        expected if isinstance(expected, list) else [expected],
        got if isinstance(got, list) else [got],
    ):
        np.testing.assert_array_equal(a, b)


def test_a_fork_sums_its_branch_gradients():
    """h feeds z and the Add: dL/dh = dL/ds + (dL/dz through z); drop one term and the
    gradient check of h's weights fails."""
    model = skip_add()
    x, y = inputs_and_targets("add")
    errors = check_model(model, x, y)
    names = model.weight_names()
    assert errors[names.index("h/kernel")] < TOLERANCE


def test_mixing_arrays_and_tensors_and_dtypes_is_refused():
    x = nn.Input((6,))
    with pytest.raises(TypeError, match="all symbolic tensors"):
        L.Add()([x, np.zeros((2, 6))])
    with pytest.raises(ValueError, match="different dtypes"):
        L.Add()([x, nn.Input((6,), dtype="float64")])
    with pytest.raises(ValueError, match=r"'plus' \(Add\) needs inputs of one shape"):
        L.Add(name="plus")([x, nn.Input((5,))])
    with pytest.raises(ValueError, match="takes several inputs"):
        nn.Sequential([L.Add()])


def test_a_skip_connection_model_matches_pytorch_loss_per_epoch():
    torch = pytest.importorskip("torch")
    (x_train, _), _ = nn.datasets.mnist.load_data()
    x = (x_train[:512].reshape(-1, 784) / 255.0).astype(np.float32)
    inputs = nn.Input((784,))
    h = L.Dense(64, activation="relu")(inputs)
    z = L.Dense(64, activation="relu")(h)
    out = L.Dense(784, activation="sigmoid")(L.Add()([h, z]))
    model = nn.Model(inputs, out, seed=0)
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.5), loss="binary_crossentropy")
    weights = model.get_weights()

    torch.manual_seed(0)
    linears = [torch.nn.Linear(784, 64), torch.nn.Linear(64, 64), torch.nn.Linear(64, 784)]
    with torch.no_grad():
        for linear, kernel, bias in zip(linears, weights[0::2], weights[1::2]):
            linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
            linear.bias.copy_(torch.from_numpy(bias))
    parameters = [p for linear in linears for p in linear.parameters()]
    optimizer = torch.optim.SGD(parameters, lr=0.5)
    loss_function = torch.nn.BCEWithLogitsLoss()
    torch_epochs = []
    for _ in range(3):
        total = 0.0
        for start in range(0, len(x), 64):
            batch = torch.from_numpy(x[start : start + 64])
            hidden = torch.relu(linears[0](batch))
            logits = linears[2](hidden + torch.relu(linears[1](hidden)))
            loss = loss_function(logits, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        torch_epochs.append(total / len(x))
    history = model.fit(x, x, epochs=3, batch_size=64, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], torch_epochs, rtol=1e-4)
    assert torch_epochs[-1] < torch_epochs[0]
