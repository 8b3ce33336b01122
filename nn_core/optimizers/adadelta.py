"""Adadelta (Zeiler 2012): step sizes from running averages of squared gradients and steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import kernels
from ._validation import check_number
from .base import Optimizer

if TYPE_CHECKING:
    from .base import LearningRate


class Adadelta(Optimizer):
    """Adadelta, exactly ``torch.optim.Adadelta`` (with ``weight_decay=0``).

    Per step, with g the gradient, v the state ``square_avg`` and u the state ``acc_delta``
    (both start at zeros)::

        v <- rho * v + (1 - rho) * g^2
        delta <- sqrt(u + epsilon) / sqrt(v + epsilon) * g
        u <- rho * u + (1 - rho) * delta^2
        p <- p - lr * delta

    Defaults: rho 0.95 and epsilon 1e-7 as in Keras (torch: 0.9 and 1e-6). The default
    learning rate 1.0 is deliberate: it is the original paper's (Zeiler 2012 has no learning
    rate, i.e. lr = 1), torch's, and standalone Keras 1/2's. tf.keras (TF 1.14+) changed it
    to 0.001, which makes every step 1000 times smaller; that is why the classic Keras-blog
    autoencoder trained with ``optimizer="adadelta"`` stopped converging there.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 1.0,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        clipnorm: float | None = None,
        global_clipnorm: float | None = None,
    ):
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm)
        owner = type(self).__name__
        self.rho = check_number(owner, "rho", rho, minimum=0.0, maximum=1.0)
        self.epsilon = check_number(owner, "epsilon", epsilon, minimum=0.0)

    def _slot_names(self):
        return ("square_avg", "acc_delta")

    def _update(self, index, param, grad, state, lr):
        kernels.adadelta_update(
            param, grad, state["square_avg"], state["acc_delta"], lr, self.rho, self.epsilon
        )

    def _hyperparameters(self):
        return {"rho": self.rho, "epsilon": self.epsilon}
