"""The autoencoder family: shapes, shared layers, penalties in the loss and its gradients
(float64 finite differences over every weight), training-only corruption, VAE sampling,
greedy pretraining, save/load, the classic model's compatibility, and PCA."""

import numpy as np
import pytest

import nn_core as nn
from autoencoders import (
    PCA,
    Autoencoder,
    ContractiveAutoencoder,
    ConvAutoencoder,
    ConvDenoisingAutoencoder,
    DeepAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    SparseAutoencoder,
    VariationalAutoencoder,
    build_classic_autoencoder,
)
from autoencoders.pca import squared_error_per_image
from nn_core.gradcheck import check_model

D = 12  # features of the small flat test data
IMAGE = (8, 8, 1)  # small images: two poolings down to 2x2 and back

# name -> (factory(seed), code shape); small sizes so a finite-difference check of every
# weight takes milliseconds.
MODELS = {
    "dense": (lambda seed: DenseAutoencoder(D, code_size=4, seed=seed), (4,)),
    "deep": (lambda seed: DeepAutoencoder(D, hidden_sizes=(6,), code_size=3, seed=seed), (3,)),
    "deep tied": (
        lambda seed: DeepAutoencoder(
            D, hidden_sizes=(6, 5), code_size=3, tied_weights=True, seed=seed
        ),
        (3,),
    ),
    "sparse L1": (lambda seed: SparseAutoencoder(D, code_size=4, l1=0.05, seed=seed), (4,)),
    "sparse KL": (
        lambda seed: SparseAutoencoder(D, 4, sparsity_target=0.1, sparsity_weight=0.5, seed=seed),
        (4,),
    ),
    "denoising gaussian": (lambda seed: DenoisingAutoencoder(D, 4, seed=seed), (4,)),
    "denoising masking": (
        lambda seed: DenoisingAutoencoder(D, 4, noise="masking", masking_fraction=0.3, seed=seed),
        (4,),
    ),
    "contractive sigmoid": (
        lambda seed: ContractiveAutoencoder(D, 4, contractive_weight=0.1, seed=seed),
        (4,),
    ),
    "contractive relu": (
        lambda seed: ContractiveAutoencoder(
            D, 4, contractive_weight=0.1, activation="relu", seed=seed
        ),
        (4,),
    ),
    "variational": (
        lambda seed: VariationalAutoencoder(D, latent_dim=2, hidden_sizes=(5,), seed=seed),
        (2,),
    ),
    "conv": (lambda seed: ConvAutoencoder(IMAGE, filters=(3, 2), seed=seed), (2, 2, 2)),
    "conv denoising": (
        lambda seed: ConvDenoisingAutoencoder(IMAGE, filters=(2, 2), seed=seed),
        (2, 2, 2),
    ),
}


