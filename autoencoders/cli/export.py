"""``autoencoders export``: a trained model (or its encoder or decoder) for other frameworks.

Formats (``--format``):

* ``onnx``: the whole computation, for onnxruntime or any ONNX runtime
  (``nn_core.onnx.export``; inputs stay NHWC, the batch axis is dynamic);
* ``safetensors``: the weights under nn_core's names (``model.save_weights``);
* ``torch``: the weights named and laid out as the equivalent ``torch.nn`` module's state
  dict (``nn_core.interop.torch_state_dict``), in a safetensors file that
  ``safetensors.torch.load_file`` reads and ``module.load_state_dict`` takes. It is never
  a ``.pt`` pickle.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from .common import USAGE_ERROR, CliError, HelpFormatter, load_model, output_folder_ready

if TYPE_CHECKING:
    import nn_core as nn

    from ..base import Autoencoder
    from .common import SequentialAutoencoder

FORMATS = {"onnx": ".onnx", "safetensors": ".safetensors", "torch": ".torch.safetensors"}
PARTS = ("model", "encoder", "decoder")

EPILOG = """\
examples:
  autoencoders export conv.npz --format onnx                 # writes conv.onnx
  autoencoders export conv.npz --format onnx --part encoder --out conv_encoder.onnx
  autoencoders export dense.npz --format torch               # dense.torch.safetensors
  autoencoders export dense.npz --format safetensors

Run an exported ONNX model:
  import onnxruntime as ort
  session = ort.InferenceSession("conv.onnx")
  codes = session.run(None, {session.get_inputs()[0].name: images})   # images (N, 28, 28, 1)

Load the torch format into the equivalent torch.nn module:
  from safetensors.torch import load_file
  module.load_state_dict(load_file("dense.torch.safetensors"))
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export",
        parents=parents,
        help="write a model for ONNX runtimes, PyTorch or safetensors",
        description="Export a trained model, or its encoder or decoder, as ONNX, as "
        "safetensors weights, or as a PyTorch state dict (in a safetensors file).",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", help="a model file written by `autoencoders train` or import")
    parser.add_argument(
        "--format", required=True, choices=FORMATS, help="onnx, safetensors or torch"
    )
    parser.add_argument(
        "--part", default="model", choices=PARTS,
        help="the whole autoencoder (default), its encoder or its decoder",
    )  # fmt: skip
    parser.add_argument(
        "--opset", type=int, metavar="N", help="ONNX opset (default: the exporter's)"
    )
    parser.add_argument(
        "--out", metavar="PATH", help="default: the model's name with .onnx, .safetensors or "
        ".torch.safetensors",
    )  # fmt: skip
    parser.set_defaults(run=run)
    return parser


def model_part(
    autoencoder: Autoencoder | SequentialAutoencoder, part: str, path: str
) -> nn.Sequential | nn.Model:
    """The nn_core model of ``part`` ("model", "encoder", "decoder"), or a CliError."""
    model = getattr(autoencoder, part, None) if part != "model" else autoencoder.model
    if model is None:
        raise CliError(f"{path!r} holds a model with no {part} part; export --part model")
    return model


def run(args: argparse.Namespace) -> int:
    if args.opset is not None and args.format != "onnx":
        raise CliError(f"--opset is for --format onnx, not {args.format}", USAGE_ERROR)
    autoencoder = load_model(args.model)
    model = model_part(autoencoder, args.part, args.model)
    stem = os.path.splitext(args.model)[0] + ("" if args.part == "model" else f"_{args.part}")
    out = output_folder_ready(args.out or stem + FORMATS[args.format])
    if args.format == "onnx":
        from nn_core import onnx as nn_onnx

        nn_onnx.export(model, out, opset=args.opset)
    elif args.format == "safetensors":
        model.save_weights(out)
    else:
        from nn_core import interop

        interop.save_torch_state_dict(model, out)
    print(f"wrote {out}: the {args.part} of {args.model} as {args.format}")
    return 0
