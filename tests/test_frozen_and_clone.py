"""Transfer learning's plumbing: frozen layers survive save and load; clone_model copies."""

import numpy as np
import pytest

import nn_core as nn
from nn_core.errors import ModelFileError
from nn_core.layers import Add, Dense
from nn_core.saving import read_archive, write_archive


def _encoder_and_head(seed=0):
    encoder = nn.Sequential([Dense(6, activation="relu"), Dense(3, activation="relu")], name="enc")
    head = Dense(2, activation="sigmoid", name="head")
    model = nn.Sequential([encoder, head], seed=seed)
    model.build((5,))
    return encoder, head, model


def _data(n=32, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, 5)).astype("float32"), rng.random((n, 2)).astype("float32")


def test_a_frozen_encoder_stays_frozen_after_save_and_load(tmp_path):
    encoder, head, model = _encoder_and_head()
    encoder.trainable = False
    model.compile(optimizer="adam", loss="mse")
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.npz")

    loaded = nn.load_model(tmp_path / "m.npz")
    assert loaded.layers[0].trainable is False and loaded.layers[1].trainable is True
    assert len(loaded.trainable_weights) == 2  # the head's kernel and bias only
    frozen_before = [w.copy() for w in loaded.layers[0].get_weights()]
    head_before = [w.copy() for w in loaded.layers[1].get_weights()]
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0)  # the saved Adam state fits 2 arrays
    for before, after in zip(frozen_before, loaded.layers[0].get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(
        not np.array_equal(b, a) for b, a in zip(head_before, loaded.layers[1].get_weights())
    )


def test_a_frozen_leaf_layer_in_a_graph_and_a_frozen_whole_model_round_trip(tmp_path):
    x = nn.Input((4,))
    h = Dense(3, name="first")(x)
    out = Add()([h, Dense(3, name="second")(h)])
    model = nn.Model(x, out, seed=0)
    model.get_layer("second").trainable = False
    model.save(tmp_path / "g.npz")
    loaded = nn.load_model(tmp_path / "g.npz")
    assert loaded.get_layer("first").trainable and not loaded.get_layer("second").trainable

    model.trainable = False
    model.save(tmp_path / "all.npz")
    loaded = nn.load_model(tmp_path / "all.npz")
    assert loaded.trainable is False and loaded.trainable_weights == []
    assert "trainable 0," in loaded.summary(print_fn=None)


@pytest.mark.parametrize("frozen", [[[7]], [["0"]], [[0, 0, 0, 0]], "all", [[True]]])
def test_a_frozen_entry_that_names_no_layer_is_refused_naming_the_file(tmp_path, frozen):
    _, _, model = _encoder_and_head()
    model.save(tmp_path / "m.npz")
    config, arrays = read_archive(tmp_path / "m.npz")
    config["frozen"] = frozen
    write_archive(tmp_path / "bad.npz", config, arrays)
    with pytest.raises(ModelFileError, match="bad.npz.*frozen"):
        nn.load_model(tmp_path / "bad.npz")


def test_clone_model_makes_new_layers_with_the_same_architecture_and_frozen_flags():
    encoder, _, model = _encoder_and_head(seed=4)
    encoder.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)

    clone = nn.clone_model(model, seed=11)
    assert type(clone) is nn.Sequential and clone.layers[0].trainable is False
    originals = {id(layer) for layer in model.leaf_layers()}
    assert not originals & {id(layer) for layer in clone.leaf_layers()}
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])  # re-initialised

    clone.set_weights(model.get_weights())  # a copy of the values, in separate arrays
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    clone.get_weights()  # training the clone leaves the original alone
    clone.layers[0].trainable = True
    clone.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    clone.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for b, a in zip(before, model.get_weights()):
        np.testing.assert_array_equal(b, a)


def test_clone_model_of_a_seeded_graph_starts_where_the_original_started():
    def build():
        x = nn.Input((4,))
        h = Dense(3, activation="relu")(x)
        return nn.Model(x, Add()([h, Dense(3)(h)]), seed=5)

    model = build()
    fresh = build()
    model.set_weights([w + 1.0 for w in model.get_weights()])
    clone = nn.clone_model(model)
    for a, b in zip(clone.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_clone_model_refuses_what_is_not_a_model():
    with pytest.raises(ValueError, match="clone_model expects a Sequential or a Model, got Dense"):
        nn.clone_model(Dense(3))


def test_a_layer_copies_its_weights_to_another_layer_as_in_keras():
    _, _, model = _encoder_and_head(seed=2)
    pretrained = model.layers[0].layers[0]
    target = Dense(6, activation="relu")
    target.build((5,), "float32")
    target.set_weights(pretrained.get_weights())
    x, _ = _data()
    np.testing.assert_array_equal(target.forward(x), pretrained.forward(x))
    assert target.weight_names() == [f"{target.name}/kernel", f"{target.name}/bias"]
    with pytest.raises(ValueError, match=r"set_weights: .* has 2 weight arrays, got 1"):
        target.set_weights(pretrained.get_weights()[:1])
    with pytest.raises(ValueError, match=r"kernel has shape \(5, 6\), got \(6, 5\)"):
        target.set_weights([pretrained.get_weights()[0].T, pretrained.get_weights()[1]])
    with pytest.raises(ValueError, match=r"layer 'late' \(Dense\) is not built yet"):
        Dense(3, name="late").get_weights()


def test_an_autoencoder_file_keeps_its_frozen_encoder(tmp_path):
    from autoencoders import DenseAutoencoder

    autoencoder = DenseAutoencoder(20, code_size=4, seed=0).build()
    autoencoder.encoder.trainable = False
    autoencoder.save(tmp_path / "ae.npz")
    loaded = DenseAutoencoder.load(tmp_path / "ae.npz")
    assert loaded.encoder.trainable is False and loaded.decoder.trainable is True
    assert len(loaded.model.trainable_weights) == 2
