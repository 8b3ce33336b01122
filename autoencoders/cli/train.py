"""``autoencoders train``: train any autoencoder of the family on any dataset, save it.

Writes the model (``--out``, an .npz that ``Autoencoder.load`` and the other subcommands
read) and its loss curve (``<out stem>_loss.png``, with matplotlib), and prints the final
metrics: the loss, MSE and PSNR on the test split of MNIST / Fashion-MNIST, or, for a
folder or .npy dataset (which has no test split), on the validation split. A folder of
PNG images is streamed: each batch's files are decoded when ``fit`` asks for the batch
(``png_folder``), so the folder need not fit in memory.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import nn_core as nn

from .. import (
    Autoencoder,
    ContractiveAutoencoder,
    ConvAutoencoder,
    ConvDenoisingAutoencoder,
    DeepAutoencoder,
    DenoisingAutoencoder,
    DenseAutoencoder,
    SparseAutoencoder,
    VariationalAutoencoder,
)
from .common import (
    USAGE_ERROR,
    CliError,
    HelpFormatter,
    ProgressBar,
    fraction,
    load_model,
    non_negative_int,
    output_folder_ready,
    positive_float,
    positive_int,
    reconstruction_metrics,
    unknown_name,
)
from .data import load_dataset
from .png_folder import PNGBatches, PNGFolder, streamed_metrics

# name -> (class, what --hidden-sizes means for it, its default hidden sizes or None)
MODELS = {
    "dense": (DenseAutoencoder, None, None),
    "deep": (DeepAutoencoder, "units per hidden layer", (128, 64)),
    "conv": (ConvAutoencoder, "filters per convolution", (16, 8, 8)),
    "sparse": (SparseAutoencoder, None, None),
    "denoising": (DenoisingAutoencoder, None, None),
    "conv-denoising": (ConvDenoisingAutoencoder, "filters per convolution", (32, 32)),
    "contractive": (ContractiveAutoencoder, None, None),
    "variational": (VariationalAutoencoder, "units per hidden layer", (256,)),
}
LOSSES = {"bce": "binary_crossentropy", "mse": "mean_squared_error", "mae": "mean_absolute_error"}
OPTIMIZERS = ("adam", "adamw", "adadelta", "adagrad", "rmsprop", "sgd")
CONV_MODELS = ("conv", "conv-denoising")

EPILOG = """\
models (--model):
  dense           784-32-784, one Dense layer each way (the Keras blog's first model)
  deep            a symmetric Dense stack, 784-128-64-32-64-128-784 by default
  conv            convolutions and max-pooling, on (H, W, C) images
  sparse          dense with an L1 penalty on the code (--l1, default 1e-4)
  denoising       dense, trained on noisy copies (--noise-stddev, default 0.5)
  conv-denoising  conv, trained on noisy copies
  contractive     dense with a penalty on the encoder's Jacobian (--contractive-weight)
  variational     a VAE; --code-size is its latent dimension (default 2)

layers: --hidden-sizes 256 128 gives two hidden layers of 256 and 128 units (filters
for conv models); --layers 3 --nodes 64 gives three layers of 64. --layers alone keeps
the model's default widths, dropping or adding layers (each added one half as wide).

examples:
  autoencoders train --model dense --epochs 10 --out models/dense.npz
  autoencoders train --model deep --layers 3 --nodes 256 --code-size 16 --loss mse
  autoencoders train --model conv --dataset fashion-mnist --epochs 5 --out conv.npz
  autoencoders train --model variational --code-size 2 --limit 10000 --out vae.npz
  autoencoders train --model dense --dataset my_images/ --validation-split 0.2
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train",
        parents=parents,
        help="train an autoencoder on a dataset and save it",
        description="Train an autoencoder on MNIST, Fashion-MNIST, a folder of PNG images or "
        "a .npy file; save the model and its loss curve; print the final test metrics.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--model", default="dense", metavar="NAME",
        help="which autoencoder: " + ", ".join(MODELS) + " (default dense)",
    )  # fmt: skip
    parser.add_argument(
        "--dataset", default="mnist", metavar="DATA",
        help="mnist, fashion-mnist, a folder of .png images or a .npy file (default mnist)",
    )  # fmt: skip
    parser.add_argument(
        "--limit", type=positive_int, metavar="N",
        help="use the first N images only (of each split, for mnist and fashion-mnist)",
    )  # fmt: skip
    parser.add_argument(
        "--code-size", type=positive_int, metavar="N",
        help="size of the code (default 32; the VAE's latent dimension, default 2)",
    )  # fmt: skip
    parser.add_argument(
        "--hidden-sizes", type=positive_int, nargs="+", metavar="N",
        help="width of each hidden layer, input side first (mirrored in the decoder)",
    )  # fmt: skip
    parser.add_argument("--layers", type=positive_int, metavar="N", help="number of hidden layers")
    parser.add_argument(
        "--nodes", type=positive_int, metavar="N", help="width of every hidden layer (--layers)"
    )
    parser.add_argument(
        "--loss", default="bce", choices=LOSSES,
        help="bce: binary cross-entropy, mse: mean squared error, mae: mean absolute "
        "error, each a mean over pixels (default bce; the VAE takes bce only)",
    )  # fmt: skip
    parser.add_argument(
        "--optimizer", default="adam", choices=OPTIMIZERS,
        help="default adam (its learning rate 1e-3 trains every model here untuned)",
    )  # fmt: skip
    parser.add_argument(
        "--learning-rate", type=positive_float, metavar="LR",
        help="default: the optimizer's own (adam 1e-3, adadelta 1.0, sgd 0.01, ...)",
    )  # fmt: skip
    parser.add_argument("--epochs", type=non_negative_int, default=10, help="default 10")
    parser.add_argument(
        "--batch-size", type=positive_int, default=256, help="default 256 (the Keras blog's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="weights and shuffling (default 0)")
    parser.add_argument(
        "--validation-split", type=fraction, default=0.1, metavar="FRACTION",
        help="hold out the last FRACTION of the training images to report val_loss each "
        "epoch (default 0.1; as Keras, taken before shuffling)",
    )  # fmt: skip
    parser.add_argument("--l1", type=positive_float, default=1e-4, help="sparse: L1 weight")
    parser.add_argument(
        "--noise-stddev", type=positive_float, default=0.5, help="denoising models: noise level"
    )
    parser.add_argument(
        "--contractive-weight", type=positive_float, default=1e-4, help="contractive: penalty"
    )
    parser.add_argument(
        "--init-from", metavar="MODEL",
        help="start from the weights of a trained model of the same architecture "
        "(transfer learning, e.g. one trained on another dataset)",
    )  # fmt: skip
    parser.add_argument(
        "--freeze-encoder", action="store_true",
        help="with --init-from: keep the encoder's weights fixed, train the decoder only",
    )  # fmt: skip
    parser.add_argument(
        "--out", default="model.npz", metavar="PATH", help="model file (default model.npz)"
    )
    parser.set_defaults(run=run)
    return parser


def hidden_sizes(args: argparse.Namespace, name: str) -> tuple[int, ...] | None:
    """The hidden sizes the options ask for, or None for the model's default."""
    _, meaning, default = MODELS[name]
    asked = args.hidden_sizes is not None or args.layers is not None or args.nodes is not None
    if not asked:
        return None
    if meaning is None:
        raise CliError(
            f"--model {name} has no hidden layers to size; use --model deep (or conv, "
            "variational) for --layers, --nodes and --hidden-sizes",
            USAGE_ERROR,
        )
    if args.hidden_sizes is not None:
        if args.nodes is not None:
            raise CliError("give either --hidden-sizes or --nodes, not both", USAGE_ERROR)
        if args.layers is not None and args.layers != len(args.hidden_sizes):
            raise CliError(
                f"--layers {args.layers} does not match the {len(args.hidden_sizes)} values "
                "of --hidden-sizes",
                USAGE_ERROR,
            )
        return tuple(args.hidden_sizes)
    if args.layers is None:
        raise CliError("--nodes needs --layers (how many layers of that width)", USAGE_ERROR)
    if args.nodes is not None:
        return (args.nodes,) * args.layers
    assert default is not None  # every model with a `meaning` has default sizes
    sizes = list(default[: args.layers])
    while len(sizes) < args.layers:
        sizes.append(max(1, sizes[-1] // 2))
    return tuple(sizes)


def model_options(args: argparse.Namespace) -> tuple[type[Autoencoder], dict[str, Any]]:
    """(class, constructor options but input_shape) for ``args``; CliError for bad options.

    Called before any data is loaded, so that a wrong command line fails at once.
    """
    name = args.model.lower()
    if name not in MODELS:
        raise unknown_name("model", args.model, list(MODELS))
    cls, _, _ = MODELS[name]
    sizes = hidden_sizes(args, name)
    options = {"seed": args.seed}
    if name in CONV_MODELS:
        if args.code_size is not None:
            raise CliError(
                f"--model {name}: the code size follows from the image size and the filters; "
                "set --hidden-sizes (filters per level) instead of --code-size",
                USAGE_ERROR,
            )
        if sizes is not None:
            options["filters"] = sizes
    else:
        if name == "variational":
            options["latent_dim"] = args.code_size or 2
        elif args.code_size is not None:
            options["code_size"] = args.code_size
        if sizes is not None:
            options["hidden_sizes"] = sizes
    if name == "sparse":
        options["l1"] = args.l1
    if name in ("denoising", "conv-denoising"):
        options["noise_stddev"] = args.noise_stddev
    if name == "contractive":
        options["contractive_weight"] = args.contractive_weight
    if name == "variational" and args.loss != "bce":
        raise CliError(
            "--model variational trains on its own loss (summed cross-entropy + KL); "
            "leave --loss at bce",
            USAGE_ERROR,
        )
    return cls, options


def build_model(
    cls: type[Autoencoder], options: dict[str, Any], image_shape: Sequence[int]
) -> Autoencoder:
    """The autoencoder for images of ``image_shape`` (H, W, C): conv models take the
    images as they are, the others flattened."""
    conv = cls in (ConvAutoencoder, ConvDenoisingAutoencoder)
    return cls(image_shape if conv else int(np.prod(image_shape)), **options).build()


class FitProgress(nn.callbacks.Callback):
    """One bar over all epochs on a terminal; else one line per epoch (nothing if quiet)."""

    def __init__(self, epochs: int, steps: int, quiet: bool):
        super().__init__()
        self.epochs, self.steps, self.quiet = epochs, steps, quiet
        self.bar = ProgressBar(epochs * steps, "train", quiet)

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch, self.epoch_start = epoch, time.perf_counter()

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        assert logs is not None  # fit passes each batch's logs
        done = self.epoch * self.steps + batch + 1
        info = f"epoch {self.epoch + 1}/{self.epochs} loss {logs['loss']:.4f}"
        self.bar.update(done, info)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if self.quiet:
            return
        seconds = time.perf_counter() - self.epoch_start
        metrics = " ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items())
        line = f"epoch {epoch + 1}/{self.epochs} {metrics} ({seconds:.1f} s)"
        if self.bar.enabled:
            self.bar.stream.write("\r" + line + "\x1b[K\n")
            self.bar.drawn = False
        else:
            print(line, flush=True)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        self.bar.close()


def initialise_from(model: Autoencoder, path: str, freeze_encoder: bool) -> None:
    """Copy the weights of the model in ``path`` into ``model`` (same shapes, in order)."""
    source = load_model(path).model
    theirs, ours = source.get_weights(), model.model.get_weights()
    names = model.model.weight_names()
    if len(theirs) != len(ours):
        raise CliError(
            f"--init-from {path}: it has {len(theirs)} weight arrays, this --model "
            f"{len(ours)}; give a model of the same architecture"
        )
    for name, their, our in zip(names, theirs, ours):
        if their.shape != our.shape:
            raise CliError(
                f"--init-from {path}: {name} is {our.shape} here but {their.shape} there; "
                "give a model of the same architecture (same --model, sizes and images)"
            )
    model.set_weights(theirs)
    if freeze_encoder:
        model.encoder.trainable = False


def run(args: argparse.Namespace) -> int:
    model_name = args.model.lower()
    cls, options = model_options(args)
    if args.freeze_encoder and not args.init_from:
        raise CliError(
            "--freeze-encoder needs --init-from (a trained encoder to keep)", USAGE_ERROR
        )
    # A folder is streamed: its PNGs are decoded batch by batch, never loaded whole.
    folder = PNGFolder.scan(args.dataset, args.limit) if os.path.isdir(args.dataset) else None
    data = None if folder is not None else load_dataset(args.dataset, "train", args.limit)
    if folder is not None:
        image_shape, count, source = folder.image_shape, len(folder), f"{folder.folder} (streamed)"
    else:
        assert data is not None
        image_shape, count, source = data.image_shape, len(data.images), data.source
    model = build_model(cls, options, image_shape)
    if args.init_from:
        initialise_from(model, args.init_from, args.freeze_encoder)
    flat = len(model.input_shape) == 1
    validation_count = int(round(count * args.validation_split))
    if validation_count >= count:
        raise CliError(
            f"--validation-split {args.validation_split} leaves no training images out of {count}",
            USAGE_ERROR,
        )
    split = count - validation_count
    x_train: np.ndarray | PNGBatches
    x_val: np.ndarray | PNGBatches | None
    if folder is not None:  # shuffled by the model's generator: the order fit gives an array
        x_train = folder.batches(
            0, split, args.batch_size, model.input_shape, True, model.model.rng
        )
        x_val = (
            folder.batches(split, count, args.batch_size, model.input_shape, False)
            if validation_count
            else None
        )
    else:
        assert data is not None
        x = data.images.reshape(count, -1) if flat else data.images
        x_train, x_val = x[:split], (x[split:] if validation_count else None)
    optimizer_options = {} if args.learning_rate is None else {"learning_rate": args.learning_rate}
    loss = None if model_name == "variational" else LOSSES[args.loss]
    model.compile(optimizer=nn.optimizers.get(args.optimizer, **optimizer_options), loss=loss)
    if not args.quiet:
        print(
            f"training {model!r}\non {split} images of "
            + source
            + (f", validating on {validation_count}" if validation_count else "")
            + f"; {model.count_params():,} parameters"
            + (f", initialised from {args.init_from}" if args.init_from else "")
            + (", encoder frozen" if args.freeze_encoder else "")
        )
    steps = -(-split // args.batch_size)
    start = time.perf_counter()
    history = model.fit(
        x_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=x_val,
        callbacks=[FitProgress(args.epochs, steps, args.quiet)],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    output_folder_ready(args.out)
    model.save(args.out)
    files = [args.out]
    assert model.model.loss is not None  # compiled above
    curve = plot_loss_curve(history.history, args.out, model.model.loss.name)
    if curve:
        files.append(curve)

    x_test: np.ndarray | PNGBatches
    if folder is None and args.dataset.lower().replace("_", "-") in ("mnist", "fashion-mnist"):
        test = load_dataset(args.dataset, "test", args.limit)
        x_test, where = test.images.reshape((len(test.images), *model.input_shape)), "test"
    elif x_val is not None:
        x_test, where = x_val, "validation"
    elif folder is not None:  # unshuffled
        x_test, where = (
            folder.batches(0, split, args.batch_size, model.input_shape, False),
            "training",
        )
    else:
        x_test, where = x_train, "training"
    test_loss = model.evaluate(x_test)
    if isinstance(x_test, PNGBatches):
        metrics, tested = streamed_metrics(model, x_test), x_test.size
    else:
        metrics, tested = reconstruction_metrics(x_test, model.predict(x_test)), len(x_test)
    epochs = f"{args.epochs} epoch{'' if args.epochs == 1 else 's'}"
    print(
        f"{where} metrics on {tested} image{'' if tested == 1 else 's'} after {epochs} "
        f"({seconds:.1f} s): loss {test_loss:.4f}, MSE {metrics['mse']:.5f}, "
        f"PSNR {metrics['psnr_db']:.2f} dB"
    )
    for path in files:
        print(f"wrote {path}")
    return 0


def plot_loss_curve(history: dict[str, list[float]], model_path: str, loss_name: str) -> str | None:
    """``<model stem>_loss.png``: loss per epoch (and val_loss); None without matplotlib."""
    if not history.get("loss"):
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install '.[plot]'): no loss curve")
        return None
    path = os.path.splitext(model_path)[0] + "_loss.png"
    figure, axis = plt.subplots(figsize=(6, 4))
    for key, label in (("loss", "training"), ("val_loss", "validation")):
        if key in history:
            axis.plot(range(1, len(history[key]) + 1), history[key], marker=".", label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel(loss_name)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
