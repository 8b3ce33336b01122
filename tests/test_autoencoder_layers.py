"""The engine parts the autoencoder family needs, against PyTorch autograd and plain formulas:
DenseTransposed (tied weights), ContractiveDense, KLSparsity, GaussianSampling,
SummedBinaryCrossentropy and the corruption layers. (Finite-difference checks of each are
in ``python -m nn_core.gradcheck``, run by test_layer_contract.py.)"""

import math

import numpy as np
import pytest

import nn_core as nn
from nn_core.gradcheck import check_layer, check_model

try:  # PyTorch is optional: the tests against its autograd skip without it
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

L = nn.layers
R = nn.regularizers


def rng_array(shape, seed=0, low=0.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def torch_grads(function, *arrays):
    """Value and gradients of the scalar torch ``function(*tensors)`` at float64 ``arrays``."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    value = function(*tensors)
    value.backward()
    return value.item(), [t.grad.numpy() for t in tensors]


# ---------------------------------------------------------------------- DenseTransposed
def tied_pair(units=3, inputs=5, activation="sigmoid"):
    dense = L.Dense(units, activation="tanh")
    tied = L.DenseTransposed(dense, activation=activation, output_size=inputs)
    model = nn.Sequential([dense, tied], seed=0)
    model.build((inputs,), "float64")
    return model, dense, tied


def test_dense_transposed_reuses_the_kernel_and_owns_only_a_bias():
    model, dense, tied = tied_pair()
    assert set(tied.params) == {"bias"}
    assert tied.kernel is dense.params["kernel"]
    assert [w.shape for w in model.get_weights()] == [(5, 3), (3,), (5,)]  # W listed once
    x = rng_array((4, 3))
    tied.params["bias"][...] = rng_array(5, seed=1)
    expected = 1 / (1 + np.exp(-(x @ dense.params["kernel"].T + tied.params["bias"])))
    np.testing.assert_allclose(tied.forward(x), expected, rtol=1e-12)


@needs_torch
def test_tied_kernel_gradient_is_the_sum_of_both_uses_as_torch_computes_it():
    model, dense, tied = tied_pair()
    model.compile(optimizer="sgd", loss="mse")
    x = rng_array((4, 5))
    tied.params["bias"][...] = rng_array(5, seed=1)
    loss, grads = model.loss_and_gradients(x, x)
    kernel, bias, tied_bias = (w.copy() for w in model.get_weights())

    def torch_loss(w, b, c):
        h = torch.tanh(torch.tensor(x) @ w + b)
        return torch.mean((torch.sigmoid(h @ w.T + c) - torch.tensor(x)) ** 2)

    expected_loss, expected = torch_grads(torch_loss, kernel, bias, tied_bias)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for grad, reference in zip(grads, expected):
        np.testing.assert_allclose(grad, reference, rtol=1e-10, atol=1e-14)


def test_tied_gradient_is_right_whichever_layer_runs_backward_first():
    # DenseTransposed before the Dense it reuses: the Dense's backward now runs first.
    dense = L.Dense(3)
    model = nn.Sequential([L.DenseTransposed(dense, output_size=4, activation="tanh"), dense])
    model.set_rng(np.random.default_rng(0))
    errors = check_layer(model, rng_array((2, 3), low=-1))
    assert max(errors.values()) < 1e-6


def test_dense_transposed_errors_name_the_layer():
    dense = L.Dense(3, name="enc")
    with pytest.raises(ValueError, match="enc.*not built yet"):
        nn.Sequential([dense, L.DenseTransposed(dense)]).build((5,))
    dense_64 = L.Dense(3, name="enc64")
    dense_64.build((5,), "float64")
    tied = L.DenseTransposed(dense_64, name="dec")
    with pytest.raises(ValueError, match="'dec'.*float32.*enc64.*float64"):
        tied.build((3,), "float32")
    with pytest.raises(ValueError, match=r"'dec'.*\(N, 3\).*\(4,\)"):
        tied.build((4,), "float64")
    with pytest.raises(ValueError, match="output_size 6"):
        L.DenseTransposed(dense_64, output_size=6).build((3,), "float64")
    with pytest.raises(ValueError, match="Dense layer"):
        L.DenseTransposed(L.Conv2D(2, 3))


def test_dense_transposed_config_names_the_tied_layer_and_load_model_relinks_it(tmp_path):
    model, dense, tied = tied_pair()
    assert tied.get_config()["tied_to"] == dense.name
    orphan = L.DenseTransposed.from_config(tied.get_config())
    with pytest.raises(ValueError, match="not linked"):
        orphan.build((3,), "float64")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = rng_array((6, 5))
    model.fit(x, x, epochs=2, batch_size=3, verbose=0)
    model.save(tmp_path / "tied.npz")
    loaded = nn.load_model(tmp_path / "tied.npz")
    decoder = loaded.layers[1]
    assert decoder.tied_to is loaded.layers[0]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    loaded.fit(x, x, epochs=1, batch_size=3, shuffle=False, verbose=0)
    model.fit(x, x, epochs=1, batch_size=3, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- ContractiveDense
@needs_torch
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_contractive_penalty_and_gradients_match_torch_jacobians(activation):
    weight = 0.7
    layer = L.ContractiveDense(4, activation=activation, contractive_weight=weight)
    layer.set_rng(np.random.default_rng(0))
    layer.build((5,), "float64")
    layer.params["bias"][...] = rng_array(4, seed=2, low=-0.5, high=0.5)
    x = rng_array((3, 5), seed=1, low=-1)
    projection = rng_array((3, 4), seed=3, low=-1)
    outputs = layer.forward(x, training=True)
    penalty = layer.penalty()
    grad_x = layer.backward(projection)

    act = torch.sigmoid if activation == "sigmoid" else torch.relu

    def torch_penalty(w, b, inputs):
        # ||J_n||_F^2 from autograd Jacobians of each sample's code, no closed form.
        total = 0
        for n in range(len(inputs)):
            jacobian = torch.autograd.functional.jacobian(
                lambda v: act(v @ w + b), inputs[n], create_graph=True
            )
            total = total + torch.sum(jacobian**2)
        return weight * total / len(inputs)

    def objective(w, b, inputs):
        return torch.sum(act(inputs @ w + b) * torch.tensor(projection)) + torch_penalty(
            w, b, inputs
        )

    kernel, bias = layer.params["kernel"].copy(), layer.params["bias"].copy()
    with torch.no_grad():
        expected_penalty = torch_penalty(*(torch.tensor(a) for a in (kernel, bias, x))).item()
    assert penalty == pytest.approx(expected_penalty, rel=1e-12)
    assert penalty > 0
    _, (grad_kernel, grad_bias, expected_grad_x) = torch_grads(objective, kernel, bias, x)
    np.testing.assert_allclose(layer.grads["kernel"], grad_kernel, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(layer.grads["bias"], grad_bias, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_x, expected_grad_x, rtol=1e-10, atol=1e-14)
    assert outputs.shape == (3, 4)


def test_contractive_dense_refuses_activations_without_a_closed_form():
    with pytest.raises(ValueError, match="'sigmoid' or 'relu'.*Tanh"):
        L.ContractiveDense(4, activation="tanh")
    with pytest.raises(ValueError, match="contractive_weight"):
        L.ContractiveDense(4, contractive_weight=-1)


# ---------------------------------------------------------------------- KLSparsity
def kl_reference(rho, batch_means):
    return sum(
        rho * math.log(rho / q) + (1 - rho) * math.log((1 - rho) / (1 - q)) for q in batch_means
    )


@needs_torch
def test_kl_sparsity_on_a_layer_adds_exactly_the_documented_penalty_and_its_gradient():
    rho, beta = 0.1, 3.0
    layer = L.Dense(4, activation="sigmoid", activity_regularizer=R.KLSparsity(rho, beta))
    layer.set_rng(np.random.default_rng(0))
    layer.build((5,), "float64")
    x = rng_array((6, 5), low=-1)
    projection = rng_array((6, 4), seed=1, low=-1)
    codes = layer.forward(x, training=True)
    # The layer's penalty is beta * sum_j KL(rho || rho_hat_j), whatever the batch size.
    assert layer.penalty() == pytest.approx(beta * kl_reference(rho, codes.mean(axis=0)), 1e-12)
    grad_x = layer.backward(projection)

    def objective(w, b, inputs):
        h = torch.sigmoid(inputs @ w + b)
        rho_hat = h.mean(dim=0)
        kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
        return torch.sum(h * torch.tensor(projection)) + beta * kl.sum()

    arrays = (layer.params["kernel"].copy(), layer.params["bias"].copy(), x)
    _, (grad_kernel, grad_bias, expected_grad_x) = torch_grads(objective, *arrays)
    np.testing.assert_allclose(layer.grads["kernel"], grad_kernel, rtol=1e-10)
    np.testing.assert_allclose(layer.grads["bias"], grad_bias, rtol=1e-10)
    np.testing.assert_allclose(grad_x, expected_grad_x, rtol=1e-10)


def test_kl_sparsity_value_gradient_config_and_errors():
    reg = R.KLSparsity(0.05, 2.0)
    h = rng_array((4, 3), low=0.05, high=0.95)
    assert reg(h) == pytest.approx(4 * 2.0 * kl_reference(0.05, h.mean(axis=0)), rel=1e-12)
    per_unit = 2.0 * (-0.05 / h.mean(axis=0) + 0.95 / (1 - h.mean(axis=0)))
    np.testing.assert_allclose(reg.gradient(h), np.broadcast_to(per_unit, h.shape), rtol=1e-12)
    assert nn.gradcheck.check_regularizer(reg, h) < 1e-6
    clone = R.get(reg.get_config())
    assert isinstance(clone, R.KLSparsity) and (clone.target, clone.weight) == (0.05, 2.0)
    saturated = np.zeros((2, 3))  # a dead unit: clipped, finite, no gradient
    assert np.isfinite(reg(saturated)) and not reg.gradient(saturated).any()
    for bad in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="target must be in"):
            R.KLSparsity(bad)
    with pytest.raises(ValueError, match="batch of activations"):
        reg(np.array([0.5, 0.5]))


# ---------------------------------------------------------------------- GaussianSampling
@needs_torch
def test_gaussian_sampling_reparameterises_and_its_penalty_is_the_mean_kl():
    layer = L.GaussianSampling(kl_weight=0.5)
    layer.set_rng(np.random.default_rng(4))
    layer.build((6,), "float64")
    moments = rng_array((5, 6), low=-1)
    z = layer.forward(moments, training=True)
    eps = np.random.default_rng(4).standard_normal((5, 3))
    mean, log_variance = moments[:, :3], moments[:, 3:]
    np.testing.assert_allclose(z, mean + np.exp(log_variance / 2) * eps, rtol=1e-12)
    posterior = torch.distributions.Normal(
        torch.tensor(mean), torch.tensor(np.exp(log_variance / 2))
    )
    prior = torch.distributions.Normal(0.0, 1.0)
    expected = torch.distributions.kl_divergence(posterior, prior).sum(dim=1).mean().item()
    assert layer.penalty() == pytest.approx(0.5 * expected, rel=1e-12)
    np.testing.assert_array_equal(layer.forward(moments, training=False), mean)
    with pytest.raises(ValueError, match=r"2 \* latent"):
        L.GaussianSampling().build((5,))


# ---------------------------------------------------------------------- losses, corruption
@needs_torch
def test_summed_binary_crossentropy_is_torch_sum_over_pixels_per_sample():
    y, p = rng_array((4, 6)), rng_array((4, 6), seed=1, low=0.05, high=0.95)
    loss = nn.losses.get("summed_binary_crossentropy")
    expected = torch.nn.functional.binary_cross_entropy(
        torch.tensor(p), torch.tensor(y), reduction="sum"
    ).item()
    assert loss(y, p) == pytest.approx(expected / 4, rel=1e-12)
    logits = np.log(p / (1 - p))
    assert loss.logits_value(y, logits) == pytest.approx(expected / 4, rel=1e-10)
    np.testing.assert_allclose(loss.logits_gradient(y, logits), (p - y) / 4, rtol=1e-10)
    assert nn.losses.get(loss.get_config()).__class__ is nn.losses.SummedBinaryCrossentropy


def test_clipped_gaussian_noise_clips_to_the_pixel_range_in_training_only():
    layer = L.ClippedGaussianNoise(0.5)
    layer.set_rng(np.random.default_rng(7))
    x = rng_array((50, 8)).astype(np.float32)
    noisy = layer.forward(x, training=True)
    noise = np.random.default_rng(7).normal(0.0, 0.5, size=x.shape).astype(np.float32)
    np.testing.assert_array_equal(noisy, np.clip(x + noise, 0, 1))
    assert noisy.min() == 0 and noisy.max() == 1  # the clip binds somewhere at stddev 0.5
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad, ((x + noise > 0) & (x + noise < 1)).astype(np.float32))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    with pytest.raises(ValueError, match="clip_min must be below clip_max"):
        L.ClippedGaussianNoise(0.5, clip_min=1, clip_max=0)


def test_masking_noise_zeroes_a_fraction_without_rescaling():
    layer = L.MaskingNoise(0.3)
    layer.set_rng(np.random.default_rng(0))
    x = rng_array((200, 50), low=0.5)
    masked = layer.forward(x, training=True)
    kept = masked != 0
    assert abs(1 - kept.mean() - 0.3) < 0.02
    np.testing.assert_array_equal(masked[kept], x[kept])  # no 1 / (1 - fraction) factor
    np.testing.assert_array_equal(layer.forward(x), x)
    with pytest.raises(ValueError, match=r"fraction must be a number in \[0, 1\)"):
        L.MaskingNoise(1.0)


def test_gradient_check_of_a_model_replays_the_corruption():
    model = nn.Sequential([L.ClippedGaussianNoise(0.3), L.Dense(3, activation="sigmoid")], seed=0)
    model.build((4,), "float64")
    model.compile(optimizer="sgd", loss="mse")
    x = rng_array((5, 4), seed=3)
    assert max(check_model(model, x, x[:, :3])) < 1e-6
