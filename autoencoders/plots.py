"""Matplotlib figures (the ``plot`` extra). Uses the non-interactive Agg backend."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

if TYPE_CHECKING:
    import numpy as np


def plot_reconstructions(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    path: str | os.PathLike[str],
    image_shape: Sequence[int] = (28, 28),
) -> str | os.PathLike[str]:
    """Originals on the top row, their reconstructions below; returns ``path``."""
    count = len(originals)
    figure, axes = plt.subplots(2, count, figsize=(count * 0.9, 2.1))
    for column in range(count):
        for row, images in enumerate((originals, reconstructions)):
            axis = axes[row, column]
            axis.imshow(images[column].reshape(image_shape), cmap="gray", vmin=0, vmax=1)
            axis.set_xticks([])
            axis.set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=8)
    axes[1, 0].set_ylabel("output", fontsize=8)
    figure.tight_layout(pad=0.2)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_loss_curves(
    history: Mapping[str, Sequence[float]], path: str | os.PathLike[str]
) -> str | os.PathLike[str]:
    """Training and validation loss per epoch; returns ``path``."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for key, label in (("loss", "train"), ("val_loss", "test (validation)")):
        if key in history:
            epochs = range(1, len(history[key]) + 1)
            axis.plot(epochs, history[key], label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel("binary cross-entropy (mean per pixel)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
