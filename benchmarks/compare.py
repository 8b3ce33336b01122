"""Two benchmark runs side by side: their machines' differences, then B / A per row.

    python -m benchmarks.compare A/training.json B/training.json
    python -m benchmarks.compare A/kernels.json B/kernels.json

The kind of each file (``benchmarks.training``'s or ``benchmarks.kernels``'s JSON) is read
from its content; both must be of the same kind. Rows: every (model, implementation) of a
training run, or (kernel, shape, implementation) of a kernels run, present in both files,
with A's and B's median seconds and B / A (below 1: B is faster). A row in only one file
is counted, not shown. The header lists the machine fields that differ (CPU, cores,
caches, BLAS and its kernel, library versions, commit, date) and those that agree.

An unreadable file, one that is not JSON, or JSON that is not a benchmark's, is an error
that names the file (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys

from . import _timing

KINDS = ("training", "kernels")


class CompareError(Exception):
    """A file that cannot be compared; the message names it."""


def load(path: str) -> dict:
    """The run in ``path`` with its kind checked; raises CompareError."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as error:
        raise CompareError(f"{path}: cannot read it ({error.strerror or error})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CompareError(f"{path}: not JSON ({error})") from None
    kind = kind_of(data)
    if kind is None:
        raise CompareError(
            f"{path}: not a benchmarks.training or benchmarks.kernels result "
            "(expected a 'training' or 'results' list)"
        )
    return data


def kind_of(data) -> str | None:
    """ "training", "kernels" or None, from the content."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("training"), list) and data.get("benchmark", "training") == "training":
        return "training"
    if isinstance(data.get("results"), list) and data.get("benchmark", "kernels") == "kernels":
        return "kernels"
    return None


def rows_of(data) -> dict[tuple, float]:
    """Row key -> median seconds: (model, implementation) or (kernel, shape, implementation)."""
    rows = {}
    if kind_of(data) == "training":
        for result in data["training"]:
            for name, seconds in result.get("median_epoch_s", {}).items():
                rows[(result["model"], name)] = seconds
    else:
        for row in data["results"]:
            rows[(row["kernel"], row["shape"], row["implementation"])] = row["median_s"]
    return rows


def machine_fields(data) -> dict[str, object]:
    """The machine's comparable fields, flattened ("blas core", "numpy", ...)."""
    machine = data.get("machine") or {}
    versions = machine.get("versions") or {
        key: machine.get(key) for key in ("python", "numpy", "numba", "torch")
    }
    blas = machine.get("blas") or {}
    fields = {
        "CPU": machine.get("cpu_model"),
        "cores": machine.get("cores") or machine.get("cpu_count"),
        "caches": machine.get("caches"),
        "BLAS": " ".join(str(blas[k]) for k in ("name", "version") if blas.get(k)) or None,
        "BLAS kernel": blas.get("core"),
    }
    fields.update({name: value for name, value in versions.items()})
    fields["threads"] = (data.get("settings") or {}).get("threads")
    fields["commit"] = machine.get("commit")
    fields["date"] = machine.get("date")
    return fields


def _text(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items())
    return "-" if value is None else str(value)


def format_comparison(a: dict, b: dict, a_name: str, b_name: str) -> str:
    kind = kind_of(a)
    a_fields, b_fields = machine_fields(a), machine_fields(b)
    differ = [key for key in a_fields if a_fields[key] != b_fields.get(key)]
    same = [key for key in a_fields if key not in differ]
    lines = [f"{kind}: A = {a_name}, B = {b_name}", ""]
    if differ:
        lines.append(
            _timing.markdown_table(
                ["machine", "A", "B"],
                [[key, _text(a_fields[key]), _text(b_fields.get(key))] for key in differ],
            )
        )
        lines.append("")
    if same:
        lines += ["Same in both: " + "; ".join(f"{k} {_text(a_fields[k])}" for k in same), ""]
    a_rows, b_rows = rows_of(a), rows_of(b)
    common = [key for key in a_rows if key in b_rows]
    key_header = ["model", "implementation"] if kind == "training" else ["kernel", "shape", "impl"]
    table = []
    for key in common:
        ratio = b_rows[key] / a_rows[key] if a_rows[key] else None
        table.append(
            [
                *key,
                f"{a_rows[key]:.4g}",
                f"{b_rows[key]:.4g}",
                "n/a" if ratio is None else f"{ratio:.2f}",
            ]
        )
    lines.append(_timing.markdown_table([*key_header, "A (s)", "B (s)", "B / A"], table))
    only_a, only_b = len(a_rows) - len(common), len(b_rows) - len(common)
    if only_a or only_b:
        lines += ["", f"Rows only in A: {only_a}; only in B: {only_b} (not shown)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="the first run's training.json or kernels.json")
    parser.add_argument("b", help="the second run's JSON, of the same kind")
    arguments = parser.parse_args(argv)
    try:
        a, b = load(arguments.a), load(arguments.b)
        if kind_of(a) != kind_of(b):
            raise CompareError(
                f"{arguments.a} is a {kind_of(a)} result but {arguments.b} is a "
                f"{kind_of(b)} result; compare files of the same kind"
            )
    except CompareError as error:
        print(f"benchmarks.compare: {error}", file=sys.stderr)
        return 2
    print(format_comparison(a, b, arguments.a, arguments.b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
