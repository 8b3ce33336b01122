"""Watermark removal: a conv autoencoder learns to erase a visible mark from the images.

The mark (``watermark.stamp_watermark``: the copyright logo and "AE" in a 5 x 7 font,
70% white) is stamped at the bottom right ("fixed") or anywhere ("random"). One model
per data set (MNIST, Fashion-MNIST) is trained on images marked at either kind of
place, half and half, with fresh random places every epoch, to output the clean image.
On the test set: PSNR of the marked image (before) and of the model's output (after)
against the clean original.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _common as common
from .metrics import psnr, ssim
from .watermark import stamp_watermark

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Sequence

NAME = "watermark"
TITLE = "Watermark removal: MNIST and Fashion-MNIST"
DATASETS = ("mnist", "fashion-mnist")
POSITIONS = ("fixed", "random")
QUICK = {"batch": 32, "train": 800, "test": 200, "epochs": 3}
FULL = {"batch": 128, "train": 8000, "test": 1000, "epochs": 6}


def marked_mixture(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Images (N, H, W) with the mark at the fixed place (even draws) or a random one."""
    fixed = rng.random(len(images)) < 0.5
    marked = stamp_watermark(images, position="random", seed=rng)
    marked[fixed] = stamp_watermark(images[fixed], position="fixed")
    return marked


def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Train one remover per available data set; PSNR before/after per position kind."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    datasets = [d for d in DATASETS if d == "mnist" or common.fashion_available()]
    tracker = common.Tracker(progress, len(datasets) * (settings["epochs"] + 1))
    rows, metrics, panels = [], {}, []
    for dataset in datasets:
        x_train, _ = common.load_images(dataset, "train", settings["train"])
        x_test, _ = common.load_images(dataset, "test", settings["test"])
        rng = np.random.default_rng(seed)
        model = common.conv_image_model(seed=seed)
        common.train(
            model,
            lambda epoch, x=x_train, rng=rng: common.channels_last(marked_mixture(x, rng)),
            common.channels_last(x_train),
            epochs=settings["epochs"],
            update=tracker.stage(f"training the {dataset} watermark remover", settings["epochs"]),
            batch_size=settings["batch"],
        )
        tracker.stage(f"scoring {dataset}", 1)
        examples = []
        for position in POSITIONS:
            marked = stamp_watermark(x_test, position=position, seed=seed + 1)
            restored = model.predict(common.channels_last(marked))[..., 0]
            before, after = np.mean(psnr(x_test, marked)), np.mean(psnr(x_test, restored))
            ssim_before, ssim_after = np.mean(ssim(x_test, marked)), np.mean(ssim(x_test, restored))
            key = f"{dataset.replace('-', '_')}_{position}"
            metrics.update(
                {
                    f"{key}_psnr_before": before,
                    f"{key}_psnr_after": after,
                    f"{key}_ssim_before": ssim_before,
                    f"{key}_ssim_after": ssim_after,
                }
            )
            rows.append(
                [
                    dataset,
                    position,
                    common.fmt(before, 2),
                    common.fmt(after, 2),
                    common.fmt(ssim_before, 3),
                    common.fmt(ssim_after, 3),
                ]
            )
            examples.append((marked[:4], restored[:4], x_test[:4]))
        panels.append((dataset, examples))
    figure_name = plot(panels, out)
    table = common.markdown_table(
        ["data set", "mark position", "PSNR before", "PSNR after", "SSIM before", "SSIM after"],
        rows,
    ) + common.settings_line(
        training_images=f"{settings['train']} per data set",
        test_images=settings["test"],
        epochs=settings["epochs"],
        batch=settings["batch"],
        optimizer=common.OPTIMIZER,
        model="conv (32, 32), BCE, marks at fresh places every epoch",
        mark="'©AE', 5x7 font, 70% white",
        seed=seed,
    )
    if len(datasets) < len(DATASETS):
        table += "\n\n" + common.FASHION_MISSING_NOTE
    return common.result(NAME, TITLE, metrics, table, [figure_name], tracker.finish())


def plot(
    panels: Sequence[tuple[str, Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]]],
    out: str | os.PathLike[str],
) -> str:
    rows, labels = [], []
    for dataset, examples in panels:
        for name, index in (("marked", 0), ("restored", 1), ("clean", 2)):
            rows.append([image for example in examples for image in example[index]])
            labels.append(f"{'MNIST' if dataset == 'mnist' else 'Fashion'}\n{name}")
    titles = [f"{position}" for position in POSITIONS for _ in range(4)]
    figure = common.image_rows_figure(rows, labels, titles)
    return common.save_figure(figure, out, f"{NAME}.png")
