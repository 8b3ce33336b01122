"""Run the classic Keras-blog autoencoder for several seeds and tabulate the results.

    python -m benchmarks.classic_seeds --seeds 0 1 2 3 4 --epochs 50
    python -m benchmarks.classic_seeds --init-output-bias   # output bias at the data mean

The test binary cross-entropy of one run depends on the seed by about +-0.002, as
much as the gap between frameworks, so the README quotes the median over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics

from autoencoders.classic import train_classic


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classic_seeds", description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument(
        "--init-output-bias",
        action="store_true",
        help="start the output bias at the logit of the mean training pixel",
    )
    parser.add_argument("--out", default=None, help="default: results/classic_seeds[_bias]")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = "results/classic_seeds" + ("_bias" if args.init_output_bias else "")

    rows = []
    for seed in args.seeds:
        result = train_classic(
            epochs=args.epochs,
            out=os.path.join(args.out, f"seed{seed}"),
            seed=seed,
            verbose=0,
            init_output_bias=args.init_output_bias,
        )
        rows.append(result)
        print(
            f"seed {seed}: test BCE {result['test_binary_crossentropy']:.4f}, "
            f"{result['train_seconds']:.1f} s ({result['seconds_per_epoch']:.2f} s/epoch)",
            flush=True,
        )
    losses = [row["test_binary_crossentropy"] for row in rows]
    seconds = [row["seconds_per_epoch"] for row in rows]
    print("\n| seed | test BCE | s/epoch |\n|---|---|---|")
    for row in rows:
        loss, speed = row["test_binary_crossentropy"], row["seconds_per_epoch"]
        print(f"| {row['seed']} | {loss:.4f} | {speed:.2f} |")
    print(f"| median | {statistics.median(losses):.4f} | {statistics.median(seconds):.2f} |")
    with open(os.path.join(args.out, "summary.json"), "w") as file:
        json.dump({"runs": rows, "median_test_bce": statistics.median(losses)}, file, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
