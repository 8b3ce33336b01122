"""A bound on the weights a model may create, for rebuilding models from untrusted files.

A model file's config says which layers to build and its arrays hold their weights. A
hand-edited config can ask for ``Dense(10**9)`` next to a few kilobytes of arrays; built
naively, that allocates gigabytes before the mismatch is noticed. ``load_model`` builds
inside ``weight_budget(values)``, the number of weight values the file really holds, and
every layer claims its weights' sizes (``claim``) before it allocates them, so such a
config is refused with nothing allocated.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .layers.base import Layer

_remaining: list[int] = []  # a stack: budgets can nest (a model inside a model file)


@contextlib.contextmanager
def weight_budget(values: int, source: str) -> Iterator[None]:
    """Within this block, layers may create at most ``values`` weight values in all."""
    _remaining.append(int(values))
    _sources.append(source)
    try:
        yield
    finally:
        _remaining.pop()
        _sources.pop()


_sources: list[str] = []


def claim(layer: Layer, *shapes: Sequence[int]) -> None:
    """Count the arrays of ``shapes`` against the current budget; ValueError when over it."""
    if not _remaining:
        return
    wanted = sum(math.prod(int(d) for d in shape) for shape in shapes)
    if wanted > _remaining[-1]:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}) would create {wanted:,} weight "
            f"values, more than the {_remaining[-1]:,} left of the {_sources[-1]}; the config "
            "does not match the arrays"
        )
    _remaining[-1] -= wanted
