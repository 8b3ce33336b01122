"""DenseAutoencoder: one Dense layer each way, the classic 784-32-784 of the Keras blog."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nn_core as nn

from .base import Autoencoder, check_positive_int, flat_input_size


class DenseAutoencoder(Autoencoder):
    """x (N, D) -> Dense(code_size, activation) -> Dense(D, output_activation) -> x_hat (N, D).

    Defaults are the Keras blog's first model: a 32-unit relu code, a sigmoid output for
    pixels in [0, 1], binary cross-entropy. ``input_shape``: D or (D,) (flatten images
    first). ``seed`` fixes the initial weights and the shuffling.
    """

    def __init__(
        self,
        input_shape: int | Sequence[int],
        code_size: int = 32,
        activation: str | None = "relu",
        output_activation: str | None = "sigmoid",
        seed: int | None = None,
    ):
        input_size = flat_input_size(input_shape, "DenseAutoencoder")
        self.code_size = check_positive_int(code_size, "code_size", "DenseAutoencoder")
        self.activation = activation
        self.output_activation = output_activation
        super().__init__(
            (input_size,),
            [nn.layers.Dense(self.code_size, activation=activation)],
            [nn.layers.Dense(input_size, activation=output_activation)],
            seed=seed,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "code_size": self.code_size,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "seed": self.seed,
        }
