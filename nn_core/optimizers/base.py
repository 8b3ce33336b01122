"""The optimizer contract: ``step(params, grads)`` updates every parameter array in place.

A subclass gives the update rule of one parameter (``_update``) and the names of its
per-parameter state arrays (``_slot_names``); this base class does everything else:
argument checks, gradient clipping, learning-rate schedules, lazy state creation, and
state and config save/restore.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import schedules
from ._validation import check_number, check_optional_positive

if TYPE_CHECKING:
    from typing_extensions import Self

_SLOT_KEY = re.compile(r"(0|[1-9][0-9]*)/(\w+)")

# A learning rate: a float > 0, or a schedule ``schedule(step) -> float``.
LearningRate = float | Callable[[int], float]


class Optimizer:
    """Base class of all optimizers.

    Args:
        learning_rate: a float > 0, or a schedule ``schedule(step: int) -> float`` evaluated at
            ``iterations`` (0 for the first step), e.g. one from ``schedules``.
        clipnorm: if set, each gradient is rescaled on its own so that its L2 norm is at most
            ``clipnorm``: ``g <- g * clipnorm / ||g||`` when ``||g|| > clipnorm`` (Keras).
        global_clipnorm: if set, all gradients are rescaled together, exactly as
            ``torch.nn.utils.clip_grad_norm_(max_norm=global_clipnorm)`` does:
            ``total = sqrt(sum_i ||g_i||^2)``, ``c = global_clipnorm / (total + 1e-6)`` and
            every ``g_i <- c * g_i`` when ``c < 1``. (Keras's ``global_clipnorm`` is the same
            without the 1e-6.) At most one of ``clipnorm`` and ``global_clipnorm``, as in Keras.

    Clipping works on copies: the caller's gradient arrays are never written to.
    """

    def __init__(
        self,
        learning_rate: LearningRate,
        clipnorm: float | None = None,
        global_clipnorm: float | None = None,
    ):
        owner = type(self).__name__
        self.learning_rate: LearningRate
        if callable(learning_rate):
            self.learning_rate = learning_rate
        else:
            self.learning_rate = check_number(
                owner, "learning_rate", learning_rate, minimum=0.0, include_minimum=False
            )
        self.clipnorm = check_optional_positive(owner, "clipnorm", clipnorm)
        self.global_clipnorm = check_optional_positive(owner, "global_clipnorm", global_clipnorm)
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError(
                f"{owner}: set at most one of clipnorm and global_clipnorm, got "
                f"clipnorm={clipnorm!r} and global_clipnorm={global_clipnorm!r}"
            )
        self._iterations = 0
        self._state: list[dict[str, np.ndarray]] | None = None

    # ---------------------------------------------------------------- subclass hooks
    def _slot_names(self) -> tuple[str, ...]:
        """Names of the per-parameter state arrays (torch's ``optimizer.state`` keys)."""
        return ()

    def _create_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """Initial state of one parameter: zeros of its shape and dtype for every slot."""
        return {name: np.zeros_like(param) for name in self._slot_names()}

    def _update(
        self,
        index: int,
        param: np.ndarray,
        grad: np.ndarray,
        state: dict[str, np.ndarray],
        lr: float,
    ) -> None:
        """Update ``param`` (any shape) and its ``state`` in place from ``grad`` (same shape
        and dtype; must not be written to) with learning rate ``lr`` for this step."""
        raise NotImplementedError

    def _hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments other than learning_rate/clipnorm/global_clipnorm."""
        return {}

    # ---------------------------------------------------------------- stepping
    @property
    def iterations(self) -> int:
        """Number of steps taken so far (0 before the first ``step``)."""
        return self._iterations

    def current_learning_rate(self) -> float:
        """Learning rate of the step about to be taken (the schedule at ``iterations``)."""
        if not callable(self.learning_rate):
            return self.learning_rate
        lr = self.learning_rate(self._iterations)
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
            raise ValueError(
                f"{type(self).__name__}: the learning_rate schedule returned "
                f"{lr!r} at step {self._iterations}, expected a float"
            )
        if not (math.isfinite(lr) and float(lr) >= 0):
            raise ValueError(
                f"{type(self).__name__}: the learning_rate schedule returned "
                f"{lr!r} at step {self._iterations}, expected a finite float >= 0"
            )
        return float(lr)

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Apply one update to every ``params[i]`` (in place) given ``grads[i]`` (same shape).

        The state of each parameter is created on the first call; later calls must pass the
        same number of parameters with the same shapes, in the same order.
        """
        params, grads = list(params), list(grads)
        grads = self._checked_grads(params, grads)
        grads = self._clipped(grads)
        lr = self.current_learning_rate()
        if self._state is None:
            self._state = [self._create_state(param) for param in params]
        self._check_state_matches(params, self._state)
        for index, (param, grad, state) in enumerate(zip(params, grads, self._state, strict=True)):
            self._update(index, param, grad, state, lr)
        self._iterations += 1

    def _checked_grads(self, params: list, grads: list) -> list[np.ndarray]:
        """Raise ValueError on mismatched lists; return the grads in their params' dtypes."""
        owner = type(self).__name__
        if len(params) != len(grads):
            raise ValueError(f"{owner}.step: got {len(params)} params but {len(grads)} grads")
        if not params:
            raise ValueError(f"{owner}.step: got an empty list of params")
        checked = []
        for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
            if not isinstance(param, np.ndarray) or not np.issubdtype(param.dtype, np.floating):
                raise ValueError(
                    f"{owner}.step: params[{index}] must be a floating-point "
                    f"numpy array, got {type(param).__name__} "
                    f"{getattr(param, 'dtype', '')}"
                )
            if not param.flags.writeable:
                raise ValueError(
                    f"{owner}.step: params[{index}] is read-only; it must be updated in place"
                )
            grad = np.asarray(grad)
            if grad.shape != param.shape:
                raise ValueError(
                    f"{owner}.step: grads[{index}] has shape {grad.shape} but "
                    f"params[{index}] has shape {param.shape}"
                )
            checked.append(grad.astype(param.dtype, copy=False))
        return checked

    def _clipped(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        """The gradients rescaled by ``clipnorm``/``global_clipnorm`` (new arrays if scaled)."""
        if self.clipnorm is not None:
            clipped = []
            for grad in grads:
                norm = float(np.linalg.norm(grad.ravel()))
                if norm > self.clipnorm:
                    grad = grad * grad.dtype.type(self.clipnorm / norm)
                clipped.append(grad)
            return clipped
        if self.global_clipnorm is not None:
            dtype = np.result_type(*grads)
            norms = np.array([np.linalg.norm(grad.ravel()) for grad in grads], dtype=dtype)
            total_norm = np.linalg.norm(norms)
            clip_coef = self.global_clipnorm / (total_norm + 1e-6)
            if clip_coef < 1.0:
                return [grad * grad.dtype.type(clip_coef) for grad in grads]
        return grads

    def _check_state_matches(
        self, params: list[np.ndarray], states: list[dict[str, np.ndarray]]
    ) -> None:
        """Raise ValueError unless ``states`` fit ``params``; cast restored state to their dtype."""
        owner = type(self).__name__
        if len(states) != len(params):
            raise ValueError(
                f"{owner}.step: got {len(params)} params, but the optimizer state "
                f"is for {len(states)}; pass the same params on every step"
            )
        for index, (param, state) in enumerate(zip(params, states, strict=True)):
            for name, value in state.items():
                if value.shape != param.shape:
                    raise ValueError(
                        f"{owner}.step: params[{index}] has shape {param.shape} "
                        f"but its state {index}/{name} has shape {value.shape}"
                    )
                if value.dtype != param.dtype:
                    state[name] = value.astype(param.dtype)

    # ---------------------------------------------------------------- save / restore
    def state_arrays(self) -> list[np.ndarray]:
        """The state arrays themselves (not copies), parameter by parameter and slot by
        slot; empty before the first ``step``. For a caller that saves them and puts them
        back in place (``Sequential.train_on_batch`` does around each step)."""
        return [value for slots in self._state or [] for value in slots.values()]

    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of the state as flat numpy arrays: ``"iterations"`` (0-d int64) and
        ``"<param index>/<slot>"`` (shape of that param), ready for ``np.savez``."""
        state = {"iterations": np.array(self._iterations, dtype=np.int64)}
        for index, slots in enumerate(self._state or []):
            for name, value in slots.items():
                state[f"{index}/{name}"] = value.copy()
        return state

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore a ``get_state()`` dict (e.g. an ``np.load``-ed .npz) after checking it.

        Before the first ``step`` the shapes are checked against the params on that step.
        """
        owner = f"{type(self).__name__}.set_state"
        if "iterations" not in state:
            raise ValueError(f"{owner}: missing key 'iterations'")
        iterations = np.asarray(state["iterations"])
        if (
            iterations.shape != ()
            or not np.issubdtype(iterations.dtype, np.integer)
            or (iterations < 0)
        ):
            raise ValueError(
                f"{owner}: 'iterations' must be an integer >= 0, got {state['iterations']!r}"
            )
        slot_names = self._slot_names()
        by_index: dict[int, dict[str, np.ndarray]] = {}
        for key in state:
            if key == "iterations":
                continue
            match = _SLOT_KEY.fullmatch(key)
            if match is None or match.group(2) not in slot_names:
                raise ValueError(
                    f"{owner}: unexpected key {key!r}; expected 'iterations' and "
                    f"'<index>/<slot>' with slot in {list(slot_names)}"
                )
            value = np.array(state[key])  # a copy: the optimizer owns its state
            if not np.issubdtype(value.dtype, np.floating):
                raise ValueError(f"{owner}: {key!r} must be a float array, got {value.dtype}")
            by_index.setdefault(int(match.group(1)), {})[match.group(2)] = value
        if sorted(by_index) != list(range(len(by_index))):
            raise ValueError(f"{owner}: parameter indices must be 0..n-1, got {sorted(by_index)}")
        if slot_names and not by_index and iterations > 0:
            raise ValueError(
                f"{owner}: no per-parameter state after {int(iterations)} steps; "
                f"expected keys like '0/{slot_names[0]}'"
            )
        restored = [by_index[index] for index in range(len(by_index))]
        for index, slots in enumerate(restored):
            missing = [name for name in slot_names if name not in slots]
            if missing:
                raise ValueError(f"{owner}: missing key '{index}/{missing[0]}'")
            shapes = {value.shape for value in slots.values()}
            if len(shapes) > 1:
                raise ValueError(
                    f"{owner}: the state arrays of parameter {index} have "
                    f"different shapes {sorted(shapes)}"
                )
        if self._state is not None and restored:
            if len(restored) != len(self._state):
                raise ValueError(
                    f"{owner}: state for {len(restored)} params, but this "
                    f"optimizer updates {len(self._state)}"
                )
            for index, (current, slots) in enumerate(zip(self._state, restored, strict=True)):
                name = slot_names[0]
                if slots[name].shape != current[name].shape:
                    raise ValueError(
                        f"{owner}: '{index}/{name}' has shape {slots[name].shape} "
                        f"but parameter {index} has shape {current[name].shape}"
                    )
        self._iterations = int(iterations)
        self._state = restored or None

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable ``{"class_name": ..., **constructor arguments}``; a schedule is
        stored as its own ``get_config()`` dict."""
        learning_rate: Any = self.learning_rate  # the float, or the schedule and then its config
        if callable(learning_rate):
            if not hasattr(learning_rate, "get_config"):
                raise TypeError(
                    f"{type(self).__name__}.get_config: the learning_rate schedule "
                    f"{learning_rate!r} has no get_config(); use one from "
                    "nn_core.optimizers.schedules"
                )
            learning_rate = learning_rate.get_config()
        return {
            "class_name": type(self).__name__,
            "learning_rate": learning_rate,
            **self._hyperparameters(),
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild an optimizer (without its state) from ``get_config()``."""
        config = dict(config)
        config.pop("class_name", None)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.get(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        arguments = {"learning_rate": self.learning_rate, **self._hyperparameters()}
        for name in ("clipnorm", "global_clipnorm"):
            if getattr(self, name) is not None:
                arguments[name] = getattr(self, name)
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"
