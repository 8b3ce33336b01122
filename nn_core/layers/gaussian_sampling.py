"""GaussianSampling: the reparameterisation trick of a variational autoencoder, with its KL term."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import Layer


class GaussianSampling(Layer):
    """z ~ N(mean, diag(exp(log_variance))), differentiably; penalty KL(q || N(0, I)).

    x: (N, 2 * latent), the encoder's output read as [mean | log_variance] (two linear
    heads side by side) -> z: (N, latent).

    Training: z = mean + exp(log_variance / 2) * eps, eps ~ N(0, I) drawn from ``self.rng``
    (Kingma and Welling 2014), so a model seed fixes it. Inference: z = mean.

    penalty = kl_weight * (1/N) sum_n KL_n, KL_n = -1/2 sum_k (1 + lv_nk - mean_nk^2 - exp(lv_nk)),
    the KL divergence of each sample's posterior from the N(0, I) prior, averaged over the
    batch like the reconstruction term it is added to (``kl_weight`` 1: the ELBO; other
    values: a beta-VAE).

    Backward, with sigma = exp(lv / 2):
        dL/dmean = dL/dz + kl_weight * mean / N
        dL/dlv   = dL/dz * eps * sigma / 2 + kl_weight * (exp(lv) - 1) / (2 N)
    (eps = 0 after an inference forward).
    """

    def __init__(self, kl_weight: float = 1.0, name: str | None = None):
        super().__init__(name=name)
        if (
            isinstance(kl_weight, bool)
            or not isinstance(kl_weight, (int, float, np.integer, np.floating))
            or not np.isfinite(kl_weight)
            or kl_weight < 0
        ):
            raise ValueError(
                f"GaussianSampling: kl_weight must be a finite number >= 0, got {kl_weight!r}"
            )
        self.kl_weight = float(kl_weight)
        self._kl_penalty = 0.0

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        if len(input_shape) != 1 or input_shape[0] % 2:
            raise ValueError(
                f"layer {self.name!r} (GaussianSampling) expects inputs of shape "
                f"(N, 2 * latent) holding [mean | log_variance], got samples of shape "
                f"{tuple(input_shape)}"
            )
        return (input_shape[0] // 2,)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x: (N, 2 * latent) -> z: (N, latent)."""
        x = self._prepare_input(x)
        mean, log_variance = np.split(x, 2, axis=1)
        self.mean, self.log_variance = mean, log_variance
        self.variance = np.exp(log_variance)
        kl_per_sample = -0.5 * np.sum(1 + log_variance - mean**2 - self.variance, axis=1)
        self._kl_penalty = self.kl_weight * float(np.mean(kl_per_sample, dtype=np.float64))
        if not training:
            self.eps = None
            return mean.copy()
        # Drawn in float64 whatever the dtype: one seed gives the same eps in both dtypes.
        self.eps = self.rng.standard_normal(mean.shape).astype(self.dtype)
        self.sigma = np.sqrt(self.variance)
        return mean + self.sigma * self.eps

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dz (N, latent) -> dL/dx (N, 2 * latent) = [dL/dmean | dL/dlog_variance]."""
        scale = self.kl_weight / len(self.mean)
        grad_mean = grad_output + scale * self.mean
        grad_log_variance = 0.5 * scale * (self.variance - 1)
        if self.eps is not None:
            grad_log_variance = grad_log_variance + grad_output * self.eps * self.sigma / 2
        return np.concatenate([grad_mean, grad_log_variance], axis=1)

    def penalty(self) -> float:
        """kl_weight * the batch mean of KL(q(z|x_n) || N(0, I)) for the last forward."""
        return self._kl_penalty

    def flops(self) -> int:
        """exp, multiply and add per latent unit (training)."""
        return 3 * int(self.output_shape[0]) if self.output_shape else 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "kl_weight": self.kl_weight}
