"""Model files: round trips, atomic writes, and refusal of invalid or hostile files.

pickle is used only to craft a hostile file, never to read one.
"""

import json
import os
import pathlib
import pickle
import re
import zipfile

import numpy as np
import pytest

import nn_core as nn
from nn_core.saving import read_archive, write_archive

L = nn.layers
R = nn.regularizers


def random_data(n=40, features=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, features)).astype(np.float32)


def rich_autoencoder(seed=0, dtype="float32", optimizer="adam"):
    """Nested encoder/decoder with LeakyReLU arguments, regularizers, batch norm, dropout."""
    encoder = nn.Sequential(
        [
            L.Dense(6, activation=L.LeakyReLU(0.2), kernel_regularizer=R.L1L2(0.001, 0.002)),
            L.BatchNormalization(momentum=0.9),
            L.Dense(3, activation="tanh", activity_regularizer=R.L1(0.01)),
        ],
        name="encoder",
    )
    decoder = nn.Sequential(
        [L.Dense(6), L.LeakyReLU(alpha=0.1), L.Dropout(0.2), L.Dense(8, activation="sigmoid")],
        name="decoder",
    )
    model = nn.Sequential([encoder, decoder], seed=seed, name="autoencoder")
    model.build((8,), dtype)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def plain_model(seed=0, optimizer="adam"):
    model = nn.Sequential(
        [L.Dense(6, activation="relu"), L.Dense(8, activation="sigmoid")], seed=seed
    )
    model.build((8,))
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def assert_same_arrays(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def raises_model_file_error(path):
    """Context: load_model(path) must raise ModelFileError, a ValueError naming the file."""
    return pytest.raises(nn.ModelFileError, match=re.escape(os.fspath(path)))


# ---------------------------------------------------------------------- round trips
def test_round_trip_restores_architecture_weights_and_predictions(tmp_path):
    x = random_data()
    model = rich_autoencoder()
    model.fit(x, x, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]

    loaded = nn.load_model(path)
    assert isinstance(loaded, nn.Sequential)
    assert loaded.get_config() == model.get_config()
    encoder, decoder = loaded.layers
    assert isinstance(encoder, nn.Sequential) and isinstance(decoder, nn.Sequential)
    assert (encoder.name, decoder.name) == ("encoder", "decoder")
    assert isinstance(encoder.layers[0].activation, L.LeakyReLU)
    assert encoder.layers[0].activation.alpha == 0.2
    assert isinstance(decoder.layers[1], L.LeakyReLU) and decoder.layers[1].alpha == 0.1
    kernel_regularizer = encoder.layers[0].kernel_regularizer
    assert (kernel_regularizer.l1, kernel_regularizer.l2) == (0.001, 0.002)
    assert encoder.layers[2].activity_regularizer.l1 == 0.01
    assert encoder.layers[1].momentum == 0.9 and decoder.layers[2].rate == 0.2
    assert loaded.input_shape == (8,) and loaded.dtype == np.float32
    assert_same_arrays(loaded.get_weights(), model.get_weights())  # incl. moving statistics
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, x) == model.evaluate(x, x)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.loss.get_config() == model.loss.get_config()
    # The loaded encoder is a working model of its own, sharing the loaded layers.
    np.testing.assert_array_equal(encoder.predict(x), model.layers[0].predict(x))