def data(shape, n=8, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(0.05, 0.95, size=(n, *shape)).astype(dtype)


def model_and_data(name, seed=0, dtype="float32", n=8):
    factory, code_shape = MODELS[name]
    model = factory(seed).build(dtype)
    return model, data(model.input_shape, n, seed=1, dtype=dtype), code_shape


@pytest.mark.parametrize("name", MODELS)
def test_shapes_of_codes_reconstructions_and_decodings(name):
    model, x, code_shape = model_and_data(name)
    codes = model.encode(x)
    assert codes.shape == (len(x), *code_shape)
    assert model.predict(x).shape == x.shape
    assert model.decode(codes).shape == x.shape
    assert 0 < model.predict(x).min() and model.predict(x).max() < 1  # sigmoid outputs


@pytest.mark.parametrize("name", MODELS)
def test_encoder_and_decoder_share_the_whole_models_layers(name):
    model, x, _ = model_and_data(name)
    leaves = model.model.leaf_layers()
    parts = model.encoder.leaf_layers() + model.decoder.leaf_layers()
    assert {id(layer) for layer in parts} <= {id(layer) for layer in leaves}
    assert all(any(p is layer for p in parts) or not layer.params for layer in leaves)
    codes_before = model.encode(x)
    model.compile(optimizer=nn.optimizers.Adam(learning_rate=0.05))
    model.fit(x, epochs=2, batch_size=4, verbose=0)
    assert not np.allclose(model.encode(x), codes_before)  # training the whole moved them
    np.testing.assert_array_equal(model.decode(model.encode(x)).shape, x.shape)


@pytest.mark.parametrize("name", MODELS)
def test_loss_and_gradients_pass_a_finite_difference_check_of_every_weight(name):
    model, x, _ = model_and_data(name, dtype="float64", n=5)
    # Biases off their zero start: a relu fed only zeros (padding, dead units) would sit
    # exactly at its kink, where finite differences see half a slope.
    rng = np.random.default_rng(2)
    model.set_weights(
        [w + rng.uniform(-0.2, 0.2, w.shape) * (w.ndim == 1) for w in model.get_weights()]
    )
    model.compile(optimizer="sgd")
    errors = check_model(model, x, x)
    assert len(errors) == len(model.get_weights())
    assert max(errors) < 1e-6, errors


def data_loss(model, x):
    """The reconstruction loss alone, from the current weights (inference mode, no noise)."""
    return model.model.loss(x, model.predict(x))


@pytest.mark.parametrize(
    "name", ["sparse L1", "sparse KL", "contractive sigmoid", "contractive relu"]
)
def test_penalties_are_part_of_the_loss_and_match_their_formulas(name):
    model, x, _ = model_and_data(name, dtype="float64")
    model.compile(optimizer="sgd")
    loss, _ = model.loss_and_gradients(x)  # no noise in these models: same forward as predict
    codes = model.encode(x)
    code_layer = model.encoder.layers[0]
    if name == "sparse L1":
        penalty = 0.05 * np.abs(codes).sum() / len(x)
    elif name == "sparse KL":
        rho, rho_hat = 0.1, codes.mean(axis=0)
        penalty = 0.5 * np.sum(
            rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
        )
    else:
        derivative = codes * (1 - codes) if "sigmoid" in name else (codes > 0).astype(float)
        column_norms = np.sum(code_layer.params["kernel"] ** 2, axis=0)
        penalty = 0.1 * np.sum(derivative**2 * column_norms) / len(x)
    assert penalty > 1e-3
    assert loss == pytest.approx(data_loss(model, x) + penalty, rel=1e-10)


def test_vae_loss_is_summed_bce_plus_kl_per_sample_with_the_replayed_eps():
    model, x, _ = model_and_data("variational", dtype="float64")
    model.compile(optimizer="sgd")
    state = model.rng_state()
    loss, _ = model.loss_and_gradients(x)
    eps = model.sampling.eps.copy()
    model.set_rng_state(state)
    assert model.loss_and_gradients(x)[0] == loss  # fixed eps: a deterministic function
    mean, log_variance = model.encode_distribution(x)
    p = model.decode(mean + np.exp(log_variance / 2) * eps)
    bce = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p)) / len(x)
    kl = -0.5 * np.sum(1 + log_variance - mean**2 - np.exp(log_variance)) / len(x)
    assert loss == pytest.approx(bce + kl, rel=1e-9)
    assert bce > 0.5 * D and kl > 0  # nats per image, not a per-pixel mean


def test_vae_sample_shape_range_and_determinism_under_the_seed():
    first, second = (VariationalAutoencoder(D, 2, (5,), seed=3).build() for _ in range(2))
    images = first.sample(6)
    assert images.shape == (6, D) and images.dtype == np.float32
    assert 0 < images.min() and images.max() < 1
    np.testing.assert_array_equal(images, second.sample(6))  # same seed, same digits
    assert not np.array_equal(first.sample(6), images)  # the generator advances
    np.testing.assert_array_equal(first.sample(4, seed=11), second.sample(4, seed=11))
    other = VariationalAutoencoder(D, 2, (5,), seed=4).build()
    assert not np.array_equal(other.sample(6), images)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        first.sample(0)


# ---------------------------------------------------------------------- denoising
def record_inputs(layer):
    """Make ``layer`` record every input it sees in training; returns the list."""
    seen = []
    forward = layer.forward

    def recording_forward(x, training=False):
        if training:
            seen.append(np.array(x))
        return forward(x, training)

    layer.forward = recording_forward
    return seen


@pytest.mark.parametrize("name", ["denoising gaussian", "denoising masking", "conv denoising"])
def test_denoising_corrupts_in_training_only_and_afresh_every_epoch(name):
    model, x, _ = model_and_data(name)
    first_weighted = model.encoder.layers[1]  # right after the corruption
    seen = record_inputs(first_weighted)
    model.compile()
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    reference = nn.Sequential(model.encoder.layers[1:] + model.decoder.layers)
    np.testing.assert_array_equal(model.predict(x), reference.predict(x))  # clean input
    assert seen == []
    model.fit(x, epochs=2, batch_size=len(x), shuffle=False, verbose=0)
    assert len(seen) == 2
    for corrupted in seen:
        assert corrupted.shape == x.shape and not np.array_equal(corrupted, x)
        assert corrupted.min() >= 0 and corrupted.max() <= 1
        if "masking" in name:
            kept = corrupted != 0
            np.testing.assert_array_equal(corrupted[kept], x[kept])
    assert not np.array_equal(seen[0], seen[1])  # new noise in the second epoch
    _, targets_check = model.loss_and_gradients(x)  # the targets stay the clean images
    assert len(targets_check) == len(model.get_weights())


