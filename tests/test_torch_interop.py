"""nn_core <-> PyTorch: the blog's models moved both ways give the same outputs (1e-5),
by the names and layouts documented in nn_core.interop.torch_state_dict."""

import sys

import numpy as np
import pytest

import nn_core as nn
from nn_core.errors import ModelFileError
from nn_core.interop import (
    UnsupportedLayerError,
    load_torch_state_dict,
    torch_module,
    torch_state_dict,
)
from tests.model_kinds import make_model
from tests.weights_models import BLOG, blog_model, images, randomize

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
L = nn.layers
tnn = torch.nn


def to_nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if x.ndim == 4 else x)


def run_torch(module, x):
    with torch.no_grad():
        out = module(to_nchw(x)).numpy()
    return out.transpose(0, 2, 3, 1) if out.ndim == 4 else out


def hand_built(name):
    """The torch model a reader would write for each blog model, independently of ours."""
    if name == "dense":
        return tnn.Sequential(tnn.Linear(784, 32), tnn.ReLU(), tnn.Linear(32, 784), tnn.Sigmoid())
    if name == "deep":
        sizes, modules = [784, 128, 64, 32, 64, 128, 784], []
        for n_in, n_out in zip(sizes, sizes[1:]):
            modules += [tnn.Linear(n_in, n_out), tnn.ReLU()]
        return tnn.Sequential(*modules[:-1], tnn.Sigmoid())

    def conv(c_in, c_out, padding=1):
        return [tnn.Conv2d(c_in, c_out, 3, padding=padding), tnn.ReLU()]

    return tnn.Sequential(
        *conv(1, 16), tnn.MaxPool2d(2),
        *conv(16, 8), tnn.MaxPool2d(2),
        *conv(8, 8), tnn.MaxPool2d(2, ceil_mode=True),  # TF 'same' 7 -> 4: the pad is at the end
        *conv(8, 8), tnn.Upsample(scale_factor=2.0),
        *conv(8, 8), tnn.Upsample(scale_factor=2.0),
        *conv(8, 16, padding=0), tnn.Upsample(scale_factor=2.0),
        tnn.Conv2d(16, 1, 3, padding=1), tnn.Sigmoid(),
    ).eval()  # fmt: skip


@pytest.mark.parametrize("name", sorted(BLOG))
def test_blog_models_nn_core_to_torch(name):
    model = blog_model(name)
    x = images(model.input_shape)
    expected = model.predict(x)
    np.testing.assert_allclose(run_torch(torch_module(model), x), expected, atol=1e-5)
    reference = hand_built(name)
    state = {key: torch.from_numpy(value) for key, value in torch_state_dict(model).items()}
    reference.load_state_dict(state, strict=True)
    np.testing.assert_allclose(run_torch(reference, x), expected, atol=1e-5)


@pytest.mark.parametrize("name", sorted(BLOG))
@pytest.mark.parametrize("via", ["dict", "safetensors"])
def test_blog_models_torch_to_nn_core(name, via, tmp_path):
    torch.manual_seed(0)
    reference = hand_built(name).eval()
    with torch.no_grad():
        for parameter in reference.parameters():  # non-zero biases too
            parameter.add_(torch.randn_like(parameter) * 0.05)
    model = blog_model(name, seed=5)
    if via == "dict":
        load_torch_state_dict(model, reference.state_dict())
    else:
        from safetensors.torch import save_file

        save_file(reference.state_dict(), tmp_path / "model.safetensors")
        load_torch_state_dict(model, str(tmp_path / "model.safetensors"))
    x = images(model.input_shape)
    np.testing.assert_allclose(model.predict(x), run_torch(reference, x), atol=1e-5)


