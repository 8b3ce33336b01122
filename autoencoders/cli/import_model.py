"""``autoencoders import``: an ONNX model (from PyTorch, Keras, ...) as an nn_core model file.

The ONNX graph is rebuilt from nn_core layers (``nn_core.onnx.load``) and saved in
nn_core's own format, so ``evaluate``, ``reconstruct``, ``encode`` and ``train
--init-from`` take it, and it can be fine-tuned in Python with ``nn.load_model``. An
NCHW image input (N, C, H, W) becomes an NHWC one (N, H, W, C), nn_core's layout.
"""

from __future__ import annotations

import argparse
import os

from .common import CliError, HelpFormatter, output_folder_ready

EPILOG = """\
examples:
  # in PyTorch: torch.onnx.export(module, x, "model.onnx", dynamo=False,
  #                               dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
  autoencoders import model.onnx --out model.npz
  autoencoders evaluate model.npz --dataset mnist

Weight files (.safetensors, .weights.h5) hold no architecture: load them into a model
built in Python with model.load_weights(path) or nn_core.interop.load_torch_state_dict.
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "import",
        parents=parents,
        help="turn an ONNX model into an nn_core model file",
        description="Rebuild an ONNX model (for example one torch.onnx.export wrote) from "
        "nn_core layers and save it as an nn_core .npz model file.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("file", help="an .onnx file")
    parser.add_argument(
        "--out", default="model.npz", metavar="PATH", help="model file (default model.npz)"
    )
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if not os.path.exists(args.file):
        raise CliError(f"no file at {args.file!r}")
    if not args.file.lower().endswith(".onnx"):
        raise CliError(
            f"{args.file!r} is not an .onnx file; import rebuilds models from ONNX graphs. "
            "Weight files hold no architecture: use model.load_weights in Python"
        )
    from nn_core import onnx as nn_onnx

    model = nn_onnx.load(args.file)
    model.save(output_folder_ready(args.out))
    shapes = [shape for _, shape in model._input_specs()]
    inputs = ", ".join("(N, " + "x".join(str(size) for size in shape) + ")" for shape in shapes)
    print(
        f"wrote {args.out}: {type(model).__name__} of {len(model.leaf_layers())} layers, "
        f"{model.count_params():,} parameters, input {inputs} from {args.file}"
    )
    return 0
