"""Learning-rate schedules: ``schedule(step) -> learning rate`` for the optimizer step ``step``.

``step`` counts optimizer steps (batches), starting at 0 for the first update, as in Keras.
(PyTorch's schedulers usually count epochs; ``StepDecay`` and ``ExponentialDecay`` equal
``torch.optim.lr_scheduler.StepLR``/``ExponentialLR`` when those are stepped once per batch.)

Any callable ``f(step: int) -> float`` works as a schedule; the classes here add
``get_config()`` so that an optimizer using them can be saved and rebuilt with ``get``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .._names import unknown_name_error
from ._validation import check_bool, check_number, check_positive_int


class LearningRateSchedule:
    """Base class: ``__call__(step) -> float`` and ``get_config() -> dict``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable ``{"class_name": ..., **constructor arguments}``."""
        raise NotImplementedError

    def _checked_step(self, step: int) -> int:
        if isinstance(step, numbers.Integral) and not isinstance(step, bool) and int(step) >= 0:
            return int(step)
        raise ValueError(f"{type(self).__name__}: step must be an integer >= 0, got {step!r}")

    def __repr__(self) -> str:
        config = self.get_config()
        del config["class_name"]
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in config.items())})"


class StepDecay(LearningRateSchedule):
    """lr(step) = initial_learning_rate * gamma ** (step // step_size).

    ``torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma)`` stepped once per batch.
    """

    def __init__(self, initial_learning_rate: float, step_size: int, gamma: float = 0.1):
        owner = type(self).__name__
        self.initial_learning_rate = check_number(
            owner,
            "initial_learning_rate",
            initial_learning_rate,
            minimum=0.0,
            include_minimum=False,
        )
        self.step_size = check_positive_int(owner, "step_size", step_size)
        self.gamma = check_number(owner, "gamma", gamma, minimum=0.0, include_minimum=False)

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.gamma ** (
            self._checked_step(step) // self.step_size
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "class_name": "StepDecay",
            "initial_learning_rate": self.initial_learning_rate,
            "step_size": self.step_size,
            "gamma": self.gamma,
        }


class ExponentialDecay(LearningRateSchedule):
    """lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps), Keras semantics.

    With ``staircase=True`` the exponent is ``step // decay_steps`` (integer division).
    ``decay_steps=1`` gives ``torch.optim.lr_scheduler.ExponentialLR(gamma=decay_rate)``.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
    ):
        owner = type(self).__name__
        self.initial_learning_rate = check_number(
            owner,
            "initial_learning_rate",
            initial_learning_rate,
            minimum=0.0,
            include_minimum=False,
        )
        self.decay_steps = check_positive_int(owner, "decay_steps", decay_steps)
        self.decay_rate = check_number(
            owner, "decay_rate", decay_rate, minimum=0.0, include_minimum=False
        )
        self.staircase = check_bool(owner, "staircase", staircase)

    def __call__(self, step: int) -> float:
        step = self._checked_step(step)
        exponent = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate**exponent

    def get_config(self) -> dict[str, Any]:
        return {
            "class_name": "ExponentialDecay",
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class CosineDecay(LearningRateSchedule):
    """Cosine decay from initial_learning_rate to alpha * initial_learning_rate, Keras semantics.

    lr(step) = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
    + alpha) with s = min(step, decay_steps): after ``decay_steps`` it stays at
    ``alpha * initial_learning_rate``. (``torch.optim.lr_scheduler.CosineAnnealingLR`` with
    ``T_max=decay_steps, eta_min=alpha * lr`` agrees up to ``decay_steps`` but then rises
    again, being periodic.)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0):
        owner = type(self).__name__
        self.initial_learning_rate = check_number(
            owner,
            "initial_learning_rate",
            initial_learning_rate,
            minimum=0.0,
            include_minimum=False,
        )
        self.decay_steps = check_positive_int(owner, "decay_steps", decay_steps)
        self.alpha = check_number(
            owner, "alpha", alpha, minimum=0.0, maximum=1.0, include_maximum=True
        )

    def __call__(self, step: int) -> float:
        progress = min(self._checked_step(step), self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {
            "class_name": "CosineDecay",
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
        }


_SCHEDULES = {cls.__name__: cls for cls in (StepDecay, ExponentialDecay, CosineDecay)}


def get(identifier: LearningRateSchedule | dict[str, Any]) -> LearningRateSchedule:
    """Rebuild a schedule from its ``get_config()`` dict (a schedule instance passes through)."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if not isinstance(identifier, dict) or "class_name" not in identifier:
        raise ValueError(
            "schedules.get expects a schedule or a config dict with a 'class_name' key, "
            f"got {identifier!r}"
        )
    config = dict(identifier)
    class_name = config.pop("class_name")
    if class_name not in _SCHEDULES:
        raise unknown_name_error("learning-rate schedule", class_name, _SCHEDULES)
    return _SCHEDULES[class_name](**config)