def test_documented_key_names():
    model = nn.Sequential([L.Dense(32, activation="relu"), L.Dense(4)], seed=0)
    model.build((6,))
    assert list(torch_state_dict(model)) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert torch_state_dict(model)["0.weight"].shape == (32, 6)  # Linear: (out, in)
    inner = nn.Sequential([L.Dense(3)], seed=0)
    nested = nn.Sequential([inner, L.ReLU(), L.Dense(2, use_bias=False)], seed=0)
    nested.build((5,))
    assert list(torch_state_dict(nested)) == ["0.0.weight", "0.0.bias", "2.weight"]


def flatten_dense_model(seed=0):
    model = nn.Sequential(
        [L.Conv2D(3, 3, activation="relu"), L.Flatten(), L.Dense(5, activation="tanh")], seed=seed
    )
    model.build((5, 4, 2))
    return randomize(model, seed)


def test_flatten_then_dense_permutes_the_columns():
    model = flatten_dense_model()
    x = images((5, 4, 2))
    reference = tnn.Sequential(
        tnn.Conv2d(2, 3, 3), tnn.ReLU(), tnn.Flatten(), tnn.Linear(18, 5), tnn.Tanh()
    )
    state = torch_state_dict(model)
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    np.testing.assert_allclose(run_torch(reference, x), model.predict(x), atol=1e-5)
    # The naive kernel.T (H, W, C column order) gives other outputs: the permutation matters.
    naive = dict(state, **{"3.weight": model.layers[2].params["kernel"].T})
    reference.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in naive.items()}
    )
    assert np.abs(run_torch(reference, x) - model.predict(x)).max() > 1e-3
    # and back: loading the torch weights restores nn_core's row order.
    other = flatten_dense_model(seed=9)
    load_torch_state_dict(other, state)
    np.testing.assert_array_equal(other.get_weights()[2], model.get_weights()[2])


def test_batch_norm_with_running_statistics_both_ways():
    model = nn.Sequential(
        [
            L.Conv2D(4, 3, padding="same"),
            L.BatchNormalization(momentum=0.9, epsilon=1e-3),
            L.ReLU(),
            L.Flatten(),
            L.BatchNormalization(),
            L.Dense(3),
        ],
        seed=0,
    )
    model.build((4, 4, 2))
    model.compile(optimizer="adam", loss="mse")
    x = images((4, 4, 2), count=16)
    model.fit(x, np.zeros((16, 3), np.float32), epochs=2, batch_size=8, verbose=0)
    bn = model.layers[1]
    assert np.abs(bn.buffers["moving_mean"]).min() > 0 and not np.allclose(
        bn.buffers["moving_variance"], 1
    )
    state = torch_state_dict(model)
    assert (
        state["1.num_batches_tracked"].dtype == np.int64
        and state["1.num_batches_tracked"].shape == ()
    )
    assert {"1.weight", "1.bias", "1.running_mean", "1.running_var"} <= set(state)
    module = torch_module(model)
    assert isinstance(module[1], tnn.BatchNorm2d) and isinstance(module[4], tnn.BatchNorm1d)
    np.testing.assert_allclose(run_torch(module, x), model.predict(x), atol=1e-5)
    fresh = nn.Sequential([type(layer).from_config(layer.get_config()) for layer in model.layers])
    fresh.build((4, 4, 2))
    load_torch_state_dict(fresh, module.state_dict())
    np.testing.assert_allclose(fresh.predict(x), model.predict(x), atol=1e-6)


@pytest.mark.parametrize(
    "kernel, strides, padding",
    [
        (3, 2, "same"),
        (3, 2, "valid"),
        (2, 2, "valid"),
        (1, 2, "valid"),
        (4, 2, "same"),
        (3, 1, "same"),
    ],
)
def test_conv2d_transpose_orientation_matches_torch(kernel, strides, padding):
    model = nn.Sequential([L.Conv2DTranspose(3, kernel, strides=strides, padding=padding)], seed=0)
    model.build((4, 5, 2))
    randomize(model, 1)
    assert torch_state_dict(model)["0.weight"].shape == (
        2,
        3,
        kernel,
        kernel,
    )  # (C_in, C_out, kh, kw)
    x = images((4, 5, 2))
    np.testing.assert_allclose(run_torch(torch_module(model), x), model.predict(x), atol=1e-5)


