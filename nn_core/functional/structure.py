"""Model inputs and outputs given as one tensor, a list or a dict, and results packed back."""

from __future__ import annotations

from typing import Any


def flatten_structure(
    value: Any, what: str, model_name: str
) -> tuple[list[Any], list[str] | None, str]:
    """(list of entries, dict keys or None, kind) for a tensor, a list/tuple or a dict."""
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"Model {model_name!r}: {what} is an empty dict")
        keys = list(value)
        if any(not isinstance(key, str) for key in keys):
            raise ValueError(
                f"Model {model_name!r}: the keys of {what} must be strings, got {keys}"
            )
        return [value[key] for key in keys], keys, "dict"
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"Model {model_name!r}: {what} is an empty list")
        return list(value), None, "list"
    return [value], None, "single"


def pack_structure(values: list[Any], keys: list[str] | None, kind: str) -> Any:
    """``values`` (a list) as the structure the model was made with."""
    if kind == "dict":
        assert keys is not None  # flatten_structure gives keys with kind "dict"
        return dict(zip(keys, values))
    if kind == "list":
        return list(values)
    return values[0]