def test_denoising_noise_is_fixed_by_the_seed():
    runs = []
    for _ in range(2):
        model, x, _ = model_and_data("denoising gaussian", seed=5)
        model.compile()
        model.fit(x, epochs=2, batch_size=4, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_denoising_rejects_an_unknown_noise():
    with pytest.raises(ValueError, match="noise must be one of"):
        DenoisingAutoencoder(D, noise="salt")


# ---------------------------------------------------------------------- deep, tied, pretraining
def test_tied_deep_autoencoder_lists_each_kernel_once_and_decodes_with_its_transpose():
    model, x, _ = model_and_data("deep tied", dtype="float64")
    shapes = [w.shape for w in model.get_weights()]
    # encoder 12-6-5-3 (kernel, bias each), then the decoder's three biases only
    assert shapes == [(12, 6), (6,), (6, 5), (5,), (5, 3), (3,), (5,), (6,), (12,)]
    untied = DeepAutoencoder(D, hidden_sizes=(6, 5), code_size=3, seed=0).build("float64")
    weights = model.get_weights()
    kernels = weights[0:6:2]
    decoder_weights = []
    for kernel, bias in zip(reversed(kernels), weights[6:]):
        decoder_weights += [kernel.T, bias]
    untied.set_weights(weights[:6] + decoder_weights)
    np.testing.assert_allclose(model.predict(x), untied.predict(x), rtol=1e-12)


def test_greedy_pretraining_trains_each_layer_pair_deterministically():
    results = []
    for _ in range(2):
        model, x, _ = model_and_data("deep tied", n=16)
        model.compile()
        before = model.get_weights()
        generators = [layer.rng for layer in model.model.leaf_layers()]
        losses = model.pretrain(x, epochs=2, batch_size=8)
        assert len(losses) == 3 and all(np.isfinite(losses))
        assert [layer.rng for layer in model.model.leaf_layers()] == generators
        after = model.get_weights()
        assert all(not np.array_equal(a, b) for a, b in zip(before, after))
        results.append((losses, after))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- conv
def test_conv_autoencoder_defaults_are_the_keras_blog_model():
    model = ConvAutoencoder()
    layers = model.encoder.layers + model.decoder.layers
    described = [
        (type(layer).__name__, getattr(layer, "filters", None), getattr(layer, "padding", None))
        for layer in layers
    ]
    conv, pool, up = "Conv2D", "MaxPooling2D", "UpSampling2D"
    assert described == [
        (conv, 16, "same"), (pool, None, "same"),
        (conv, 8, "same"), (pool, None, "same"),
        (conv, 8, "same"), (pool, None, "same"),
        (conv, 8, "same"), (up, None, None),
        (conv, 8, "same"), (up, None, None),
        (conv, 16, "valid"), (up, None, None),
        (conv, 1, "same"),
    ]  # fmt: skip
    model.build()
    assert model.encoder.output_shape == (4, 4, 8) and model.model.output_shape == (28, 28, 1)
    assert model.count_params() == 4385


def test_conv_autoencoder_fits_other_sizes_and_refuses_impossible_ones():
    assert ConvAutoencoder((32, 32, 3), filters=(4, 4, 4)).build().model.output_shape == (
        32,
        32,
        3,
    )
    assert ConvDenoisingAutoencoder().build().encoder.output_shape == (7, 7, 32)
    with pytest.raises(ValueError, match="size 30 cannot be rebuilt"):
        ConvAutoencoder((30, 30, 1))
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        ConvAutoencoder((784,))


# ---------------------------------------------------------------------- API details, errors
def test_fit_defaults_targets_to_inputs_and_takes_validation_inputs_alone():
    model, x, _ = model_and_data("dense")
    model.compile(optimizer="adam")
    history = model.fit(x, epochs=2, batch_size=4, validation_data=x[:4], verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x[:4]), rel=1e-6)
    assert isinstance(model.model.optimizer, nn.optimizers.Adam)
    assert isinstance(model.model.loss, nn.losses.BinaryCrossentropy)
    assert model.history is history


