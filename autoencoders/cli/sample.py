"""``autoencoders sample``: new images from a variational autoencoder."""

from __future__ import annotations

import argparse
import math

import numpy as np

from .. import VariationalAutoencoder
from .common import (
    CliError,
    HelpFormatter,
    load_model,
    model_kind,
    output_folder_ready,
    positive_int,
)
from .data import as_images, flat_image_shape, write_grid

EPILOG = """\
Samples decode z ~ N(0, I). --traversal instead decodes a regular grid of z over the
5%-95% quantiles of N(0, 1) in the first two latent dimensions (the others 0): the
classic 2-D manifold of digits.

examples:
  autoencoders sample vae.npz --count 64 --out samples.png
  autoencoders sample vae.npz --traversal --columns 15 --out manifold.png
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sample",
        parents=parents,
        help="a PNG grid of new images from a variational autoencoder",
        description="Draw new images from a saved variational autoencoder (train one with "
        "`autoencoders train --model variational`).",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", help="a model file written by `autoencoders train`")
    parser.add_argument("--count", type=positive_int, default=64, help="samples (default 64)")
    parser.add_argument("--columns", type=positive_int, help="images per row (default: square)")
    parser.add_argument("--seed", type=int, default=0, help="seed of z (default 0)")
    parser.add_argument("--traversal", action="store_true", help="a latent-space grid instead")
    parser.add_argument("--out", default="samples.png", metavar="PNG", help="default samples.png")
    parser.add_argument("--npy", metavar="NPY", help="also save the samples (N, D) as .npy")
    parser.set_defaults(run=run)
    return parser


def traversal_codes(latent_dim: int, columns: int) -> np.ndarray:
    """(columns^2, latent_dim) codes: a grid over N(0, 1)'s 5%-95% quantiles in dims 0, 1."""
    from statistics import NormalDist

    quantiles = [NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, columns)]
    codes = np.zeros((columns * columns, latent_dim), np.float32)
    for row, z1 in enumerate(reversed(quantiles)):
        for column, z0 in enumerate(quantiles):
            codes[row * columns + column, :2] = (z0, z1)
    return codes


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    if not isinstance(model, VariationalAutoencoder):
        raise CliError(
            f"{args.model} holds {model_kind(model)}; sampling needs a variational "
            "autoencoder: train one with `autoencoders train --model variational`"
        )
    image_shape = flat_image_shape(model.input_shape[0])
    if args.traversal:
        if model.latent_dim < 2:
            raise CliError("--traversal needs a latent space of 2 or more dimensions")
        columns = args.columns or 15
        samples = model.decode(traversal_codes(model.latent_dim, columns))
    else:
        columns = args.columns or math.ceil(math.sqrt(args.count))
        samples = model.sample(args.count, seed=args.seed)
    images = as_images(samples, image_shape)
    rows = [images[start : start + columns] for start in range(0, len(images), columns)]
    write_grid(output_folder_ready(args.out), rows)
    print(f"wrote {args.out} ({len(images)} images)")
    if args.npy:
        np.save(output_folder_ready(args.npy), samples.astype(np.float32))
        print(f"wrote {args.npy}")
    return 0
