"""The Markdown tables and the chart of ``benchmarks.training``'s results.

Tables: seconds per epoch per implementation; ours / each anchor; the roofline (epoch
GEMM FLOPs, the seconds they take at the measured peak, each implementation's fraction of
that limit); inference rates and time ratios; ours' first use in a fresh process; the
anchors' first use in the benchmark's process (their compile time); then a line per
unavailable column with its reason.
"""

from __future__ import annotations

from . import _timing

NOT_AVAILABLE = "n/a"


def _implementations(results, backends, anchors):
    present = {name for result in results for name in result["median_epoch_s"]}
    return [name for name in backends if name in present], [
        name
        for name in anchors
        if any(name in r["median_epoch_s"] or name in r["unavailable"] for r in results)
    ]


def _cell(value, form):
    return NOT_AVAILABLE if value is None else form.format(value)


def format_tables(results, first_uses, fractions, rounds, backends, anchors, peak, notes=()):
    ours, others = _implementations(results, backends, anchors)
    names = ours + others
    fraction = max(fractions.values()) if fractions else 1.0
    scaled = (
        f" Each round timed {fraction:g} of an epoch and scaled to 60000 samples."
        if fraction < 1
        else ""
    )
    header = ["model", "batch"] + [f"{name} (s/epoch)" for name in names]
    rows = []
    for result in results:
        medians = result["median_epoch_s"]
        rows.append(
            [result["model"], str(result["batch_size"])]
            + [_cell(medians.get(name), "{:.3f}") for name in names]
        )
    text = [
        "Training: median seconds per epoch of 60000 MNIST images "
        f"({rounds} rounds, implementations alternated).{scaled}",
        "",
        _timing.markdown_table(header, rows),
    ]
    if others:
        text += ["", "Ours / each anchor (seconds per epoch; below 1: ours is faster).", ""]
        text.append(_ratio_table(results, ours, others, "median_epoch_s"))

    header = ["model", "batch", "GFLOP/epoch", "limit (s)"]
    header += [f"{name} (fraction)" for name in names]
    rows = []
    for result in results:
        line = result["roofline"]
        rows.append(
            [
                result["model"],
                str(result["batch_size"]),
                f"{line['flops']['total'] / 1e9:.1f}",
                f"{line['limit_s']:.3f}",
            ]
            + [_cell(line["fraction_of_limit"].get(name), "{:.3f}") for name in names]
        )
    text += [
        "",
        f"Roofline: the epoch's matrix-product FLOPs (forward, weight and input gradients, "
        f"2 M K N each; element-wise work not counted), the seconds they take at the "
        f"measured float32 GEMM peak ({peak['gflops']:.1f} GFLOP/s, {peak['size']}^3 "
        f"np.matmul on {peak['threads']} thread(s)), and each implementation's fraction "
        "of that limit (limit / its seconds).",
        "",
        _timing.markdown_table(header, rows),
    ]

    inference = [r for r in results if r["inference_samples_per_s"]]
    if inference:
        header = ["model", "batch"] + [f"{name} (samples/s)" for name in names]
        rows = []
        for result in inference:
            rates = result["inference_samples_per_s"]
            rows.append(
                [result["model"], str(result["batch_size"])]
                + [_cell(rates.get(name), "{:,.0f}") for name in names]
            )
        text += [
            "",
            f"Inference: samples per second of predict on {inference[0]['inference_samples']}"
            " test images.",
            "",
            _timing.markdown_table(header, rows),
        ]
        if others:
            text += ["", "Inference, ours / each anchor (time).", ""]
            text.append(_ratio_table(inference, ours, others, "inference"))

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
    anchor_uses = [entry for result in results for entry in result["anchor_first_use"]]
    if anchor_uses:
        header = ["model", "anchor", "first step (s)", "steady step (s)"]
        header += ["first-use overhead (s)", "partial batch (s)", "first predict (s)"]
        rows = [
            [
                entry["model"],
                entry["implementation"],
                f"{entry['first_step_s']:.3f}",
                f"{entry['steady_step_s']:.4f}",
                f"{entry['first_use_s']:.3f}",
                _cell(entry["partial_batch_first_use_s"], "{:.3f}"),
                f"{entry['first_predict_s']:.3f}",
            ]
            for entry in anchor_uses
        ]
        text += [
            "",
            "First use of the anchors (this process, before the timed rounds): the first "
            "step minus a steady one, the same for the epoch's partial last batch (a new "
            "shape: torch.compile and jax.jit compile again), and the first predict of the "
            "test images (compiling its shapes).",
            "",
            _timing.markdown_table(header, rows),
        ]
    unavailable = [
        f"- {name} ({result['model']}): {reason}"
        for result in results
        for name, reason in result["unavailable"].items()
    ]
    if unavailable:
        text += ["", f"Unavailable ({NOT_AVAILABLE}):", "", *unavailable]
    if len(set(fractions.values())) > 1:
        timed = ", ".join(f"{name} {value:g}" for name, value in fractions.items())
        text += ["", f"Epoch fractions timed: {timed} (scaled to 60000 samples)."]
    text += ["", *notes] if any(notes) else []
    return "\n".join(text)


def _ratio_table(results, ours, others, key):
    header = ["model", "batch"] + [f"{a} / {b}" for a in ours for b in others]
    rows = []
    for result in results:
        if key == "inference":
            rates = result["inference_samples_per_s"]
            seconds = {name: 1 / rate for name, rate in rates.items() if rate}
        else:
            seconds = result[key]
        row = [result["model"], str(result["batch_size"])]
        for a in ours:
            for b in others:
                value = seconds[a] / seconds[b] if seconds.get(b) else None
                row.append(_cell(value, "{:.2f}"))
        rows.append(row)
    return _timing.markdown_table(header, rows)


COLORS = {
    "numpy": "#9aa5b1",
    "numba": "#1f77b4",
    "torch": "#ee4c2c",
    "torch-logits": "#f58b6c",
    "torch-compile": "#a3281a",
    "jax": "#2ca02c",
}
LABELS = {
    "numpy": "ours (NumPy backend)",
    "numba": "ours (Numba backend)",
    "torch": "PyTorch (Sigmoid + BCELoss)",
    "torch-logits": "PyTorch (BCEWithLogitsLoss)",
    "torch-compile": "PyTorch, torch.compile",
    "jax": "JAX, jax.jit",
}


def save_chart(results, path) -> None:
    """Seconds per epoch per model and implementation (left), inference rate (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    implementations = list(dict.fromkeys(k for r in results for k in r["median_epoch_s"]))
    inference = [r for r in results if r["inference_samples_per_s"]]
    figure, axes = plt.subplots(1, 2 if inference else 1, figsize=(12, 3.8), squeeze=False)
    width = 0.8 / len(implementations)
    panels = [(axes[0, 0], results, "median_epoch_s", "seconds per epoch (60000 images)")]
    if inference:
        panels.append((axes[0, 1], inference, "inference_samples_per_s", "predict: samples / s"))
    for axis, rows, key, ylabel in panels:
        for k, name in enumerate(implementations):
            positions = [i + (k - (len(implementations) - 1) / 2) * width for i in range(len(rows))]
            axis.bar(
                positions,
                [row[key].get(name, 0.0) for row in rows],
                width,
                color=COLORS.get(name),
                label=LABELS.get(name, name),
            )
        axis.set_xticks(range(len(rows)))
        axis.set_xticklabels([f"{r['model']}\n(batch {r['batch_size']})" for r in rows], fontsize=8)
        axis.set_yscale("log")
        axis.set_ylabel(ylabel)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
