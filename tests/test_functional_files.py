"""Graph models in files: round trips, hand-edited configs refused, a fuzz over graph configs.

A model file is untrusted input (see nn_core/model_files.py): whatever its config asks
for is checked, and every refusal is a ``ModelFileError`` naming the file and the entry.
"""

import tracemalloc

import numpy as np
import pytest
from test_reliability_fuzz import mutated_model_files

import nn_core as nn
from nn_core import layers as L
from nn_core.saving import read_archive, write_archive


def fork_model():
    x = nn.Input((6,), name="pixels")
    trunk = L.Dense(5, activation="relu", name="trunk")(x)
    image = L.Dense(6, activation="sigmoid", name="image")(trunk)
    score = L.Dense(1, name="score")(trunk)
    model = nn.Model(x, [image, score], name="fork", seed=0)
    model.compile(optimizer="adam", loss=["binary_crossentropy", "mse"], loss_weights=[1.0, 0.5])
    inputs = np.random.default_rng(0).random((8, 6)).astype(np.float32)
    model.fit(inputs, [inputs, inputs[:, :1]], epochs=1, batch_size=4, verbose=0)
    return model, inputs


def edited(tmp_path, edit):
    """A saved fork model whose config was changed by ``edit(config)``."""
    model, _ = fork_model()
    model.save(tmp_path / "good.npz")
    config, arrays = read_archive(tmp_path / "good.npz")
    edit(config["model"])
    path = tmp_path / "edited.npz"
    write_archive(path, {k: v for k, v in config.items() if k not in ("format", "arrays")}, arrays)
    return path


def test_a_fork_with_two_outputs_round_trips_with_its_losses_and_optimizer(tmp_path):
    model, inputs = fork_model()
    model.save(tmp_path / "fork.npz")
    loaded = nn.load_model(tmp_path / "fork.npz")
    for a, b in zip(loaded.predict(inputs), model.predict(inputs)):
        np.testing.assert_array_equal(a, b)
    targets = [inputs, inputs[:, :1]]
    assert loaded.evaluate(inputs, targets) == model.evaluate(inputs, targets)
    assert loaded.train_on_batch(inputs, targets) == model.train_on_batch(inputs, targets)


def test_a_node_reading_a_later_node_is_refused_as_a_cycle(tmp_path):
    def cycle(config):
        config["nodes"][1]["inputs"] = [[3, 0]]  # trunk reads score, which reads trunk

    with pytest.raises(nn.ModelFileError, match=r"nodes\[1\] reads node 3.*cycle"):
        nn.load_model(edited(tmp_path, cycle))


def test_an_unknown_layer_class_is_refused(tmp_path):
    def unknown(config):
        config["layers"][1]["class_name"] = "Dense3000"

    with pytest.raises(nn.ModelFileError, match="Dense3000"):
        nn.load_model(edited(tmp_path, unknown))


def test_a_node_calling_a_layer_that_is_not_listed_is_refused(tmp_path):
    def missing(config):
        config["nodes"][2]["layer"] = "ghost"

    with pytest.raises(nn.ModelFileError, match=r"nodes\[2\] calls layer 'ghost'"):
        nn.load_model(edited(tmp_path, missing))


@pytest.mark.parametrize("reference", [[9, 0], [1, 4], [-1, 0], ["1", 0]])
def test_a_dangling_output_tensor_is_refused(tmp_path, reference):
    def dangling(config):
        config["outputs"][1] = reference

    with pytest.raises(nn.ModelFileError, match=r"outputs\[1\]"):
        nn.load_model(edited(tmp_path, dangling))


def test_a_config_asking_for_a_huge_layer_is_refused_before_it_allocates(tmp_path):
    def huge(config):
        config["layers"][1]["config"]["units"] = 10**9

    path = edited(tmp_path, huge)
    tracemalloc.start()
    try:
        with pytest.raises(nn.ModelFileError, match="would create 7,000,000,000 weight values"):
            nn.load_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20  # 7e9 float32 values would be 28 GB


def test_sequential_configs_are_bounded_too(tmp_path):
    model = nn.Sequential([L.Dense(4), L.Dense(2)], seed=0)
    model.build((3,))
    model.save(tmp_path / "small.npz")
    config, arrays = read_archive(tmp_path / "small.npz")
    config["model"]["layers"][0]["config"]["units"] = 10**9
    write_archive(
        tmp_path / "huge.npz",
        {
            "model": config["model"],
            "model_class": "Sequential",
            "input_shape": [3],
            "dtype": "float32",
            "compile": None,
        },
        arrays,
    )
    with pytest.raises(nn.ModelFileError, match="weight values the file holds"):
        nn.load_model(tmp_path / "huge.npz")


GRAPH_CASES = 400


def test_load_model_fuzz_on_a_graph_model_raises_only_model_file_errors(tmp_path):
    model, _ = fork_model()
    model.save(tmp_path / "valid.npz")
    valid, weights = (tmp_path / "valid.npz").read_bytes(), model.get_weights()
    path = tmp_path / "fuzzed.npz"
    refused = 0
    for kind, data in mutated_model_files(valid, GRAPH_CASES, seed=1):
        path.write_bytes(data)
        try:
            loaded = nn.load_model(path)
        except nn.ModelFileError as error:
            assert str(path) in str(error)
            refused += 1
        except Exception as error:  # noqa: BLE001 - anything else is the bug under test
            pytest.fail(f"{kind} mutation raised {type(error).__name__}: {error}")
        else:
            for a, b in zip(loaded.get_weights(), weights, strict=True):
                np.testing.assert_array_equal(a, b)
    assert refused > GRAPH_CASES * 0.8