def test_constructor_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="exactly one penalty"):
        SparseAutoencoder(D, 4)
    with pytest.raises(ValueError, match="exactly one penalty"):
        SparseAutoencoder(D, 4, l1=1e-4, sparsity_target=0.05)
    with pytest.raises(ValueError, match="flatten the images"):
        DenseAutoencoder((28, 28, 1))
    with pytest.raises(ValueError, match="code_size must be a positive integer"):
        DeepAutoencoder(D, code_size=0)
    with pytest.raises(ValueError, match="input_shape must be"):
        VariationalAutoencoder("784")


@pytest.mark.parametrize("name", MODELS)
def test_save_and_load_round_trip(name, tmp_path):
    model, x, _ = model_and_data(name)
    model.compile(optimizer="adam")
    model.fit(x, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = Autoencoder.load(path)
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    state, loaded_state = model.model.optimizer.get_state(), loaded.model.optimizer.get_state()
    assert state.keys() == loaded_state.keys() and int(loaded_state["iterations"]) == 2
    assert type(model).load(path).get_config() == model.get_config()
    np.testing.assert_array_equal(nn.load_model(path).predict(x), model.predict(x))


def test_load_refuses_another_class_and_plain_models(tmp_path):
    DenseAutoencoder(D, 4, seed=0).build().save(tmp_path / "dense.npz")
    with pytest.raises(nn.ModelFileError, match="holds a DenseAutoencoder, not a ConvAutoencoder"):
        ConvAutoencoder.load(tmp_path / "dense.npz")
    plain = nn.Sequential([nn.layers.Dense(3)])
    plain.build((4,))
    plain.save(tmp_path / "plain.npz")
    with pytest.raises(nn.ModelFileError, match="not an autoencoder"):
        Autoencoder.load(tmp_path / "plain.npz")


def test_classic_builder_is_a_dense_autoencoder_with_the_same_weights_as_before():
    x = data((784,), n=16)
    # The construction build_classic_autoencoder used before DenseAutoencoder existed.
    encoder = nn.Sequential([nn.layers.Dense(32, activation="relu")], name="encoder")
    decoder = nn.Sequential([nn.layers.Dense(784, activation="sigmoid")], name="decoder")
    old = nn.Sequential([encoder, decoder], seed=7, name="autoencoder")
    old.build((784,))
    new, new_encoder, new_decoder = build_classic_autoencoder(seed=7)
    assert new.layers == [new_encoder, new_decoder]
    for model in (old, new):
        model.compile(optimizer=nn.optimizers.Adadelta(learning_rate=1.0), loss="bce")
        model.fit(x, x, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(old.get_weights(), new.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- PCA
def test_pca_is_the_best_rank_k_reconstruction():
    rng = np.random.default_rng(0)
    low_rank = rng.normal(size=(50, 3)) @ rng.normal(size=(3, 10)) + rng.normal(size=10)
    pca = PCA(3).fit(low_rank)
    np.testing.assert_allclose(pca.reconstruct(low_rank), low_rank, atol=1e-10)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(3), atol=1e-12)
    x = rng.normal(size=(40, 6)) * np.array([5, 4, 3, 2, 1, 0.5])
    pca = PCA(2).fit(x)
    assert pca.transform(x).shape == (40, 2)
    singular_values = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    # The error left is the variance in the discarded directions (Eckart-Young).
    assert squared_error_per_image(x, pca.reconstruct(x)) == pytest.approx(
        np.sum(singular_values[2:] ** 2) / len(x), rel=1e-10
    )
    assert np.all(np.diff(pca.explained_variance) <= 0)
    with pytest.raises(ValueError, match="not fitted"):
        PCA(2).transform(x)
    with pytest.raises(ValueError, match="exceeds"):
        PCA(7).fit(x)


def test_pca_stands_in_for_an_autoencoder_with_encode_decode_and_predict():
    # Issue 18: PCA had only transform / inverse_transform, so code written against the
    # autoencoders' interface (encode, decode, predict, each with batch_size) could not
    # take it.
    x = data((784,), n=30).astype(np.float64)
    pca = PCA(5).fit(x)
    autoencoder = DenseAutoencoder(784, code_size=5, seed=0).build()
    for model in (pca, autoencoder):
        codes = model.encode(x, batch_size=8)
        assert codes.shape == (30, 5)
        assert model.decode(codes, batch_size=8).shape == x.shape
        assert model.predict(x, batch_size=8).shape == x.shape
    np.testing.assert_array_equal(pca.encode(x), pca.transform(x))
    np.testing.assert_array_equal(
        pca.decode(pca.encode(x)), pca.inverse_transform(pca.transform(x))
    )
    np.testing.assert_array_equal(pca.predict(x), pca.reconstruct(x))


def test_an_image_to_image_conv_model_saves_and_loads(tmp_path):
    # Issue 18: the applications' grey-to-colour and denoising models were bare
    # Autoencoders (no get_config), so they could not be saved.
    from autoencoders.applications._common import conv_image_model

    model = conv_image_model(input_channels=1, output_channels=3, filters=(4, 4), seed=0)
    x = data((28, 28, 1), n=3)
    assert model.predict(x).shape == (3, 28, 28, 3)
    model.save(tmp_path / "colour.npz")
    loaded = ConvAutoencoder.load(tmp_path / "colour.npz")
    assert loaded.output_channels == 3 and loaded.input_shape == (28, 28, 1)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="output_channels"):
        ConvAutoencoder((28, 28, 1), output_channels=0)


def logit(p):
    return np.log(p / (1 - p))


def test_init_output_bias_sets_each_pixels_logit_of_the_target_mean():
    x = data((784,), n=64)
    x[:, :10] = 0.0  # never-lit pixels: clipped to epsilon, not -inf
    model = DenseAutoencoder(784, code_size=4, seed=0).build()
    assert model.init_output_bias(x) is model
    bias = model.decoder.layers[-1].params["bias"]
    clipped_mean = np.clip(x.astype(np.float64).mean(axis=0), 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(bias, logit(clipped_mean), rtol=1e-6)
    assert np.all(bias[:10] == np.float32(logit(1e-3)))
    # With the decoder's kernel at zero the model predicts exactly the clipped mean image.
    model.decoder.layers[-1].params["kernel"][...] = 0
    np.testing.assert_allclose(model.predict(x[:3]), np.tile(clipped_mean, (3, 1)), rtol=1e-5)


def test_init_output_bias_of_a_conv_output_uses_the_mean_over_all_pixels():
    model = ConvAutoencoder((28, 28, 1), seed=0)
    x = data((28, 28, 1), n=6)
    model.init_output_bias(x)  # builds the model if needed
    (bias,) = [model.decoder.layers[-1].params["bias"]]
    np.testing.assert_allclose(bias, [logit(x.astype(np.float64).mean())], rtol=1e-6)


def test_init_output_bias_of_a_linear_output_is_the_mean_itself():
    x = data((20,), n=16) * 3 - 1
    model = DenseAutoencoder(20, code_size=3, output_activation=None, seed=0).build()
    model.init_output_bias(x)
    np.testing.assert_allclose(model.decoder.layers[-1].params["bias"], x.mean(0), rtol=1e-6)


def test_init_output_bias_lowers_the_untrained_loss_and_keeps_runs_deterministic():
    rng = np.random.default_rng(1)
    x = ((rng.random((128, 784)) < 0.2) * rng.random((128, 784))).astype(np.float32)  # dark
    plain = DenseAutoencoder(784, code_size=8, seed=3).build().compile("adadelta")
    started = DenseAutoencoder(784, code_size=8, seed=3).build().compile("adadelta")
    started.init_output_bias(x)
    assert started.evaluate(x) < plain.evaluate(x) - 0.05
    again = DenseAutoencoder(784, code_size=8, seed=3).build().compile("adadelta")
    again.init_output_bias(x)
    losses = [m.fit(x, epochs=2, verbose=0).history["loss"] for m in (started, again)]
    assert losses[0] == losses[1]


def test_init_output_bias_errors_name_the_problem():
    x = data((784,), n=8)
    relu = DenseAutoencoder(784, code_size=4, output_activation="relu", seed=0).build()
    with pytest.raises(ValueError, match="sigmoid or linear output.*ReLU"):
        relu.init_output_bias(x)
    model = DenseAutoencoder(784, code_size=4, seed=0).build()
    with pytest.raises(ValueError, match=r"samples of shape \(784,\), got \(10,\)"):
        model.init_output_bias(np.zeros((8, 10), np.float32))
    with pytest.raises(ValueError, match="epsilon must be in"):
        model.init_output_bias(x, epsilon=0.0)
    bad = x.copy()
    bad[2, 5] = np.nan
    with pytest.raises(ValueError, match="targets"):
        model.init_output_bias(bad)
