"""Reproducibility: one ``seed`` fixes initialisation, shuffling, dropout and noise, so the
same seed gives bit-identical weights and losses on the same backend, on each backend
present (issue 6, "Reproducibility").

Across backends (NumPy vs Numba) and machines (BLAS library, thread count, CPU
instructions) results may differ in the last bits, because floating-point sums are
summed in another order; the random draws themselves are identical everywhere, since
every generator is a NumPy ``Generator`` seeded from the model's seed.
"""

import numpy as np
import pytest
from model_kinds import KINDS, make_model

import autoencoders
import nn_core as nn
from nn_core import kernels

L = nn.layers
BACKENDS = ["numpy"] + (["numba"] if kernels.default_backend_name() == "numba" else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    previous = kernels.backend_name()
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend(previous)


@pytest.fixture(autouse=True, params=KINDS)
def model_kind(request):
    """Every test of this file runs on a Sequential and on the same stack as a Model."""
    global KIND
    KIND = request.param
    yield request.param


KIND = "sequential"


def train(seed, dtype="float32", targets_copied=False):
    layers = [
        L.GaussianNoise(0.2),
        L.Dense(12, activation="relu"),
        L.Dropout(0.4),
        L.Dense(4, activation="tanh"),
        L.Dense(10, activation="sigmoid"),
    ]
    model = make_model(KIND, layers, seed=seed, input_shape=(10,), dtype=dtype)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(123).random((50, 10)).astype(dtype)
    targets = x.copy() if targets_copied else x
    history = model.fit(x, targets, epochs=4, batch_size=8, shuffle=True, verbose=0)
    return model.get_weights(), history.history["loss"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_gives_bit_identical_weights_and_losses(backend, dtype):
    weights_a, losses_a = train(seed=11, dtype=dtype)
    weights_b, losses_b = train(seed=11, dtype=dtype)
    assert losses_a == losses_b
    for a, b in zip(weights_a, weights_b, strict=True):
        assert np.array_equal(a, b)
    weights_c, losses_c = train(seed=12, dtype=dtype)
    assert losses_c != losses_a
    assert not all(np.array_equal(a, c) for a, c in zip(weights_a, weights_c))


def test_fit_on_its_own_inputs_equals_fit_on_a_copy_of_them(backend):
    # fit(x, x) gathers each batch once and uses it as the targets too; the noise and
    # dropout layers must not write into it.
    weights_same, losses_same = train(seed=11)
    weights_copy, losses_copy = train(seed=11, targets_copied=True)
    assert losses_same == losses_copy
    for a, b in zip(weights_same, weights_copy, strict=True):
        assert np.array_equal(a, b)


def test_each_random_source_follows_the_seed(backend):
    """Init, shuffle, dropout and noise each change with the seed, and repeat with it."""
    x = np.random.default_rng(0).random((16, 6)).astype(np.float32)

    def draws(seed):
        model = nn.Sequential([L.GaussianNoise(1.0), L.Dropout(0.5), L.Dense(3)], seed=seed)
        model.build((6,))
        noisy = model.layers[0].forward(x, training=True)
        dropped = model.layers[1].forward(x, training=True)
        return [model.get_weights()[0], model.rng.permutation(16), noisy, dropped]

    for first, again, other in zip(draws(5), draws(5), draws(6), strict=True):
        assert np.array_equal(first, again)
        assert not np.array_equal(first, other)


def test_autoencoder_with_seed_is_reproducible(backend):
    x = np.random.default_rng(1).random((30, 12)).astype(np.float32)

    def run():
        model = autoencoders.DenoisingAutoencoder(input_shape=12, code_size=3, seed=4)
        model.compile(optimizer="adam")
        history = model.fit(x, epochs=2, batch_size=8, verbose=0)
        return model.get_weights(), history.history["loss"]

    (weights_a, losses_a), (weights_b, losses_b) = run(), run()
    assert losses_a == losses_b
    assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b, strict=True))
