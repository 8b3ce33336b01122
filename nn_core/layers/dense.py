"""Fully connected layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import kernels
from .weighted import WeightedLayer

if TYPE_CHECKING:
    from .activations import Activation


class Dense(WeightedLayer):
    """y = activation(x @ kernel + bias).

    x: (N, in) -> y: (N, units); kernel: (in, units) (Keras layout), bias: (units,).
    Keyword arguments as in Keras: ``activation`` (name or layer; default linear),
    ``use_bias``, ``kernel_initializer`` (default Glorot-uniform), ``bias_initializer``
    (zeros), ``kernel_regularizer``, ``activity_regularizer``.
    """

    #: False while nobody reads dL/dx (set by ``Sequential`` for a model's first layer
    #: during a training step): backward then skips the product dL/dz @ W.T, returns None.
    input_gradient_needed = True

    def __init__(self, units: int, activation: str | Activation | None = None, **kwargs: Any):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        super().__init__(activation=activation, **kwargs)
        self.units = int(units)

    def build(self, input_shape: Sequence[int], dtype: Any = "float32") -> None:
        if len(input_shape) != 1:
            raise ValueError(
                f"layer {self.name!r} (Dense) expects inputs of shape (N, features), got "
                f"samples of shape {tuple(input_shape)}; add a Flatten layer before it"
            )
        super().build(input_shape, dtype)
        self._build_weights((self.input_shape[0], self.units), (self.units,))

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        return (self.units,)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self.inputs = x
        bias = self.params["bias"] if self.use_bias else 0
        z = kernels.dense_forward(x, self.params["kernel"], bias)
        return self._activate(z, training)

    # None (no dL/dx) when input_gradient_needed is False: the contract's ndarray otherwise
    def backward_from_logits(self, grad_logits: np.ndarray) -> np.ndarray | None:  # type: ignore[override]
        """Given dL/dz (N, units) for z = x @ W + b:

        dL/dW = x.T @ dL/dz  (in, units);  dL/db = sum over N of dL/dz  (units,);
        dL/dx = dL/dz @ W.T  (N, in); None when ``input_gradient_needed`` is False.
        """
        if not self.input_gradient_needed:
            kernels.dense_kernel_gradient(self.inputs, grad_logits, self.grads["kernel"])
            if self.use_bias:
                self.grads["bias"][...] = kernels.bias_gradient(grad_logits)
            self._add_kernel_penalty_gradient()
            return None
        grad_bias = self.grads["bias"] if self.use_bias else np.empty(self.units, self.dtype)
        grad_input = kernels.dense_backward(
            self.inputs, self.params["kernel"], grad_logits, self.grads["kernel"], grad_bias
        )
        self._add_kernel_penalty_gradient()
        return grad_input

    def flops(self) -> int:
        return 2 * self.input_shape[0] * self.units + self.activation.flops()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}
