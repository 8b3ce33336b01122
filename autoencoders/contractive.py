"""ContractiveAutoencoder: a penalty on the encoder's Jacobian (Rifai et al., ICML 2011)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nn_core as nn

from .base import Autoencoder, check_positive_int, flat_input_size


class ContractiveAutoencoder(Autoencoder):
    """x (N, D) -> ContractiveDense(code_size) -> Dense(D, sigmoid) -> x_hat (N, D).

    Loss = reconstruction + contractive_weight * (1/N) sum_n ||J_f(x_n)||_F^2, J_f = dh/dx
    the encoder's Jacobian, in closed form: sum_j (h_j (1 - h_j))^2 sum_i W_ij^2 for a
    sigmoid code, sum_j [z_j > 0] sum_i W_ij^2 for relu. The code layer
    (``nn.layers.ContractiveDense``) computes the penalty and its gradients, so
    ``loss_and_gradients`` includes them. The penalty is a per-sample mean and the
    reconstruction a per-pixel mean, so the weight is relative to the latter (Rifai et
    al. summed the cross-entropy over pixels: their lambda corresponds to ours / D).
    """

    def __init__(
        self,
        input_shape: int | Sequence[int],
        code_size: int = 32,
        contractive_weight: float = 1e-4,
        activation: str = "sigmoid",
        output_activation: str | None = "sigmoid",
        seed: int | None = None,
    ):
        input_size = flat_input_size(input_shape, "ContractiveAutoencoder")
        self.code_size = check_positive_int(code_size, "code_size", "ContractiveAutoencoder")
        self.contractive_weight = contractive_weight
        self.activation, self.output_activation = activation, output_activation
        code_layer = nn.layers.ContractiveDense(
            self.code_size, activation=activation, contractive_weight=contractive_weight
        )
        super().__init__(
            (input_size,),
            [code_layer],
            [nn.layers.Dense(input_size, activation=output_activation)],
            seed=seed,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "code_size": self.code_size,
            "contractive_weight": self.contractive_weight,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "seed": self.seed,
        }
