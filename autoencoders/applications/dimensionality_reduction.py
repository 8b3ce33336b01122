"""Dimensionality reduction: reconstruction error against code size, PCA vs autoencoders.

For code sizes 2, 8, 16, 32, 64: PCA (the best linear code), a dense autoencoder
(784-k-784), a deep one (784-256-128-k-128-256-784) and a convolutional one (the Keras
blog's conv layers down to 4 x 4 x 8, then a Dense code of size k, and back), all
trained with binary cross-entropy on MNIST. Error: squared error summed over the 784
pixels, averaged over test images (Hinton and Salakhutdinov's 2006 measure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import nn_core as nn

from ..base import Autoencoder
from ..conv import conv_layers
from ..deep import DeepAutoencoder
from ..dense import DenseAutoencoder
from ..pca import PCA, squared_error_per_image
from . import _common as common

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping, Sequence

NAME = "dimensionality_reduction"
TITLE = "Dimensionality reduction: reconstruction error vs code size"
CODE_SIZES = (2, 8, 16, 32, 64)
MODELS = ("PCA", "dense", "deep", "conv")
# epochs per model: the conv model costs about 25 times the dense one per epoch here
QUICK: dict[str, Any] = {
    "batch": 32,
    "train": 800,
    "test": 300,
    "epochs": {"dense": 3, "deep": 3, "conv": 1},
}
FULL: dict[str, Any] = {
    "batch": 128,
    "train": 10000,
    "test": 2000,
    "epochs": {"dense": 20, "deep": 20, "conv": 5},
}


def conv_bottleneck_autoencoder(code_size: int, seed: int | None = 0) -> Autoencoder:
    """Conv (16, 8, 8) + max-pool down to 4 x 4 x 8, Flatten, linear Dense(code_size); the
    decoder mirrors it: Dense(128, relu), Reshape (4, 4, 8), the blog's conv decoder."""
    encoder, decoder = conv_layers((28, 28, 1), (16, 8, 8))
    encoder += [nn.layers.Flatten(), nn.layers.Dense(code_size)]
    decoder = [nn.layers.Dense(128, activation="relu"), nn.layers.Reshape((4, 4, 8)), *decoder]
    return Autoencoder((28, 28, 1), encoder, decoder, seed=seed)


def make_model(kind: str, code_size: int, seed: int | None = 0) -> tuple[Autoencoder, bool]:
    """(autoencoder, whether it takes flat (N, 784) inputs) for a model name of ``MODELS``.

    Every code layer is linear (as Hinton and Salakhutdinov's): a relu code of 2 units
    often dies and would measure dead units, not code size.
    """
    if kind == "dense":
        return DenseAutoencoder(784, code_size, activation="linear", seed=seed), True
    if kind == "deep":
        model = DeepAutoencoder(784, (256, 128), code_size, code_activation="linear", seed=seed)
        return model, True
    return conv_bottleneck_autoencoder(code_size, seed), False


def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Train every (model, code size) pair, measure test error, draw one plot, one table."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    x_train, _ = common.load_images("mnist", "train", settings["train"])
    x_test, _ = common.load_images("mnist", "test", settings["test"])
    flat_train, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    weights = {"PCA": 0.2, "dense": 0.5, "deep": 1.0, "conv": 3.0}
    tracker = common.Tracker(progress, len(CODE_SIZES) * sum(weights.values()))
    errors: dict[str, list[float]] = {kind: [] for kind in MODELS}
    tracker.stage("PCA", weights["PCA"] * len(CODE_SIZES))
    pca = PCA(max(CODE_SIZES)).fit(flat_train)  # the first k components are PCA(k)'s
    centred = flat_test - pca.mean
    for code_size in CODE_SIZES:
        components = pca.components[:code_size]
        reconstructions = centred @ components.T @ components + pca.mean
        errors["PCA"].append(squared_error_per_image(flat_test, reconstructions))
    mean_image_error = squared_error_per_image(
        flat_test, np.broadcast_to(pca.mean, flat_test.shape)
    )
    for code_size in CODE_SIZES:
        for kind in MODELS[1:]:
            update = tracker.stage(f"{kind} autoencoder, code {code_size}", weights[kind])
            model, flat = make_model(kind, code_size, seed)
            inputs = flat_train if flat else common.channels_last(x_train)
            common.train(
                model,
                inputs,
                epochs=settings["epochs"][kind],
                update=update,
                batch_size=settings["batch"],
            )
            test_inputs = flat_test if flat else common.channels_last(x_test)
            reconstructions = model.predict(test_inputs).reshape(len(x_test), -1)
            errors[kind].append(squared_error_per_image(flat_test, reconstructions))
    figure_name = plot(errors, out)
    rows = [
        [code_size, *(common.fmt(errors[kind][i], 2) for kind in MODELS)]
        for i, code_size in enumerate(CODE_SIZES)
    ]
    table = (
        common.markdown_table(["code size", *(f"{kind} error" for kind in MODELS)], rows)
        + common.settings_line(
            MNIST_training_images=len(x_train),
            test_images=len(x_test),
            epochs=", ".join(f"{kind} {count}" for kind, count in settings["epochs"].items()),
            batch=settings["batch"],
            optimizer=common.OPTIMIZER,
            loss="binary cross-entropy",
            error="squared error summed over 784 pixels, mean over test images",
            seed=seed,
        )
        + "\n\nPredicting the mean training image for every test image: error "
        + f"{mean_image_error:.2f}."
    )
    metrics = {
        f"{kind.lower()}_error_code_{code_size}": errors[kind][i]
        for kind in MODELS
        for i, code_size in enumerate(CODE_SIZES)
    }
    metrics["mean_image_error"] = mean_image_error
    seconds = tracker.finish()
    return common.result(NAME, TITLE, metrics, table, [figure_name], seconds)


def plot(errors: Mapping[str, Sequence[float]], out: str | os.PathLike[str]) -> str:
    plt = common.pyplot()
    figure, axis = plt.subplots(figsize=(5.2, 3.6))
    for kind, marker in zip(MODELS, "osD^"):
        axis.plot(CODE_SIZES, errors[kind], marker=marker, label=kind)
    axis.set_xscale("log", base=2)
    axis.set_xticks(CODE_SIZES, [str(size) for size in CODE_SIZES])
    axis.set_xlabel("code size")
    axis.set_ylabel("test squared error per image")
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend()
    axis.set_title("MNIST reconstruction error vs code size", fontsize=10)
    figure.tight_layout()
    return common.save_figure(figure, out, f"{NAME}.png")
