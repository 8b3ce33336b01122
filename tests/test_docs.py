"""The tutorials in docs/ never rot: every ```python block of each docs/*.md runs.

The blocks of one file run in order in one shared namespace, as a reader running them
one after the other would. A block marked ```python no-run is skipped. Tracebacks point
at the Markdown file and line, and a failure names the file and the block number.
Figures are written to a temporary directory: the blocks honour ``DOCS_OUTPUT_DIR``
(default ``docs/figures``), and every ``figures/NAME.png`` that a tutorial shows must be
written by its own blocks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
TUTORIALS = sorted(DOCS.glob("[0-9][0-9]_*.md"))
_FENCE = re.compile(r"^```python(?P<info>[^\n]*)\n(?P<source>.*?)^```[ \t]*$", re.M | re.S)
_FIGURE = re.compile(r"\]\(figures/([\w.-]+\.png)\)")
_LINK = re.compile(r"\]\((?!https?://)([^)\s]+)\)")


class DocBlockError(AssertionError):
    """A code block of a tutorial raised; the message names the file and the block."""


def python_blocks(text: str) -> list[tuple[int, int, str, bool]]:
    """(block number from 1, first line of its code, source, runs?) of each python block."""
    blocks = []
    for number, match in enumerate(_FENCE.finditer(text), start=1):
        first_line = text.count("\n", 0, match.start("source")) + 1
        runs = "no-run" not in match.group("info").split()
        blocks.append((number, first_line, match.group("source"), runs))
    return blocks


def run_markdown(path: Path, namespace: dict | None = None) -> dict:
    """Execute the python blocks of ``path`` in order in one namespace; return it."""
    namespace = {"__name__": "__docs__"} if namespace is None else namespace
    for number, first_line, source, runs in python_blocks(path.read_text(encoding="utf-8")):
        if not runs:
            continue
        # Padding with newlines makes tracebacks show the Markdown file's own line numbers.
        code = compile("\n" * (first_line - 1) + source, str(path), "exec")
        try:
            exec(code, namespace)
        except Exception as error:
            raise DocBlockError(
                f"{path.name}: python block {number} (line {first_line}) failed: "
                f"{type(error).__name__}: {error}"
            ) from error
    return namespace


def test_the_learning_path_is_complete_and_in_order():
    names = [path.name for path in TUTORIALS]
    assert [name[:2] for name in names] == [f"{i:02d}" for i in range(1, 9)], names


@pytest.mark.parametrize("path", TUTORIALS, ids=[path.name for path in TUTORIALS])
def test_tutorial_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCS_OUTPUT_DIR", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    text = path.read_text(encoding="utf-8")
    assert any(runs for *_, runs in python_blocks(text)), f"{path.name} has no code to run"

    run_markdown(path)

    for figure in _FIGURE.findall(text):
        assert (tmp_path / figure).is_file(), f"{path.name} shows {figure} but did not write it"


def test_relative_links_of_the_tutorials_resolve():
    broken = []
    for path in TUTORIALS:
        for target in _LINK.findall(path.read_text(encoding="utf-8")):
            target = target.split("#")[0]
            if target and not (path.parent / target).exists():
                broken.append(f"{path.name} -> {target}")
    assert not broken, broken


# ---------------------------------------------------------------------- the runner itself
FAKE_TUTORIAL = """# A tutorial

```python
total = 1
```

Text between blocks.

```python no-run
raise RuntimeError("skipped")
```

```python
total += 1
assert total == 3, total
```
"""


def test_runner_shares_one_namespace_skips_no_run_and_names_the_failing_block(tmp_path):
    path = tmp_path / "99_fake.md"
    path.write_text(FAKE_TUTORIAL, encoding="utf-8")
    assert [(number, runs) for number, _, _, runs in python_blocks(FAKE_TUTORIAL)] == [
        (1, True),
        (2, False),
        (3, True),
    ]

    with pytest.raises(DocBlockError, match=r"99_fake.md: python block 3 \(line 14\)") as info:
        run_markdown(path)
    assert "AssertionError: 2" in str(info.value)

    path.write_text(FAKE_TUTORIAL.replace("total == 3", "total == 2"), encoding="utf-8")
    assert run_markdown(path)["total"] == 2
