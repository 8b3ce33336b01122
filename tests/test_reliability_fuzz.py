"""Fuzz: random bytes and mutated valid files fed to ``load_model`` and to the IDX reader
raise only the documented errors (``ModelFileError``, ``DatasetFileError``), never another
exception type, never hang (issue 6, "Property and fuzz tests").

The mutations are drawn from fixed seeds, so a failure replays exactly; each test checks
how many cases it ran (the numbers quoted in the Guarantees section). A case may also
load successfully (a flipped bit in a zip timestamp harms nothing); what it must never
do is raise anything else, or give weights that differ from the file's.
"""

import collections
import gzip
import io
import json
import random
import signal
import warnings
import zipfile

import numpy as np
import pytest

import nn_core as nn
from nn_core.datasets.idx import DatasetFileError, load_idx, save_idx

L = nn.layers
MODEL_CASES = 600
IDX_CASES = 600
SECONDS_PER_TEST = 120  # a hang would become a failure, not a stuck test run


@pytest.fixture(autouse=True)
def no_hang():
    def timeout(signum, frame):
        raise TimeoutError(f"fuzz test ran past {SECONDS_PER_TEST} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(SECONDS_PER_TEST)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def valid_model_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_model")
    model = nn.Sequential(
        [
            L.Reshape((4, 4, 1)),
            L.Conv2D(2, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dense(3, activation="sigmoid"),
        ],
        seed=0,
    )
    model.build((16,))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(0).random((8, 16)).astype(np.float32)
    model.fit(x, x[:, :3], epochs=1, batch_size=4, verbose=0)
    path = folder / "model.npz"
    model.save(path)
    return path.read_bytes(), model.get_weights()


def zip_members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info.filename)) for info in archive.infolist()]


def build_zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicated entries are intended
        for name, payload in members:
            archive.writestr(name, payload)
    return buffer.getvalue()


JSON_REPLACEMENTS = [-1, 0, 1, 3, 10**6, 2.5, -1e308, "", "x", "relu", None, True, [], {}, [1]]


def mutate_json(value, rng):
    """A copy of a JSON document with one random node replaced, deleted or retyped."""
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*path, key))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, (*path, index))

    walk(value, ())
    path = rng.choice(paths[1:])
    document = json.loads(json.dumps(value))
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and rng.random() < 0.25:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(JSON_REPLACEMENTS)
    return document


