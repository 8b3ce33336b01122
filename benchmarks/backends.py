"""Training speed of the two kernel backends on the two Keras-blog autoencoders.

    python -m benchmarks.backends                 # both models, both backends
    python -m benchmarks.backends --model conv --batches 100 --backends numba

For each backend: the classic dense autoencoder (784-32-784, batch 256, Adadelta, binary
cross-entropy on MNIST) and the conv autoencoder (Conv2D 16/8/8 + pooling, 8/8/16 +
upsampling, batch 128, Adadelta). It times ``--batches`` training steps on shuffled MNIST
after three warm-up steps and extrapolates to one epoch of 60,000 samples; the first
step's extra time is the Numba compile (or cache load) time. It also times the import.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time

import numpy as np

MODELS = {"dense": 256, "conv": 128}  # batch sizes


def build(model_name, seed=0):
    import nn_core as nn

    if model_name == "dense":
        from autoencoders.classic import build_classic_autoencoder

        return build_classic_autoencoder(seed=seed)[0]
    L = nn.layers
    model = nn.Sequential(
        [
            L.Conv2D(16, 3, activation="relu", padding="same"),
            L.MaxPooling2D(2, padding="same"),
            L.Conv2D(8, 3, activation="relu", padding="same"),
            L.MaxPooling2D(2, padding="same"),
            L.Conv2D(8, 3, activation="relu", padding="same"),
            L.MaxPooling2D(2, padding="same"),
            L.Conv2D(8, 3, activation="relu", padding="same"),
            L.UpSampling2D(2),
            L.Conv2D(8, 3, activation="relu", padding="same"),
            L.UpSampling2D(2),
            L.Conv2D(16, 3, activation="relu"),
            L.UpSampling2D(2),
            L.Conv2D(1, 3, activation="sigmoid", padding="same"),
        ],
        seed=seed,
    )
    model.build((28, 28, 1))
    return model


def measure(model_name, batches, warmup=3):
    """Seconds: first step, mean steady step, extrapolated epoch (one process, one backend)."""
    import nn_core as nn

    (x, _), _ = nn.datasets.mnist.load_data()
    x = x.astype(np.float32) / 255
    x = x.reshape(len(x), -1) if model_name == "dense" else x.reshape(-1, 28, 28, 1)
    batch_size = MODELS[model_name]
    model = build(model_name)
    model.compile(optimizer=nn.optimizers.Adadelta(1.0), loss="binary_crossentropy")
    order = np.random.default_rng(0).permutation(len(x))
    per_epoch = math.ceil(len(x) / batch_size)

    def step(index):
        rows = order[(index % per_epoch) * batch_size : (index % per_epoch + 1) * batch_size]
        model.train_on_batch(x[rows], x[rows])

    start = time.perf_counter()
    step(0)
    first = time.perf_counter() - start
    for index in range(1, warmup):
        step(index)
    start = time.perf_counter()
    for index in range(warmup, warmup + batches):
        step(index)
    mean = (time.perf_counter() - start) / batches
    return {
        "backend": nn.kernels.backend_name(),
        "model": model_name,
        "first_step_s": round(first, 3),
        "step_ms": round(mean * 1e3, 3),
        "epoch_s": round(mean * per_epoch, 3),
        "batches_timed": batches,
    }


def _child(arguments):
    start = time.perf_counter()
    import nn_core  # noqa: F401

    import_s = time.perf_counter() - start
    result = measure(arguments.model, arguments.batches)
    result["import_s"] = round(import_s, 3)
    print(json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=[*MODELS, "both"], default="both")
    parser.add_argument("--backends", nargs="+", default=["numpy", "numba"])
    parser.add_argument("--batches", type=int, default=None, help="default: 200 dense, 40 conv")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        return _child(arguments)
    models = list(MODELS) if arguments.model == "both" else [arguments.model]
    for model_name in models:
        batches = arguments.batches or {"dense": 200, "conv": 40}[model_name]
        for backend in arguments.backends:
            # A fresh process per run: the backend is chosen at import, as users do.
            command = [sys.executable, "-m", "benchmarks.backends", "--child"]
            command += ["--model", model_name, "--batches", str(batches)]
            environment = {**__import__("os").environ, "NN_CORE_BACKEND": backend}
            output = subprocess.run(
                command, capture_output=True, text=True, env=environment, check=True
            ).stdout
            print(output.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
