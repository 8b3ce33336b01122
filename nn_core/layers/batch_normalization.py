"""Batch normalisation (Ioffe and Szegedy, 2015) over every axis but the last, as Keras."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import allocation, kernels
from .base import Layer


class BatchNormalization(Layer):
    """y = gamma * (x - mean) / sqrt(var + epsilon) + beta, per channel (the last axis).

    x, y: (N, C) or (N, H, W, C) (any (N, ..., C)); gamma, beta, mean, var: (C,).
    Statistics are taken over the M = N * H * W elements of each channel.

    * Training (``training=True`` and ``self.trainable``): mean and var are the batch
      mean and the biased batch variance (divided by M, as Keras). The moving
      statistics are then updated in place,
          moving = momentum * moving + (1 - momentum) * batch_statistic,
      and, following Keras 3, moving_variance averages the same biased variance
      (PyTorch's running_var averages the unbiased one, M / (M - 1) times larger,
      and PyTorch's ``momentum=0.1`` is Keras's ``1 - momentum``).
    * Inference: mean and var are ``buffers["moving_mean"]`` and
      ``buffers["moving_variance"]``, which start at 0 and 1. As in Keras, a layer with
      ``trainable = False`` always runs in this mode (frozen statistics).

    Arguments and defaults are those of Keras: ``momentum=0.99``, ``epsilon=1e-3``,
    ``center`` (learn the offset ``beta``, initialised to 0) and ``scale`` (learn the
    factor ``gamma``, initialised to 1). PyTorch's defaults differ (momentum 0.1 in
    its convention, i.e. 0.9 here; eps 1e-5).

    ``params``: ``gamma`` (if scale) then ``beta`` (if center), trainable.
    ``buffers``: ``moving_mean`` then ``moving_variance``, not trainable; a model's
    weight list holds the params followed by the buffers, the Keras order.
    """

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if not _is_real_number(momentum) or not 0 <= momentum <= 1:
            raise ValueError(
                f"BatchNormalization: momentum must be a number in [0, 1], got {momentum!r}"
            )
        if not _is_real_number(epsilon) or not np.isfinite(epsilon) or epsilon <= 0:
            raise ValueError(
                f"BatchNormalization: epsilon must be a finite number > 0, got {epsilon!r}"
            )
        for argument, value in (("center", center), ("scale", scale)):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(
                    f"BatchNormalization: {argument} must be True or False, got {value!r}"
                )
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.buffers: dict[str, np.ndarray] = {}

    def build(self, input_shape: Sequence[int], dtype: Any = "float32") -> None:
        if len(input_shape) < 1:
            raise ValueError(
                f"layer {self.name!r} (BatchNormalization) needs inputs with a channel axis, "
                "(N, C) or (N, H, W, C), got inputs of shape (N,)"
            )
        super().build(input_shape, dtype)
        channels = self.input_shape[-1]
        allocation.claim(self, *[(channels,)] * (2 + self.scale + self.center))
        arrays = {}
        if self.scale:
            arrays["gamma"] = np.ones(channels)
        if self.center:
            arrays["beta"] = np.zeros(channels)
        self._init_params(**arrays)
        self.buffers = {
            "moving_mean": np.zeros(channels, dtype=self.dtype),
            "moving_variance": np.ones(channels, dtype=self.dtype),
        }
        # Stand-ins for an absent gamma or beta, so the kernels always see both.
        self._unit_scale = np.ones(channels, dtype=self.dtype)
        self._zero_offset = np.zeros(channels, dtype=self.dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x: (N, ..., C) -> y: (N, ..., C); see the class docstring for the two modes."""
        x = self._prepare_input(x)
        rows = x.reshape(-1, x.shape[-1])  # (M, C): every axis but the last is normalised
        self._used_batch_statistics = bool(training) and self.trainable
        if self._used_batch_statistics:
            mean, variance = kernels.batch_norm_statistics(rows)
            self._update_moving_statistics(mean, variance)
        else:
            mean, variance = self.buffers["moving_mean"], self.buffers["moving_variance"]
        outputs, self._normalized, self._inverse_std = kernels.batch_norm_forward(
            rows, mean, variance, self._gamma(), self._beta(), self.epsilon
        )
        return outputs.reshape(x.shape)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """g = dL/dy (N, ..., C) -> dL/dx (N, ..., C); sums run over the M rows per channel.

        dL/dgamma = sum(g * xhat) (C,), dL/dbeta = sum(g) (C,), xhat = normalised input.
        After a training forward (batch statistics, var biased):
            dL/dx = gamma / (M * sqrt(var + eps)) * (M * g - sum(g) - xhat * sum(g * xhat)).
        After an inference forward (constant moving statistics):
            dL/dx = gamma / sqrt(moving_var + eps) * g.
        """
        grad_output = np.asarray(grad_output)
        grad_rows = grad_output.reshape(-1, grad_output.shape[-1])
        backward = (
            kernels.batch_norm_backward
            if self._used_batch_statistics
            else kernels.batch_norm_inference_backward
        )
        grad_input, grad_gamma, grad_beta = backward(
            grad_rows, self._normalized, self._inverse_std, self._gamma()
        )
        if self.scale:
            self.grads["gamma"][...] = grad_gamma
        if self.center:
            self.grads["beta"][...] = grad_beta
        return grad_input.reshape(grad_output.shape)

    def _update_moving_statistics(self, mean, variance):
        """moving = momentum * moving + (1 - momentum) * batch value, in place."""
        for key, batch_value in (("moving_mean", mean), ("moving_variance", variance)):
            moving = self.buffers[key]
            moving *= self.momentum
            moving += (1.0 - self.momentum) * batch_value

    def _gamma(self):
        return self.params["gamma"] if self.scale else self._unit_scale

    def _beta(self):
        return self.params["beta"] if self.center else self._zero_offset

    def flops(self) -> int:
        """Per sample, in the inference form: subtract the mean, multiply by
        1/sqrt(var + eps), then scale by gamma and add beta when present
        (training adds about 3 more per element for the batch statistics)."""
        if not self.output_shape:
            return 0
        per_element = 2 + int(self.scale) + int(self.center)
        return per_element * int(np.prod(self.output_shape))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }


def _is_real_number(value) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(
        value, (int, float, np.integer, np.floating)
    )
