"""Peak and per-epoch memory of the classic autoencoder on the 60000 MNIST images (issue 6).

    python -m benchmarks.memory --classic       # 3 epochs, batch 256, default backend
    python -m benchmarks.memory_classic --epochs 5 --tracemalloc

Trains the Keras blog's 784-32-784 autoencoder (Dense relu, Dense sigmoid, Adadelta 1.0,
binary cross-entropy, shuffled, test set as validation) and prints the resident memory
(RSS, from /proc/self/status; the peak from ``resource.getrusage``) before training and
at each epoch end, then ``predict`` on the 60000 images. Flat per-epoch RSS shows that
nothing grows with the epochs (no caches, no per-batch history). ``--tracemalloc`` also
reports the NumPy memory in use at each epoch end, byte-exact but slower.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc

import nn_core as nn
from autoencoders.classic import build_classic_autoencoder, load_mnist_flat

MIB = 2**20


def rss_bytes() -> int:
    """Current resident set size in bytes (Linux), or the peak where /proc is absent."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """Peak resident set size of this process in bytes (ru_maxrss: KiB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


class MemoryPerEpoch(nn.callbacks.Callback):
    def __init__(self, traced):
        super().__init__()
        self.traced = traced
        self.rows = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        traced = tracemalloc.get_traced_memory()[0] if self.traced else None
        row = (epoch + 1, rss_bytes(), traced, time.perf_counter() - self.start, logs["loss"])
        self.rows.append(row)
        traced_text = f"  traced {traced / MIB:7.1f} MiB" if traced is not None else ""
        print(
            f"epoch {row[0]:3d}  RSS {row[1] / MIB:7.1f} MiB{traced_text}  "
            f"{row[3]:5.1f} s  loss {row[4]:.4f}",
            flush=True,
        )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace NumPy memory")
    args = parser.parse_args(argv)

    print(f"backend: {nn.kernels.backend_name()}")
    print(f"start: RSS {rss_bytes() / MIB:.1f} MiB")
    x_train, x_test, _ = load_mnist_flat()
    print(
        f"data loaded ({x_train.shape} + {x_test.shape} float32, "
        f"{(x_train.nbytes + x_test.nbytes) / MIB:.1f} MiB): RSS {rss_bytes() / MIB:.1f} MiB"
    )
    autoencoder, _, _ = build_classic_autoencoder()
    autoencoder.compile(
        optimizer=nn.optimizers.Adadelta(learning_rate=1.0), loss="binary_crossentropy"
    )
    probe = MemoryPerEpoch(args.tracemalloc)
    if args.tracemalloc:
        tracemalloc.start()
    autoencoder.fit(
        x_train,
        x_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        shuffle=True,
        validation_data=(x_test, x_test),
        callbacks=[probe],
        verbose=0,
    )
    reconstructions = autoencoder.predict(x_train, batch_size=args.batch_size)
    print(f"after predict on {reconstructions.shape}: RSS {rss_bytes() / MIB:.1f} MiB")
    epoch_rss = [row[1] for row in probe.rows]
    report = {
        "peak_rss_mib": peak_rss_bytes() / MIB,
        "epoch_rss_mib": [value / MIB for value in epoch_rss],
        "rss_spread_after_first_epoch_mib": (
            max(epoch_rss[1:] or epoch_rss) - min(epoch_rss[1:] or epoch_rss)
        )
        / MIB,
    }
    if args.tracemalloc:
        report["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / MIB
        tracemalloc.stop()
    print(
        f"peak RSS {report['peak_rss_mib']:.1f} MiB; per-epoch RSS spread after epoch 1: "
        f"{report['rss_spread_after_first_epoch_mib']:.2f} MiB"
        + (f"; traced peak {report['traced_peak_mib']:.1f} MiB" if args.tracemalloc else "")
    )
    return report


if __name__ == "__main__":
    main()
