"""``autoencoders encode``: the codes of a dataset, written to a .npy file."""

from __future__ import annotations

import argparse

import numpy as np

from .common import (
    CliError,
    HelpFormatter,
    fit_to_model,
    in_chunks,
    load_model,
    output_folder_ready,
)
from .data import load_dataset
from .evaluate import add_dataset_options

EPILOG = """\
The codes are float32, (N, code size) for the dense models, (N, h, w, filters) for the
convolutional ones, the posterior means for the VAE. With --labels-out, the labels of
mnist / fashion-mnist are written too (to colour plots or score clusterings).

examples:
  autoencoders encode model.npz --out codes.npy
  autoencoders encode model.npz --split train --out train_codes.npy --labels-out labels.npy
  autoencoders encode model.npz --dataset my_images/ --out codes.npy
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "encode",
        parents=parents,
        help="write the codes of a dataset to a .npy file",
        description="Encode a dataset with a saved autoencoder and save the codes as .npy.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", help="a model file written by `autoencoders train`")
    add_dataset_options(parser)
    parser.add_argument("--out", default="codes.npy", metavar="NPY", help="default codes.npy")
    parser.add_argument("--labels-out", metavar="NPY", help="also write the labels here")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    data = load_dataset(args.dataset, args.split, args.limit)
    if args.labels_out and data.labels is None:
        raise CliError(f"{data.source} has no labels to write (--labels-out)")
    x = fit_to_model(data.images, model, args.model, data.source)
    codes = in_chunks(model.encode, x, "encode", args.quiet).astype(np.float32)
    np.save(output_folder_ready(args.out), codes)
    print(f"wrote {args.out}: codes of shape {codes.shape} for {data.source}")
    if args.labels_out and data.labels is not None:  # None was refused above
        np.save(output_folder_ready(args.labels_out), data.labels)
        print(f"wrote {args.labels_out}: labels of shape {data.labels.shape}")
    return 0
