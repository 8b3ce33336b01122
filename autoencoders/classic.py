"""The classic MNIST autoencoder of the Keras blog, end to end.

Recipe (Keras blog, 2016): Dense(784 -> 32, relu), Dense(32 -> 784, sigmoid),
Adadelta with learning rate 1.0, binary cross-entropy (mean over pixels), 50 epochs,
batch 256, shuffled, the test set as validation data.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np

import nn_core as nn

from .dense import DenseAutoencoder


def load_mnist_flat(
    path: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as float32 in [0, 1]: x_train (60000, 784), x_test (10000, 784), y_test (10000,)."""
    (x_train, _), (x_test, y_test) = nn.datasets.mnist.load_data(path)
    x_train = x_train.reshape(len(x_train), -1).astype(np.float32) / 255
    x_test = x_test.reshape(len(x_test), -1).astype(np.float32) / 255
    return x_train, x_test, y_test


def build_classic_autoencoder(
    code_size: int = 32, input_size: int = 784, seed: int | None = 0
) -> tuple[nn.Sequential, nn.Sequential, nn.Sequential]:
    """(autoencoder, encoder, decoder), the latter two sharing the autoencoder's layers.

    The three ``Sequential`` models of ``DenseAutoencoder(input_size, code_size, seed=seed)``,
    built in float32.
    """
    classic = DenseAutoencoder(input_size, code_size, seed=seed).build()
    return classic.model, classic.encoder, classic.decoder


def train_classic(
    epochs: int = 50,
    code_size: int = 32,
    batch_size: int = 256,
    out: str | os.PathLike[str] = "results/classic",
    seed: int | None = 0,
    verbose: int = 1,
    init_output_bias: bool = False,
) -> dict[str, Any]:
    """Train the classic autoencoder, save the model, figures and a results.json in ``out``.

    ``init_output_bias``: start the output bias at the logit of the mean training pixel
    (``Autoencoder.init_output_bias``) instead of the recipe's zeros.
    Returns the results dict: final test binary cross-entropy, seconds, epochs, ...
    """
    os.makedirs(out, exist_ok=True)
    x_train, x_test, _ = load_mnist_flat()
    classic = DenseAutoencoder(x_train.shape[1], code_size, seed=seed).build()
    if init_output_bias:
        classic.init_output_bias(x_train)
    autoencoder, encoder = classic.model, classic.encoder
    autoencoder.compile(
        optimizer=nn.optimizers.Adadelta(learning_rate=1.0), loss="binary_crossentropy"
    )
    if verbose:
        autoencoder.summary()
    start = time.perf_counter()
    history = autoencoder.fit(
        x_train,
        x_train,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        validation_data=(x_test, x_test),
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    test_loss = autoencoder.evaluate(x_test, x_test, batch_size=1024)
    codes = encoder.predict(x_test, batch_size=1024)
    results = {
        "model": f"dense 784-{code_size}-784, relu/sigmoid",
        "optimizer": "Adadelta(learning_rate=1.0)",
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "init_output_bias": bool(init_output_bias),
        "test_binary_crossentropy": round(float(test_loss), 5),
        "final_train_loss": round(
            float(history.history["loss"][-1]) if epochs else float("nan"), 5
        ),
        "train_seconds": round(seconds, 1),
        "seconds_per_epoch": round(seconds / max(epochs, 1), 3),
        "mean_code_activation": round(float(codes.mean()), 4),
        "kernel_backend": nn.kernels.backend_name(),
    }
    model_path = os.path.join(out, "classic_autoencoder.npz")
    autoencoder.save(model_path)
    with open(os.path.join(out, "results.json"), "w") as file:
        json.dump({**results, "history": history.history}, file, indent=2)
    figures = _save_figures(autoencoder, x_test, history, out)
    results["files"] = [model_path, os.path.join(out, "results.json"), *figures]
    return results


def _save_figures(autoencoder, x_test, history, out):
    try:
        from .plots import plot_loss_curves, plot_reconstructions
    except ImportError:
        print("matplotlib is not installed (pip install '.[plot]'): skipping the figures")
        return []
    reconstructions = autoencoder.predict(x_test[:20])
    return [
        plot_reconstructions(
            x_test[:20], reconstructions, os.path.join(out, "reconstructions.png")
        ),
        plot_loss_curves(history.history, os.path.join(out, "loss_curves.png")),
    ]
