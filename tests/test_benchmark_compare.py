"""benchmarks.compare prints two runs side by side, and names a file it cannot read."""

from __future__ import annotations

import json

import pytest

from benchmarks import compare


def _machine(cpu, numpy_version, commit):
    return {
        "cpu_model": cpu,
        "cores": {"logical": 2, "physical": 2},
        "caches": {"L2": "512K"},
        "blas": {"name": "scipy-openblas", "version": "0.3.31", "core": "Haswell"},
        "versions": {"python": "3.11.7", "numpy": numpy_version, "jax": None},
        "commit": commit,
        "date": "2026-12-03T12:00:00+00:00",
    }


def _training(path, cpu, numpy_version, commit, seconds):
    data = {
        "benchmark": "training",
        "machine": _machine(cpu, numpy_version, commit),
        "settings": {"threads": 2},
        "training": [
            {"model": model, "median_epoch_s": medians} for model, medians in seconds.items()
        ],
    }
    path.write_text(json.dumps(data))
    return str(path)


def _body_rows(text):
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ") and "---" not in line
    ]


def test_training_runs_side_by_side_with_b_over_a(tmp_path, capsys):
    a = _training(
        tmp_path / "a.json", "CPU A", "2.4.6", "aaa", {"dense": {"numba": 2.0, "torch": 4.0}}
    )
    b = _training(
        tmp_path / "b.json",
        "CPU B",
        "2.4.6",
        "bbb",
        {"dense": {"numba": 1.0, "torch": 5.0, "jax": 1.0}, "conv": {"numba": 9.0}},
    )
    assert compare.main([a, b]) == 0
    text = capsys.readouterr().out
    rows = _body_rows(text)
    assert ["CPU", "CPU A", "CPU B"] in rows
    assert ["commit", "aaa", "bbb"] in rows
    assert "numpy 2.4.6" in text.split("Same in both:")[1].splitlines()[0]
    assert ["dense", "numba", "2", "1", "0.50"] in rows
    assert ["dense", "torch", "4", "5", "1.25"] in rows
    assert not any(row[:2] in (["dense", "jax"], ["conv", "numba"]) for row in rows)
    assert "only in B: 2" in text


def test_kernels_runs_are_detected_from_their_content(tmp_path, capsys):
    def kernels(path, seconds):
        rows = [{"kernel": "dense_forward", "shape": "256x784", "implementation": "numba"}]
        rows[0]["median_s"] = seconds
        path.write_text(json.dumps({"machine": _machine("X", "2", "c"), "results": rows}))
        return str(path)

    assert (
        compare.main([kernels(tmp_path / "a.json", 0.004), kernels(tmp_path / "b.json", 0.001)])
        == 0
    )
    rows = _body_rows(capsys.readouterr().out)
    assert ["dense_forward", "256x784", "numba", "0.004", "0.001", "0.25"] in rows


@pytest.mark.parametrize(
    "content, message",
    [(None, "cannot read"), ("{not json", "not JSON"), ('{"rows": []}', "not a benchmarks")],
)
def test_a_bad_file_is_an_error_naming_it(tmp_path, capsys, content, message):
    good = _training(tmp_path / "good.json", "X", "2", "c", {"dense": {"numba": 1.0}})
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert compare.main([good, str(bad)]) == 2
    error = capsys.readouterr().err
    assert str(bad) in error and message in error


def test_files_of_different_kinds_are_refused(tmp_path, capsys):
    training = _training(tmp_path / "t.json", "X", "2", "c", {"dense": {"numba": 1.0}})
    kernels = tmp_path / "k.json"
    kernels.write_text(json.dumps({"benchmark": "kernels", "results": []}))
    assert compare.main([training, str(kernels)]) == 2
    assert "same kind" in capsys.readouterr().err
