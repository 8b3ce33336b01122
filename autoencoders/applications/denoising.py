"""Denoising: a convolutional autoencoder and a U-Net against Gaussian and salt-and-pepper noise.

The model (the Keras blog's denoiser layers, ``_common.conv_image_model``) is trained
on MNIST with noisy inputs and clean targets, every epoch with fresh noise: each image
gets one of the six noise conditions below at random (a blind denoiser: it is not told
which). It is compared on test digits with the noisy input itself and with two classical
filters: a 3 x 3 median filter and a Gaussian filter whose sigma (0.5, 1 or 1.5 pixels)
is chosen per condition for the best PSNR on the test images (a favour to the baseline).

The U-Net (Ronneberger, Fischer and Brox, 2015, at MNIST's scale) is the same encoder and
decoder with skip connections: each decoder stage also sees, through ``Concatenate``,
the encoder's map of the same size, so fine detail need not pass through the 7 x 7 code.
It is an ``nn_core.Model`` graph, trained on the same images, noise, epochs and batch size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import nn_core as nn
from nn_core import layers as L

from . import _common as common
from .filters import gaussian_filter, median_filter
from .metrics import psnr, ssim
from .noise import add_noise

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Sequence

NAME = "denoising"
TITLE = "Denoising: Gaussian and salt-and-pepper noise"
CONDITIONS = (
    ("gaussian", 0.1),
    ("gaussian", 0.3),
    ("gaussian", 0.5),
    ("salt_and_pepper", 0.05),
    ("salt_and_pepper", 0.15),
    ("salt_and_pepper", 0.3),
)
GAUSSIAN_SIGMAS = (0.5, 1.0, 1.5)
METHODS = ("noisy", "autoencoder", "U-Net", "median 3x3", "gaussian filter")
QUICK = {"batch": 32, "train": 1000, "test": 200, "epochs": 3}
FULL = {"batch": 128, "train": 8000, "test": 1000, "epochs": 8}


def noisy_mixture(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image (N, H, W) corrupted by one of ``CONDITIONS``, chosen at random per image."""
    choice = rng.integers(len(CONDITIONS), size=len(images))
    noisy = np.empty(images.shape, dtype=np.float32)
    for index, (kind, level) in enumerate(CONDITIONS):
        chosen = choice == index
        noisy[chosen] = add_noise(images[chosen], kind, level, rng)
    return noisy


def unet(filters: Sequence[int] = (32, 32), seed: int | None = 0) -> nn.Model:
    """(N, 28, 28, 1) -> (N, 28, 28, 1): conv_image_model's layers plus two skip connections.

    encoder: Conv 3x3 relu (28x28) -> pool -> Conv (14x14) -> pool -> 7x7 code;
    decoder: Conv + upsample to 14x14, joined with the encoder's 14x14 map; Conv +
    upsample to 28x28, joined with the 28x28 map; Conv 3x3 sigmoid to one channel.
    """
    images = nn.Input((28, 28, 1), name="noisy")
    skips, tensor = [], images
    for count in filters:
        tensor = L.Conv2D(count, 3, padding="same", activation="relu")(tensor)
        skips.append(tensor)
        tensor = L.MaxPooling2D(padding="same")(tensor)
    for count, skip in zip(reversed(filters), reversed(skips)):
        tensor = L.UpSampling2D()(L.Conv2D(count, 3, padding="same", activation="relu")(tensor))
        tensor = L.Concatenate()([tensor, skip])
    clean = L.Conv2D(1, 3, padding="same", activation="sigmoid")(tensor)
    return nn.Model(images, clean, name="unet_denoiser", seed=seed)


