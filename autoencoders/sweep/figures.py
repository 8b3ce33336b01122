"""The sweep's two figures (matplotlib, optional):

* rate-distortion: test MSE against code size, one line per number of hidden layers
  (for each point the best trial of that code size and depth);
* Pareto front: test MSE against parameter count for every trial, the trials no other
  one beats on both joined by a step line, the best trial (lowest MSE) marked.

MSE (per pixel, on [0, 1] images) is the error on both, since the test loss differs in
kind when a sweep compares losses.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

from nn_core.saving import write_atomically

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence


def pareto_front(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The finished records that no other has fewer parameters and a lower MSE than,
    by increasing parameter count."""
    front, best = [], float("inf")
    for record in sorted(_finished(records), key=lambda r: (r["params"], r["mse"])):
        if record["mse"] < best:
            front.append(record)
            best = record["mse"]
    return front


def rate_distortion(records: Iterable[dict[str, Any]]) -> dict[int, list[tuple[int, float]]]:
    """{layers: [(code_size, best MSE), ...] by code size} over the finished records that
    have a code size (layers 0 for models without hidden layers)."""
    best: dict[tuple[int, int], float] = {}
    for record in _finished(records):
        config = record["config"]
        if config.get("code_size") is None:
            continue
        point = (config.get("layers", 0), config["code_size"])
        best[point] = min(best.get(point, float("inf")), record["mse"])
    lines: dict[int, list[tuple[int, float]]] = {}
    for (layers, code_size), mse in sorted(best.items()):
        lines.setdefault(layers, []).append((code_size, mse))
    return lines


def write_figures(
    records: Sequence[dict[str, Any]],
    folder: str | os.PathLike[str],
    prefix: str = "sweep",
    log: Callable[[str], object] | None = print,
) -> list[str]:
    """Write ``<prefix>_rate_distortion.png`` and ``<prefix>_pareto.png`` in ``folder``;
    returns their paths ([] without matplotlib or without finished trials)."""
    log = log or (lambda *_: None)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed (pip install 'nn-core-autoencoders[plot]'): no figures")
        return []
    if not _finished(records):
        return []
    paths = []
    lines = rate_distortion(records)
    if lines:
        figure, axis = plt.subplots(figsize=(6, 4))
        for layers, points in lines.items():
            sizes, errors = zip(*points)
            label = f"{layers} hidden layer{'s' * (layers != 1)}"
            axis.plot(sizes, errors, marker="o", label=label)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("code size")
        axis.set_ylabel("test MSE (per pixel)")
        axis.set_title("Rate-distortion: error against code size")
        axis.grid(alpha=0.3, which="both")
        axis.legend()
        paths.append(_save(figure, os.path.join(folder, f"{prefix}_rate_distortion.png")))
        plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 4))
    finished = _finished(records)
    axis.scatter([r["params"] for r in finished], [r["mse"] for r in finished], s=18,
                 color="0.6", label="trials")  # fmt: skip
    front = pareto_front(records)
    axis.step([r["params"] for r in front], [r["mse"] for r in front], where="post",
              marker="o", color="C0", label="Pareto front")  # fmt: skip
    best = min(finished, key=lambda r: r["mse"])
    axis.scatter([best["params"]], [best["mse"]], marker="*", s=220, color="C3", zorder=3,
                 label="best: " + _short(best["config"]))  # fmt: skip
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("parameters")
    axis.set_ylabel("test MSE (per pixel)")
    axis.set_title("Error against model size")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    paths.append(_save(figure, os.path.join(folder, f"{prefix}_pareto.png")))
    plt.close(figure)
    return paths


def _finished(records):
    return [r for r in records if r.get("status", "done") == "done" and r.get("mse") is not None]


def _short(config: dict) -> str:
    names = {"code_size": "code", "layers": "layers", "nodes": "nodes", "learning_rate": "lr"}
    parts = [config.get("model", "")]
    parts += [f"{names[key]} {config[key]}" for key in names if config.get(key) is not None]
    if "loss" in config:
        parts.append(config["loss"])
    return ", ".join(str(part) for part in parts)


def _save(figure, path: str) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    write_atomically(path, lambda file: file.write(buffer.getvalue()))
    return path
