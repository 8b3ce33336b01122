"""The repository's promises about itself: CI runs exactly the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    return [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands():
    commands = _readme_commands()
    assert len(commands) == 2, commands
    assert commands[0].startswith("pip install -e '.[dev]'")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_on_both_backends():
    test_command = _readme_commands()[1]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines
    assert "NN_CORE_BACKEND=numba" in test_command and "NN_CORE_BACKEND=numpy" in test_command


def _concrete_layer_classes():
    import inspect

    import nn_core as nn
    from nn_core.layers.base import Layer

    abstract = {"Layer", "Activation"}
    return [
        cls
        for name, cls in sorted(vars(nn.layers).items())
        if inspect.isclass(cls) and issubclass(cls, Layer) and name not in abstract
    ]


def test_every_layer_states_its_backward_math_with_shapes():
    """Issue 7: each layer's docstrings give the backward equations (dL/d...) and shapes."""
    missing = []
    for cls in _concrete_layer_classes():
        text = cls.__doc__ or ""
        for method in ("forward", "backward", "backward_from_logits"):
            text += getattr(getattr(cls, method, None), "__doc__", None) or ""
        if "dL/d" not in text or "(N" not in text:
            missing.append(cls.__name__)
    assert len(_concrete_layer_classes()) >= 20
    assert not missing, f"layers without backward equations and shapes: {missing}"


# ------------------------------------------------------------ the README and the docs site
_MARKDOWN_LINK = re.compile(r"\]\((?!https?://)([^)\s]+)\)")


def test_readme_is_a_five_minute_read_whose_links_and_images_resolve():
    """Issue 18: at most about 200 lines; every relative link and image exists."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200, len(text.splitlines())
    targets = [target.split("#")[0] for target in _MARKDOWN_LINK.findall(text)]
    assert len(targets) >= 10, targets
    broken = [target for target in targets if target and not (ROOT / target).exists()]
    assert not broken, f"README.md links to missing files: {broken}"


def _public_modules(package: str) -> list[str]:
    names = []
    for path in sorted((ROOT / package).iterdir()):
        name = path.stem if path.suffix == ".py" else path.name
        is_module = path.suffix == ".py" or (path / "__init__.py").is_file()
        if is_module and not name.startswith("_"):
            names.append(f"{package}.{name}")
    return [package, *names]


def test_every_public_module_has_an_api_page_in_the_site_navigation():
    """Issue 18: the API reference covers every public module, and the site lists it."""
    navigation = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    missing = []
    for module in _public_modules("nn_core") + _public_modules("autoencoders"):
        page = ROOT / "docs" / "api" / f"{module}.md"
        if not page.is_file() or f"::: {module}\n" not in page.read_text(encoding="utf-8"):
            missing.append(f"{module}: no docs/api page")
        elif f"api/{module}.md" not in navigation:
            missing.append(f"{module}: not in mkdocs.yml's nav")
    assert not missing, missing
