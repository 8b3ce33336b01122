"""Dropout: randomly zero inputs during training (inverted dropout, as Keras and PyTorch)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer


class Dropout(Layer):
    """Training: y = x * mask / (1 - rate), mask_i ~ Bernoulli(1 - rate); inference: y = x.

    x, y, mask: (N, ...). Kept units are scaled up by 1/(1 - rate) during training so
    that E[y] = x and inference needs no rescaling ("inverted" dropout, as in Keras and
    PyTorch). The mask is drawn from ``self.rng``, so a model seed fixes it. ``rate`` is
    the fraction of units dropped (Keras's meaning; PyTorch calls it ``p``).

    Backward: dL/dx = dL/dy * mask / (1 - rate) after a training forward, dL/dy after
    an inference forward.
    """

    def __init__(self, rate: float, name: str | None = None):
        super().__init__(name=name)
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float, np.integer, np.floating))
            or not 0 <= rate < 1
        ):
            raise ValueError(f"Dropout: rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        # mask / (1 - rate) of the last training forward
        self._scaled_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        if not training or self.rate == 0:
            self._scaled_mask = None
            return x
        keep_probability = 1.0 - self.rate
        # Uniforms drawn in float64 whatever the layer's dtype, so that one seed gives
        # the same mask in float32 and float64 models.
        keep = self.rng.random(x.shape) < keep_probability
        self._scaled_mask = keep.astype(self.dtype) / keep_probability
        return x * self._scaled_mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._scaled_mask is None:
            return grad_output
        return grad_output * self._scaled_mask

    def flops(self) -> int:
        """One multiplication per unit (during training)."""
        return int(np.prod(self.output_shape)) if self.output_shape else 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}
