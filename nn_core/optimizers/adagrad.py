"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import kernels
from ._validation import check_number
from .base import Optimizer

if TYPE_CHECKING:
    from .base import LearningRate


class Adagrad(Optimizer):
    """Adagrad, exactly ``torch.optim.Adagrad`` (with ``lr_decay=0, weight_decay=0``).

    Per step, with g the gradient and s the state ``sum``::

        s <- s + g^2
        p <- p - lr * g / (sqrt(s) + epsilon)

    s starts at ``initial_accumulator_value``. Defaults: lr 0.01 (torch and Keras),
    initial_accumulator_value 0.0 (torch; Keras uses 0.1), epsilon 1e-7 (Keras; torch uses
    1e-10). Keras adds epsilon inside the square root, ``sqrt(s + epsilon)``; we follow torch.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        initial_accumulator_value: float = 0.0,
        epsilon: float = 1e-7,
        clipnorm: float | None = None,
        global_clipnorm: float | None = None,
    ):
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm)
        owner = type(self).__name__
        self.initial_accumulator_value = check_number(
            owner, "initial_accumulator_value", initial_accumulator_value, minimum=0.0
        )
        self.epsilon = check_number(owner, "epsilon", epsilon, minimum=0.0)

    def _slot_names(self):
        return ("sum",)

    def _create_state(self, param):
        return {"sum": np.full_like(param, self.initial_accumulator_value)}

    def _update(self, index, param, grad, state, lr):
        kernels.adagrad_update(param, grad, state["sum"], lr, self.epsilon)

    def _hyperparameters(self):
        return {
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }
