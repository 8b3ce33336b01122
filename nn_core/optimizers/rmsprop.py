"""RMSprop (Hinton): divide the gradient by a running root mean square of past gradients."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import kernels
from ._validation import check_bool, check_number
from .base import Optimizer

if TYPE_CHECKING:
    from .base import LearningRate


class RMSprop(Optimizer):
    """RMSprop, exactly ``torch.optim.RMSprop`` with ``alpha=rho`` (and ``weight_decay=0``).

    Per step, with g the gradient and states v ``square_avg``, a ``grad_avg`` (if centered),
    b ``momentum_buffer`` (if momentum), all starting at zeros::

        v <- rho * v + (1 - rho) * g^2
        a <- a + (1 - rho) * (g - a)                 (centered: running mean of g)
        d <- sqrt(v - a^2) + epsilon if centered else sqrt(v) + epsilon
        b <- momentum * b + g / d;  p <- p - lr * b  (if momentum)
        p <- p - lr * g / d                          (otherwise)

    Defaults are Keras's: lr 1e-3, rho 0.9, epsilon 1e-7 (torch: lr 1e-2, alpha 0.99,
    eps 1e-8). Keras adds epsilon inside the square root, ``sqrt(v + epsilon)``, and applies
    momentum to ``lr * g / d``; we follow torch (equal for a constant lr).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 1e-3,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        clipnorm: float | None = None,
        global_clipnorm: float | None = None,
    ):
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm)
        owner = type(self).__name__
        self.rho = check_number(owner, "rho", rho, minimum=0.0, maximum=1.0)
        self.momentum = check_number(owner, "momentum", momentum, minimum=0.0, maximum=1.0)
        self.epsilon = check_number(owner, "epsilon", epsilon, minimum=0.0)
        self.centered = check_bool(owner, "centered", centered)

    def _slot_names(self):
        return (
            ("square_avg",)
            + (("grad_avg",) if self.centered else ())
            + (("momentum_buffer",) if self.momentum else ())
        )

    def _update(self, index, param, grad, state, lr):
        kernels.rmsprop_update(
            param,
            grad,
            state["square_avg"],
            state.get("grad_avg"),
            state.get("momentum_buffer"),
            lr,
            self.rho,
            self.momentum,
            self.epsilon,
            self.centered,
        )

    def _hyperparameters(self):
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
