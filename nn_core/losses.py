"""Loss functions: ``loss(y_true, y_pred) -> float`` and ``loss.gradient(y_true, y_pred)``.

Every loss is a mean over all elements (batch and features), as Keras and PyTorch's
default ``reduction="mean"`` compute them, so the gradient carries a 1/size factor.

Binary cross-entropy and its clipping
-------------------------------------
``BinaryCrossentropy()`` on probabilities clips p to [1e-7, 1 - 1e-7] (Keras's
epsilon) before taking logs, so a confident wrong answer costs at most
-log(1e-7) ~ 16.1 per element instead of inf; outside the clip range the gradient is
0, the exact derivative of the clipped function.

When a model ends in a sigmoid (a ``Sigmoid`` layer or ``activation="sigmoid"``) and
is trained with binary cross-entropy, ``Sequential`` computes the loss from the
logits z instead, as Keras does: loss = mean(max(z,0) - z*y + log(1 + exp(-|z|))),
whose gradient at the logits is simply (sigmoid(z) - y) / size. This is exact for
every z, where the clipped form loses the gradient once sigmoid(z) rounds to 0 or 1.
``BinaryCrossentropy(from_logits=True)`` uses that form directly on raw outputs.

Categorical cross-entropy and a final softmax
---------------------------------------------
``CategoricalCrossentropy`` (one-hot or soft targets (N, K)) and
``SparseCategoricalCrossentropy`` (integer labels (N,) or (N, 1)) take the mean over the
N rows of -sum_k y_k log p_k, with p clipped to [1e-7, 1 - 1e-7] as for BCE. When the
model ends in a ``Softmax`` (a layer or ``activation="softmax"``), training uses the
logits z instead, as for a sigmoid: log p = z - logsumexp(z) is exact for every z, and
the gradient at the logits is (softmax(z) - y) / N.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import kernels
from ._names import unknown_name_error


class Loss:
    """A mean loss over all elements. Subclasses define ``_value`` and ``_gradient``."""

    name = "loss"

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        y_true, y_pred = self._check(y_true, y_pred)
        return self._value(y_true, y_pred)

    def gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """dL/dy_pred, an array of y_pred's shape and dtype."""
        y_true, y_pred = self._check(y_true, y_pred)
        return self._gradient(y_true, y_pred)

    def _check(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y_pred = np.asarray(y_pred)
        if not np.issubdtype(y_pred.dtype, np.floating):
            y_pred = y_pred.astype(np.float32)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{self.name}: y_true and y_pred must have the same shape, got "
                f"{y_true.shape} and {y_pred.shape}"
            )
        if y_pred.size == 0:
            raise ValueError(f"{self.name}: cannot compute a loss over an empty batch")
        return y_true, y_pred

    def target_shape(self, output_shape: Sequence[int]) -> tuple[int, ...]:
        """The per-sample shape of y_true for outputs of per-sample shape ``output_shape``."""
        return tuple(output_shape)

    def check_targets(self, y: Any, output_shape: Sequence[int], argument: str) -> Any:
        """The user's targets ``y`` checked (before any conversion) for outputs of
        per-sample shape ``output_shape``; returns them, reshaped if need be. ``argument``
        names y in error messages. Default: y as given (shapes are checked by the model).
        """
        return y

    def _value(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        raise NotImplementedError

    def _gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"class_name": type(self).__name__}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BinaryCrossentropy(Loss):
    """mean(-(y log p + (1 - y) log(1 - p))) over all elements.

    ``from_logits=False`` (default): y_pred are probabilities, clipped to
    [epsilon, 1 - epsilon]. ``from_logits=True``: y_pred are logits z and
    p = sigmoid(z) is never formed (stable for every z). Gradients:
    probabilities: (p - y) / (p (1 - p)) / size;  logits: (sigmoid(z) - y) / size.
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, epsilon: float = 1e-7):
        if not 0 < epsilon < 0.5:
            raise ValueError(f"BinaryCrossentropy: epsilon must be in (0, 0.5), got {epsilon!r}")
        self.from_logits = bool(from_logits)
        self.epsilon = float(epsilon)

    def _value(self, y_true, y_pred):
        if self.from_logits:
            return kernels.binary_crossentropy_from_logits(y_true, y_pred)
        return kernels.binary_crossentropy(y_true, y_pred, self.epsilon)

    def _gradient(self, y_true, y_pred):
        if self.from_logits:
            return kernels.binary_crossentropy_from_logits_gradient(y_true, y_pred)
        return kernels.binary_crossentropy_gradient(y_true, y_pred, self.epsilon)

    def logits_value(self, y_true: np.ndarray, logits: np.ndarray) -> float:
        """The loss of sigmoid(logits), computed stably from the logits."""
        y_true, logits = self._check(y_true, logits)
        return kernels.binary_crossentropy_from_logits(y_true, logits)

    def logits_gradient(
        self, y_true: np.ndarray, logits: np.ndarray, probabilities: np.ndarray | None = None
    ) -> np.ndarray:
        """dL/dlogits = (sigmoid(logits) - y) / size.

        ``probabilities``: sigmoid(logits) when the caller already has it (the output of
        the model's forward pass), so that it is not computed a second time.
        """
        y_true, logits = self._check(y_true, logits)
        if probabilities is not None:
            return kernels.binary_crossentropy_from_probabilities_gradient(y_true, probabilities)
        return kernels.binary_crossentropy_from_logits_gradient(y_true, logits)

    def sigmoid_value_and_gradient(
        self, y_true: np.ndarray, logits: np.ndarray
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """(p = sigmoid(logits), the loss of p, dL/dlogits = (p - y) / size) in one pass.

        What a training step of a model ending in a sigmoid calls (``Sigmoid``'s
        ``output_from_loss``): the three share one exponential per element.
        """
        y_true, logits = self._check(y_true, logits)
        return kernels.sigmoid_binary_crossentropy(y_true, logits)

    def fuses_with_its_sigmoid(self) -> bool:
        """Whether ``sigmoid_value_and_gradient`` gives what ``logits_value`` and
        ``logits_gradient`` give, so that a training step may call it instead: for this
        class, and for a subclass that overrides the three or none of them."""
        names = ("logits_value", "logits_gradient", "sigmoid_value_and_gradient")
        overridden = [getattr(type(self), n) is not getattr(BinaryCrossentropy, n) for n in names]
        return all(overridden) or not any(overridden)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits, "epsilon": self.epsilon}


class SummedBinaryCrossentropy(BinaryCrossentropy):
    """Binary cross-entropy summed over each sample's elements, averaged over the samples:

        (1/N) sum_n sum_i -(y_ni log p_ni + (1 - y_ni) log(1 - p_ni))

    = (elements per sample) x ``BinaryCrossentropy``: the per-sample negative
    log-likelihood of a Bernoulli decoder, the reconstruction term of a variational
    autoencoder's ELBO, on the same scale as its KL term (the Keras blog's VAE added a
    per-pixel *mean* to that KL, weighting the KL 784 times too heavily). Unlike the other
    losses here it is not a mean over all elements. Options as in ``BinaryCrossentropy``;
    gradients are BinaryCrossentropy's times the elements per sample:
    probabilities: (p - y) / (p (1 - p)) / N;  logits: (sigmoid(z) - y) / N.
    """

    name = "summed_binary_crossentropy"

    @staticmethod
    def _elements_per_sample(y_pred):
        return y_pred[0].size if y_pred.ndim else 1

    def _value(self, y_true, y_pred):
        return self._elements_per_sample(y_pred) * super()._value(y_true, y_pred)

    def _gradient(self, y_true, y_pred):
        return self._elements_per_sample(y_pred) * super()._gradient(y_true, y_pred)

    def logits_value(self, y_true: np.ndarray, logits: np.ndarray) -> float:
        """The loss of sigmoid(logits), computed stably from the logits."""
        per_sample = self._elements_per_sample(np.asarray(logits))
        return per_sample * super().logits_value(y_true, logits)

    def logits_gradient(
        self, y_true: np.ndarray, logits: np.ndarray, probabilities: np.ndarray | None = None
    ) -> np.ndarray:
        """dL/dlogits = (sigmoid(logits) - y) / N."""
        grad = super().logits_gradient(y_true, logits, probabilities)
        grad *= self._elements_per_sample(np.asarray(logits))
        return grad

    def sigmoid_value_and_gradient(
        self, y_true: np.ndarray, logits: np.ndarray
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """BinaryCrossentropy's (p, loss, dL/dlogits), the last two times the elements per
        sample: bit for bit ``logits_value`` and ``logits_gradient``."""
        probabilities, value, grad = super().sigmoid_value_and_gradient(y_true, logits)
        per_sample = self._elements_per_sample(np.asarray(logits))
        grad *= per_sample
        return probabilities, per_sample * value, grad


class MeanSquaredError(Loss):
    """mean((y_pred - y)^2);  gradient 2 (y_pred - y) / size."""

    name = "mean_squared_error"

    def _value(self, y_true, y_pred):
        return kernels.mean_squared_error(y_true, y_pred)

    def _gradient(self, y_true, y_pred):
        return kernels.mean_squared_error_gradient(y_true, y_pred)


class MeanAbsoluteError(Loss):
    """mean|y_pred - y|;  gradient sign(y_pred - y) / size (0 at equality)."""

    name = "mean_absolute_error"

    def _value(self, y_true, y_pred):
        return kernels.mean_absolute_error(y_true, y_pred)

    def _gradient(self, y_true, y_pred):
        return kernels.mean_absolute_error_gradient(y_true, y_pred)


def _log_softmax(logits):
    """log softmax(z) over the last axis, exact for every z: z - max z - log sum exp(z - max z)."""
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


class _SoftmaxCrossentropy(Loss):
    """What the two categorical cross-entropies share: options, logits path, config.

    Subclasses define ``_target_matrix(y_true, like)``: the targets as an (M, K) matrix
    (M rows: N, or N times the middle axes) of y_pred's dtype.
    """

    def __init__(self, from_logits: bool = False, epsilon: float = 1e-7):
        if not 0 < epsilon < 0.5:
            raise ValueError(f"{type(self).__name__}: epsilon must be in (0, 0.5), got {epsilon!r}")
        self.from_logits = bool(from_logits)
        self.epsilon = float(epsilon)

    def _target_matrix(self, y_true: np.ndarray, like: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _rows(self, y_true, y_pred):
        classes = y_pred.shape[-1]
        return self._target_matrix(y_true, y_pred), y_pred.reshape(-1, classes)

    def _value(self, y_true, y_pred):
        if self.from_logits:
            return self._logits_value(y_true, y_pred)
        targets, p = self._rows(y_true, y_pred)
        log_p = np.log(np.clip(p, self.epsilon, 1 - self.epsilon))
        return float(-np.sum(targets * log_p) / len(p))

    def _gradient(self, y_true, y_pred):
        if self.from_logits:
            return self._logits_gradient(y_true, y_pred, None)
        targets, p = self._rows(y_true, y_pred)
        inside = (p >= self.epsilon) & (p <= 1 - self.epsilon)
        clipped = np.clip(p, self.epsilon, 1 - self.epsilon)
        grad = np.where(inside, -targets / clipped, 0) / len(p)
        return grad.astype(y_pred.dtype).reshape(y_pred.shape)

    def _logits_value(self, y_true, logits):
        targets, z = self._rows(y_true, logits)
        return float(-np.sum(targets * _log_softmax(z)) / len(z))

    def _logits_gradient(self, y_true, logits, probabilities):
        """dL/dz = (softmax(z) * sum_k y_k - y) / M, i.e. (p - y) / M when rows of y sum to 1."""
        targets, z = self._rows(y_true, logits)
        if probabilities is None:
            p = np.exp(_log_softmax(z))
        else:
            p = np.asarray(probabilities, dtype=logits.dtype).reshape(z.shape)
        grad = (p * np.sum(targets, axis=-1, keepdims=True) - targets) / len(z)
        return grad.astype(logits.dtype).reshape(logits.shape)

    def logits_value(self, y_true: np.ndarray, logits: np.ndarray) -> float:
        """The loss of softmax(logits), computed exactly from the logits."""
        y_true, logits = self._check(y_true, logits)
        return self._logits_value(y_true, logits)

    def logits_gradient(
        self, y_true: np.ndarray, logits: np.ndarray, probabilities: np.ndarray | None = None
    ) -> np.ndarray:
        """dL/dlogits = (softmax(logits) - y) / M, logits (N, ..., K).

        ``probabilities``: softmax(logits) when the caller already has it (the model's
        output), so that it is not computed a second time.
        """
        y_true, logits = self._check(y_true, logits)
        return self._logits_gradient(y_true, logits, probabilities)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits, "epsilon": self.epsilon}


class CategoricalCrossentropy(_SoftmaxCrossentropy):
    """mean over rows of -sum_k y_k log p_k; y_true, y_pred: (N, K) (or (N, ..., K)).

    y_true: one-hot or soft targets. ``from_logits=False`` (default): y_pred are
    probabilities, clipped to [epsilon, 1 - epsilon] (unlike Keras, rows are not divided
    by their sum first, so dL/dp is exactly -y / (p M)); ``from_logits=True``: y_pred
    are logits z, p = softmax(z) over the last axis. M = y_pred.size / K rows.
    Gradients: probabilities: -y / p / M (0 where clipped);  logits: (p - y) / M.
    """

    name = "categorical_crossentropy"

    def _target_matrix(self, y_true, like):
        return y_true.reshape(-1, like.shape[-1])

    def check_targets(self, y: Any, output_shape: Sequence[int], argument: str) -> Any:
        shape = np.shape(y)
        output_shape = tuple(output_shape)
        if shape[1:] != output_shape and shape[1:] in (output_shape[:-1], output_shape[:-1] + (1,)):
            raise ValueError(
                f"{argument} has shape {shape}: class labels, but categorical_crossentropy "
                f"expects one-hot targets of shape (N, {', '.join(map(str, output_shape))}); "
                "use loss='sparse_categorical_crossentropy' for labels, or one-hot encode them"
            )
        return y


class SparseCategoricalCrossentropy(_SoftmaxCrossentropy):
    """mean over rows of -log p[label]; labels (N,) or (N, 1), y_pred (N, K).

    (Also labels (N, ...) with y_pred (N, ..., K).) Labels must be integers in [0, K),
    given as an integer array or as floats holding integers. Options as in
    ``CategoricalCrossentropy``; gradients: probabilities: -1 / (p[label] M) at the
    label, 0 elsewhere;  logits: (p - onehot(label)) / M.
    """

    name = "sparse_categorical_crossentropy"

    def target_shape(self, output_shape: Sequence[int]) -> tuple[int, ...]:
        return (*tuple(output_shape)[:-1], 1)

    def check_targets(self, y: Any, output_shape: Sequence[int], argument: str) -> np.ndarray:
        """Labels (N, ...) or (N, ..., 1) for outputs (N, ..., K); returns (N, ..., 1)."""
        y = np.asarray(y)
        return _checked_labels(y, (len(y), *tuple(output_shape)), argument).reshape(
            len(y), *self.target_shape(output_shape)
        )

    def _check(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        if not np.issubdtype(y_pred.dtype, np.floating):
            y_pred = y_pred.astype(np.float32)
        if y_pred.size == 0:
            raise ValueError(f"{self.name}: cannot compute a loss over an empty batch")
        return _checked_labels(np.asarray(y_true), y_pred.shape, "y_true"), y_pred

    def _target_matrix(self, labels, like):
        classes = like.shape[-1]
        rows = labels.reshape(-1)
        targets = np.zeros((len(rows), classes), dtype=like.dtype)
        targets[np.arange(len(rows)), rows] = 1
        return targets


def _checked_labels(labels, prediction_shape, argument):
    """``labels`` as int64 of shape prediction_shape[:-1], or ValueError naming ``argument``.

    Accepts shapes (N, ...) and (N, ..., 1) for predictions (N, ..., K); integer arrays,
    or floats holding whole numbers; every label in [0, K).
    """
    prediction_shape = tuple(prediction_shape)
    if len(prediction_shape) < 2:
        raise ValueError(
            "sparse_categorical_crossentropy needs outputs of shape (N, K) (one column per "
            f"class), got outputs of shape {prediction_shape}"
        )
    wanted, classes = prediction_shape[:-1], prediction_shape[-1]
    if labels.shape not in (wanted, (*wanted, 1)):
        raise ValueError(
            f"{argument}: sparse_categorical_crossentropy expects integer class labels of "
            f"shape {wanted} or {(*wanted, 1)} for outputs of shape {prediction_shape}, "
            f"got shape {labels.shape}"
        )
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"{argument}: class labels must be integers, got dtype {labels.dtype}")
    flat = labels.reshape(-1)
    if labels.dtype.kind == "f" and not np.array_equal(flat, np.round(flat)):
        bad = float(flat[np.flatnonzero(flat != np.round(flat))[0]])
        raise ValueError(f"{argument}: class labels must be integers, got {bad:g}")
    if flat.size and (flat.min() < 0 or flat.max() >= classes):
        bad = float(flat.min() if flat.min() < 0 else flat.max())
        raise ValueError(
            f"{argument}: class labels must be in [0, {classes}) for {classes} output "
            f"classes, got {bad:g}"
        )
    return labels.reshape(wanted).astype(np.int64)


_LOSSES = {
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "summed_binary_crossentropy": SummedBinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier: str | dict[str, Any] | Loss) -> Loss:
    """A loss from a name (``"binary_crossentropy"``, ``"mse"``, ...), a config or a Loss."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        classes = {cls.__name__: cls for cls in _LOSSES.values()}
        class_name = config.pop("class_name", None)
        if class_name not in classes:
            raise unknown_name_error("loss class", class_name, classes)
        return classes[class_name](**config)
    if isinstance(identifier, str) and identifier.lower() in _LOSSES:
        return _LOSSES[identifier.lower()]()
    raise unknown_name_error("loss", identifier, _LOSSES)
