"""Keras 3 weight files written by Keras itself (JAX backend, CPU) load into the equivalent
nn_core model: the Keras blog's dense, deep and conv autoencoders predict what Keras predicts."""

import os
import zipfile

import numpy as np
import pytest
from weights_models import blog_model, images

from nn_core.errors import ModelFileError

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")
if keras.backend.backend() != "jax":  # pragma: no cover - another backend was chosen first
    pytest.skip("these tests write their files with Keras on JAX", allow_module_level=True)


def keras_blog_model(name):
    layers = keras.layers
    if name == "dense":
        stack = [layers.Dense(32, activation="relu"), layers.Dense(784, activation="sigmoid")]
        shape = (784,)
    elif name == "deep":
        units = [(128, "relu"), (64, "relu"), (32, "relu"), (64, "relu"), (128, "relu")]
        stack = [layers.Dense(u, activation=a) for u, a in units]
        stack.append(layers.Dense(784, activation="sigmoid"))
        shape = (784,)
    else:

        def conv(filters, padding="same", activation="relu"):
            return layers.Conv2D(filters, (3, 3), activation=activation, padding=padding)

        stack = [
            conv(16), layers.MaxPooling2D((2, 2), padding="same"),
            conv(8), layers.MaxPooling2D((2, 2), padding="same"),
            conv(8), layers.MaxPooling2D((2, 2), padding="same"),
            conv(8), layers.UpSampling2D((2, 2)),
            conv(8), layers.UpSampling2D((2, 2)),
            conv(16, padding="valid"), layers.UpSampling2D((2, 2)),
            conv(1, activation="sigmoid"),
        ]  # fmt: skip
        shape = (28, 28, 1)
    model = keras.Sequential([keras.Input(shape), *stack])
    rng = np.random.default_rng(7)
    # Keras's own initial kernels, and non-zero biases so that a bias mix-up shows.
    model.set_weights(
        [
            w if w.ndim > 1 else rng.normal(0, 0.2, w.shape).astype(w.dtype)
            for w in model.get_weights()
        ]
    )
    return model, shape


@pytest.mark.parametrize("name", ["dense", "deep", "conv"])
@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
def test_a_keras_written_file_predicts_what_keras_predicts(tmp_path, name, suffix):
    keras_model, shape = keras_blog_model(name)
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".keras":
        keras_model.save(path)
    else:
        keras_model.save_weights(path)
    x = images(shape, count=5)
    expected = np.asarray(keras_model.predict(x, verbose=0))

    model = blog_model(name, seed=3)
    before = model.predict(x)
    model.load_weights(path)
    assert np.abs(before - expected).max() > 1e-3  # the load changed what it computes
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-5)


def test_a_keras_file_of_another_architecture_is_refused_naming_the_mismatch(tmp_path):
    keras_model, _ = keras_blog_model("dense")
    path = tmp_path / "dense.weights.h5"
    keras_model.save_weights(path)
    model = blog_model("deep")
    before = model.get_weights()
    with pytest.raises(ModelFileError, match="dense.weights.h5"):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing copied before the check failed


def test_a_keras_archive_that_is_not_a_zip_or_lacks_its_weights_is_refused(tmp_path):
    model = blog_model("dense")
    not_zip = tmp_path / "bad.keras"
    not_zip.write_bytes(b"not a zip archive")
    with pytest.raises(ModelFileError, match="bad.keras"):
        model.load_weights(not_zip)
    empty = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(ModelFileError, match="empty.keras"):
        model.load_weights(empty)
