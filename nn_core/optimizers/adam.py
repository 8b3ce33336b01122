"""Adam (Kingma & Ba 2015), with the optional AMSGrad variant (Reddi et al. 2018)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import kernels
from ._validation import check_bool, check_number
from .base import Optimizer

if TYPE_CHECKING:
    from .base import LearningRate


class Adam(Optimizer):
    """Adam, exactly ``torch.optim.Adam`` with ``betas=(beta_1, beta_2)`` (weight_decay=0).

    Per step t = 1, 2, ..., with g the gradient and states m ``exp_avg``, v ``exp_avg_sq``,
    v_max ``max_exp_avg_sq`` (amsgrad only), all starting at zeros::

        m <- m + (1 - beta_1) * (g - m)
        v <- beta_2 * v + (1 - beta_2) * g^2
        v_max <- max(v_max, v), and v_max replaces v below      (if amsgrad)
        p <- p - lr / (1 - beta_1^t) * m / (sqrt(v) / sqrt(1 - beta_2^t) + epsilon)

    Defaults: lr 1e-3, betas 0.9/0.999 (both libraries), epsilon 1e-7 (Keras; torch 1e-8).
    epsilon is added after bias-correcting v, as in torch and the paper; Keras adds it to the
    uncorrected sqrt(v) (the paper's "epsilon hat"), which is larger during the first steps.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        global_clipnorm: float | None = None,
    ):
        super().__init__(learning_rate, clipnorm=clipnorm, global_clipnorm=global_clipnorm)
        owner = type(self).__name__
        self.beta_1 = check_number(owner, "beta_1", beta_1, minimum=0.0, maximum=1.0)
        self.beta_2 = check_number(owner, "beta_2", beta_2, minimum=0.0, maximum=1.0)
        self.epsilon = check_number(owner, "epsilon", epsilon, minimum=0.0)
        self.amsgrad = check_bool(owner, "amsgrad", amsgrad)

    def _slot_names(self):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())

    def _update(self, index, param, grad, state, lr):
        kernels.adam_update(
            param,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            state.get("max_exp_avg_sq"),
            lr,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            step=self.iterations + 1,
        )

    def _hyperparameters(self):
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }
