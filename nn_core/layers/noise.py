"""GaussianNoise: additive zero-mean noise during training (a regulariser, as in Keras)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer


class GaussianNoise(Layer):
    """Training: y = x + noise, noise ~ N(0, stddev^2) element-wise; inference: y = x.

    x, y: (N, ...). The noise is drawn from ``self.rng``, so a model seed fixes it; it
    does not depend on x, so backward is the identity: dL/dx = dL/dy.
    ``stddev`` is the standard deviation of the noise (not its variance), as in Keras.
    """

    def __init__(self, stddev: float, name: str | None = None):
        super().__init__(name=name)
        if (
            isinstance(stddev, bool)
            or not isinstance(stddev, (int, float, np.integer, np.floating))
            or not np.isfinite(stddev)
            or stddev < 0
        ):
            raise ValueError(f"GaussianNoise: stddev must be a finite number >= 0, got {stddev!r}")
        self.stddev = float(stddev)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        if not training or self.stddev == 0:
            return x
        # Drawn in float64 whatever the layer's dtype, so that one seed gives the same
        # noise (up to rounding) in float32 and float64 models.
        noise = self.rng.normal(0.0, self.stddev, size=x.shape)
        return x + noise.astype(self.dtype)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output

    def flops(self) -> int:
        """One addition per unit (during training)."""
        return int(np.prod(self.output_shape)) if self.output_shape else 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev}
