"""Train one row of the Keras-blog results table (issue 4) and record it; or print the table.

    python -m benchmarks.keras_blog --model dense --dataset mnist --epochs 50
    python -m benchmarks.keras_blog --model hs2006 --epochs 100 --pretrain-epochs 5
    python -m benchmarks.keras_blog --model hs2006 --tied-weights --schedule cosine
    python -m benchmarks.keras_blog --model deep --optimizer adam --schedule cosine
    python -m benchmarks.keras_blog --model hs2006 --optimizer adamw --weight-decay 0.01
    python -m benchmarks.keras_blog --table            # the Markdown table of every row so far

Each run trains on the 60000 training images with the test set as validation data, then
measures on the 10000 test images (pixels in [0, 1]):

* test BCE: binary cross-entropy of the reconstructions, a mean over pixels (penalties
  not included; ``test_loss`` is ``evaluate``, with them, as Keras's val_loss);
* squared error per image: sum over pixels of (x - x_hat)^2, averaged over images
  (Hinton and Salakhutdinov 2006's measure: 3.00 for their deep autoencoder, 13.87 for
  30-component PCA);
* sparse (and dense): the mean code activation (blog: 3.33 with L1 against 7.30 without);
* denoising-conv: the test images corrupted once (Gaussian noise 0.5 clipped to [0, 1],
  seed 12345): BCE and PSNR of the denoised images against the clean ones, and the PSNR
  of the noisy inputs. PSNR = 10 log10(1 / MSE) per image, averaged over images.

It prints the row and appends it as one JSON line to ``<out>/results.jsonl``, with the
epochs, the wall time and the exact command; the trained model goes to
``<out>/<dataset>_<model>.npz``. ``--limit N`` trains and tests on the first N images only
(a smoke test; such rows are marked in the table).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shlex
import sys
import time

import numpy as np

import nn_core as nn
from autoencoders import (
    PCA,
    ConvAutoencoder,
    ConvDenoisingAutoencoder,
    DeepAutoencoder,
    DenseAutoencoder,
    SparseAutoencoder,
)
from autoencoders.pca import squared_error_per_image

TEST_NOISE_SEED = 12345
RESULTS_FILE = "results.jsonl"


def _adadelta():
    return nn.optimizers.Adadelta(learning_rate=1.0)  # the blog's 'adadelta' (Keras 2 era)


def _adam():
    return nn.optimizers.Adam(learning_rate=1e-3)


def _adamw():
    return nn.optimizers.AdamW(learning_rate=1e-3)  # weight decay 0.01 unless --weight-decay


# model -> recipe: how it is built and trained, what the blog reported, what we aim for.
RECIPES = {
    "dense": {
        "build": lambda seed: DenseAutoencoder(784, code_size=32, seed=seed),
        "optimizer": _adadelta,
        "batch_size": 256,
        "epochs": 50,
        "setting": "784-32-784, Adadelta lr 1.0, batch 256",
        "blog": "~0.11",
        "target": "<= 0.103",
    },
    "dense-adam": {
        "build": lambda seed: DenseAutoencoder(784, code_size=32, seed=seed),
        "optimizer": _adam,
        "batch_size": 256,
        "epochs": 50,
        "setting": "784-32-784, Adam lr 1e-3, batch 256",
        "blog": "~0.09",
        "target": "<= 0.092",
    },
    "sparse": {
        "build": lambda seed: SparseAutoencoder(784, code_size=32, l1=1e-4, seed=seed),
        "optimizer": _adadelta,
        "batch_size": 256,
        "epochs": 100,
        "setting": "784-32-784, L1 1e-4 on the code, Adadelta lr 1.0, batch 256",
        "blog": "0.10; mean code 3.33 (7.30 without L1)",
        "target": "report both",
    },
    "deep": {
        "build": lambda seed, tied_weights=False: DeepAutoencoder(
            784, hidden_sizes=(128, 64), code_size=32, tied_weights=tied_weights, seed=seed
        ),
        "optimizer": _adadelta,
        "batch_size": 256,
        "epochs": 100,
        "setting": "784-128-64-32-64-128-784 relu, Adadelta lr 1.0, batch 256",
        "blog": "~0.097 (updated post ~0.08)",
        "target": "<= 0.080",
    },
    "conv": {
        "build": lambda seed: ConvAutoencoder((28, 28, 1), filters=(16, 8, 8), seed=seed),
        "optimizer": _adadelta,
        "batch_size": 128,
        "epochs": 50,
        "setting": "conv 16-8-8 to a 4x4x8 code, Adadelta lr 1.0, batch 128",
        "blog": "0.094",
        "target": "<= 0.090",
        "images": True,
    },
    "denoising-conv": {
        "build": lambda seed: ConvDenoisingAutoencoder((28, 28, 1), filters=(32, 32), seed=seed),
        "optimizer": _adadelta,
        "batch_size": 128,
        "epochs": 100,
        "setting": "conv 32-32 to 7x7x32, noise 0.5 clipped, Adadelta lr 1.0, batch 128",
        "blog": "not stated",
        "target": "report clean-target BCE and PSNR",
        "images": True,
    },
    "hs2006": {
        "build": lambda seed, tied_weights=False: DeepAutoencoder(
            784,
            hidden_sizes=(1000, 500, 250),
            code_size=30,
            activation="relu",
            code_activation="linear",
            tied_weights=tied_weights,
            seed=seed,
        ),
        "optimizer": _adam,
        "batch_size": 256,
        "epochs": 100,
        "setting": "784-1000-500-250-30 relu, linear code, Adam lr 1e-3, batch 256",
        "blog": "H&S 2006: 3.00 per image (RBM-pretrained)",
        "target": "<= 3.00 squared error per image",
    },
    "pca": {
        "build": None,
        "setting": "30 components, NumPy SVD of the centred training images",
        "blog": "H&S 2006: 13.87 per image",
        "target": "reproduce 13.87",
    },
}
OPTIMIZERS = {"adadelta": _adadelta, "adam": _adam, "adamw": _adamw}
TIEABLE_MODELS = ("deep", "hs2006")  # DeepAutoencoders: the decoder can reuse W.T


def load_dataset(name, images, limit=None):
    """(x_train, x_test) float32 in [0, 1]: (N, 784), or (N, 28, 28, 1) when ``images``."""
    module = {"mnist": nn.datasets.mnist, "fashion-mnist": nn.datasets.fashion_mnist}[name]
    (x_train, _), (x_test, _) = module.load_data()
    shape = (28, 28, 1) if images else (784,)
    x_train = x_train[:limit].reshape(-1, *shape).astype(np.float32) / 255
    x_test = x_test[:limit].reshape(-1, *shape).astype(np.float32) / 255
    return x_train, x_test


def psnr_per_image(clean, estimate) -> float:
    """10 log10(1 / MSE) of each image (peak 1), averaged over images."""
    errors = np.mean(np.square(clean - estimate).reshape(len(clean), -1), axis=1, dtype=np.float64)
    return float(np.mean(10 * np.log10(1 / np.maximum(errors, 1e-12))))


def run(args, command) -> dict:
    """Train and measure one row; returns it (also appended to the results file)."""
    recipe = RECIPES[args.model]
    x_train, x_test = load_dataset(args.dataset, recipe.get("images", False), args.limit)
    row = {
        "model": args.model,
        "dataset": args.dataset,
        "setting": recipe["setting"],
        "seed": args.seed,
        "train_images": len(x_train),
        "test_images": len(x_test),
    }
    bce = nn.losses.BinaryCrossentropy()
    start = time.perf_counter()
    if args.model == "pca":
        pca = PCA(30).fit(x_train)
        row["train_seconds"] = round(time.perf_counter() - start, 1)
        reconstructions = pca.reconstruct(x_test)
        row["epochs"] = 0
        row["squared_error_per_image"] = round(squared_error_per_image(x_test, reconstructions), 3)
        row["test_bce"] = None  # linear reconstructions are not probabilities
    else:
        epochs = recipe["epochs"] if args.epochs is None else args.epochs
        batch_size = recipe["batch_size"] if args.batch_size is None else args.batch_size
        optimizer = OPTIMIZERS[args.optimizer]() if args.optimizer else recipe["optimizer"]()
        config = optimizer.get_config()
        if args.learning_rate is not None:
            config["learning_rate"] = args.learning_rate
        if args.weight_decay is not None:
            if "weight_decay" not in config:
                raise SystemExit(
                    f"--weight-decay is for AdamW (--optimizer adamw), not {config['class_name']}"
                )
            config["weight_decay"] = args.weight_decay
        changed = args.optimizer or args.learning_rate is not None or args.batch_size is not None
        if changed or args.schedule == "cosine":
            decay = f" weight decay {config['weight_decay']:g}" if "weight_decay" in config else ""
            row["setting"] += (
                f" (run with {config['class_name']} lr {config['learning_rate']:g}{decay}"
                f"{' cosine-decayed to 0' if args.schedule == 'cosine' else ''}, "
                f"batch {batch_size})"
            )
        if args.schedule == "cosine":
            steps = epochs * math.ceil(len(x_train) / batch_size)  # fit's steps
            config["learning_rate"] = nn.optimizers.schedules.CosineDecay(
                config["learning_rate"], decay_steps=max(steps, 1)
            ).get_config()
        optimizer = nn.optimizers.get(config)
        if args.tied_weights:
            if args.model not in TIEABLE_MODELS:
                raise SystemExit(f"--tied-weights is for {TIEABLE_MODELS}, not {args.model!r}")
            model = recipe["build"](args.seed, tied_weights=True).build()
            row["setting"] += ", tied weights"
        else:
            model = recipe["build"](args.seed).build()
        if args.init_output_bias:
            model.init_output_bias(x_train)
            row["setting"] += ", output bias at the data mean"
        model.compile(optimizer=optimizer, loss="binary_crossentropy")
        row.update(
            epochs=epochs,
            batch_size=batch_size,
            optimizer=optimizer.get_config(),
            pretrain_epochs=0,
        )
        verbose = 0 if args.quiet else 2
        if args.pretrain_epochs:
            if not isinstance(model, DeepAutoencoder):
                raise SystemExit(f"--pretrain-epochs is for deep models, not {args.model!r}")
            row["pretrain_epochs"] = args.pretrain_epochs
            row["pretrain_losses"] = model.pretrain(
                x_train, args.pretrain_epochs, batch_size=batch_size, verbose=verbose
            )
        history = model.fit(
            x_train,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=x_test,
            verbose=verbose,
        )
        row["train_seconds"] = round(time.perf_counter() - start, 1)
        row["seconds_per_epoch"] = round(row["train_seconds"] / max(epochs, 1), 2)
        reconstructions = model.predict(x_test, batch_size=1000)
        row["test_bce"] = round(float(bce(x_test, reconstructions)), 5)
        row["test_loss"] = round(float(model.evaluate(x_test, batch_size=1000)), 5)
        row["squared_error_per_image"] = round(squared_error_per_image(x_test, reconstructions), 3)
        row["history"] = {
            key: [round(v, 5) for v in values] for key, values in history.history.items()
        }
        if args.model in ("dense", "dense-adam", "sparse"):
            row["mean_code_activation"] = round(float(model.encode(x_test, 1000).mean()), 3)
        if args.model == "denoising-conv":
            noise = nn.layers.ClippedGaussianNoise(model.noise_stddev)
            noise.set_rng(np.random.default_rng(TEST_NOISE_SEED))
            noisy = noise.forward(x_test, training=True)
            denoised = model.predict(noisy, batch_size=1000)
            row["denoised_clean_target_bce"] = round(float(bce(x_test, denoised)), 5)
            row["denoised_psnr_db"] = round(psnr_per_image(x_test, denoised), 2)
            row["noisy_input_psnr_db"] = round(psnr_per_image(x_test, noisy), 2)
        os.makedirs(args.out, exist_ok=True)
        model_path = os.path.join(args.out, f"{args.dataset}_{args.model}.npz")
        model.save(model_path)
        row["model_file"] = model_path
    row["wall_seconds"] = round(time.perf_counter() - start, 1)
    row["kernel_backend"] = nn.kernels.backend_name()
    row["date"] = datetime.datetime.now().isoformat(timespec="seconds")
    row["command"] = command
    if args.limit:
        row["limit"] = args.limit
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, RESULTS_FILE), "a") as file:
        file.write(json.dumps(row) + "\n")
    return row


def markdown_table(rows) -> str:
    """The latest row of each (dataset, model, setting, pretraining), in recipe order, as a
    Markdown table.

    A run with an overridden optimizer, learning rate, schedule or batch size has its own
    setting (the recipe's, with "(run with ...)" appended), so it gets its own row; so does
    a run with greedy pretraining.
    """
    latest = {
        (row["dataset"], row["model"], row["setting"], row.get("pretrain_epochs", 0)): row
        for row in rows
    }
    lines = [
        "| dataset | model | setting | blog | target | epochs | test BCE | squared error "
        "per image | other | wall time | command |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for dataset in ("mnist", "fashion-mnist"):
        for model, recipe in RECIPES.items():
            for key, row in latest.items():
                if key[:2] == (dataset, model):
                    lines.append(_table_line(dataset, recipe, row))
    return "\n".join(lines)


def _table_line(dataset, recipe, row) -> str:
    """One Markdown row: the measured numbers and the command that gave them."""
    other = []
    if "mean_code_activation" in row:
        other.append(f"mean code {row['mean_code_activation']:.2f}")
    if "denoised_psnr_db" in row:
        other.append(
            f"noisy->clean BCE {row['denoised_clean_target_bce']:.4f}, PSNR "
            f"{row['noisy_input_psnr_db']:.2f} -> {row['denoised_psnr_db']:.2f} dB"
        )
    if row.get("pretrain_epochs"):
        other.append(f"pretrained {row['pretrain_epochs']} epochs/layer")
    if row.get("limit"):
        other.append(f"SMOKE TEST: first {row['limit']} images only")
    bce = "-" if row.get("test_bce") is None else f"{row['test_bce']:.4f}"
    blog = recipe["blog"] if dataset == "mnist" else "-"
    target = recipe["target"] if dataset == "mnist" else "-"
    return (
        f"| {dataset} | {row['model']} | {row['setting']} | {blog} | {target} | "
        f"{row['epochs']} | {bce} | {row['squared_error_per_image']:.2f} | "
        f"{'; '.join(other) or '-'} | {_duration(row['wall_seconds'])} | "
        f"`{row['command']}` |"
    )


def _duration(seconds) -> str:
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.keras_blog",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", choices=list(RECIPES))
    parser.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    parser.add_argument("--epochs", type=int, help="default: the blog's (see RECIPES)")
    parser.add_argument("--batch-size", type=int, help="default: the blog's")
    parser.add_argument(
        "--optimizer", choices=list(OPTIMIZERS), help="override the recipe's optimizer"
    )
    parser.add_argument("--learning-rate", type=float, help="override its learning rate")
    parser.add_argument(
        "--weight-decay",
        type=float,
        help="AdamW's decoupled weight decay (default 0.01; with --optimizer adamw)",
    )
    parser.add_argument(
        "--schedule",
        choices=["constant", "cosine"],
        default="constant",
        help="cosine: decay the learning rate to 0 over the run's steps (Keras CosineDecay)",
    )
    parser.add_argument(
        "--init-output-bias",
        action="store_true",
        help="start the output bias at the logit of the mean training pixel (not the blog's)",
    )
    parser.add_argument(
        "--tied-weights",
        action="store_true",
        help="deep models: each decoder layer uses its encoder layer's kernel transposed",
    )
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=0,
        help="deep models: greedy layer-wise pretraining epochs per layer first (default 0)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="use only the first N train and test images")
    parser.add_argument("--out", default="results/keras_blog")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    parser.add_argument("--table", action="store_true", help="print the table and exit")
    args = parser.parse_args(argv)
    if args.table:
        path = os.path.join(args.out, RESULTS_FILE)
        if not os.path.exists(path):
            parser.error(f"no results yet in {path}")
        with open(path) as file:
            print(markdown_table([json.loads(line) for line in file if line.strip()]))
        return 0
    if args.model is None:
        parser.error("--model is required (or --table)")
    for option in ("epochs", "batch_size", "limit"):
        value = getattr(args, option)
        if value is not None and value < (0 if option == "epochs" else 1):
            parser.error(f"--{option.replace('_', '-')} must be positive, got {value}")
    if args.pretrain_epochs < 0:
        parser.error(f"--pretrain-epochs must be >= 0, got {args.pretrain_epochs}")
    arguments = sys.argv[1:] if argv is None else list(argv)
    command = "python -m benchmarks.keras_blog " + " ".join(shlex.quote(a) for a in arguments)
    row = run(args, command)
    printed = {key: value for key, value in row.items() if key != "history"}
    print(json.dumps(printed, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
