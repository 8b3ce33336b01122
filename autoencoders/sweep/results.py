"""The results file: one JSON object per line (JSONL), one line per finished trial.

A line is written whole, flushed and fsynced as soon as its trial finishes, so a sweep
killed halfway loses at most the trials in flight; a torn last line (a kill during the
write) is ignored on reading and rewritten by the rerun. Each line holds:

    key        the trial's identity: its configuration and the sweep's settings (JSON)
    config     {"model", "code_size", "layers", "nodes", "loss", "optimizer", ...}
    settings   {"dataset", "limit", "epochs", "batch_size", "validation_split", "seed",
                "kernel_backend"}
    status     "done", or "stopped_early" (ended by the ASHA scheduler: no test metrics)
    test_loss, mse, psnr_db, params, seconds, epochs_run, val_loss, seed, evaluated_on,
    history, runner ("serial" or "ray")
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

TABLE_COLUMNS = (
    ("model", "model"),
    ("code_size", "code"),
    ("layers", "layers"),
    ("nodes", "nodes"),
    ("loss", "loss"),
    ("optimizer", "optimizer"),
    ("learning_rate", "lr"),
)
SORT_KEYS = ("test_loss", "mse", "psnr_db", "params", "seconds")


def read_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records in ``path`` in file order ([] when it does not exist); lines that are
    not a complete JSON object (a torn last line) are skipped."""
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as file:
        for line in file:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "key" in record:
                records.append(record)
    return records


def append_result(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Append ``record`` as one line of ``path`` (created with its folder if needed),
    flushed and fsynced before returning. A torn last line is ended first, so the new
    record starts on a line of its own."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
    with open(path, "ab+") as file:
        if file.tell() > 0:
            file.seek(-1, os.SEEK_END)
            if file.read(1) != b"\n":
                line = "\n" + line
        file.write(line.encode("utf-8"))
        file.flush()
        os.fsync(file.fileno())


def sort_results(records: Sequence[dict[str, Any]], by: str = "test_loss") -> list[dict[str, Any]]:
    """Finished records sorted by ``by`` (best first: lowest, highest for psnr_db), then
    those stopped early by their val_loss."""
    if by not in SORT_KEYS:
        raise ValueError(f"sort key {by!r} is not one of {', '.join(SORT_KEYS)}")
    sign = -1 if by == "psnr_db" else 1
    done = [r for r in records if r.get(by) is not None]
    stopped = [r for r in records if r.get(by) is None]
    done.sort(key=lambda r: sign * r[by])
    stopped.sort(key=lambda r: (r.get("val_loss") is None, r.get("val_loss") or 0.0))
    return done + stopped


def format_table(records: Sequence[dict[str, Any]], by: str = "test_loss") -> str:
    """A plain-text table of ``records`` sorted by ``by``, one row per trial."""
    rows = []
    for record in sort_results(records, by):
        config = record["config"]
        cells = [_cell(config.get(key)) for key, _ in TABLE_COLUMNS]
        if record.get("status") == "stopped_early":
            metrics = ["stopped", "", "", _cell(record.get("params")), ""]
        else:
            metrics = [
                f"{record['test_loss']:.4f}",
                f"{record['mse']:.5f}",
                f"{record['psnr_db']:.2f}",
                f"{record['params']:,}",
                f"{record['seconds']:.1f}",
            ]
        rows.append(cells + metrics + [str(record.get("epochs_run", ""))])
    header = [title for _, title in TABLE_COLUMNS] + [
        "test loss",
        "MSE",
        "PSNR dB",
        "params",
        "seconds",
        "epochs",
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(text.rjust(width) for text, width in zip(row, widths)) for row in [header]]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(text.rjust(width) for text, width in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
