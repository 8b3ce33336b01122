"""Input corruption for denoising autoencoders: active in training only, identity in inference.

Placed first in a model, these corrupt each training batch afresh (so every epoch sees new
noise) with the layer's own generator (so a model seed fixes the noise), while the loss
still compares the output with the clean target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Layer
from .noise import GaussianNoise


class ClippedGaussianNoise(GaussianNoise):
    """Training: y = clip(x + noise, clip_min, clip_max), noise ~ N(0, stddev^2); inference: y = x.

    x, y: (N, ...). The Keras blog's denoising corruption (noise factor 0.5, clipped to the
    pixel range [0, 1]) as a layer. Backward: dL/dx = dL/dy * [clip_min < x + noise <
    clip_max] after a training forward (the clip passes no gradient where it binds),
    dL/dy after an inference forward.
    """

    def __init__(
        self,
        stddev: float,
        clip_min: float = 0.0,
        clip_max: float = 1.0,
        name: str | None = None,
    ):
        super().__init__(stddev, name=name)
        for arg_name, value in (("clip_min", clip_min), ("clip_max", clip_max)):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float, np.integer, np.floating))
                or not np.isfinite(value)
            ):
                raise ValueError(
                    f"ClippedGaussianNoise: {arg_name} must be a finite number, got {value!r}"
                )
        if not clip_min < clip_max:
            raise ValueError(
                f"ClippedGaussianNoise: clip_min must be below clip_max, got {clip_min!r} "
                f"and {clip_max!r}"
            )
        self.clip_min = float(clip_min)
        self.clip_max = float(clip_max)
        # [clip_min < x + noise < clip_max] of the last training forward
        self._inside: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        noisy = super().forward(x, training)  # x + noise (training), x (inference)
        if not training:
            self._inside = None
            return noisy
        self._inside = (noisy > self.clip_min) & (noisy < self.clip_max)
        return np.clip(noisy, self.clip_min, self.clip_max)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._inside is None:
            return grad_output
        return grad_output * self._inside

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "clip_min": self.clip_min, "clip_max": self.clip_max}


class MaskingNoise(Layer):
    """Training: y = x * mask, mask_i ~ Bernoulli(1 - fraction); inference: y = x.

    x, y, mask: (N, ...). The masking noise of Vincent et al. (2008): a random ``fraction``
    of each sample's inputs is set to 0 and the rest is left as it is (unlike ``Dropout``,
    no 1/(1 - fraction) rescaling: the corrupted input stays an image). Backward:
    dL/dx = dL/dy * mask after a training forward, dL/dy after an inference forward.
    """

    def __init__(self, fraction: float, name: str | None = None):
        super().__init__(name=name)
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, (int, float, np.integer, np.floating))
            or not 0 <= fraction < 1
        ):
            raise ValueError(f"MaskingNoise: fraction must be a number in [0, 1), got {fraction!r}")
        self.fraction = float(fraction)
        self._mask: np.ndarray | None = None  # the mask of the last training forward

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        if not training or self.fraction == 0:
            self._mask = None
            return x
        # Uniforms drawn in float64 whatever the dtype: one seed, one mask in both dtypes.
        self._mask = (self.rng.random(x.shape) >= self.fraction).astype(self.dtype)
        return x * self._mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._mask is None:
            return grad_output
        return grad_output * self._mask

    def flops(self) -> int:
        """One multiplication per unit (during training)."""
        return int(np.prod(self.output_shape)) if self.output_shape else 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fraction": self.fraction}
