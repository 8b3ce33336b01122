"""ContractiveDense: a Dense code layer with the contractive penalty of Rifai et al. (2011)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .activations import ReLU, Sigmoid
from .dense import Dense

if TYPE_CHECKING:
    from .activations import Activation


class ContractiveDense(Dense):
    """h = activation(x @ W + b), plus the penalty  weight * mean over n of ||dh_n/dx_n||_F^2.

    x: (N, in) -> h: (N, units); W: (in, units). The Jacobian of one sample's code is
    J_ji = a'(z_j) W_ij, so its squared Frobenius norm has the closed form

        ||J_n||_F^2 = sum_j a'(z_nj)^2 w_j,    w_j = sum_i W_ij^2,

    with a'(z)^2 = (h (1 - h))^2 for ``activation="sigmoid"`` and [z > 0] for ``"relu"``
    (the only two offered). The penalty is averaged over the batch, as activity penalties
    are (Keras's scaling), so ``contractive_weight`` does not depend on the batch size.

    Gradients of P = (weight / N) sum_nj s_nj w_j, s = a'(z)^2:
        dP/dW_ij = (weight / N) 2 W_ij sum_n s_nj          (direct, through w_j)
        dP/dh_nj = (weight / N) 2 h(1 - h)(1 - 2h) w_j     (sigmoid; 0 for relu)
    ``backward`` adds dP/dh to dL/dh before the usual Dense backward (which carries it to
    W, b and x through the activation) and the direct term to dL/dW after it.
    Other keyword arguments as in ``Dense``.
    """

    def __init__(
        self,
        units: int,
        activation: str | Activation = "sigmoid",
        contractive_weight: float = 1e-4,
        **kwargs: Any,
    ):
        super().__init__(units, activation=activation, **kwargs)
        if not isinstance(self.activation, (Sigmoid, ReLU)):
            raise ValueError(
                f"ContractiveDense: activation must be 'sigmoid' or 'relu' (closed-form "
                f"Jacobians), got {type(self.activation).__name__}"
            )
        if (
            isinstance(contractive_weight, bool)
            or not isinstance(contractive_weight, (int, float, np.integer, np.floating))
            or not np.isfinite(contractive_weight)
            or contractive_weight < 0
        ):
            raise ValueError(
                "ContractiveDense: contractive_weight must be a finite number >= 0, got "
                f"{contractive_weight!r}"
            )
        self.contractive_weight = float(contractive_weight)
        self._contractive_penalty = 0.0

    def _activate(self, z, training):
        """h = activation(z); also the contractive penalty of this batch."""
        outputs = super()._activate(z, training)
        self.code = outputs
        if isinstance(self.activation, Sigmoid):
            self.derivative = outputs * (1 - outputs)  # a'(z) = h (1 - h)
        else:
            self.derivative = (outputs > 0).astype(self.dtype)  # a'(z) = [z > 0]
        self.squared_column_norms = np.sum(np.square(self.params["kernel"]), axis=0)  # w_j
        frobenius = np.sum(np.square(self.derivative) @ self.squared_column_norms, dtype=np.float64)
        self._contractive_penalty = self.contractive_weight * float(frobenius) / len(outputs)
        return outputs

    # None (no dL/dx) when input_gradient_needed is False, as in Dense
    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:  # type: ignore[override]
        """dL/dh (N, units) -> dL/dx (N, in), with the penalty's dP/dh and dP/dW added."""
        if isinstance(self.activation, Sigmoid):
            scale = 2 * self.contractive_weight / len(self.code)
            grad_output = grad_output + scale * (
                self.derivative * (1 - 2 * self.code) * self.squared_column_norms
            )
        return super().backward(grad_output)

    def _add_kernel_penalty_gradient(self):
        super()._add_kernel_penalty_gradient()
        scale = 2 * self.contractive_weight / len(self.code)
        squared_derivative_sums = np.sum(np.square(self.derivative), axis=0)  # sum_n s_nj
        self.grads["kernel"] += scale * self.params["kernel"] * squared_derivative_sums

    def penalty(self) -> float:
        """Dense's penalties plus contractive_weight * batch mean of ||J||_F^2."""
        return super().penalty() + self._contractive_penalty

    @property
    def final_activation(self) -> None:
        return None  # the penalty needs dL/dh, which the fused sigmoid + BCE shortcut skips

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "contractive_weight": self.contractive_weight}
