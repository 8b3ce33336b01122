"""Time and GFLOP/s of every kernel, NumPy backend against Numba backend against PyTorch.

    python -m benchmarks.kernels                    # every kernel, every shape (a few minutes)
    python -m benchmarks.kernels --quick            # the autoencoders' shapes, 3 repeats
    python -m benchmarks.kernels --families conv2d dense --out results/benchmarks

Kernels: dense forward (product + bias + relu) and backward (relu gradient, dL/dW, dL/db,
dL/dx); Conv2D forward (+ bias + relu), backward-input and backward-kernel; Conv2DTranspose
forward; max and average pooling forward and backward; nearest upsampling forward and
backward; relu, sigmoid and tanh forward and backward; binary cross-entropy (on
probabilities and on logits) and mean squared error, value and gradient; the fused
Adadelta and Adam updates. Shapes: those of the Keras-blog models (the dense autoencoder
at batch 256, the conv autoencoder's seven layers at batch 128) plus larger ones.

Implementations: ``numpy`` and ``numba`` are nn_core's two kernel backends, called
directly (``nn_core.kernels.numpy_backend`` / ``numba_backend``), so both run in this one
process; ``torch`` is the same operation in PyTorch on the CPU (NCHW tensors, as a PyTorch
model holds them; backward maps through the ATen backward ops that autograd calls), with
``torch.set_num_threads(<cores>)``. Without PyTorch, ours only.

Timing: per case, the implementations take turns, 7 samples each (the order reversed
every other round), each sample a run of calls lasting about 20 ms, after 0.12 s of
untimed calls of its own (``--settle``): otherwise a sample taken right after another
implementation's measures that one's idle threads still spinning on the cores (OpenBLAS's
for about 0.1 s) as much as the kernel. The median is reported.

Reference line: the machine's float32 GEMM peak, a 2048^3 ``np.matmul`` on one BLAS
thread and on every core. FLOPs: 2 x multiply-adds for products and convolutions; for the
memory-bound kernels (pooling, upsampling, element-wise, losses, optimizer updates) one
"FLOP" per element processed, so their GFLOP/s compare implementations with each other,
not with the GEMM peak.

Writes ``kernels.md`` (the table), ``kernels.json`` and ``kernels.png`` (the chart) to
``--out`` (default results/benchmarks).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from . import _timing, machine
from ._kernel_cases import (
    activation_cases,
    conv2d_cases,
    conv2d_transpose_cases,
    dense_cases,
    loss_cases,
    optimizer_cases,
    our_backends,
    pooling_cases,
    upsampling_cases,
)


def shape_table(quick: bool, batch: int | None) -> dict:
    """family -> shapes. The Keras-blog models' shapes, plus larger ones unless ``quick``.
    ``batch`` replaces every batch size (tests use a tiny one)."""
    conv_layers = [  # the Keras-blog conv autoencoder at batch 128 (benchmarks.conv_strategies)
        (128, 28, 28, 1, 16, "same"),
        (128, 14, 14, 16, 8, "same"),
        (128, 7, 7, 8, 8, "same"),
        (128, 4, 4, 8, 8, "same"),
        (128, 8, 8, 8, 8, "same"),
        (128, 16, 16, 8, 16, "valid"),
        (128, 28, 28, 16, 1, "same"),
    ]
    table = {
        "dense": [(256, 784, 32), (256, 32, 784), (256, 784, 128)],
        "conv2d": conv_layers,
        "conv2d_transpose": [(128, 7, 7, 8, 8, 4, 2), (128, 14, 14, 16, 8, 3, 1)],
        "pooling": [(128, 28, 28, 16), (128, 14, 14, 8), (128, 7, 7, 8)],
        "upsampling": [(128, 4, 4, 8), (128, 8, 8, 8), (128, 14, 14, 16)],
        "activations": [(256, 784), (128, 28, 28, 16)],
        "losses": [(256, 784), (128, 28, 28, 1)],
        "optimizers": [(784, 32), (128, 784)],
    }
    if quick:
        table["dense"] = table["dense"][:2]
        table["conv2d"] = [conv_layers[0], conv_layers[5]]
        for family in ("conv2d_transpose", "pooling", "upsampling", "activations", "losses"):
            table[family] = table[family][:1]
    else:
        table["dense"] += [(1024, 1024, 1024), (2048, 2048, 2048)]
        table["conv2d"] += [(64, 32, 32, 64, 64, "same")]
        table["conv2d_transpose"] += [(64, 16, 16, 64, 32, 4, 2)]
        table["pooling"] += [(64, 32, 32, 64)]
        table["upsampling"] += [(64, 32, 32, 64)]
        table["activations"] += [(4096, 4096)]
        table["losses"] += [(1024, 4096)]
        table["optimizers"] += [(2048, 2048)]
    if batch is not None:
        for family in ("dense", "conv2d", "conv2d_transpose", "pooling", "upsampling"):
            table[family] = [(batch, *shape[1:]) for shape in table[family]]
        table["activations"] = [(batch, *shape[1:]) for shape in table["activations"]]
        table["losses"] = [(batch, *shape[1:]) for shape in table["losses"]]
    return table


FAMILIES = {
    "dense": dense_cases,
    "conv2d": conv2d_cases,
    "conv2d_transpose": conv2d_transpose_cases,
    "pooling": pooling_cases,
    "upsampling": upsampling_cases,
    "activations": activation_cases,
    "losses": loss_cases,
    "optimizers": optimizer_cases,
}


# ---------------------------------------------------------------------------- running
def blas_threads(backends, thread_count) -> dict[str, int]:
    """OpenBLAS's thread count for each of our backends, as it runs in training."""
    return {name: _timing.backend_blas_threads(name, thread_count) for name in backends}


