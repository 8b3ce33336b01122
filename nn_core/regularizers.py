"""Weight and activity penalties with Keras semantics.

``L1(l1)``: penalty = l1 * sum|w|;  ``L2(l2)``: penalty = l2 * sum w^2 (no 1/2 factor,
as in Keras; PyTorch's ``weight_decay=wd`` corresponds to ``L2(wd / 2)``);
``L1L2(l1, l2)``: both. ``KLSparsity(target, weight)``: the KL sparsity penalty of a
sigmoid code's batch-mean activations (an activity regularizer only; see its docstring).

On a kernel (``kernel_regularizer=``) the penalty is added once per batch to the loss.
On a layer's output (``activity_regularizer=``) the penalty of the batch's outputs is
divided by the batch size, as Keras does: it is the per-sample mean over the batch, so
its weight does not change with the batch size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._names import unknown_name_error


class Regularizer:
    """``reg(w) -> float`` and ``reg.gradient(w) -> array`` (d penalty / d w)."""

    def __call__(self, weights: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, weights: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError


class L1L2(Regularizer):
    """penalty = l1 * sum|w| + l2 * sum w^2;  gradient = l1 * sign(w) + 2 * l2 * w."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        for arg_name, value in (("l1", l1), ("l2", l2)):
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{type(self).__name__}: {arg_name} must be >= 0, got {value!r}")
        self.l1 = float(l1)
        self.l2 = float(l2)

    def __call__(self, weights: np.ndarray) -> float:
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.sum(np.abs(weights), dtype=np.float64))
        if self.l2:
            penalty += self.l2 * float(np.sum(np.square(weights), dtype=np.float64))
        return penalty

    def gradient(self, weights: np.ndarray) -> np.ndarray:
        grad = np.zeros_like(weights)
        if self.l1:
            grad += self.l1 * np.sign(weights)
        if self.l2:
            grad += (2 * self.l2) * weights
        return grad

    def get_config(self) -> dict[str, Any]:
        return {"class_name": "L1L2", "l1": self.l1, "l2": self.l2}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1(L1L2):
    """penalty = l1 * sum|w|. The gradient at w = 0 is taken as 0 (sign(0) = 0)."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    """penalty = l2 * sum w^2."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)


class KLSparsity(Regularizer):
    """Sparsity penalty toward a target mean activation (Ng, CS294A lecture notes), as an
    ``activity_regularizer`` on a code with values in (0, 1) (a sigmoid code).

    For a layer's outputs h: (N, units...) and each unit j's batch mean
    rho_hat_j = (1/N) sum_n h_nj, the layer's penalty is exactly

        weight * sum_j KL(rho || rho_hat_j),
        KL(rho || q) = rho log(rho / q) + (1 - rho) log((1 - rho) / (1 - q)),

    with rho = ``target`` (Ng's notes: rho = 0.05, beta = ``weight`` = 3). An activity
    penalty is divided by N by the layer (``WeightedLayer``), so ``reg(h)`` returns N times
    that, and ``reg.gradient(h)`` = weight * (-rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j))
    for every n, which the layer also divides by N: (weight / N) (...), the derivative of
    the total through the batch mean. rho_hat is clipped to [1e-7, 1 - 1e-7] (as binary
    cross-entropy clips), where the gradient is 0, the derivative of the clipped function.
    """

    epsilon = 1e-7

    def __init__(self, target: float = 0.05, weight: float = 3.0):
        if isinstance(target, bool) or not 0 < target < 1:
            raise ValueError(f"KLSparsity: target must be in (0, 1), got {target!r}")
        if isinstance(weight, bool) or not np.isfinite(weight) or weight < 0:
            raise ValueError(f"KLSparsity: weight must be >= 0, got {weight!r}")
        self.target = float(target)
        self.weight = float(weight)

    def _batch_means(self, activations):
        activations = np.asarray(activations)
        if activations.ndim < 2:
            raise ValueError(
                f"KLSparsity expects a batch of activations (N, units...), got shape "
                f"{activations.shape}"
            )
        means = np.mean(activations, axis=0, dtype=np.float64)
        return means, np.clip(means, self.epsilon, 1 - self.epsilon)

    def __call__(self, activations: np.ndarray) -> float:
        """N * weight * sum_j KL(target || rho_hat_j)  (the layer divides by N)."""
        _, rho_hat = self._batch_means(activations)
        rho = self.target
        kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
        return len(activations) * self.weight * float(np.sum(kl))

    def gradient(self, activations: np.ndarray) -> np.ndarray:
        """weight * (-rho / rho_hat + (1 - rho) / (1 - rho_hat)), broadcast to h's shape."""
        means, rho_hat = self._batch_means(activations)
        rho = self.target
        per_unit = self.weight * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))
        per_unit[(means < self.epsilon) | (means > 1 - self.epsilon)] = 0.0
        return np.broadcast_to(per_unit, np.shape(activations)).astype(activations.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"class_name": "KLSparsity", "target": self.target, "weight": self.weight}

    def __repr__(self) -> str:
        return f"KLSparsity(target={self.target}, weight={self.weight})"


def get(identifier: str | dict[str, Any] | Regularizer | None) -> Regularizer | None:
    """None, a Regularizer, a name ('l1', 'l2', 'l1_l2' with Keras's 0.01 defaults) or a config."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        if config.pop("class_name", None) == "KLSparsity":
            return KLSparsity(**config)
        return L1L2(**config)
    names: Mapping[str, Callable[[], Regularizer]] = {
        "l1": L1,
        "l2": L2,
        "l1_l2": lambda: L1L2(0.01, 0.01),
        "l1l2": lambda: L1L2(0.01, 0.01),
    }
    if isinstance(identifier, str) and identifier.lower() in names:
        return names[identifier.lower()]()
    raise unknown_name_error("regularizer", identifier, names)
