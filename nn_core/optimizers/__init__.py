"""Optimizers: ``optimizer.step(params, grads)`` updates a list of numpy arrays in place.

Each rule matches its ``torch.optim`` counterpart step for step (see each class docstring
for the formula and where our defaults come from). ``get`` builds one from a name
(``"adam"``), a ``get_config()`` dict or an instance.
"""

from __future__ import annotations

from typing import Any

from .._names import unknown_name_error
from . import schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .base import Optimizer
from .rmsprop import RMSprop
from .schedules import CosineDecay, ExponentialDecay, LearningRateSchedule, StepDecay
from .sgd import SGD

_OPTIMIZERS = {cls.__name__.lower(): cls for cls in (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW)}


def get(identifier: Optimizer | str | dict[str, Any], **kwargs: Any) -> Optimizer:
    """An optimizer from an instance (returned as is), a lowercase name (``"sgd"``,
    ``"adagrad"``, ``"adadelta"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``; ``kwargs`` go to
    the constructor) or a ``get_config()`` dict (``kwargs`` override its entries)."""
    if isinstance(identifier, Optimizer):
        if kwargs:
            raise ValueError(
                f"get: keyword arguments {sorted(kwargs)} cannot be applied to "
                f"an existing optimizer {identifier!r}"
            )
        return identifier
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        if not isinstance(name, str) or name.lower() not in _OPTIMIZERS:
            raise unknown_name_error("optimizer", name, _OPTIMIZERS)
        return _OPTIMIZERS[name.lower()].from_config({**identifier, **kwargs})
    if isinstance(identifier, str):
        if identifier.lower() not in _OPTIMIZERS:
            raise unknown_name_error("optimizer", identifier, _OPTIMIZERS)
        return _OPTIMIZERS[identifier.lower()](**kwargs)
    raise ValueError(
        f"get expects an Optimizer, an optimizer name or a config dict, got {identifier!r}"
    )


__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineDecay",
    "ExponentialDecay",
    "LearningRateSchedule",
    "Optimizer",
    "RMSprop",
    "StepDecay",
    "get",
    "schedules",
]
