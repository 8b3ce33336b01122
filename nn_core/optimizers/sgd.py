"""Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import kernels
from ._validation import check_bool, check_number
from .base import Optimizer

if TYPE_CHECKING:
    from .base import LearningRate


class SGD(Optimizer):
    """SGD, exactly ``torch.optim.SGD`` (with ``dampening=0``).

    Per step, with g the gradient and b the momentum buffer (state ``momentum_buffer``)::

        g <- g + weight_decay * p                      (if weight_decay)
        b <- momentum * b + g                          (b <- g on the first step)
        g <- g + momentum * b if nesterov else b       (if momentum)
        p <- p - lr * g

    The buffer starts at zeros, so the first step gives b = g exactly, as in torch.
    Defaults: lr 0.01 as in Keras (torch: 1e-3); no momentum and no decay, as in both.
    ``weight_decay`` is torch's coupled L2 term (it passes through the momentum); it equals a
    Keras ``L2(weight_decay / 2)`` kernel regularizer.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        clipnorm: float | None = None,
        global_clipnorm: float | None = None,
    ):
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm)
        owner = type(self).__name__
        self.momentum = check_number(owner, "momentum", momentum, minimum=0.0, maximum=1.0)
        self.nesterov = check_bool(owner, "nesterov", nesterov)
        self.weight_decay = check_number(owner, "weight_decay", weight_decay, minimum=0.0)
        if self.nesterov and self.momentum == 0.0:
            raise ValueError(
                f"{owner}: nesterov=True needs momentum > 0, got momentum={momentum!r}"
            )

    def _slot_names(self):
        return ("momentum_buffer",) if self.momentum else ()

    def _update(self, index, param, grad, state, lr):
        kernels.sgd_update(
            param,
            grad,
            state.get("momentum_buffer"),
            lr,
            self.momentum,
            self.nesterov,
            self.weight_decay,
        )

    def _hyperparameters(self):
        return {
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }
