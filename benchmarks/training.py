"""Seconds per epoch of the Keras-blog autoencoders: ours, PyTorch (eager, compiled), JAX.

    python -m benchmarks.training                           # every model, 3 rounds
    python -m benchmarks.training --models conv --epoch-fraction 0.1 --rounds 5
    python -m benchmarks.training --quick                   # dense only, small fractions

Models (MNIST, 60000 training images, pixels in [0, 1], binary cross-entropy on a sigmoid
output, fused with it from the logits by every implementation but ``torch``):

* dense: 784-32-784, relu code, Adadelta(lr 1.0, rho 0.95, eps 1e-7), batch 256;
* deep: 784-128-64-32-64-128-784, relu, Adam(lr 1e-3, betas (0.9, 0.999), eps 1e-7), batch 256;
* conv: the Keras-blog conv autoencoder (``autoencoders.ConvAutoencoder``), Adadelta, batch 128;
* dense-b32 and dense-b1024: the dense model at batch 32 and 1024 (per-step overhead).

Ours is ``model.fit(x, x, epochs=1, batch_size=B, shuffle=True, verbose=0)`` with the Numba
backend (``numba``) and the NumPy reference backend (``numpy``), switched in this process
with ``nn_core.kernels.set_backend``. The anchors (``--anchors``, default all) are the same
network with the same initial weights (copied from ours: Glorot-uniform kernels, zero
biases), the same data, batch size and optimizer settings:

* ``torch``: PyTorch as a typical user writes it: the model ends in ``nn.Sigmoid()``,
  trained with ``nn.BCELoss()`` by the usual loop (shuffled batches, ``zero_grad``,
  forward, loss, ``backward``, ``step``, ``loss.item()``);
* ``torch-logits``: the model returns logits, ``nn.BCEWithLogitsLoss()`` (this column
  was called ``torch`` before issue 16);
* ``torch-compile``: ``torch-logits`` with the forward + loss, the optimizer step and
  predict each under ``torch.compile`` (Inductor; needs a C++ compiler);
* ``jax``: one ``jax.jit`` of the whole step (forward, BCE from the logits, ``jax.grad``,
  the optimizer in jax.numpy), see ``benchmarks.training_jax``.

PyTorch runs with ``torch.set_num_threads(--threads)``; XLA uses every core (or one with
``--threads 1``). A missing library, or a compile that fails (any exception on the
anchor's first steps), makes that column ``n/a`` with the reason in one line, in the
tables and under ``"unavailable"`` in the JSON; the other columns still run.

Every implementation is warmed up first (a few batches and a predict: Numba's, Inductor's
and XLA's first-use compiles are not in the timed rounds), then the rounds alternate
between implementations (one epoch each, the order reversed every other round, each after
a pause of SETTLE_SECONDS for the previous one's idle threads to park) and the median is
reported.
``--epoch-fraction f`` times the first f * 60000 images and scales to 60000 (the output
says so). Inference: samples per second of ``predict`` on the test images at the model's
batch size (PyTorch: ``model(batch)``, with ``sigmoid`` after the logits models, under
``torch.inference_mode``; JAX: a jitted ``sigmoid(forward)``), every implementation
writing the batch outputs into one array of all of them, as ``predict`` returns them.
First use: in a fresh process, the first training step minus a steady one, with an empty
Numba cache (``cold``: compiling) and with the cache left by earlier runs (``warm``). The
anchors' first use is measured in this process while they are warmed up on every batch
shape (the full batch, the epoch's partial last one, the test images): that is where
torch.compile and jax.jit compile, never in a timed round. torch.compile's time depends on
Inductor's on-disk cache (/tmp/torchinductor_<user>), left by earlier runs.

Ratios: ours (each backend) / each anchor, of the median seconds (below 1: ours faster).
Roofline (``benchmarks.roofline``): the epoch's matrix-product FLOPs (forward, weight
gradient, input gradient except the first layer's; element-wise work not counted), the
seconds they take at the float32 GEMM peak measured at the start (best of 3 ``np.matmul``
of --peak-size^3 at --threads BLAS threads), and each column's fraction of that limit.

Writes ``training.md``, ``training.json`` (with the machine: ``benchmarks.machine``) and
``training.png`` to ``--out`` (default results/benchmarks). Compare two runs with
``python -m benchmarks.compare A/training.json B/training.json``.
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

from . import _timing, machine, roofline, training_jax, training_report, training_torch

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
# The other libraries' columns, in the tables' order.
ANCHORS = ("torch", "torch-logits", "torch-compile", "jax")


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


def ours_predict(model, x, batch_size, backend):
    previous = nn.kernels.backend_name()
    nn.kernels.set_backend(backend)
    try:
        start = time.perf_counter()
        model.predict(x, batch_size=batch_size)
        return time.perf_counter() - start
    finally:
        nn.kernels.set_backend(previous)


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


# ---------------------------------------------------------------------------- anchors
class Unavailable(Exception):
    """An anchor that cannot run here; the message (one line) says why."""


def one_line(error: BaseException) -> str:
    """``Type: first line of the message``, at most 200 characters."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}".strip().rstrip(":")
    return text if len(text) <= 200 else text[:197] + "..."


