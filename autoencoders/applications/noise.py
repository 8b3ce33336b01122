"""Seeded image corruptions: additive Gaussian noise and salt-and-pepper noise.

Images in [0, 1], any shape; results float64 in [0, 1]. ``seed``: an int, None (fresh
entropy) or a ``np.random.Generator`` (used and advanced), as ``np.random.default_rng``.
"""

from __future__ import annotations

import numpy as np

NOISE_KINDS = ("gaussian", "salt_and_pepper")


def gaussian_noise(
    images: np.ndarray,
    stddev: float,
    seed: int | np.random.Generator | None = None,
    clip: bool = True,
) -> np.ndarray:
    """images + N(0, stddev^2) independently per pixel, clipped to [0, 1] (``clip``).

    ``stddev`` in pixel units (0.5 is the Keras blog's "noise factor" 0.5).
    """
    if stddev < 0:
        raise ValueError(f"gaussian_noise: stddev must be >= 0, got {stddev!r}")
    images = np.asarray(images, dtype=np.float64)
    noisy = images + np.random.default_rng(seed).normal(0.0, stddev, images.shape)
    return np.clip(noisy, 0.0, 1.0) if clip else noisy


def salt_and_pepper_noise(
    images: np.ndarray,
    amount: float,
    seed: int | np.random.Generator | None = None,
    salt_fraction: float = 0.5,
) -> np.ndarray:
    """A random ``amount`` (fraction in [0, 1]) of the pixels set to 1 (salt) or 0 (pepper).

    Each pixel is hit independently with probability ``amount``; a hit pixel is salt with
    probability ``salt_fraction`` (half by default), else pepper.
    """
    if not 0 <= amount <= 1:
        raise ValueError(f"salt_and_pepper_noise: amount must be in [0, 1], got {amount!r}")
    images = np.asarray(images, dtype=np.float64)
    rng = np.random.default_rng(seed)
    hit = rng.random(images.shape) < amount
    salt = rng.random(images.shape) < salt_fraction
    return np.where(hit, salt.astype(np.float64), images)


def add_noise(
    images: np.ndarray, kind: str, level: float, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    """``gaussian_noise`` (level = stddev) or ``salt_and_pepper_noise`` (level = amount)."""
    if kind == "gaussian":
        return gaussian_noise(images, level, seed)
    if kind == "salt_and_pepper":
        return salt_and_pepper_noise(images, level, seed)
    raise ValueError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}")
