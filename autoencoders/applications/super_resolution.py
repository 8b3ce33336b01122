"""Super-resolution: 14 x 14 -> 28 x 28 with a convolutional autoencoder.

Low-resolution digits are made by averaging 2 x 2 blocks (``downsample_mean``). The
model (``ConvAutoencoder``'s layers with filters (32, 32)) takes the bicubic upsampling
of the 14 x 14 digit (as SRCNN does, Dong et al. 2014) and is trained to output the
28 x 28 original. Baselines: nearest-neighbour and bicubic (Keys a = -0.5, clipped to
[0, 1]) upsampling, written in ``upsampling``. PSNR and SSIM against the originals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _common as common
from .metrics import psnr, ssim
from .upsampling import downsample_mean, upsample_bicubic, upsample_nearest

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

NAME = "super_resolution"
TITLE = "Super-resolution: 14x14 to 28x28"
QUICK = {"batch": 32, "train": 1000, "test": 200, "epochs": 3}
FULL = {"batch": 128, "train": 8000, "test": 1000, "epochs": 8}


def bicubic_input(images: np.ndarray) -> np.ndarray:
    """Originals (N, 28, 28) -> their 2x2-averaged versions upsampled bicubically, clipped."""
    return np.clip(upsample_bicubic(downsample_mean(images, 2), 2), 0.0, 1.0)


def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Train the upsampler; compare PSNR/SSIM with nearest and bicubic; draw examples."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    x_train, _ = common.load_images("mnist", "train", settings["train"])
    x_test, _ = common.load_images("mnist", "test", settings["test"])
    tracker = common.Tracker(progress, settings["epochs"] + 1)
    model = common.conv_image_model(seed=seed)
    common.train(
        model,
        common.channels_last(bicubic_input(x_train)),
        common.channels_last(x_train),
        epochs=settings["epochs"],
        update=tracker.stage("training the upsampler", settings["epochs"]),
        batch_size=settings["batch"],
    )
    tracker.stage("scoring", 1)
    low = downsample_mean(x_test, 2)
    outputs = {
        "nearest": upsample_nearest(low, 2),
        "bicubic": np.clip(upsample_bicubic(low, 2), 0.0, 1.0),
    }
    outputs["autoencoder"] = model.predict(common.channels_last(outputs["bicubic"]))[..., 0]
    rows, metrics = [], {}
    for method, images in outputs.items():
        value_psnr, value_ssim = np.mean(psnr(x_test, images)), np.mean(ssim(x_test, images))
        metrics[f"{method}_psnr"], metrics[f"{method}_ssim"] = value_psnr, value_ssim
        rows.append([method, common.fmt(value_psnr, 2), common.fmt(value_ssim, 3)])
    table = common.markdown_table(["14x14 -> 28x28", "PSNR (dB)", "SSIM"], rows)
    table += common.settings_line(
        MNIST_training_images=len(x_train),
        test_images=len(x_test),
        epochs=settings["epochs"],
        batch=settings["batch"],
        optimizer=common.OPTIMIZER,
        model="conv (32, 32) on the bicubic upsampling, BCE",
        low_resolution="2x2 block means",
        seed=seed,
    )
    count = 8
    figure = common.image_rows_figure(
        [
            upsample_nearest(low[:count], 2),
            outputs["bicubic"][:count],
            outputs["autoencoder"][:count],
            x_test[:count],
        ],
        ["14x14 input\n(nearest)", "bicubic", "autoencoder", "original"],
    )
    figure_name = common.save_figure(figure, out, f"{NAME}.png")
    return common.result(NAME, TITLE, metrics, table, [figure_name], tracker.finish())
