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