@pytest.mark.parametrize("optimizer", ["adadelta", "adam"])
def test_training_continues_bit_identically_after_load(tmp_path, optimizer):
    # No shuffling and no dropout: model files hold the optimizer state, not random
    # generator states (resuming those is BackupAndRestore's job, see test_callbacks).
    x = random_data()
    model = plain_model(optimizer=optimizer)
    model.fit(x, x, epochs=2, batch_size=16, shuffle=False, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = nn.load_model(path)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    assert_same_arrays(
        list(loaded.optimizer.get_state().values()), list(model.optimizer.get_state().values())
    )
    continued = model.fit(x, x, epochs=3, batch_size=16, shuffle=False, verbose=0)
    resumed = loaded.fit(x, x, epochs=3, batch_size=16, shuffle=False, verbose=0)
    assert continued.history == resumed.history
    assert_same_arrays(loaded.get_weights(), model.get_weights())

    # Without its state the optimizer starts afresh, and the runs part ways.
    model_without = plain_model(optimizer=optimizer)
    model_without.fit(x, x, epochs=2, batch_size=16, shuffle=False, verbose=0)
    model_without.save(path, include_optimizer=False)
    fresh = nn.load_model(path)
    assert fresh.optimizer.iterations == 0
    assert (
        fresh.fit(x, x, epochs=1, batch_size=16, shuffle=False, verbose=0).history["loss"]
        != model_without.fit(x, x, epochs=1, batch_size=16, shuffle=False, verbose=0).history[
            "loss"
        ]
    )


def test_float64_model_round_trip(tmp_path):
    x = random_data()
    model = rich_autoencoder(dtype="float64")
    model.fit(x, x, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "model64.npz"
    model.save(path)
    loaded = nn.load_model(path)
    assert loaded.dtype == np.float64
    assert all(w.dtype == np.float64 for w in loaded.get_weights())
    assert_same_arrays(loaded.get_weights(), model.get_weights())
    predictions = loaded.predict(x)
    assert predictions.dtype == np.float64
    np.testing.assert_array_equal(predictions, model.predict(x))


def test_uncompiled_model_round_trip(tmp_path):
    model = nn.Sequential([L.Dense(3, activation="elu")], seed=0)
    model.build((2,))
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert loaded.optimizer is None and loaded.loss is None
    assert_same_arrays(loaded.get_weights(), model.get_weights())


def test_saving_an_unbuilt_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        nn.Sequential([L.Dense(2)]).save(tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


def test_file_is_npz_with_json_config(tmp_path):
    model = plain_model()
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        config = json.loads(archive["config"].tobytes().decode("utf-8"))
        assert config["format"] == "nn_core.model" and config["format_version"] == 1
        assert {"weight/0", "weight/1", "weight/2", "weight/3"} <= set(archive.files)
        np.testing.assert_array_equal(archive["weight/0"], model.get_weights()[0])


# ---------------------------------------------------------------------- atomic write
def test_failed_write_keeps_previous_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    x = random_data()
    model = plain_model()
    path = tmp_path / "model.npz"
    model.save(path)
    saved_weights = model.get_weights()
    model.fit(x, x, epochs=1, verbose=0)  # new weights that will fail to be written

    def savez_that_dies_halfway(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half of an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", savez_that_dies_halfway)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    monkeypatch.undo()

    assert sorted(os.listdir(tmp_path)) == ["model.npz"]
    assert_same_arrays(nn.load_model(path).get_weights(), saved_weights)


# ---------------------------------------------------------------------- invalid files
@pytest.fixture
def saved(tmp_path):
    """A valid model file: (path, config, arrays) as read_archive returns them."""
    path = tmp_path / "good.npz"
    model = plain_model()
    model.fit(random_data(), random_data(), epochs=1, verbose=0)
    model.save(path)
    config, arrays = read_archive(path)
    return path, config, arrays


def rewrite(path, config, arrays):
    """Write a consistent archive (declared shapes match) with altered contents."""
    config = {k: v for k, v in config.items() if k not in ("format", "format_version", "arrays")}
    write_archive(path, config, arrays)
    return path


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        nn.load_model(tmp_path / "absent.npz")


def test_truncated_file_is_refused(saved, tmp_path):
    path, _, _ = saved
    content = path.read_bytes()
    for length in (0, 10, len(content) // 2, len(content) - 1):
        truncated = tmp_path / f"truncated_{length}.npz"
        truncated.write_bytes(content[:length])
        with raises_model_file_error(truncated):
            nn.load_model(truncated)


def test_corrupted_byte_is_refused(saved, tmp_path):
    path, _, _ = saved
    content = bytearray(path.read_bytes())
    content[len(content) // 3] ^= 0xFF
    corrupted = tmp_path / "corrupted.npz"
    corrupted.write_bytes(bytes(content))
    with raises_model_file_error(corrupted):
        nn.load_model(corrupted)


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    with raises_model_file_error(path):
        nn.load_model(path)


@pytest.mark.parametrize(
    "content, description",
    [
        (b"hello, this is a text file\n", "it is a text file (it starts with 'hello, this is a"),
        (b"", "the file is empty"),
        (b"\x80\x04\x95 pickle protocol 4", "it is a Python pickle, which nn_core never loads"),
        (b"PK\x03\x04 and then nothing", "truncated or damaged zip (.npz) archive"),
        (bytes(range(200, 256)), "it is not a zip (.npz) archive"),
    ],
)
def test_a_file_that_is_not_an_archive_is_described_and_unpickling_never_suggested(
    tmp_path, content, description
):
    # Issue 18: a text file gave NumPy's "contains pickled (object) data ... load it
    # unsafely using allow_pickle=" advice, and the CLI added a second full stop.
    path = tmp_path / "some.npz"
    path.write_bytes(content)
    with pytest.raises(nn.ModelFileError) as caught:
        nn.load_model(path)
    message = str(caught.value)
    assert description in message and "is not an nn_core model file" in message
    assert "pickle=" not in message and "pickle.load" not in message and ".." not in message


def test_npy_instead_of_npz_is_refused(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros((3, 3), dtype=np.float32))
    with raises_model_file_error(path) as raised:
        nn.load_model(path)
    assert "not an .npz archive" in str(raised.value)


def test_foreign_npz_is_refused(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, a=np.zeros(3))
    with raises_model_file_error(path):
        nn.load_model(path)
    np.savez(path, config=np.frombuffer(b'{"format": "other"}', dtype=np.uint8))
    with raises_model_file_error(path):
        nn.load_model(path)
    np.savez(path, config=np.frombuffer(b"not json {", dtype=np.uint8))
    with raises_model_file_error(path):
        nn.load_model(path)


class CreatesMarkerWhenUnpickled:
    """Unpickling this runs ``marker.touch()``: proof that a loader executed pickle code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_pickled_content_is_never_executed(saved, tmp_path):
    path, _, _ = saved
    marker = tmp_path / "PICKLE_WAS_EXECUTED"
    hostile = pickle.dumps(CreatesMarkerWhenUnpickled(marker))
    candidates = []

    # An object array (pickled by np.savez) in place of the config and of a weight.
    for name in ("config", "weight/0"):
        candidate = tmp_path / f"object_{name.replace('/', '_')}.npz"
        contents = {"config": np.zeros(1, dtype=np.uint8)}
        contents[name] = np.array([CreatesMarkerWhenUnpickled(marker)], dtype=object)
        np.savez(candidate, **contents)
        candidates.append(candidate)
    # Raw pickle bytes as an archive member, next to the otherwise valid members.
    with zipfile.ZipFile(path) as source:
        for member in ("config.npy", "weight/0.npy"):
            candidate = tmp_path / f"raw_{member.replace('/', '_')}.npz"
            with zipfile.ZipFile(candidate, "w") as target:
                for info in source.infolist():
                    data = hostile if info.filename == member else source.read(info.filename)
                    target.writestr(info.filename, data)
            candidates.append(candidate)
    # The whole file a pickle.
    candidate = tmp_path / "whole_pickle.npz"
    candidate.write_bytes(hostile)
    candidates.append(candidate)

    for candidate in candidates:
        with raises_model_file_error(candidate):
            nn.load_model(candidate)
    assert not marker.exists()
    # The hostile payload really works when unpickled: the test above has teeth.
    pickle.loads(hostile)
    assert marker.exists()


def test_wrong_format_version_is_refused(saved, tmp_path):
    _, config, arrays = saved
    path = tmp_path / "future.npz"
    config = {k: v for k, v in config.items() if k not in ("format_version",)}
    config["format_version"] = 99
    payload = {"config": np.frombuffer(json.dumps(config).encode(), dtype=np.uint8), **arrays}
    np.savez(path, **payload)
    with raises_model_file_error(path) as raised:
        nn.load_model(path)
    assert "version 99" in str(raised.value)


def test_arrays_disagreeing_with_their_declared_shapes_are_refused(saved, tmp_path):
    _, config, arrays = saved
    path = tmp_path / "declared.npz"
    arrays = dict(arrays)
    arrays["weight/0"] = np.zeros((8, 7), dtype=np.float32)  # declared (8, 6) in config
    payload = {"config": np.frombuffer(json.dumps(config).encode(), dtype=np.uint8), **arrays}
    np.savez(path, **payload)
    with raises_model_file_error(path) as raised:
        nn.load_model(path)
    assert "'weight/0'" in str(raised.value)


def test_weights_disagreeing_with_the_architecture_are_refused(saved, tmp_path):
    _, config, arrays = saved
    bad_kernel = rewrite(
        tmp_path / "kernel.npz", config, {**arrays, "weight/0": np.zeros((8, 7), np.float32)}
    )
    with raises_model_file_error(bad_kernel) as raised:
        nn.load_model(bad_kernel)
    assert "(8, 6)" in str(raised.value) and "(8, 7)" in str(raised.value)

    wider_input = rewrite(tmp_path / "input.npz", {**config, "input_shape": [9]}, arrays)
    with raises_model_file_error(wider_input):
        nn.load_model(wider_input)


def test_optimizer_state_disagreeing_with_the_weights_is_refused(saved, tmp_path):
    _, config, arrays = saved
    wrong = {
        **arrays,
        "optimizer/0/exp_avg": np.zeros((3, 3), np.float32),
        "optimizer/0/exp_avg_sq": np.zeros((3, 3), np.float32),
    }
    path = rewrite(tmp_path / "slots.npz", config, wrong)
    with raises_model_file_error(path) as raised:
        nn.load_model(path)
    assert "(3, 3)" in str(raised.value)

    fewer = {k: v for k, v in arrays.items() if not k.startswith("optimizer/3/")}
    path = rewrite(tmp_path / "fewer.npz", config, fewer)
    with raises_model_file_error(path):
        nn.load_model(path)

    unknown_slot = {**arrays, "optimizer/0/velocity": arrays["optimizer/0/exp_avg"]}
    path = rewrite(tmp_path / "unknown.npz", config, unknown_slot)
    with raises_model_file_error(path):
        nn.load_model(path)


@pytest.mark.parametrize("removed", ["weight/1", "weight/3", "optimizer/iterations"])
def test_missing_arrays_are_refused(saved, tmp_path, removed):
    _, config, arrays = saved
    path = rewrite(
        tmp_path / "missing.npz", config, {k: v for k, v in arrays.items() if k != removed}
    )
    with raises_model_file_error(path):
        nn.load_model(path)


def test_extra_or_misnamed_weight_arrays_are_refused(saved, tmp_path):
    _, config, arrays = saved
    for extra in ("weight/4", "weight/x"):
        path = rewrite(tmp_path / "extra.npz", config, {**arrays, extra: np.zeros(2, np.float32)})
        with raises_model_file_error(path):
            nn.load_model(path)


def test_array_declared_but_absent_is_refused(saved, tmp_path):
    _, config, arrays = saved
    path = tmp_path / "undeclared.npz"
    arrays = {k: v for k, v in arrays.items() if k != "weight/2"}
    payload = {"config": np.frombuffer(json.dumps(config).encode(), dtype=np.uint8), **arrays}
    np.savez(path, **payload)
    with raises_model_file_error(path) as raised:
        nn.load_model(path)
    assert "weight/2" in str(raised.value)


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.pop("model"),
        lambda c: c["model"].update(layers=[{"class_name": "NoSuchLayer", "config": {}}]),
        lambda c: c["model"].update(layers="not a list of layers"),
        lambda c: c.update(dtype="int8"),
        lambda c: c["compile"].update(optimizer={"class_name": "Adam", "learning_rate": -1.0}),
        lambda c: c["compile"].update(loss={"class_name": "NoSuchLoss"}),
    ],
    ids=["no model", "unknown layer", "bad layers", "bad dtype", "bad optimizer", "bad loss"],
)
def test_invalid_config_is_refused(saved, tmp_path, change):
    _, config, arrays = saved
    config = json.loads(json.dumps(config))  # a deep copy
    change(config)
    path = rewrite(tmp_path / "config.npz", config, arrays)
    with raises_model_file_error(path):
        nn.load_model(path)


def test_model_file_error_is_a_value_error():
    assert issubclass(nn.ModelFileError, ValueError)
