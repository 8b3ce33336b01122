"""Weight initialisers: ``init(shape, rng, dtype) -> array``.

The default for Dense and Conv2D kernels is Glorot-uniform, as in Keras (PyTorch
uses Kaiming-uniform with a = sqrt(5) instead). Biases start at zero, as in Keras.
For a kernel of shape (kh, kw, in, out), fan_in = kh*kw*in and fan_out = kh*kw*out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._names import unknown_name_error

# init(shape, rng, dtype) -> array of that shape and dtype (what a layer calls).
Initializer = Callable[[Sequence[int], np.random.Generator, Any], np.ndarray]


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out) of a Dense kernel (in, out) or a conv kernel (kh, kw, in, out)."""
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive_field = int(np.prod(shape[:-2]))
    return receptive_field * int(shape[-2]), receptive_field * int(shape[-1])


def glorot_uniform(
    shape: Sequence[int], rng: np.random.Generator, dtype: Any = "float32"
) -> np.ndarray:
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(
    shape: Sequence[int], rng: np.random.Generator, dtype: Any = "float32"
) -> np.ndarray:
    """N(0, 2 / (fan_in + fan_out)), truncated at two standard deviations like Keras."""
    fan_in, fan_out = fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / (fan_in + fan_out)), rng, dtype)


def he_uniform(
    shape: Sequence[int], rng: np.random.Generator, dtype: Any = "float32"
) -> np.ndarray:
    """U(-limit, limit), limit = sqrt(6 / fan_in) (He et al., 2015), suited to ReLU."""
    fan_in, _ = fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape: Sequence[int], rng: np.random.Generator, dtype: Any = "float32") -> np.ndarray:
    """N(0, 2 / fan_in), truncated at two standard deviations like Keras."""
    fan_in, _ = fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / fan_in), rng, dtype)


def lecun_uniform(
    shape: Sequence[int], rng: np.random.Generator, dtype: Any = "float32"
) -> np.ndarray:
    """U(-limit, limit), limit = sqrt(3 / fan_in)."""
    fan_in, _ = fans(shape)
    limit = np.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def zeros(
    shape: Sequence[int], rng: np.random.Generator | None = None, dtype: Any = "float32"
) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def ones(
    shape: Sequence[int], rng: np.random.Generator | None = None, dtype: Any = "float32"
) -> np.ndarray:
    return np.ones(shape, dtype=dtype)


def _truncated_normal(shape, stddev, rng, dtype):
    # Keras divides by .87962566 so the truncated distribution keeps the wanted stddev.
    scale = stddev / 0.87962566103423978
    values = rng.standard_normal(size=shape)
    outside = np.abs(values) > 2
    while np.any(outside):
        values[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2
    return (values * scale).astype(dtype)


_INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "zeros": zeros,
    "ones": ones,
}


def get(identifier: str | Initializer) -> Initializer:
    """Return the initialiser function for a name (``"he_normal"``) or a callable."""
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _INITIALIZERS:
        return _INITIALIZERS[identifier.lower()]
    raise unknown_name_error("initializer", identifier, _INITIALIZERS)


def name_of(initializer: Initializer) -> str:
    """The registered name of an initialiser function (for saving configs)."""
    for name, function in _INITIALIZERS.items():
        if function is initializer:
            return name
    raise ValueError(f"initializer {initializer!r} is not a registered one and cannot be saved")
