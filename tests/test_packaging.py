"""Packaging promises: one version, typed packages, and a wheel that carries its data.

``.ci/wheel`` builds and installs the real wheel; these tests check, quickly and offline,
the configuration that wheel is made from.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
from pathlib import Path

import pytest

import autoencoders
import nn_core

ROOT = Path(__file__).resolve().parents[1]


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _package_data() -> dict[str, list[str]]:
    section = _setup_cfg()["options.package_data"]
    return {package: value.split() for package, value in section.items()}


def test_setup_cfg_reads_the_version_from_nn_core_version_module():
    assert _setup_cfg()["metadata"]["version"] == "attr: nn_core._version.__version__"
    assert nn_core.__version__ == nn_core._version.__version__


def test_version_module_is_one_literal_so_building_needs_no_numpy():
    # setuptools reads `attr:` statically only when the value is a plain literal; an
    # import here would make it import nn_core (and NumPy) at build time.
    tree = ast.parse((ROOT / "nn_core" / "_version.py").read_text())
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    (assignment,) = [node for node in tree.body if isinstance(node, ast.Assign)]
    assert isinstance(assignment.value, ast.Constant)
    assert assignment.value.value == nn_core.__version__


def test_installed_metadata_version_agrees_with_nn_core_version():
    try:
        installed = importlib.metadata.version("nn-core-autoencoders")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("nn-core-autoencoders is not installed (pip install -e .)")
    assert installed == nn_core.__version__


@pytest.mark.parametrize("package", [nn_core, autoencoders], ids=lambda p: p.__name__)
def test_packages_are_marked_typed_and_ship_the_marker(package):
    assert (Path(package.__file__).parent / "py.typed").is_file()
    assert "py.typed" in _package_data()[package.__name__]


def test_package_data_covers_every_vendored_mnist_file():
    datasets_dir = ROOT / "nn_core" / "datasets"
    patterns = _package_data()["nn_core.datasets"]
    shipped = {path for pattern in patterns for path in datasets_dir.glob(pattern)}
    vendored = {path for path in (datasets_dir / "data" / "mnist").iterdir() if path.is_file()}
    assert vendored, "no vendored MNIST files found"
    assert vendored <= shipped, sorted(p.name for p in vendored - shipped)
    from nn_core.datasets import mnist

    assert set(mnist.SPEC.filenames.values()) <= {path.name for path in vendored}


def test_every_package_directory_is_found_by_the_include_patterns():
    # `packages = find:` only finds directories with an __init__.py; a subpackage without
    # one would be silently left out of the wheel.
    include = _setup_cfg()["options.packages.find"]["include"].split()
    assert set(include) == {"nn_core", "nn_core.*", "autoencoders", "autoencoders.*"}
    for top in ("nn_core", "autoencoders"):
        for directory in (ROOT / top).rglob("*"):
            if not directory.is_dir() or directory.name == "__pycache__":
                continue
            if any(directory.glob("*.py")):
                assert (directory / "__init__.py").is_file(), f"{directory} has no __init__.py"
