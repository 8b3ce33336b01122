"""model.save_weights / load_weights (.npz, .safetensors): round trips, refusals, fuzz."""

import json
import random
import signal
import struct

import numpy as np
import pytest

import nn_core as nn
from nn_core.errors import ModelFileError
from tests.model_kinds import KINDS, make_model
from tests.weights_models import images, randomize

L = nn.layers


def model_of(kind, seed):
    layers = [
        L.Dense(6, activation="relu", name="a"),
        L.BatchNormalization(name="b"),
        L.Dense(3, name="c"),
    ]
    return randomize(make_model(kind, layers, seed, (5,)), seed)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("suffix", [".weights.npz", ".npz", ".safetensors"])
def test_round_trip(kind, suffix, tmp_path):
    source, target = model_of(kind, 0), model_of(kind, 1)
    path = tmp_path / f"w{suffix}"
    source.save_weights(path)
    target.load_weights(path)
    x = images((5,))
    np.testing.assert_array_equal(target.predict(x), source.predict(x))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize("suffix", [".weights.npz", ".safetensors"])
def test_mismatches_are_named_and_change_nothing(suffix, tmp_path):
    path = tmp_path / f"w{suffix}"
    model_of("sequential", 0).save_weights(path)
    other = make_model("sequential", [L.Dense(6, name="a"), L.Dense(4, name="c")], 0, (5,))
    before = other.get_weights()
    with pytest.raises(ModelFileError, match=r"missing \[\], unexpected \['b/beta'"):
        other.load_weights(path)
    wide = make_model(
        "sequential",
        [L.Dense(7, name="a"), L.BatchNormalization(name="b"), L.Dense(3, name="c")],
        0,
        (5,),
    )
    with pytest.raises(ModelFileError, match=r"'a/kernel' has shape \(5, 6\).*expects \(5, 7\)"):
        wide.load_weights(path)
    double = make_model(
        "sequential",
        [L.Dense(6, name="a"), L.BatchNormalization(name="b"), L.Dense(3, name="c")],
        0,
        (5,),
        "float64",
    )
    with pytest.raises(ModelFileError, match="dtype float32.*float64"):
        double.load_weights(path)
    for old, new in zip(before, other.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_nan_refused_and_foreign_safetensors_named(tmp_path):
    import safetensors.numpy

    model = model_of("sequential", 0)
    arrays = dict(zip(model.weight_names(), model.get_weights()))
    arrays["a/bias"][0] = np.nan
    path = tmp_path / "nan.safetensors"
    path.write_bytes(safetensors.numpy.save(arrays, metadata={"format": "nn_core.weights"}))
    with pytest.raises(ModelFileError, match="'a/bias' contains NaN"):
        model.load_weights(path)
    path.write_bytes(safetensors.numpy.save({"0.weight": np.ones(2, np.float32)}))
    with pytest.raises(ModelFileError, match="load_torch_state_dict"):
        model.load_weights(path)


def test_refused_paths(tmp_path):
    model = model_of("sequential", 0)
    with pytest.raises(ValueError, match="only loads Keras weights"):
        model.save_weights(tmp_path / "x.weights.h5")
    with pytest.raises(ModelFileError, match="weights_only=True"):
        model.load_weights(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="unknown suffix"):
        model.save_weights(tmp_path / "x.txt")
    model.save(tmp_path / "model.npz")
    with pytest.raises(ModelFileError, match="load_model"):
        model.load_weights(tmp_path / "model.npz")
    with pytest.raises(FileNotFoundError):
        model.load_weights(tmp_path / "none.safetensors")


def test_missing_safetensors_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install 'nn-core-autoencoders\[interop\]'"):
        model_of("sequential", 0).save_weights(tmp_path / "w.safetensors")


def safetensors_bytes(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize(
    "header, data, message",
    [
        ({"w": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}}, b"\0" * 2, "dtype 'F16'"),
        ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "needs 8 bytes"),
        (
            {"w": {"dtype": "F32", "shape": [10**12], "data_offsets": [0, 4]}},
            b"\0" * 4,
            "needs 4,000,000,000,000",
        ),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 4, "not inside"),
        (
            {
                "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                "v": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]},
            },
            b"\0" * 6,
            "overlaps",
        ),
        (
            {"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
            b"\0" * 4,
            "shape must be",
        ),
    ],
)
def test_safetensors_header_is_validated_first(header, data, message, tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(safetensors_bytes(header, data))
    with pytest.raises(ModelFileError, match=message):
        model_of("sequential", 0).load_weights(path)


def test_header_length_beyond_the_file(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(ModelFileError, match="header claims 1,000,000,000,000 bytes"):
        model_of("sequential", 0).load_weights(path)


def test_fuzzed_safetensors_raise_only_documented_errors(tmp_path):
    model = model_of("sequential", 0)
    valid = tmp_path / "valid.safetensors"
    model.save_weights(valid)
    data, path, rng = valid.read_bytes(), tmp_path / "case.safetensors", random.Random(0)
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError()))
    signal.alarm(60)
    try:
        for case in range(300):
            mutated = bytearray(data)
            if case % 3 == 0:
                mutated = mutated[: rng.randrange(len(mutated))]
            else:
                for _ in range(rng.randint(1, 4)):
                    position = rng.randrange(min(len(mutated), 200) if case % 2 else len(mutated))
                    mutated[position] = rng.randrange(256)
            path.write_bytes(bytes(mutated))
            try:
                model.load_weights(path)
            except ValueError:  # ModelFileError is one
                pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
