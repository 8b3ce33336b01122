"""The Keras blog's five autoencoder scripts (examples/keras_blog/) run on nn_core.keras,
and the namespace keeps Keras's names and this project's documented defaults."""

import runpy
from pathlib import Path

import numpy as np
import pytest

import nn_core as nn
from nn_core import keras
from nn_core.training import TrainableModel

pytest.importorskip("matplotlib")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "keras_blog"
SCRIPTS = sorted(path.name for path in EXAMPLES.glob("*.py"))


@pytest.fixture
def small_mnist(monkeypatch):
    """MNIST cut to 512 training and 256 test images, fit to one epoch, no windows."""
    (x_train, y_train), (x_test, y_test) = nn.datasets.mnist.load_data()
    sliced = (x_train[:512], y_train[:512]), (x_test[:256], y_test[:256])
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda *a, **k: sliced)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    original_fit = TrainableModel.fit
    histories = []

    def one_epoch_fit(self, *args, **kwargs):
        kwargs.update(epochs=1, verbose=0)
        validation = kwargs.get("validation_data")
        before = None if validation is None else self.evaluate(*validation, batch_size=256)
        histories.append(original_fit(self, *args, **kwargs))
        histories[-1].loss_before_training = before
        return histories[-1]

    monkeypatch.setattr(TrainableModel, "fit", one_epoch_fit)
    yield histories
    import matplotlib.pyplot as plt

    plt.close("all")


def test_all_five_blog_scripts_are_here():
    assert SCRIPTS == [
        "conv_autoencoder.py",
        "deep_autoencoder.py",
        "denoising_autoencoder.py",
        "simple_autoencoder.py",
        "sparse_autoencoder.py",
    ]


@pytest.mark.parametrize("script", SCRIPTS)
def test_blog_script_runs_and_learns(script, small_mnist):
    namespace = runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    (history,) = small_mnist
    assert np.isfinite(history.history["val_loss"][-1])
    assert history.history["val_loss"][-1] < history.loss_before_training
    assert isinstance(namespace["autoencoder"], nn.Model)


def test_the_simple_scripts_encoder_and_decoder_share_the_autoencoders_arrays(small_mnist):
    namespace = runpy.run_path(str(EXAMPLES / "simple_autoencoder.py"), run_name="__main__")
    autoencoder = namespace["autoencoder"]
    assert namespace["encoder"].weight_arrays()[0] is autoencoder.weight_arrays()[0]
    assert namespace["decoder"].weight_arrays()[0] is autoencoder.weight_arrays()[2]
    np.testing.assert_allclose(
        namespace["decoded_imgs"], autoencoder.predict(namespace["x_test"]), rtol=1e-5, atol=1e-6
    )


def test_the_blog_model_trains_bit_identically_to_the_same_sequential(small_mnist):
    """After one set_random_seed, the blog's graph and the equivalent Sequential get the
    same first seed, hence the same weights and the same losses, bit for bit."""
    (x, _), _ = keras.datasets.mnist.load_data()
    x = (x.reshape(-1, 784) / 255.0).astype("float32")
    results = []
    for kind in ("graph", "sequential"):
        keras.utils.set_random_seed(0)
        try:
            if kind == "graph":
                inputs = keras.layers.Input(shape=(784,))
                encoded = keras.layers.Dense(32, activation="relu")(inputs)
                model = keras.models.Model(
                    inputs, keras.layers.Dense(784, activation="sigmoid")(encoded)
                )
            else:
                model = keras.models.Sequential(
                    [
                        keras.layers.Dense(32, activation="relu"),
                        keras.layers.Dense(784, activation="sigmoid"),
                    ]
                )
        finally:
            keras.utils.set_random_seed(None)
        model.compile(optimizer="adadelta", loss="binary_crossentropy")
        history = model.fit(x, x, batch_size=256, shuffle=True)
        results.append((history.history["loss"], model.get_weights()))
    (graph_loss, graph_weights), (stack_loss, stack_weights) = results
    assert graph_loss == stack_loss
    for a, b in zip(graph_weights, stack_weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_adadelta_by_name_keeps_learning_rate_one():
    assert keras.optimizers.get("adadelta").learning_rate == 1.0


def test_lowercase_regularizers_are_keras_functions():
    assert isinstance(keras.regularizers.l1(10e-5), nn.regularizers.L1)
    assert keras.regularizers.l1(10e-5).get_config() == nn.regularizers.L1(1e-4).get_config()
    assert isinstance(keras.regularizers.l2(), nn.regularizers.L2)
    both = keras.regularizers.l1_l2(l1=0.1, l2=0.2)
    assert isinstance(both, nn.regularizers.L1L2)


def test_unsupported_keras_arguments_and_tensorboard_are_refused_by_name():
    with pytest.raises(TypeError, match=r"Dense: argument\(s\) \['kernel_constraint'\]"):
        keras.layers.Dense(3, kernel_constraint="max_norm")
    with pytest.raises(TypeError, match="TensorBoard is not supported"):
        keras.callbacks.TensorBoard(log_dir="/tmp/autoencoder")


def test_load_data_returns_keras_shapes_and_dtypes():
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_test.shape == (10000,) and x_test.shape == (10000, 28, 28)