def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Train the blind denoiser, score it and the filters per condition, draw the grid."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    x_train, _ = common.load_images("mnist", "train", settings["train"])
    x_test, _ = common.load_images("mnist", "test", settings["test"])
    tracker = common.Tracker(progress, 2 * settings["epochs"] + len(CONDITIONS) * 0.5)
    models = {"autoencoder": common.conv_image_model(seed=seed), "U-Net": unet(seed=seed)}
    for label, model in models.items():
        rng = np.random.default_rng(seed)  # the same noisy images for both models
        common.train(
            model,
            lambda epoch, rng=rng: common.channels_last(noisy_mixture(x_train, rng)),
            common.channels_last(x_train),
            epochs=settings["epochs"],
            update=tracker.stage(f"training the denoising {label}", settings["epochs"]),
            batch_size=settings["batch"],
            loss="binary_crossentropy",
        )
    scores: dict[tuple[str, float], dict[str, Any]] = {}
    examples = []
    for index, (kind, level) in enumerate(CONDITIONS):
        tracker.stage(f"scoring {kind} {level}", 0.5)
        noisy = add_noise(x_test, kind, level, seed=seed + 1000 + index)
        outputs = {
            "noisy": noisy,
            "autoencoder": models["autoencoder"].predict(common.channels_last(noisy))[..., 0],
            "U-Net": models["U-Net"].predict(common.channels_last(noisy))[..., 0],
            "median 3x3": median_filter(noisy, 3),
        }
        candidates = [gaussian_filter(noisy, sigma) for sigma in GAUSSIAN_SIGMAS]
        best = int(np.argmax([np.mean(psnr(x_test, c)) for c in candidates]))
        outputs["gaussian filter"] = candidates[best]
        scores[(kind, level)] = {
            method: (np.mean(psnr(x_test, image)), np.mean(ssim(x_test, image)))
            for method, image in outputs.items()
        }
        scores[(kind, level)]["sigma"] = GAUSSIAN_SIGMAS[best]
        examples.append(
            (kind, level, {k: v[index * 2 : index * 2 + 2] for k, v in outputs.items()})
        )
    figure_name = plot(x_test, examples, out)
    rows, metrics = [], {}
    for (kind, level), score in scores.items():
        label = f"{kind.replace('_', '-')} {level}"
        rows.append(
            [label]
            + [common.fmt(score[m][0], 2) for m in METHODS]
            + [common.fmt(score[m][1], 3) for m in METHODS]
        )
        key = f"{kind}_{level}"
        for method in METHODS:
            slug = method.split()[0].lower().replace("-", "")  # U-Net: unet
            metrics[f"{key}_psnr_{slug}"] = score[method][0]
            metrics[f"{key}_ssim_{slug}"] = score[method][1]
    headers = ["noise, level"] + [f"PSNR {m}" for m in METHODS] + [f"SSIM {m}" for m in METHODS]
    sigmas = ", ".join(f"{k.replace('_', '-')} {lv}: {s['sigma']}" for (k, lv), s in scores.items())
    table = common.markdown_table(headers, rows) + common.settings_line(
        MNIST_training_images=len(x_train),
        test_images=len(x_test),
        epochs=settings["epochs"],
        batch=settings["batch"],
        optimizer=common.OPTIMIZER,
        model="conv (32, 32) to a 7x7x32 code, BCE, fresh noise every epoch",
        U_Net="the same layers with Concatenate skips at 14x14 and 28x28",
        PSNR="dB, mean over test images",
        gaussian_filter_sigma=f"({sigmas})",
        seed=seed,
    )
    return common.result(NAME, TITLE, metrics, table, [figure_name], tracker.finish())


def plot(
    x_test: np.ndarray,
    examples: Sequence[tuple[str, float, dict[str, np.ndarray]]],
    out: str | os.PathLike[str],
) -> str:
    columns: dict[str, list[np.ndarray]] = {"clean": []}
    titles: list[str] = []
    for kind, level, outputs in examples:
        for i in range(2):
            titles.append(f"{'gauss' if kind == 'gaussian' else 's&p'} {level}")
            for method in METHODS:
                columns.setdefault(method, []).append(outputs[method][i])
    for index in range(len(examples)):
        columns["clean"] += [x_test[index * 2], x_test[index * 2 + 1]]
    labels = ["clean", *METHODS]
    figure = common.image_rows_figure([columns[label] for label in labels], labels, titles)
    return common.save_figure(figure, out, f"{NAME}.png")
