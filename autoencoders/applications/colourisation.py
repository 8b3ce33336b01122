"""Colourisation: grey digits in, colour digits out, on the coloured MNIST made here.

Input: the luminance of a ``colour_mnist`` image (N, 28, 28, 1); target: the colour
image (N, 28, 28, 3). The model: ``ConvAutoencoder``'s layers (32, 32) with a 3-channel
sigmoid output. Baselines: the mean colour image of the training set (each pixel's
mean colour: what a model that ignores the input would best predict in squared error)
and the grey image copied into R, G and B. Error per pixel: mean absolute error and
root mean squared error over pixels and channels, in [0, 1] units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _common as common
from .colour_mnist import colourise, luminance
from .metrics import psnr

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

NAME = "colourisation"
TITLE = "Colourisation: grey to colour on coloured MNIST"
QUICK = {"batch": 32, "train": 1000, "test": 200, "epochs": 3}
FULL = {"batch": 128, "train": 8000, "test": 1000, "epochs": 6}


def errors(target: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """Per-pixel errors of prediction against target, both (N, 28, 28, 3) in [0, 1]."""
    difference = np.asarray(prediction, np.float64) - target
    return {
        "mae": float(np.mean(np.abs(difference))),
        "rmse": float(np.sqrt(np.mean(difference**2))),
        "psnr": float(np.mean(psnr(target, np.clip(prediction, 0, 1)))),
    }


def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Train the colouriser and compare it with the two baselines; draw grey/predicted/true."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    images, labels = common.load_images("mnist", "train", settings["train"])
    colour_train = colourise(images, labels)
    images, test_labels = common.load_images("mnist", "test", settings["test"])
    colour_test = colourise(images, test_labels)
    grey_train, grey_test = luminance(colour_train), luminance(colour_test)
    tracker = common.Tracker(progress, settings["epochs"] + 1)
    model = common.conv_image_model(input_channels=1, output_channels=3, seed=seed)
    common.train(
        model,
        common.channels_last(grey_train),
        colour_train.astype(np.float32),
        epochs=settings["epochs"],
        update=tracker.stage("training the colouriser", settings["epochs"]),
        batch_size=settings["batch"],
    )
    tracker.stage("scoring", 1)
    predicted = model.predict(common.channels_last(grey_test)).astype(np.float64)
    mean_colour = np.broadcast_to(colour_train.mean(axis=0), colour_test.shape)
    grey_rgb = np.repeat(grey_test[..., None], 3, axis=-1)
    results = {
        "autoencoder": errors(colour_test, predicted),
        "mean colour image": errors(colour_test, mean_colour),
        "grey copied to RGB": errors(colour_test, grey_rgb),
    }
    rows, metrics = [], {}
    for method, values in results.items():
        rows.append([method, *(common.fmt(values[k], 4 if k != "psnr" else 2) for k in values)])
        slug = method.split()[0]
        metrics.update({f"{slug}_{k}": v for k, v in values.items()})
    table = common.markdown_table(
        ["prediction", "MAE per pixel", "RMSE per pixel", "PSNR (dB)"], rows
    ) + common.settings_line(
        MNIST_training_images=len(colour_train),
        test_images=len(colour_test),
        epochs=settings["epochs"],
        batch=settings["batch"],
        optimizer=common.OPTIMIZER,
        model="conv (32, 32), 3-channel sigmoid output, BCE",
        seed=seed,
    )
    order = [int(np.flatnonzero(test_labels == digit)[0]) for digit in range(10)]
    figure = common.image_rows_figure(
        [grey_test[order], predicted[order], colour_test[order]],
        ["grey input", "predicted", "true"],
    )
    figure_name = common.save_figure(figure, out, f"{NAME}.png")
    return common.result(NAME, TITLE, metrics, table, [figure_name], tracker.finish())
