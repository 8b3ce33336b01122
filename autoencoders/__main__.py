"""``python -m autoencoders``: train the classic MNIST autoencoder and write its pictures."""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autoencoders",
        description="Train the classic Keras-blog autoencoder (784-32-784, Adadelta lr 1.0, "
        "binary cross-entropy, batch 256) on MNIST; save the model, a loss curve and a "
        "figure of 20 test digits with their reconstructions. Runs offline.",
    )
    parser.add_argument("--epochs", type=int, default=50, help="passes over the data (default 50)")
    parser.add_argument(
        "--code-size", type=int, default=32, help="size of the code layer (default 32)"
    )
    parser.add_argument("--batch-size", type=int, default=256, help="mini-batch size (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--out", default="results/classic", help="output folder (default results/classic)"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="one line per epoch instead of a live bar"
    )
    args = parser.parse_args(argv)
    for option in ("epochs", "code_size", "batch_size"):
        value = getattr(args, option)
        if value < (0 if option == "epochs" else 1):
            parser.error(f"--{option.replace('_', '-')} must be positive, got {value}")

    from .classic import train_classic

    results = train_classic(
        epochs=args.epochs,
        code_size=args.code_size,
        batch_size=args.batch_size,
        out=args.out,
        seed=args.seed,
        verbose=2 if args.quiet else 1,
    )
    print(
        f"\ntest binary cross-entropy after {results['epochs']} epochs: "
        f"{results['test_binary_crossentropy']:.4f} "
        f"({results['train_seconds']:.1f} s, {results['seconds_per_epoch']:.2f} s/epoch)"
    )
    for path in results["files"]:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
