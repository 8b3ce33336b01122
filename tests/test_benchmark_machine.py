"""benchmarks.machine describes the CPU, caches, BLAS, versions and commit with sane types."""

from __future__ import annotations

import json

from benchmarks import machine


def test_machine_description_has_every_key_with_sane_types():
    info = machine.describe()
    json.dumps(info)  # serialisable as it is
    assert isinstance(info["cpu_model"], str) and info["cpu_model"]
    assert isinstance(info["cores"]["logical"], int) and info["cores"]["logical"] >= 1
    physical = info["cores"]["physical"]
    assert physical is None or 1 <= physical <= info["cores"]["logical"]
    assert isinstance(info["caches"], dict)
    for name, size in info["caches"].items():
        assert name.startswith("L") and isinstance(size, str)
    assert set(info["blas"]) == {"name", "version", "configuration", "core", "library"}
    versions = info["versions"]
    assert set(versions) == {"python", "numpy", "numba", "torch", "jax", "nn_core"}
    assert versions["python"].count(".") == 2 and versions["numpy"][0].isdigit()
    assert info["commit"] is None or len(info["commit"].split("-")[0]) == 40
    assert info["date"].endswith("+00:00")
    assert info["torch"] is None  # no torch module given: PyTorch not used by this run


def test_caches_are_read_from_a_sysfs_style_folder(tmp_path):
    for index, (level, kind, size) in enumerate(
        [(1, "Data", "32K"), (1, "Instruction", "32K"), (2, "Unified", "1024K")]
    ):
        folder = tmp_path / f"index{index}"
        folder.mkdir()
        (folder / "level").write_text(f"{level}\n")
        (folder / "type").write_text(f"{kind}\n")
        (folder / "size").write_text(f"{size}\n")
    assert machine.caches(str(tmp_path)) == {"L1d": "32K", "L1i": "32K", "L2": "1024K"}
    assert machine.caches(str(tmp_path / "missing")) == {}