def make_anchor(name, libraries, ours, architecture, x, test_x, batch_size):
    """The anchor ``name`` (``ANCHORS``) starting from ours' current weights, or raise
    Unavailable. libraries: {"torch": module or None, "jax": module or None}."""
    if name == "jax":
        if libraries["jax"] is None:
            raise Unavailable("JAX is not installed")
        return training_jax.JaxAnchor(
            libraries["jax"], ours, architecture, x, test_x, batch_size, SEED
        )
    torch = libraries["torch"]
    if torch is None:
        raise Unavailable("PyTorch is not installed")
    if name == "torch-compile" and not hasattr(torch, "compile"):
        raise Unavailable(f"torch {torch.__version__} has no torch.compile")
    return training_torch.TorchAnchor(torch, name, ours, architecture, x, test_x, batch_size, SEED)


def warm_up_anchor(anchor, count, batch_size) -> dict:
    """Four training steps on a full batch, two on the epoch's partial last batch (when
    ``count`` is not a multiple of ``batch_size``) and one predict of the test images, so
    that every batch shape is compiled before the timed rounds. Returns the first-use
    record: first_step_s, steady_step_s, first_use_s (their difference: the compile time
    of a compiling anchor), partial_batch_first_use_s (None without one), first_predict_s.
    """

    def timed_step(size):
        batch = anchor.batch_of(0, size)
        begin = time.perf_counter()
        anchor.train_step(batch)
        return time.perf_counter() - begin

    times = [timed_step(batch_size) for _ in range(4)]
    steady = float(np.median(times[1:]))
    partial = count % batch_size
    partial_first_use = None
    if partial:
        first = timed_step(partial)
        partial_first_use = first - timed_step(partial)
    return {
        "first_step_s": times[0],
        "steady_step_s": steady,
        "first_use_s": times[0] - steady,
        "partial_batch_first_use_s": partial_first_use,
        "first_predict_s": anchor.predict(),
    }


# ---------------------------------------------------------------------------- running
def run_model(
    model_name, libraries, anchors, backends, rounds, fraction, inference_samples, peak_gflops
):
    """Training (and inference) samples for one model: a dict of lists of seconds, the
    anchors' first use and unavailability, and the roofline at ``peak_gflops``."""
    architecture, optimizer_name, batch_size = MODELS[model_name]
    count = min(EPOCH_SAMPLES, max(batch_size, int(round(EPOCH_SAMPLES * fraction))))
    x = _load_images(architecture, count)
    test_x = _load_test_images(architecture, inference_samples)
    ours = {backend: build_ours(architecture, optimizer_name) for backend in backends}
    runners = {
        backend: (lambda model=model, backend=backend: ours_epoch(model, x, batch_size, backend))
        for backend, model in ours.items()
    }
    predictors = {
        backend: (
            lambda model=model, backend=backend: ours_predict(model, test_x, batch_size, backend)
        )
        for backend, model in ours.items()
    }

    # The anchors copy ours' initial weights (before ours' warm-up trains them) and are
    # warmed up on every batch shape: a compiling anchor compiles here, not in a round.
    reference = next(iter(ours.values()))
    unavailable, anchor_first_use = {}, []
    for name in anchors:
        try:
            anchor = make_anchor(name, libraries, reference, architecture, x, test_x, batch_size)
            record = warm_up_anchor(anchor, count, batch_size)
        except Exception as error:  # a failed torch.compile must not end the benchmark
            unavailable[name] = str(error) if isinstance(error, Unavailable) else one_line(error)
            print(f"  {model_name}: {name} unavailable: {unavailable[name]}", flush=True)
            continue
        anchor_first_use.append({"model": model_name, "implementation": name, **record})
        runners[name], predictors[name] = anchor.epoch, anchor.predict

    # Ours: compile (or load) every kernel, let BLAS allocate.
    warm_x = x[: 2 * batch_size]
    for backend, model in ours.items():
        nn.kernels.set_backend(backend)
        model.fit(warm_x, warm_x, epochs=1, batch_size=batch_size, verbose=0)
        model.predict(warm_x[:batch_size], batch_size=batch_size)
    nn.kernels.set_backend(backends[0])

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
    medians = {name: _timing.median(values) for name, values in epoch_s.items()}
    inference = model_name in INFERENCE_MODELS
    return {
        "model": model_name,
        "architecture": architecture,
        "optimizer": optimizer_name,
        "batch_size": batch_size,
        "samples_timed": count,
        "scale_to_epoch": scale,
        "epoch_s": epoch_s,
        "median_epoch_s": medians,
        "unavailable": unavailable,
        "roofline": roofline.roofline(reference, EPOCH_SAMPLES, peak_gflops, medians),
        "anchor_first_use": anchor_first_use,
        "inference_samples": len(test_x),
        "predict_s": predict_s if inference else None,
        "inference_samples_per_s": (
            {name: len(test_x) / _timing.median(values) for name, values in predict_s.items()}
            if inference
            else None
        ),
    }


