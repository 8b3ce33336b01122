"""AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import kernels
from ._validation import check_number
from .adam import Adam

if TYPE_CHECKING:
    from .base import LearningRate


class AdamW(Adam):
    """AdamW, exactly ``torch.optim.AdamW`` (amsgrad=False).

    Per step: ``p <- p * (1 - lr * weight_decay)``, then the ``Adam`` update of ``p``.
    The decay is applied to the weights directly, not added to the gradient, so it does not
    pass through the moment estimates. Defaults: as ``Adam``, and weight_decay 0.01 (torch;
    Keras uses 0.004).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float = 0.01,
        clipnorm: float | None = None,
        global_clipnorm: float | None = None,
    ):
        super().__init__(
            learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            clipnorm=clipnorm,
            global_clipnorm=global_clipnorm,
        )
        self.weight_decay = check_number(
            type(self).__name__, "weight_decay", weight_decay, minimum=0.0
        )

    def _update(self, index, param, grad, state, lr):
        kernels.adamw_update(
            param,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            state.get("max_exp_avg_sq"),
            lr,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            self.weight_decay,
            step=self.iterations + 1,
        )

    def _hyperparameters(self):
        hyperparameters = super()._hyperparameters()
        del hyperparameters["amsgrad"]
        return {**hyperparameters, "weight_decay": self.weight_decay}
