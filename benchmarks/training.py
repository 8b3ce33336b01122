"""Seconds per epoch of the Keras-blog autoencoders, ours against the same model in PyTorch.

    python -m benchmarks.training                           # every model, 3 rounds
    python -m benchmarks.training --models conv --epoch-fraction 0.1 --rounds 5
    python -m benchmarks.training --quick                   # dense only, small fractions

Models (MNIST, 60000 training images, pixels in [0, 1], binary cross-entropy on a sigmoid
output, fused with it from the logits by both libraries):

* dense: 784-32-784, relu code, Adadelta(lr 1.0, rho 0.95, eps 1e-7), batch 256;
* deep: 784-128-64-32-64-128-784, relu, Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-7), batch 256;
* conv: the Keras-blog conv autoencoder (``autoencoders.ConvAutoencoder``), Adadelta, batch 128;
* dense-b32 and dense-b1024: the dense model at batch 32 and 1024 (per-step overhead).

Ours is ``model.fit(x, x, epochs=1, batch_size=B, shuffle=True, verbose=0)`` with the Numba
backend (``numba``) and the NumPy reference backend (``numpy``), switched in this process
with ``nn_core.kernels.set_backend``. PyTorch (``torch``) is the same network with the same
initial weights (copied from ours: Glorot-uniform kernels, zero biases), the same optimizer
settings and ``torch.set_num_threads(2)``, trained by the usual loop (shuffled batches,
``zero_grad``, forward, ``BCEWithLogitsLoss``, ``backward``, ``step``, ``loss.item()``).

Every implementation is warmed up first (a few batches and a predict: Numba's first-use
compile is not in the timed rounds), then the rounds alternate between implementations
(one epoch each, the order reversed every other round, each after a pause of
SETTLE_SECONDS for the previous one's idle threads to park) and the median is reported.
``--epoch-fraction f`` times the first f * 60000 images and scales to 60000 (the output
says so). Inference: samples per second of ``predict`` on the test images at the model's
batch size (PyTorch: ``sigmoid(model(batch))`` under ``torch.inference_mode``).
First use: in a fresh process, the first training step minus a steady one, with an empty
Numba cache (``cold``: compiling) and with the cache left by earlier runs (``warm``).

Writes ``training.md``, ``training.json`` and ``training.png`` to ``--out``
(default results/benchmarks). Without PyTorch, ours only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import nn_core as nn
from autoencoders import ConvAutoencoder, DeepAutoencoder, DenseAutoencoder

from . import _timing

EPOCH_SAMPLES = 60000
DEFAULT_THREADS = 2
SEED = 0
# A pause before each timed epoch or inference run, so that the previous implementation's
# idle worker threads have stopped spinning on the cores (OpenBLAS's spin about 0.1 s
# after a product, PyTorch's OpenMP threads a few ms; see _timing.settle).
SETTLE_SECONDS = 0.15

# name -> (architecture, optimizer, batch size)
MODELS = {
    "dense": ("dense", "adadelta", 256),
    "deep": ("deep", "adam", 256),
    "conv": ("conv", "adadelta", 128),
    "dense-b32": ("dense", "adadelta", 32),
    "dense-b1024": ("dense", "adadelta", 1024),
}
INFERENCE_MODELS = ("dense", "deep", "conv")


# ---------------------------------------------------------------------------- models
def build_ours(architecture, optimizer_name):
    """A compiled nn_core Sequential: the autoencoder's whole model, float32."""
    if architecture == "dense":
        autoencoder = DenseAutoencoder(784, code_size=32, seed=SEED)
    elif architecture == "deep":
        autoencoder = DeepAutoencoder(784, hidden_sizes=(128, 64), code_size=32, seed=SEED)
    else:
        autoencoder = ConvAutoencoder(seed=SEED)
    autoencoder.build()
    if optimizer_name == "adadelta":
        optimizer = nn.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7)
    else:
        optimizer = nn.optimizers.Adam(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    autoencoder.model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return autoencoder.model


def build_torch(torch, ours, architecture, optimizer_name):
    """(module, optimizer): the same network as ``ours``, with its initial weights.

    The module returns logits; the sigmoid is in the loss (BCEWithLogitsLoss) for training
    and applied explicitly for inference.
    """
    layers = [layer for layer in ours.leaf_layers() if "kernel" in layer.params]
    if architecture == "conv":
        module = _TorchConvAutoencoder(torch, layers)
    else:
        modules = []
        for index, layer in enumerate(layers):
            linear = torch.nn.Linear(*layer.params["kernel"].shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.params["kernel"].T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.params["bias"].copy()))
            modules.append(linear)
            if index < len(layers) - 1:
                modules.append(torch.nn.ReLU())
        module = torch.nn.Sequential(*modules)
    if optimizer_name == "adadelta":
        optimizer = torch.optim.Adadelta(module.parameters(), lr=1.0, rho=0.95, eps=1e-7)
    else:
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    return module, optimizer


