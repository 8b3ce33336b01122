"""Where models get their random generators: their own ``seed``, or one global seed.

``Sequential(seed=0)`` and ``Model(..., seed=0)`` are reproducible on their own. Code
written for Keras seeds once, globally (``keras.utils.set_random_seed(0)``), and builds
models without a seed; ``set_random_seed`` gives that habit the same guarantee here: every
model made afterwards with ``seed=None`` draws its seed, in creation order, from one
generator seeded with ``seed``. Layers get their generators from the model that holds
them (see ``Sequential.add``), so the same code after the same ``set_random_seed`` call
gives the same weights, shuffles and dropout masks.
"""

from __future__ import annotations

import numpy as np

_global_seeds: np.random.Generator | None = None


def set_random_seed(seed: int | None) -> None:
    """Seed every model created from now on with ``seed=None``; ``None`` undoes it."""
    global _global_seeds
    if seed is None:
        _global_seeds = None
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative integer, got {seed!r}")
    _global_seeds = np.random.default_rng(int(seed))


def draw_seed(seed: int | None) -> int | None:
    """``seed`` itself, or the next seed of ``set_random_seed``'s sequence, or None."""
    if seed is not None or _global_seeds is None:
        return seed
    return int(_global_seeds.integers(2**63))


def new_generator(seed: int | None = None) -> np.random.Generator:
    """A generator for a model: from ``seed``, else from the global seed, else fresh."""
    return np.random.default_rng(draw_seed(seed))