def run_case(
    case, implementations, backends, torch, repeats, target_seconds, settle_seconds, blas=None
):
    """Result rows (one per implementation that has this op) for one case. ``blas``:
    implementation -> the OpenBLAS thread count it runs with (``blas_threads``)."""
    arrays = case.setup()
    functions, first_call = {}, {}
    for impl in implementations:
        function = case.make(impl, arrays)
        if function is None:
            continue
        if blas and impl in blas:
            function = _timing.keeping_blas_threads(function, blas[impl])
        start = time.perf_counter()
        function()  # Numba compiles (or loads from its cache) here
        first_call[impl] = time.perf_counter() - start
        function()
        functions[impl] = function
    samples = _timing.time_alternating(functions, repeats, target_seconds, settle_seconds)
    rows = []
    for impl, values in samples.items():
        seconds = _timing.median(values)
        rows.append(
            {
                "family": case.family,
                "kernel": case.kernel,
                "shape": case.shape,
                "implementation": impl,
                "flops": case.flops,
                "median_s": seconds,
                "gflops": case.flops / seconds / 1e9,
                "samples": len(values),
                "first_call_s": first_call[impl],
            }
        )
    return rows


def format_table(results, peak) -> str:
    """Markdown: one row per kernel, shape and implementation."""
    single = peak["threads_1"]["gflops"]
    header = ["kernel", "shape", "implementation", "time (ms)", "GFLOP/s", "% of 1-thread GEMM"]
    rows = []
    for row in results:
        rows.append(
            [
                row["kernel"],
                row["shape"],
                row["implementation"],
                f"{row['median_s'] * 1e3:.4g}",
                f"{row['gflops']:.3g}",
                f"{100 * row['gflops'] / single:.1f}",
            ]
        )
    return _timing.markdown_table(header, rows)


