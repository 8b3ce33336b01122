"""Typing: both packages ship ``py.typed`` and every public function and method carries
annotations (each parameter but ``self``/``cls``, and the return, ``__init__`` excepted), so
a user's type checker sees the real signatures; mypy itself runs in CI (``.ci/typecheck``).

Public means: in a module whose path has no part starting with ``_`` (``__init__`` aside),
not named with a leading underscore, and, for methods, in a class not named with one.
``python tests/test_typing.py [PATH_PREFIX ...]`` lists what is missing.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nn_core", "autoencoders")


def public_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if not any(part.startswith("_") and part != "__init__" for part in parts):
                yield path


def _missing_in(function, is_method) -> list[str]:
    arguments = function.args
    named = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
    if is_method and named and named[0].arg in ("self", "cls"):
        named = named[1:]
    missing = [argument.arg for argument in named if argument.annotation is None]
    if arguments.vararg is not None and arguments.vararg.annotation is None:
        missing.append("*" + arguments.vararg.arg)
    if arguments.kwarg is not None and arguments.kwarg.annotation is None:
        missing.append("**" + arguments.kwarg.arg)
    if function.returns is None and function.name != "__init__":
        missing.append("return")
    return missing


def unannotated(prefixes=()) -> list[str]:
    """'path:line name [what is missing]' for every public function short of annotations."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    found = []
    for path in public_modules():
        relative = path.relative_to(ROOT).as_posix()
        if prefixes and not relative.startswith(tuple(prefixes)):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            candidates = []
            if isinstance(node, functions):
                candidates = [(node, "", False)]
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                candidates = [(item, node.name + ".", True) for item in node.body]
            for function, owner, is_method in candidates:
                if not isinstance(function, functions):
                    continue
                if function.name.startswith("_") and function.name != "__init__":
                    continue
                missing = _missing_in(function, is_method)
                if missing:
                    found.append(f"{relative}:{function.lineno} {owner}{function.name} {missing}")
    return found


def test_both_packages_ship_py_typed():
    for package in PACKAGES:
        assert (ROOT / package / "py.typed").is_file(), f"{package}/py.typed is missing"


def test_every_public_function_and_method_is_annotated():
    missing = unannotated()
    assert not missing, f"{len(missing)} public functions lack annotations:\n" + "\n".join(
        missing[:40]
    )


def test_the_checker_sees_a_missing_annotation(tmp_path):
    source = "def f(x, y: int): return x\nclass C:\n    def m(self, z) -> None: ...\n"
    tree = ast.parse(source)
    f, c = tree.body
    assert _missing_in(f, False) == ["x", "return"]
    assert _missing_in(c.body[0], True) == ["z"]


if __name__ == "__main__":
    lines = unannotated(sys.argv[1:])
    print("\n".join(lines))
    print(f"{len(lines)} unannotated", file=sys.stderr)
