"""``autoencoders evaluate``: a saved model's loss, MSE and PSNR on a dataset."""

from __future__ import annotations

import argparse

from .common import (
    HelpFormatter,
    fit_to_model,
    in_chunks,
    load_model,
    positive_int,
    reconstruction_metrics,
)
from .data import load_dataset

EPILOG = """\
PSNR is 10 log10(1 / MSE) in dB for pixels in [0, 1], averaged over the images.
The loss is the one the model was trained with (penalties included), when known.

examples:
  autoencoders evaluate model.npz
  autoencoders evaluate model.npz --dataset fashion-mnist --limit 1000
  autoencoders evaluate model.npz --dataset my_images/
"""


def add_dataset_options(parser: argparse.ArgumentParser, default_split: str = "test") -> None:
    """--dataset, --split and --limit, as every inference subcommand takes them."""
    parser.add_argument(
        "--dataset", default="mnist", metavar="DATA",
        help="mnist, fashion-mnist, a folder of .png images, a .png or a .npy file "
        "(default mnist)",
    )  # fmt: skip
    parser.add_argument(
        "--split", choices=("train", "test"), default=default_split,
        help=f"for mnist and fashion-mnist: which split (default {default_split})",
    )  # fmt: skip
    parser.add_argument("--limit", type=positive_int, metavar="N", help="the first N images only")


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "evaluate",
        parents=parents,
        help="loss, MSE and PSNR of a saved model on a dataset",
        description="Evaluate a saved autoencoder: its loss, the mean squared error and the "
        "PSNR of its reconstructions of a dataset.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", help="a model file written by `autoencoders train`")
    add_dataset_options(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    data = load_dataset(args.dataset, args.split, args.limit)
    x = fit_to_model(data.images, model, args.model, data.source)
    reconstructions = in_chunks(model.predict, x, "reconstruct", args.quiet)
    metrics = reconstruction_metrics(x, reconstructions)
    loss_function = getattr(model.model, "loss", None)  # None: the file has no compiled loss
    loss = None if loss_function is None else model.evaluate(x)
    print(f"{args.model} on {len(x)} images of {data.source}:")
    if loss_function is not None:
        print(f"  loss ({loss_function.name}): {loss:.5f}")
    print(f"  MSE:  {metrics['mse']:.5f}")
    print(f"  PSNR: {metrics['psnr_db']:.2f} dB")
    return 0
