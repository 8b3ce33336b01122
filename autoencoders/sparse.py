"""SparseAutoencoder: a dense autoencoder whose code is pushed toward sparsity by a penalty."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nn_core as nn

from .base import Autoencoder, check_positive_int, flat_input_size


class SparseAutoencoder(Autoencoder):
    """x (N, D) -> Dense(code_size) with an activity penalty -> Dense(D, sigmoid) -> x_hat.

    Exactly one penalty, on the code h (N, code_size), added to the loss by the code layer
    (an ``nn_core`` activity regularizer, so ``loss_and_gradients`` includes it):

    * ``l1``: l1 * (1/N) sum_nj |h_nj|, the Keras blog's ``activity_regularizer=l1(10e-5)``
      (i.e. l1=1e-4) on a relu code (``activation`` defaults to "relu");
    * ``sparsity_target`` (rho): sparsity_weight * sum_j KL(rho || rho_hat_j), rho_hat_j the
      unit's mean activation over the batch (Ng's CS294A notes: rho=0.05, beta=3), on a
      sigmoid code (``activation`` defaults to "sigmoid"); see ``nn.regularizers.KLSparsity``.
    """

    def __init__(
        self,
        input_shape: int | Sequence[int],
        code_size: int = 32,
        l1: float | None = None,
        sparsity_target: float | None = None,
        sparsity_weight: float = 3.0,
        activation: str | None = None,
        output_activation: str | None = "sigmoid",
        seed: int | None = None,
    ):
        input_size = flat_input_size(input_shape, "SparseAutoencoder")
        if (l1 is None) == (sparsity_target is None):
            raise ValueError(
                "SparseAutoencoder: give exactly one penalty, l1=... (an L1 penalty on the "
                f"code) or sparsity_target=... (a KL penalty), got l1={l1!r} and "
                f"sparsity_target={sparsity_target!r}"
            )
        penalty: nn.regularizers.Regularizer
        if l1 is not None:
            penalty = nn.regularizers.L1(l1)
            activation = "relu" if activation is None else activation
        else:
            assert sparsity_target is not None  # exactly one of the two, checked above
            penalty = nn.regularizers.KLSparsity(sparsity_target, sparsity_weight)
            activation = "sigmoid" if activation is None else activation
        self.code_size = check_positive_int(code_size, "code_size", "SparseAutoencoder")
        self.l1, self.sparsity_target = l1, sparsity_target
        self.sparsity_weight = sparsity_weight
        self.activation, self.output_activation = activation, output_activation
        code_layer = nn.layers.Dense(
            self.code_size, activation=activation, activity_regularizer=penalty
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
            "l1": self.l1,
            "sparsity_target": self.sparsity_target,
            "sparsity_weight": self.sparsity_weight,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "seed": self.seed,
        }
