"""The ``autoencoders`` command-line tool (also ``python -m autoencoders``).

One module per subcommand, each with ``add_parser(subparsers, parents)`` and
``run(args) -> exit code``; ``main`` builds the parser, dispatches, and turns errors in
the user's terms (``CliError``, missing or corrupted files, invalid images, diverged
training) into one ``error: ...`` line on stderr and an exit code: 0 success, 2 a wrong
command line, 1 a command that could not be done, 130 interrupted. Set
``AUTOENCODERS_TRACEBACK=1`` to see the traceback of such an error.

Without a command (or with only the classic options) it trains the classic model, as
``python -m autoencoders`` always has.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import nn_core as nn

from .. import imageio
from . import (
    classic,
    denoise,
    encode,
    evaluate,
    export,
    import_model,
    reconstruct,
    report,
    sample,
    search,
    sweep,
    train,
)
from .common import RUNTIME_ERROR, USAGE_ERROR, CliError, HelpFormatter, did_you_mean

SUBCOMMANDS = (
    classic,
    train,
    evaluate,
    reconstruct,
    denoise,
    encode,
    search,
    sweep,
    sample,
    report,
    export,
    import_model,
)
COMMAND_NAMES = (
    "classic",
    "train",
    "evaluate",
    "reconstruct",
    "denoise",
    "encode",
    "search",
    "sweep",
    "sample",
    "report",
    "export",
    "import",
)

EPILOG = """\
Without a command, trains the classic Keras-blog autoencoder on MNIST and writes
results/classic/ (the old options --epochs, --code-size, --batch-size, --seed, --out
and --quiet still work): see `autoencoders classic --help`.

examples:
  python -m autoencoders                                   # the classic model
  autoencoders train --model conv --epochs 5 --out conv.npz
  autoencoders evaluate conv.npz --dataset mnist
  autoencoders reconstruct conv.npz --out reconstructions.png
  autoencoders train --model denoising --out dae.npz && autoencoders denoise dae.npz
  autoencoders encode conv.npz --out codes.npy
  autoencoders search conv.npz --query-index 0 1 2 --top 8
  autoencoders train --model variational --out vae.npz && autoencoders sample vae.npz
  autoencoders report --quick --out report/
  autoencoders export conv.npz --format onnx               # for onnxruntime
  autoencoders import model.onnx --out model.npz           # e.g. from torch.onnx.export
  autoencoders sweep --code-size 2 8 32 --layers 1 2 --epochs 3 --table   # on Ray if installed
  autoencoders train --model conv --dataset mnist --init-from fashion_conv.npz --freeze-encoder

Images are read and written as PNG by autoencoders.imageio (no matplotlib needed).
Exit codes: 0 done, 1 could not be done (missing or bad file, wrong image size),
2 wrong command line. `autoencoders COMMAND --help` shows each command's options.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autoencoders",
        description="Train autoencoders and use them: reconstruct, denoise, encode, search, "
        "sample, and report on what they are good for.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers, [common])
    return parser


def _with_command(argv: list[str]) -> list[str]:
    """argv with ``classic`` put first when no command is given (the old interface)."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        return ["classic", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool on ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = _with_command(list(sys.argv[1:] if argv is None else argv))
    if argv[0] not in COMMAND_NAMES and not argv[0].startswith("-"):
        print(
            f"autoencoders: error: unknown command {argv[0]!r}"
            f"{did_you_mean(argv[0], COMMAND_NAMES)}; commands: {', '.join(COMMAND_NAMES)} "
            "(see autoencoders --help)",
            file=sys.stderr,
        )
        return USAGE_ERROR
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed
        return exit_.code if isinstance(exit_.code, int) else USAGE_ERROR
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (
        CliError,
        FileNotFoundError,
        nn.ModelFileError,
        nn.TrainingDivergedError,
        imageio.PNGError,
        ValueError,
        OSError,
    ) as error:
        if os.environ.get("AUTOENCODERS_TRACEBACK"):
            raise
        code = error.exit_code if isinstance(error, CliError) else RUNTIME_ERROR
        print(f"autoencoders {args.command}: error: {error}", file=sys.stderr)
        return code