def _TorchConvAutoencoder(torch, conv_layers):
    """The Keras-blog conv autoencoder in PyTorch (NCHW), as tests/test_torch_parity.py:
    'same' pooling of 7x7 pads one -inf row/column at the bottom/right, as TensorFlow."""
    functional = torch.nn.functional

    class ConvAutoencoderTorch(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = torch.nn.ModuleList()
            for layer in conv_layers:
                kh, kw, cin, cout = layer.params["kernel"].shape
                conv = torch.nn.Conv2d(cin, cout, (kh, kw))
                with torch.no_grad():
                    kernel = layer.params["kernel"].transpose(3, 2, 0, 1).copy()
                    conv.weight.copy_(torch.from_numpy(kernel))
                    conv.bias.copy_(torch.from_numpy(layer.params["bias"].copy()))
                self.convs.append(conv)

        def forward(self, x):
            same, c = (1, 1, 1, 1), self.convs

            def pool(h):
                pad = (0, h.shape[-1] % 2, 0, h.shape[-2] % 2)
                return functional.max_pool2d(functional.pad(h, pad, value=-torch.inf), 2)

            def up(h):
                return functional.interpolate(h, scale_factor=2, mode="nearest")

            h = pool(torch.relu(c[0](functional.pad(x, same))))
            h = pool(torch.relu(c[1](functional.pad(h, same))))
            h = pool(torch.relu(c[2](functional.pad(h, same))))
            h = up(torch.relu(c[3](functional.pad(h, same))))
            h = up(torch.relu(c[4](functional.pad(h, same))))
            h = up(torch.relu(c[5](h)))
            return c[6](functional.pad(h, same))

    return ConvAutoencoderTorch()


# ---------------------------------------------------------------------------- one epoch
def ours_epoch(model, x, batch_size, backend):
    """Seconds of one ``fit`` epoch over x with the given kernel backend."""
    previous = nn.kernels.backend_name()
    nn.kernels.set_backend(backend)
    try:
        start = time.perf_counter()
        model.fit(x, x, epochs=1, batch_size=batch_size, shuffle=True, verbose=0)
        return time.perf_counter() - start
    finally:
        nn.kernels.set_backend(previous)


def torch_epoch(torch, module, optimizer, data, batch_size, generator):
    """Seconds of one epoch of the usual PyTorch training loop over ``data``."""
    loss_function = torch.nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    order = torch.randperm(len(data), generator=generator)
    total = 0.0
    for begin in range(0, len(data), batch_size):
        batch = data[order[begin : begin + batch_size]]
        optimizer.zero_grad()
        loss = loss_function(module(batch), batch)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    return time.perf_counter() - start


def ours_predict(model, x, batch_size, backend):
    previous = nn.kernels.backend_name()
    nn.kernels.set_backend(backend)
    try:
        start = time.perf_counter()
        model.predict(x, batch_size=batch_size)
        return time.perf_counter() - start
    finally:
        nn.kernels.set_backend(previous)


def torch_predict(torch, module, data, batch_size):
    start = time.perf_counter()
    with torch.inference_mode():
        for begin in range(0, len(data), batch_size):
            torch.sigmoid(module(data[begin : begin + batch_size]))
    return time.perf_counter() - start


# ---------------------------------------------------------------------------- first use
_FIRST_USE_CHILD = """
import json, sys, time
start = time.perf_counter()
import nn_core
import_s = time.perf_counter() - start
from benchmarks.training import first_use_steps
print(json.dumps({"import_s": import_s, **first_use_steps(sys.argv[1])}))
"""


def first_use(model_name, cold: bool, thread_count: int) -> dict:
    """Import time, first and steady training step of ``model_name`` in a fresh process
    with the Numba backend; ``cold``: an empty Numba cache (NUMBA_CACHE_DIR), so the
    first step compiles every kernel it uses."""
    environment = {
        **os.environ,
        "NN_CORE_BACKEND": "numba",
        "NN_CORE_NUM_THREADS": str(thread_count),
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as cache:
        if cold:
            environment["NUMBA_CACHE_DIR"] = cache
        command = [sys.executable, "-c", _FIRST_USE_CHILD, model_name]
        output = subprocess.run(
            command, capture_output=True, text=True, env=environment, check=True, cwd=root
        ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return {"model": model_name, "cache": "cold" if cold else "warm", **result}


def first_use_steps(model_name) -> dict:
    """Seconds of the first four training steps and a first predict, in this process."""
    architecture, optimizer_name, batch_size = MODELS[model_name]
    x = _load_images(architecture, batch_size * 4)
    model = build_ours(architecture, optimizer_name)
    times = []
    for step in range(4):
        batch = x[step * batch_size : (step + 1) * batch_size]
        begin = time.perf_counter()
        model.train_on_batch(batch, batch)
        times.append(time.perf_counter() - begin)
    begin = time.perf_counter()
    model.predict(x[:batch_size], batch_size=batch_size)
    first_predict_s = time.perf_counter() - begin
    steady = float(np.median(times[1:]))
    return {
        "first_step_s": times[0],
        "steady_step_s": steady,
        "first_use_s": times[0] - steady,
        "first_predict_s": first_predict_s,
    }


# ---------------------------------------------------------------------------- data
def _load_images(architecture, count):
    (x, _), _ = nn.datasets.mnist.load_data()
    x = x[:count].astype(np.float32) / 255
    return x.reshape(len(x), 28, 28, 1) if architecture == "conv" else x.reshape(len(x), -1)


def _load_test_images(architecture, count):
    _, (x, _) = nn.datasets.mnist.load_data()
    x = x[:count].astype(np.float32) / 255
    return x.reshape(len(x), 28, 28, 1) if architecture == "conv" else x.reshape(len(x), -1)


def _as_torch(torch, x):
    if x.ndim == 4:
        x = x.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(x))


# ---------------------------------------------------------------------------- running
def run_model(model_name, torch, backends, rounds, fraction, inference_samples):
    """Training (and inference) samples for one model: a dict of lists of seconds."""
    architecture, optimizer_name, batch_size = MODELS[model_name]
    count = min(EPOCH_SAMPLES, max(batch_size, int(round(EPOCH_SAMPLES * fraction))))
    x = _load_images(architecture, count)
    ours = {backend: build_ours(architecture, optimizer_name) for backend in backends}
    runners = {
        backend: (lambda model=model, backend=backend: ours_epoch(model, x, batch_size, backend))
        for backend, model in ours.items()
    }
    predictors = {}
    test_x = _load_test_images(architecture, inference_samples)
    for backend, model in ours.items():
        predictors[backend] = lambda model=model, backend=backend: ours_predict(
            model, test_x, batch_size, backend
        )
    if torch is not None:
        module, optimizer = build_torch(
            torch, next(iter(ours.values())), architecture, optimizer_name
        )
        data, test_data = _as_torch(torch, x), _as_torch(torch, test_x)
        generator = torch.Generator().manual_seed(SEED)
        runners["torch"] = lambda: torch_epoch(
            torch, module, optimizer, data, batch_size, generator
        )
        predictors["torch"] = lambda: torch_predict(torch, module, test_data, batch_size)

    # Warm-up: compile (or load) every kernel, let BLAS and PyTorch allocate.
    warm_x = x[: 2 * batch_size]
    for backend, model in ours.items():
        nn.kernels.set_backend(backend)
        model.fit(warm_x, warm_x, epochs=1, batch_size=batch_size, verbose=0)
        model.predict(warm_x[:batch_size], batch_size=batch_size)
    nn.kernels.set_backend(backends[0])
    if torch is not None:
        warm_data = data[: 2 * batch_size]
        torch_epoch(torch, module, optimizer, warm_data, batch_size, generator)
        torch_predict(torch, module, warm_data, batch_size)

    scale = EPOCH_SAMPLES / count
    names = list(runners)
    epoch_s = {name: [] for name in names}
    predict_s = {name: [] for name in names}
    for round_index in range(rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            time.sleep(SETTLE_SECONDS)
            epoch_s[name].append(runners[name]() * scale)
        if model_name in INFERENCE_MODELS:
            for name in order:
                time.sleep(SETTLE_SECONDS)
                predict_s[name].append(predictors[name]())
        load = os.getloadavg()[0]
        summary = ", ".join(f"{name} {epoch_s[name][-1]:.3f}" for name in names)
        print(
            f"  {model_name} round {round_index + 1}: s/epoch {summary} (load {load:.2f})",
            flush=True,
        )
    return {
        "model": model_name,
        "architecture": architecture,
        "optimizer": optimizer_name,
        "batch_size": batch_size,
        "samples_timed": count,
        "scale_to_epoch": scale,
        "epoch_s": epoch_s,
        "median_epoch_s": {name: _timing.median(values) for name, values in epoch_s.items()},
        "inference_samples": len(test_x),
        "predict_s": predict_s if model_name in INFERENCE_MODELS else None,
        "inference_samples_per_s": (
            {name: len(test_x) / _timing.median(values) for name, values in predict_s.items()}
            if model_name in INFERENCE_MODELS
            else None
        ),
    }


def _ratio(numerator, denominator):
    return None if numerator is None or not denominator else numerator / denominator


def format_tables(results, first_uses, fraction, rounds) -> str:
    implementations = list(dict.fromkeys(k for r in results for k in r["median_epoch_s"]))
    ours = [name for name in implementations if name != "torch"]
    has_torch = "torch" in implementations
    header = ["model", "batch"] + [f"ours {name} (s/epoch)" for name in ours]
    if has_torch:
        header += ["PyTorch (s/epoch)"] + [f"{name} / PyTorch" for name in ours]
    rows = []
    for result in results:
        medians = result["median_epoch_s"]
        row = [result["model"], str(result["batch_size"])]
        row += [f"{medians[name]:.3f}" for name in ours]
        if has_torch:
            row.append(f"{medians['torch']:.3f}")
            row += [f"{medians[name] / medians['torch']:.2f}" for name in ours]
        rows.append(row)
    scaled = (
        f" Each round timed {fraction:g} of an epoch and scaled to 60000 samples."
        if fraction < 1
        else ""
    )
    text = [
        "Training: median seconds per epoch of 60000 MNIST images "
        f"({rounds} rounds, implementations alternated).{scaled}",
        "",
        _timing.markdown_table(header, rows),
    ]
    inference = [r for r in results if r["inference_samples_per_s"]]
    if inference:
        header = ["model", "batch"] + [f"ours {name} (samples/s)" for name in ours]
        if has_torch:
            header += ["PyTorch (samples/s)"] + [f"{name} / PyTorch (time)" for name in ours]
        rows = []
        for result in inference:
            rates = result["inference_samples_per_s"]
            row = [result["model"], str(result["batch_size"])]
            row += [f"{rates[name]:,.0f}" for name in ours]
            if has_torch:
                row.append(f"{rates['torch']:,.0f}")
                row += [f"{rates['torch'] / rates[name]:.2f}" for name in ours]
            rows.append(row)
        samples = inference[0]["inference_samples"]
        text += [
            "",
            f"Inference: samples per second of predict on {samples} test images.",
            "",
            _timing.markdown_table(header, rows),
        ]
    if first_uses:
        header = ["model", "Numba cache", "import (s)", "first step (s)", "steady step (s)"]
        header.append("first-use overhead (s)")
        rows = [
            [
                entry["model"],
                entry["cache"],
                f"{entry['import_s']:.2f}",
                f"{entry['first_step_s']:.3f}",
                f"{entry['steady_step_s']:.4f}",
                f"{entry['first_use_s']:.3f}",
            ]
            for entry in first_uses
        ]
        text += [
            "",
            "First use (a fresh process, Numba backend): the first training step minus a "
            "steady one is the kernels' compile time (cold cache) or cache-load time (warm).",
            "",
            _timing.markdown_table(header, rows),
        ]
    return "\n".join(text)


def save_chart(results, path) -> None:
    """Seconds per epoch per model and implementation (left), inference rate (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    implementations = list(dict.fromkeys(k for r in results for k in r["median_epoch_s"]))
    colors = {"numpy": "#9aa5b1", "numba": "#1f77b4", "torch": "#ee4c2c"}
    labels = {"numpy": "ours (NumPy backend)", "numba": "ours (Numba backend)", "torch": "PyTorch"}
    inference = [r for r in results if r["inference_samples_per_s"]]
    figure, axes = plt.subplots(1, 2 if inference else 1, figsize=(11, 3.8), squeeze=False)
    width = 0.8 / len(implementations)
    panels = [(axes[0, 0], results, "median_epoch_s", "seconds per epoch (60000 images)")]
    if inference:
        panels.append((axes[0, 1], inference, "inference_samples_per_s", "predict: samples / s"))
    for axis, rows, key, ylabel in panels:
        for k, name in enumerate(implementations):
            positions = [i + (k - (len(implementations) - 1) / 2) * width for i in range(len(rows))]
            axis.bar(
                positions,
                [row[key][name] for row in rows],
                width,
                color=colors.get(name),
                label=labels.get(name, name),
            )
        axis.set_xticks(range(len(rows)))
        axis.set_xticklabels([f"{r['model']}\n(batch {r['batch_size']})" for r in rows], fontsize=8)
        axis.set_yscale("log")
        axis.set_ylabel(ylabel)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=None)
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per implementation")
    parser.add_argument(
        "--epoch-fraction",
        type=float,
        default=None,
        help="time this fraction of an epoch and scale (default 1; conv 0.1; quick 0.05)",
    )
    parser.add_argument("--backends", nargs="+", choices=["numba", "numpy"], default=None)
    parser.add_argument("--inference-samples", type=int, default=None, help="default 10000")
    parser.add_argument(
        "--first-use",
        choices=["cold", "warm", "both", "skip"],
        default=None,
        help="measure the first-use compile/load time (default both; quick warm)",
    )
    parser.add_argument("--quick", action="store_true", help="dense only, small fractions")
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help="threads of every pool: ours (BLAS and Numba) and PyTorch's (default 2)",
    )
    parser.add_argument("--no-torch", action="store_true", help="ours only")
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument("--out", default=os.path.join("results", "benchmarks"))
    arguments = parser.parse_args(argv)
    if arguments.rounds < 1:
        parser.error("--rounds must be at least 1")
    models = arguments.models or (["dense"] if arguments.quick else list(MODELS))
    inference_samples = arguments.inference_samples or (1000 if arguments.quick else 10000)
    first_use_mode = arguments.first_use or ("warm" if arguments.quick else "both")
    backends = arguments.backends or [
        name for name in ("numba", "numpy") if name in nn.kernels.AVAILABLE_BACKENDS
    ]
    if nn.kernels.default_backend_name() != "numba":
        backends = [name for name in backends if name != "numba"] or ["numpy"]

    torch = None if arguments.no_torch else _timing.import_torch()
    numba_threads = arguments.threads if "numba" in backends else None
    with _timing.thread_counts(torch, arguments.threads, numba_threads):
        return _run(arguments, torch, models, backends, inference_samples, first_use_mode)


def _run(arguments, torch, models, backends, inference_samples, first_use_mode):
    print(
        f"ours: {', '.join(backends)}; PyTorch: {'no' if torch is None else torch.__version__}; "
        f"{arguments.threads} thread(s) per pool"
    )

    results, fractions = [], {}
    for model_name in models:
        fraction = arguments.epoch_fraction
        if fraction is None:
            fraction = (
                0.05 if arguments.quick else (0.1 if MODELS[model_name][0] == "conv" else 1.0)
            )
        fraction = min(1.0, fraction)
        fractions[model_name] = fraction
        print(f"{model_name}: timing {fraction:g} of an epoch per round", flush=True)
        result = run_model(
            model_name, torch, backends, arguments.rounds, fraction, inference_samples
        )
        result["epoch_fraction"] = fraction
        results.append(result)

    first_uses = []
    if first_use_mode != "skip" and "numba" in backends:
        for model_name in [m for m in models if m in INFERENCE_MODELS]:
            for cold in {"cold": [True], "warm": [False], "both": [True, False]}[first_use_mode]:
                first_uses.append(first_use(model_name, cold, arguments.threads))

    fraction_note = max(fractions.values()) if fractions else 1.0
    text = format_tables(results, first_uses, fraction_note, arguments.rounds)
    if len(set(fractions.values())) > 1:
        timed = ", ".join(f"{name} {value:g}" for name, value in fractions.items())
        text += f"\n\nEpoch fractions timed: {timed} (scaled to 60000 samples)."
    print("\n" + text)
    os.makedirs(arguments.out, exist_ok=True)
    with open(os.path.join(arguments.out, "training.md"), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    ratios = {}
    for result in results:
        medians = result["median_epoch_s"]
        ratios[result["model"]] = {
            f"{name}/torch": _ratio(medians[name], medians.get("torch"))
            for name in medians
            if name != "torch"
        }
    _timing.write_json(
        os.path.join(arguments.out, "training.json"),
        {
            "benchmark": "training",
            "machine": _timing.machine_info(torch),
            "settings": {
                "models": models,
                "rounds": arguments.rounds,
                "epoch_samples": EPOCH_SAMPLES,
                "epoch_fractions": fractions,
                "backends": backends,
                "threads": arguments.threads,
                "torch_threads": None if torch is None else arguments.threads,
                "inference_samples": inference_samples,
                "quick": arguments.quick,
            },
            "training": results,
            "ratios": ratios,
            "first_use": first_uses,
        },
    )
    if not arguments.no_chart and results:
        save_chart(results, os.path.join(arguments.out, "training.png"))
    return results


if __name__ == "__main__":
    main()
