"""The same sweep one trial after another and on Ray Tune, wall time, alternating rounds.

    python -m benchmarks.sweep_backends [--rounds 2] [--cpus 2] [--limit 5000] [--epochs 2]

Eight trials (a deep autoencoder, code size 4, 8, 16, 32 x 1 or 2 hidden layers) on the
first ``--limit`` MNIST training images. Each round runs the sweep serially, then on a
local Ray with ``--cpus`` CPUs (started and shut down inside the timed span, as
``autoencoders sweep`` does), and checks that both give the same numbers. The two
backends alternate so that a slow spell of the machine hits both alike.
"""

from __future__ import annotations

import argparse
import time

from autoencoders import sweep

SPACE = {"model": ["deep"], "code_size": [4, 8, 16, 32], "layers": [1, 2]}
VOLATILE = ("seconds", "runner")


def _numbers(records):
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in records]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep_backends")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    settings = {"dataset": "mnist", "limit": args.limit, "epochs": args.epochs, "log": None}
    rows = []
    for round_ in range(1, args.rounds + 1):
        start = time.perf_counter()
        serial = sweep.run(SPACE, **settings, backend="serial")
        serial_s = time.perf_counter() - start
        start = time.perf_counter()
        on_ray = sweep.run(SPACE, **settings, backend="ray", num_cpus=args.cpus)
        ray_s = time.perf_counter() - start
        same = _numbers(serial) == _numbers(on_ray)
        trial_s = sum(r["seconds"] for r in serial)
        rows.append((round_, serial_s, ray_s, trial_s, same))
        print(
            f"round {round_}: serial {serial_s:.1f} s (trials {trial_s:.1f} s), "
            f"ray --cpus {args.cpus} {ray_s:.1f} s, same numbers: {same}",
            flush=True,
        )
    print(f"\n| round | serial (s) | Ray, {args.cpus} CPUs (s) | speed-up | same numbers |")
    print("|---:|---:|---:|---:|:---|")
    for round_, serial_s, ray_s, _, same in rows:
        print(f"| {round_} | {serial_s:.1f} | {ray_s:.1f} | {serial_s / ray_s:.2f}x | {same} |")
    return 0 if all(row[-1] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
