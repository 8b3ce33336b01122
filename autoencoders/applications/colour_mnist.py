"""Coloured MNIST, made here: each digit class has its own ink colour and background colour.

The rule (``INK_COLOURS[label]``, ``BACKGROUND_COLOURS[label]``) depends only on the
class, so the colours can be predicted from the digit's shape, which is what a
colourisation model has to learn: bright ink on a dark background, for contrast in grey.

    class  ink                background
    0      red                navy
    1      orange             dark green
    2      yellow             maroon
    3      green              purple
    4      cyan               brown
    5      light blue         black
    6      magenta            dark teal
    7      pink               dark olive
    8      white              slate
    9      lime               plum

A grey pixel g in [0, 1] (ink density) becomes g * ink + (1 - g) * background. The
grey input of the colouriser is the luminance of the coloured image (``luminance``),
not the original MNIST digit: the background's luminance differs per class.
"""

from __future__ import annotations

import numpy as np

INK_COLOURS = np.array(
    [
        [0.95, 0.20, 0.15],
        [1.00, 0.60, 0.00],
        [0.95, 0.90, 0.10],
        [0.20, 0.85, 0.20],
        [0.10, 0.85, 0.90],
        [0.40, 0.55, 1.00],
        [0.95, 0.30, 0.90],
        [1.00, 0.60, 0.75],
        [0.95, 0.95, 0.95],
        [0.70, 1.00, 0.30],
    ]
)
BACKGROUND_COLOURS = np.array(
    [
        [0.05, 0.05, 0.35],
        [0.00, 0.25, 0.10],
        [0.35, 0.00, 0.05],
        [0.25, 0.00, 0.30],
        [0.30, 0.15, 0.00],
        [0.00, 0.00, 0.00],
        [0.00, 0.20, 0.25],
        [0.20, 0.20, 0.00],
        [0.15, 0.15, 0.20],
        [0.25, 0.05, 0.15],
    ]
)
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as PIL's convert("L")


def colourise(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Colour grey digits by their class: images (N, H, W) in [0, 1], labels (N,) in 0..9
    -> (N, H, W, 3) float64 in [0, 1]."""
    images = np.asarray(images, dtype=np.float64)
    labels = np.asarray(labels)
    if images.ndim != 3 or labels.shape != (len(images),):
        raise ValueError(
            f"colourise expects images (N, H, W) and labels (N,), got {images.shape} and "
            f"{labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError("colourise: labels must be digit classes 0..9")
    ink = INK_COLOURS[labels][:, None, None, :]
    background = BACKGROUND_COLOURS[labels][:, None, None, :]
    density = images[..., None]
    return density * ink + (1.0 - density) * background


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Grey version of colour images (N, H, W, 3) -> (N, H, W): 0.299 R + 0.587 G + 0.114 B."""
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.shape[-1] != 3:
        raise ValueError(f"luminance expects colour images (..., 3), got shape {rgb.shape}")
    return rgb @ LUMA_WEIGHTS