def ratios_of(result, backends, anchors) -> dict:
    """ "ours/anchor" -> median seconds of ours / the anchor's (None: unavailable)."""
    medians = result["median_epoch_s"]
    return {
        f"{ours}/{anchor}": (medians[ours] / medians[anchor] if medians.get(anchor) else None)
        for ours in backends
        for anchor in anchors
    }


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
    parser.add_argument(
        "--anchors",
        nargs="+",
        choices=list(ANCHORS),
        default=list(ANCHORS),
        help="the other libraries' columns (default all)",
    )
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
        help="threads of every pool: ours (BLAS and Numba), PyTorch's, XLA's (default 2)",
    )
    parser.add_argument(
        "--peak-size",
        type=int,
        default=_timing.GEMM_PEAK_SIZE,
        help="size n of the n^3 float32 GEMM that measures the peak (default 2048)",
    )
    parser.add_argument("--no-torch", action="store_true", help="no PyTorch columns")
    parser.add_argument("--no-jax", action="store_true", help="no JAX column")
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
    anchors = [
        name
        for name in dict.fromkeys(arguments.anchors)
        if not (arguments.no_torch and name.startswith("torch"))
        and not (arguments.no_jax and name == "jax")
    ]
    wants_torch = any(name.startswith("torch") for name in anchors)
    torch = _timing.import_torch() if wants_torch else None
    jax = training_jax.import_jax(arguments.threads) if "jax" in anchors else None
    libraries = {"torch": torch, "jax": jax}
    numba_threads = arguments.threads if "numba" in backends else None
    previous_backend = nn.kernels.backend_name()
    try:
        with _timing.thread_counts(torch, arguments.threads, numba_threads):
            return _run(
                arguments, libraries, anchors, models, backends, inference_samples, first_use_mode
            )
    finally:
        nn.kernels.set_backend(previous_backend)  # main() may be called from tests or scripts


def _run(arguments, libraries, anchors, models, backends, inference_samples, first_use_mode):
    torch, jax = libraries["torch"], libraries["jax"]
    print(
        f"ours: {', '.join(backends)}; PyTorch: {'no' if torch is None else torch.__version__}; "
        f"JAX: {'no' if jax is None else jax.__version__}; anchors: {', '.join(anchors) or '-'}; "
        f"{arguments.threads} thread(s) per pool"
    )
    peak = _timing.gemm_peak_best(arguments.threads, arguments.peak_size)
    print(
        f"float32 GEMM peak ({peak['size']}^3, {peak['threads']} thread(s)): "
        f"{peak['gflops']:.1f} GFLOP/s",
        flush=True,
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
            model_name,
            libraries,
            anchors,
            backends,
            arguments.rounds,
            fraction,
            inference_samples,
            peak["gflops"],
        )
        result["epoch_fraction"] = fraction
        results.append(result)

    first_uses = []
    if first_use_mode != "skip" and "numba" in backends:
        for model_name in [m for m in models if m in INFERENCE_MODELS]:
            for cold in {"cold": [True], "warm": [False], "both": [True, False]}[first_use_mode]:
                first_uses.append(first_use(model_name, cold, arguments.threads))

    notes = [training_jax.thread_note(jax, arguments.threads)] if jax is not None else []
    text = training_report.format_tables(
        results, first_uses, fractions, arguments.rounds, backends, anchors, peak, notes
    )
    print("\n" + text)
    os.makedirs(arguments.out, exist_ok=True)
    with open(os.path.join(arguments.out, "training.md"), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    _timing.write_json(
        os.path.join(arguments.out, "training.json"),
        {
            "benchmark": "training",
            "machine": machine.describe(torch),
            "settings": {
                "models": models,
                "rounds": arguments.rounds,
                "epoch_samples": EPOCH_SAMPLES,
                "epoch_fractions": fractions,
                "backends": backends,
                "anchors": anchors,
                "threads": arguments.threads,
                "torch_threads": None if torch is None else arguments.threads,
                "jax": None if jax is None else jax.__version__,
                "inference_samples": inference_samples,
                "quick": arguments.quick,
            },
            "gemm_peak": peak,
            "training": results,
            "ratios": {r["model"]: ratios_of(r, backends, anchors) for r in results},
            "first_use": first_uses,
        },
    )
    if not arguments.no_chart and results:
        training_report.save_chart(results, os.path.join(arguments.out, "training.png"))
    return results


if __name__ == "__main__":
    main()