def save_chart(results, peak, path) -> None:
    """One panel per kernel family: GFLOP/s per kernel/shape (log scale), one bar per
    implementation, with the GEMM peak (1 thread, every core) as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(dict.fromkeys(row["family"] for row in results))
    implementations = list(dict.fromkeys(row["implementation"] for row in results))
    colors = {"numpy": "#9aa5b1", "numba": "#1f77b4", "torch": "#ee4c2c"}
    figure, axes = plt.subplots(len(families), 1, figsize=(12, 3.2 * len(families)), squeeze=False)
    for axis, family in zip(axes[:, 0], families):
        rows = [row for row in results if row["family"] == family]
        groups = list(dict.fromkeys((row["kernel"], row["shape"]) for row in rows))
        width = 0.8 / len(implementations)
        for k, impl in enumerate(implementations):
            values = {
                (r["kernel"], r["shape"]): r["gflops"] for r in rows if r["implementation"] == impl
            }
            positions = [
                g + (k - (len(implementations) - 1) / 2) * width for g in range(len(groups))
            ]
            heights = [values.get(group, 0.0) for group in groups]
            axis.bar(positions, heights, width, label=impl, color=colors.get(impl))
        for name, style in (("threads_1", "--"), ("threads_all", ":")):
            axis.axhline(
                peak[name]["gflops"],
                color="black",
                linestyle=style,
                linewidth=1,
                label=f"GEMM peak, {'1 thread' if name == 'threads_1' else 'all cores'}",
            )
        axis.set_yscale("log")
        axis.set_ylabel("GFLOP/s")
        axis.set_title(family, loc="left", fontsize=10)
        axis.set_xticks(range(len(groups)))
        axis.set_xticklabels([f"{kernel}\n{shape}" for kernel, shape in groups], fontsize=6)
        axis.legend(fontsize=7, loc="upper right", ncol=5)
    figure.tight_layout()
    figure.savefig(path, dpi=70)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    parser.add_argument("--repeats", type=int, default=None, help="samples per kernel (7; quick 3)")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--batch", type=int, default=None, help="replace every batch size")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads of every pool (BLAS, Numba, PyTorch); default: every core",
    )
    parser.add_argument("--no-torch", action="store_true", help="ours only")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.12,
        help="seconds of untimed calls before each sample, for the previous implementation's "
        "spinning threads to park (default 0.12; 0 with --quick)",
    )
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument("--out", default=os.path.join("results", "benchmarks"))
    arguments = parser.parse_args(argv)
    thread_count = arguments.threads or os.cpu_count() or 1
    torch = None if arguments.no_torch else _timing.import_torch()
    numba_threads = thread_count if "numba" in our_backends() else None
    with _timing.thread_counts(torch, thread_count, numba_threads):
        return _run(arguments, torch, thread_count)


def _run(arguments, torch, thread_count):
    repeats = arguments.repeats or (3 if arguments.quick else 7)
    target_seconds = 0.002 if arguments.quick else 0.02
    settle_seconds = 0.0 if arguments.quick else arguments.settle
    backends = our_backends()
    implementations = [*backends, *(["torch"] if torch is not None else [])]
    rng = np.random.default_rng(0)
    peak = _timing.gemm_peak(
        _timing.GEMM_PEAK_SIZE if not arguments.quick else 512, repeats=repeats
    )
    print(
        f"float32 GEMM {peak['size']}^3: {peak['threads_1']['gflops']:.1f} GFLOP/s on 1 thread, "
        f"{peak['threads_all']['gflops']:.1f} on {peak['threads_all_count']}",
        flush=True,
    )
    shapes = shape_table(arguments.quick, arguments.batch)
    results = []
    blas = blas_threads(backends, thread_count)
    for family in arguments.families:
        for case in FAMILIES[family](shapes[family], rng, backends, torch):
            rows = run_case(
                case,
                implementations,
                backends,
                torch,
                repeats,
                target_seconds,
                settle_seconds,
                blas,
            )
            for row in rows:
                print(
                    f"{row['kernel']:38s} {row['shape']:28s} {row['implementation']:6s} "
                    f"{row['median_s'] * 1e3:9.4f} ms {row['gflops']:8.3f} GFLOP/s",
                    flush=True,
                )
            results.extend(rows)

    os.makedirs(arguments.out, exist_ok=True)
    table = format_table(results, peak)
    note = (
        f"float32 GEMM peak ({peak['size']}^3 np.matmul): "
        f"{peak['threads_1']['gflops']:.1f} GFLOP/s on 1 thread, "
        f"{peak['threads_all']['gflops']:.1f} GFLOP/s on {peak['threads_all_count']} threads. "
        f"Median of {repeats} samples, implementations alternated; {thread_count} thread(s) "
        "per pool (BLAS, Numba, PyTorch)."
    )
    print("\n" + table + "\n\n" + note)
    with open(os.path.join(arguments.out, "kernels.md"), "w", encoding="utf-8") as handle:
        handle.write(table + "\n\n" + note + "\n")
    _timing.write_json(
        os.path.join(arguments.out, "kernels.json"),
        {
            "benchmark": "kernels",
            "machine": machine.describe(torch),
            "settings": {
                "quick": arguments.quick,
                "repeats": repeats,
                "target_sample_s": target_seconds,
                "settle_s": settle_seconds,
                "families": arguments.families,
                "batch": arguments.batch,
                "implementations": implementations,
                "threads": thread_count,
            },
            "gemm_peak": peak,
            "results": results,
        },
    )
    if not arguments.no_chart:
        save_chart(results, peak, os.path.join(arguments.out, "kernels.png"))
    return results


if __name__ == "__main__":
    main()
