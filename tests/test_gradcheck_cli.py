"""``python -m nn_core.gradcheck``: covers every discovered class on every usable backend,
``--layer NAME`` narrows it, and a class without an example or with a wrong gradient
fails the run."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn_core as nn
from nn_core import _gradcheck_report as report

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_cli(*arguments):
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "nn_core.gradcheck", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def table_rows(stdout):
    """(kind, name, ..., backend, error, status) rows: the lines after the dashed rule."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        cells = line.split()
        rows.append((cells[0], cells[1], cells[-3], cells[-1]))  # kind, name, backend, status
    return rows


def usable_backends():
    return [name for name in nn.kernels.AVAILABLE_BACKENDS if report._backend_usable(name)]


def test_full_run_passes_and_covers_every_discovered_class_on_every_backend():
    result = run_cli()
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    discovered = {
        *(("layer", name) for name in report.discovered_layers()),
        *(("loss", name) for name in report.discovered_losses()),
        *(("regularizer", name) for name in report.discovered_regularizers()),
    }
    assert len(discovered) > 20  # discovery found the engine's classes, not nothing
    for backend in usable_backends():
        covered = {(kind, name) for kind, name, row_backend, _ in rows if row_backend == backend}
        assert covered == discovered, backend
    assert {status for *_, status in rows} == {"ok"}
    assert f"{len(rows)} of {len(rows)} checks passed" in result.stdout


def test_layer_option_checks_only_that_class():
    result = run_cli("--layer", "Conv2D")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = table_rows(result.stdout)
    expected = len(report.LAYER_EXAMPLES["Conv2D"]) * len(usable_backends())
    assert len(rows) == expected
    assert {(kind, name) for kind, name, _, _ in rows} == {("layer", "Conv2D")}


def test_running_the_module_prints_no_warning_before_its_table():
    # Issue 18: runpy warned that nn_core.gradcheck was in sys.modules before it ran,
    # because ``import nn_core`` imports the module ``-m`` then executes again.
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-m", "nn_core.gradcheck", "--help"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("usage: python -m nn_core.gradcheck")


def test_unknown_layer_name_exits_non_zero():
    result = run_cli("--layer", "NoSuchLayer")
    assert result.returncode != 0
    assert "NoSuchLayer" in result.stderr


class UndocumentedLayer(nn.layers.Layer):
    """A layer someone added without giving the report an example configuration."""

    def forward(self, x, training=False):
        return self._prepare_input(x)

    def backward(self, grad_output):
        return grad_output


def test_a_new_layer_without_an_example_is_reported_missing_and_fails(monkeypatch, capsys):
    monkeypatch.setattr(nn.layers, "UndocumentedLayer", UndocumentedLayer, raising=False)

    assert "UndocumentedLayer" in report.discovered_layers()
    rows = list(report.run_checks(only="UndocumentedLayer"))
    assert rows and all(
        (kind, name, error) == ("layer", "UndocumentedLayer", None)
        for kind, name, _, _, error in rows
    )
    assert report.main([]) == 1
    assert "MISSING" in capsys.readouterr().out


def test_a_new_loss_without_an_example_fails(monkeypatch):
    class UndocumentedLoss(nn.losses.Loss):
        pass

    monkeypatch.setattr(nn.losses, "UndocumentedLoss", UndocumentedLoss, raising=False)
    assert report.main(["--layer", "UndocumentedLoss"]) == 1


class WrongGradientLayer(nn.layers.Layer):
    """y = 2x, but backward forgets the factor 2."""

    def forward(self, x, training=False):
        return 2 * self._prepare_input(x)

    def backward(self, grad_output):
        return np.asarray(grad_output)


def test_a_wrong_gradient_fails_the_run(monkeypatch, capsys):
    monkeypatch.setattr(nn.layers, "WrongGradientLayer", WrongGradientLayer, raising=False)
    monkeypatch.setitem(
        report.LAYER_EXAMPLES, "WrongGradientLayer", [("y = 2x", WrongGradientLayer, (2, 3))]
    )

    assert report.main(["--layer", "WrongGradientLayer"]) == 1
    output = capsys.readouterr().out
    assert "FAIL" in output and "0 of" in output


@pytest.mark.parametrize("name", ["Dense", "BinaryCrossentropy", "L1L2"])
def test_layer_option_also_selects_losses_and_regularizers(name, capsys):
    assert report.main(["--layer", name]) == 0
    assert name in capsys.readouterr().out
