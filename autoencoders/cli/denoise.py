"""``autoencoders denoise``: add noise to images (or take noisy ones) and denoise them."""

from __future__ import annotations

import argparse
import os

import numpy as np

from .. import imageio
from .common import (
    USAGE_ERROR,
    CliError,
    HelpFormatter,
    fit_to_model,
    load_model,
    output_folder_ready,
    positive_float,
    positive_int,
    psnr,
)
from .data import as_images, load_dataset, write_grid
from .evaluate import add_dataset_options

NOISE_KINDS = ("gaussian", "salt-and-pepper", "none")
DEFAULT_LEVELS = {"gaussian": 0.5, "salt-and-pepper": 0.2}

EPILOG = """\
noise (--noise, --noise-level):
  gaussian         x + N(0, level^2), clipped to [0, 1] (default level 0.5, the Keras
                   blog's noise factor)
  salt-and-pepper  a fraction `level` of the pixels set to 0 or 1 (default 0.2)
  none             the images are already noisy: denoise them as they are

With noise added, the grid shows clean / noisy / denoised rows and the PSNR of both
against the clean images is printed; with --noise none, input / denoised rows.

examples:
  autoencoders denoise denoising.npz --out denoised.png
  autoencoders denoise denoising.npz --noise salt-and-pepper --noise-level 0.1
  autoencoders denoise denoising.npz --dataset noisy_scans/ --noise none --out-dir clean/
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "denoise",
        parents=parents,
        help="denoise images (adding noise first, or given noisy ones)",
        description="Denoise images with a saved autoencoder (best one trained with --model "
        "denoising or conv-denoising); write a PNG grid and, optionally, each denoised "
        "image as a PNG.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", help="a model file written by `autoencoders train`")
    add_dataset_options(parser)
    parser.add_argument("--noise", choices=NOISE_KINDS, default="gaussian", help="default gaussian")
    parser.add_argument("--noise-level", type=positive_float, metavar="LEVEL")
    parser.add_argument("--count", type=positive_int, default=10, help="images (default 10)")
    parser.add_argument("--start", type=int, default=0, help="index of the first image")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    parser.add_argument(
        "--out", default="denoised.png", metavar="PNG", help="the grid (default denoised.png)"
    )
    parser.add_argument("--out-dir", metavar="DIR", help="also write each denoised image here")
    parser.set_defaults(run=run)
    return parser


def add_noise(images: np.ndarray, kind: str, level: float, seed: int) -> np.ndarray:
    """Noisy copies of images (N, ...) in [0, 1], float32, still in [0, 1]."""
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        noisy = images + level * rng.standard_normal(images.shape)
    else:
        if level > 1:
            raise CliError(
                "--noise-level for salt-and-pepper is a fraction of pixels, at most 1; "
                f"got {level}",
                USAGE_ERROR,
            )
        noisy = images.copy()
        hit = rng.random(images.shape) < level
        noisy[hit] = rng.integers(0, 2, hit.sum())
    return np.clip(noisy, 0, 1).astype(np.float32)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    data = load_dataset(args.dataset, args.split, args.limit)
    indices = np.arange(args.start, min(args.start + args.count, len(data.images)))
    if args.start < 0 or not len(indices):
        raise CliError(
            f"--start {args.start} is outside the {len(data.images)} images of {data.source}",
            USAGE_ERROR,
        )
    chosen = data.take(indices)
    fit_to_model(chosen.images, model, args.model, data.source)  # check the size first
    if args.noise == "none":
        if args.noise_level is not None:
            raise CliError("--noise-level needs --noise gaussian or salt-and-pepper", USAGE_ERROR)
        noisy = chosen.images
    else:
        level = args.noise_level or DEFAULT_LEVELS[args.noise]
        noisy = add_noise(chosen.images, args.noise, level, args.seed)
    denoised = as_images(
        model.predict(fit_to_model(noisy, model, args.model, data.source)), data.image_shape
    )
    if args.noise == "none":
        rows = [noisy, denoised]
    else:
        rows = [chosen.images, noisy, denoised]
        print(
            f"PSNR against the clean images ({len(noisy)} images, {args.noise} noise "
            f"{level:g}): noisy {np.mean(psnr(chosen.images, noisy)):.2f} dB, "
            f"denoised {np.mean(psnr(chosen.images, denoised)):.2f} dB"
        )
    write_grid(output_folder_ready(args.out), rows)
    print(f"wrote {args.out}")
    if args.out_dir:
        for name, image in zip(chosen.names, denoised):
            imageio.write_png(os.path.join(args.out_dir, f"{name}.png"), image)
        print(f"wrote {len(denoised)} denoised images to {args.out_dir}")
    return 0
