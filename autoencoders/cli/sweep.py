"""``autoencoders sweep``: a grid or random search over autoencoder configurations."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import sweep as sweeps
from ..sweep.results import SORT_KEYS
from .common import (
    USAGE_ERROR,
    CliError,
    HelpFormatter,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
)
from .train import LOSSES, MODELS, OPTIMIZERS

EPILOG = """\
Every combination of the listed values is a trial (or --samples N of them, drawn at
random; --learning-rate-range LOW HIGH then draws the rate log-uniformly). A trial
trains for --epochs, then is evaluated on the test split of MNIST / Fashion-MNIST (else
on the validation images): test loss, MSE, PSNR, parameter count, wall time. It is
seeded from --seed and its own configuration, so it gives the same numbers on any
backend and machine (one nn_core thread per trial).

Backends: ray (Ray Tune: a local Ray with --cpus CPUs, or a running head with
--address; one trial per CPU; --early-stopping stops bad trials with ASHA), serial
(one trial after another here), auto (ray when installed, else serial).

Each finished trial is appended to --results at once; rerunning the same command skips
the trials already there, so a killed sweep resumes. --table prints them sorted; the
figures (matplotlib) are error against code size per number of layers, and the Pareto
front of error against parameter count, best configuration marked.

examples:
  autoencoders sweep --code-size 2 4 8 16 32 64 --layers 1 2 3 --limit 10000 --epochs 3
  autoencoders sweep --model deep sparse --loss bce mse --samples 8 --results s.jsonl
  autoencoders sweep --learning-rate-range 1e-4 1e-2 --samples 10 --early-stopping
  autoencoders sweep --address auto --code-size 8 16 32      # on a running Ray cluster
  autoencoders sweep --results s.jsonl --table               # print what s.jsonl holds
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sweep",
        parents=parents,
        help="search over model kind, code size, layers, nodes, loss, optimizer, rate",
        description="Train and evaluate many autoencoder configurations (a grid or a random "
        "search), in parallel on Ray Tune or one after another; record them in a JSONL file; "
        "print them sorted and plot error against code size and parameter count.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    space = parser.add_argument_group("search space (each option takes one or more values)")
    space.add_argument("--model", nargs="+", metavar="NAME",
                       help="of: " + ", ".join(MODELS) + " (default deep)")  # fmt: skip
    space.add_argument("--code-size", nargs="+", type=positive_int, metavar="N",
                       help="default: the model's own (32)")  # fmt: skip
    space.add_argument("--layers", nargs="+", type=non_negative_int, metavar="N",
                       help="hidden layers each way (default: the model's own)")  # fmt: skip
    space.add_argument("--nodes", nargs="+", type=positive_int, metavar="N",
                       help="units per hidden layer (default: the model's own)")  # fmt: skip
    space.add_argument("--loss", nargs="+", choices=LOSSES, metavar="LOSS",
                       help="of: " + ", ".join(LOSSES) + " (default bce)")  # fmt: skip
    space.add_argument("--optimizer", nargs="+", choices=OPTIMIZERS, metavar="NAME",
                       help="of: " + ", ".join(OPTIMIZERS) + " (default adam)")  # fmt: skip
    rates = space.add_mutually_exclusive_group()
    rates.add_argument("--learning-rate", nargs="+", type=positive_float, metavar="LR",
                       help="default: the optimizer's own")  # fmt: skip
    rates.add_argument("--learning-rate-range", nargs=2, type=positive_float,
                       metavar=("LOW", "HIGH"), help="with --samples: log-uniform")  # fmt: skip
    parser.add_argument("--samples", type=positive_int, metavar="N",
                        help="random search: N configurations drawn from the space")  # fmt: skip
    parser.add_argument("--dataset", default="mnist", metavar="DATA",
                        help="mnist, fashion-mnist, a .png folder or a .npy file")  # fmt: skip
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="the first N images of each split")  # fmt: skip
    parser.add_argument("--epochs", type=positive_int, default=5, help="per trial (default 5)")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="default 256")
    parser.add_argument("--validation-split", type=fraction, default=0.1, metavar="FRACTION",
                        help="held-out training images for val_loss (default 0.1)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="of the sweep (default 0)")
    parser.add_argument("--backend", choices=sweeps.runner.BACKENDS, default="auto",
                        help="ray, serial, or auto: ray when installed (default)")  # fmt: skip
    parser.add_argument("--cpus", type=positive_int, metavar="N",
                        help="the local Ray's CPUs, one trial each (default: all)")  # fmt: skip
    parser.add_argument("--address", metavar="ADDRESS",
                        help="a running Ray head instead of a local Ray, e.g. auto")  # fmt: skip
    parser.add_argument("--early-stopping", action="store_true",
                        help="stop bad trials early with Ray Tune's ASHA scheduler")  # fmt: skip
    parser.add_argument("--results", default="sweep.jsonl", metavar="FILE.jsonl",
                        help="where trials are recorded (default sweep.jsonl)")  # fmt: skip
    parser.add_argument("--table", action="store_true",
                        help="print the results sorted (alone: those of --results)")  # fmt: skip
    parser.add_argument("--sort", choices=SORT_KEYS, default="test_loss",
                        help="the --table order (default test_loss)")  # fmt: skip
    parser.add_argument("--figures", metavar="FOLDER",
                        help="where the figures go (default: beside --results)")  # fmt: skip
    parser.set_defaults(run=run)
    return parser


SPACE_OPTIONS = ("model", "code_size", "layers", "nodes", "loss", "optimizer", "learning_rate")


def search_space(args: argparse.Namespace) -> dict[str, Any]:
    """The space the options describe: the keys given, and the model (default deep)."""
    space = {key: getattr(args, key) for key in SPACE_OPTIONS if getattr(args, key) is not None}
    space.setdefault("model", ["deep"])
    if args.learning_rate_range is not None:
        if args.samples is None:
            raise CliError("--learning-rate-range needs --samples (a random search)", USAGE_ERROR)
        low, high = args.learning_rate_range
        space["learning_rate"] = {"log_uniform": [low, high]}
    return space


def _space_given(args) -> bool:
    options = (*SPACE_OPTIONS, "learning_rate_range", "samples")
    return any(getattr(args, key) is not None for key in options)


def run(args: argparse.Namespace) -> int:
    if args.address and args.cpus:
        raise CliError("give --cpus for a local Ray or --address for a running one", USAGE_ERROR)
    if args.table and not _space_given(args):
        records = sweeps.read_results(args.results)
        if not records:
            raise CliError(f"no results in {args.results!r}; run a sweep first")
    else:
        try:
            space = search_space(args)
            sweeps.sweep_configs(space, args.samples, args.seed)
        except ValueError as error:
            raise CliError(str(error), USAGE_ERROR) from None
        records = sweeps.run(
            space,
            args.dataset,
            samples=args.samples,
            epochs=args.epochs,
            seed=args.seed,
            limit=args.limit,
            batch_size=args.batch_size,
            validation_split=args.validation_split,
            results=args.results,
            backend=args.backend,
            num_cpus=args.cpus,
            address=args.address,
            early_stopping=args.early_stopping,
            log=None if args.quiet else print,
        )
        figures = args.figures or os.path.dirname(os.path.abspath(args.results))
        stem = os.path.splitext(os.path.basename(args.results))[0]
        for path in sweeps.write_figures(records, figures, prefix=stem):
            print(f"wrote {path}")
        print(f"{len(records)} trials in {args.results}")
    if args.table:
        print(sweeps.format_table(records, args.sort))
    return 0