@pytest.mark.parametrize(
    "layer", [L.Conv2D(3, 3, strides=2, padding="same"), L.MaxPooling2D(3, 2, padding="same")]
)
def test_asymmetric_same_padding_matches_torch(layer):
    model = nn.Sequential([layer], seed=0)
    model.build((7, 6, 2))
    x = images((7, 6, 2))
    np.testing.assert_allclose(run_torch(torch_module(model), x), model.predict(x), atol=1e-5)


def test_graph_model_keys_by_layer_name():
    inputs = nn.Input((6,))
    hidden = L.Dense(4, activation="relu", name="encode")(inputs)
    outputs = L.Dense(6, name="decode")(L.Add()([hidden, L.Dense(4, name="skip")(hidden)]))
    model = randomize(nn.Model(inputs, outputs, seed=0), 0)
    state = torch_state_dict(model)
    assert sorted(state) == sorted(
        f"{n}.{t}" for n in ("encode", "skip", "decode") for t in ("weight", "bias")
    )
    copy = make_model("graph", [L.Dense(4, activation="relu", name="encode")], 0, (6,))
    with pytest.raises(ModelFileError, match="unexpected keys"):
        load_torch_state_dict(copy, state)
    inputs = nn.Input((6,))
    hidden = L.Dense(4, activation="relu", name="encode")(inputs)
    outputs = L.Dense(6, name="decode")(L.Add()([hidden, L.Dense(4, name="skip")(hidden)]))
    other = nn.Model(inputs, outputs, seed=3)
    load_torch_state_dict(other, {k: torch.from_numpy(v) for k, v in state.items()})
    x = images((6,))
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="only Sequential"):
        torch_module(model)


def test_mismatches_are_named():
    model = blog_model("dense")
    state = torch_state_dict(model)
    with pytest.raises(
        ModelFileError, match=r"missing keys \['2.bias'\], unexpected keys \['2.extra'\]"
    ):
        load_torch_state_dict(
            model, {**{k: v for k, v in state.items() if k != "2.bias"}, "2.extra": state["2.bias"]}
        )
    bad = dict(state, **{"0.weight": np.zeros((32, 785), np.float32)})
    with pytest.raises(
        ModelFileError, match=r"'0.weight' has shape \(32, 785\), expected \(32, 784\)"
    ):
        load_torch_state_dict(model, bad)
    before = model.get_weights()
    nan = dict(state, **{"2.weight": np.full((784, 32), np.nan, np.float32)})
    with pytest.raises(ModelFileError, match="'2.weight' contains NaN"):
        load_torch_state_dict(model, nan)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)  # nothing copied on a failed load
    with pytest.raises(TypeError, match="'0.bias' is a list"):
        load_torch_state_dict(model, dict(state, **{"0.bias": [0.0] * 32}))


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin", ".ckpt"])
def test_pickle_files_are_refused_unopened(suffix, tmp_path):
    path = tmp_path / f"missing{suffix}"  # does not exist: the refusal comes before any open
    with pytest.raises(
        ModelFileError,
        match=r'save_file\(torch.load\(p, weights_only=True\), "model.safetensors"\)',
    ):
        load_torch_state_dict(blog_model("dense"), path)


def test_unsupported_layers_are_refused():
    model = nn.Sequential([L.Dense(3), L.GaussianNoise(0.1)], seed=0)
    model.build((4,))
    with pytest.raises(
        UnsupportedLayerError, match="'gaussian_noise_.*GaussianNoise.*no torch.nn equivalent"
    ):
        torch_state_dict(model)


def test_torch_is_not_required(monkeypatch):
    model = blog_model("dense")
    state = torch_state_dict(model)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    other = blog_model("dense", seed=3)
    load_torch_state_dict(other, state)
    np.testing.assert_array_equal(other.get_weights()[0], model.get_weights()[0])
    with pytest.raises(ImportError, match="needs PyTorch"):
        torch_module(model)