def mutated_model_files(valid, count, seed=0):
    """``count`` (kind, bytes) pairs: random bytes and mutations of the valid file."""
    rng = random.Random(seed)
    members = zip_members(valid)
    config_array = np.load(io.BytesIO(dict(members)["config.npy"]))
    config = json.loads(config_array.tobytes().decode())
    kinds = ["random", "bit flips", "truncation", "overwrite", "swap", "json", "drop", "dup"]
    for index in range(count):
        kind = kinds[index % len(kinds)]
        if kind == "random":
            size = rng.choice([0, 1, 4, 22, 100, 1000, 5000])
            prefix = rng.choice([b"", b"PK\x03\x04", b"\x93NUMPY", b"PK\x05\x06"])
            data = prefix + rng.randbytes(size)
        elif kind == "bit flips":
            data = bytearray(valid)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            data = bytes(data)
        elif kind == "truncation":
            data = valid[: rng.randrange(len(valid))]
        elif kind == "overwrite":
            start = rng.randrange(len(valid))
            length = rng.randint(1, 64)
            data = valid[:start] + rng.randbytes(length) + valid[start + length :]
        elif kind == "swap":
            payloads = [payload for _, payload in members]
            i, j = rng.sample(range(len(payloads)), 2)
            payloads[i], payloads[j] = payloads[j], payloads[i]
            data = build_zip([(name, p) for (name, _), p in zip(members, payloads)])
        elif kind == "json":
            edited = mutate_json(config, rng)
            buffer = io.BytesIO()
            encoded = json.dumps(edited).encode()
            np.save(buffer, np.frombuffer(encoded, dtype=np.uint8))
            data = build_zip(
                [(n, buffer.getvalue() if n == "config.npy" else p) for n, p in members]
            )
        elif kind == "drop":
            kept = list(members)
            del kept[rng.randrange(len(kept))]
            data = build_zip(kept)
        else:  # a member written twice, the second time with other contents
            name, payload = rng.choice(members)
            data = build_zip([*members, (name, payload[: len(payload) // 2])])
        yield kind, data


def test_load_model_fuzz_raises_only_model_file_errors(valid_model_file, tmp_path):
    valid, weights = valid_model_file
    path = tmp_path / "fuzzed.npz"
    outcomes = collections.Counter()
    for kind, data in mutated_model_files(valid, MODEL_CASES):
        path.write_bytes(data)
        try:
            model = nn.load_model(path)
        except nn.ModelFileError as error:
            assert str(path) in str(error)
            outcomes["refused"] += 1
        except Exception as error:  # noqa: BLE001 - anything else is the bug under test
            pytest.fail(f"{kind} mutation raised {type(error).__name__}: {error}")
        else:
            # Whatever loads must be the file's model, not a silently damaged one.
            for a, b in zip(model.get_weights(), weights, strict=True):
                np.testing.assert_array_equal(a, b)
            outcomes[f"loaded ({kind})"] += 1
    assert sum(outcomes.values()) == MODEL_CASES
    assert outcomes["refused"] > MODEL_CASES * 0.8, outcomes


def idx_files(count, seed=0):
    rng = random.Random(seed)
    source = np.random.default_rng(seed).integers(0, 256, (5, 4, 3)).astype(np.uint8)
    raw = io.BytesIO()
    raw.write(b"\0\0\x08\x03" + b"".join(n.to_bytes(4, "big") for n in source.shape))
    raw.write(source.tobytes())
    valid = raw.getvalue()
    compressed = gzip.compress(valid, mtime=0)
    for index in range(count):
        kind = index % 5
        base = compressed if index % 2 else valid
        if kind == 0:
            data = rng.choice([b"", b"\0\0", b"\x1f\x8b", b"\0\0\x08"]) + rng.randbytes(
                rng.choice([0, 3, 10, 100])
            )
        elif kind == 1:
            data = bytearray(base)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            data = bytes(data)
        elif kind == 2:
            data = base[: rng.randrange(len(base))]
        elif kind == 3:  # a forged header: type code, ndim and sizes drawn at random
            dims = [rng.choice([0, 1, 5, 2**31, 2**32 - 1]) for _ in range(rng.randint(0, 4))]
            header = bytes([0, 0, rng.choice([8, 9, 11, 12, 13, 14, 7, 255]), len(dims)])
            data = header + b"".join(d.to_bytes(4, "big") for d in dims) + rng.randbytes(60)
        else:
            data = base + rng.randbytes(rng.randint(1, 10))
        yield data


def test_idx_reader_fuzz_raises_only_dataset_file_errors(tmp_path):
    path = tmp_path / "fuzzed-idx3-ubyte"
    outcomes = collections.Counter()
    for data in idx_files(IDX_CASES):
        path.write_bytes(data)
        try:
            array = load_idx(path)
        except DatasetFileError as error:
            assert str(path) in str(error)
            outcomes["refused"] += 1
        except Exception as error:  # noqa: BLE001 - anything else is the bug under test
            pytest.fail(f"IDX input {data[:16]!r}... raised {type(error).__name__}: {error}")
        else:
            assert isinstance(array, np.ndarray)
            outcomes["loaded"] += 1
    assert sum(outcomes.values()) == IDX_CASES
    assert outcomes["refused"] > IDX_CASES * 0.5, outcomes


def test_idx_round_trip_still_works(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    save_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(load_idx(tmp_path / "a.gz"), array)
