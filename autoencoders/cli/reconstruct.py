"""``autoencoders reconstruct``: originals above their reconstructions, as one PNG."""

from __future__ import annotations

import argparse

import numpy as np

from .common import (
    USAGE_ERROR,
    CliError,
    HelpFormatter,
    fit_to_model,
    load_model,
    output_folder_ready,
    positive_int,
    psnr,
)
from .data import as_images, load_dataset, write_grid
from .evaluate import add_dataset_options

EPILOG = """\
The figure has the originals on the top row and their reconstructions below, like the
classic figure of the Keras blog.

examples:
  autoencoders reconstruct model.npz --out reconstructions.png
  autoencoders reconstruct model.npz --count 20 --start 100 --dataset fashion-mnist
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "reconstruct",
        parents=parents,
        help="a PNG grid of images and their reconstructions",
        description="Reconstruct images with a saved autoencoder and write originals (top "
        "row) and reconstructions (bottom row) as one PNG.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", help="a model file written by `autoencoders train`")
    add_dataset_options(parser)
    parser.add_argument("--count", type=positive_int, default=10, help="images (default 10)")
    parser.add_argument("--start", type=int, default=0, help="index of the first image")
    parser.add_argument(
        "--out", default="reconstructions.png", metavar="PNG",
        help="default reconstructions.png",
    )  # fmt: skip
    parser.set_defaults(run=run)
    return parser


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
    x = fit_to_model(chosen.images, model, args.model, data.source)
    reconstructions = as_images(model.predict(x), data.image_shape)
    write_grid(output_folder_ready(args.out), [chosen.images, reconstructions])
    print(
        f"mean PSNR of these {len(x)} reconstructions: "
        f"{np.mean(psnr(chosen.images, reconstructions)):.2f} dB"
    )
    print(f"wrote {args.out}")
    return 0
