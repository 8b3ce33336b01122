"""Metrics: what ``compile(metrics=[...])`` reports beside the loss, as Keras names them.

A metric scores one output: ``metric(y_true, y_pred) -> float``, the mean of a score
per element (per row for the categorical accuracies). ``totals(y_true, y_pred)``
gives that mean's (sum, count), so a value over many batches is the sum of their sums
over the sum of their counts: exactly the metric of the concatenated batches, however
they were cut (``fit`` reports each epoch's value that way, as Keras does).

    name                           score                                    per
    binary_accuracy                y_true == (y_pred > threshold)           element
    categorical_accuracy           argmax y_true == argmax y_pred           row (N, K)
    sparse_categorical_accuracy    label == argmax y_pred                   row (N, K)
    mean_absolute_error ("mae")    |y_pred - y_true|                        element
    mean_squared_error ("mse")     (y_pred - y_true)^2                      element

``"accuracy"`` (or ``"acc"``) is resolved from the output's loss as Keras does: sparse
categorical cross-entropy -> sparse_categorical_accuracy, categorical cross-entropy ->
categorical_accuracy, binary cross-entropy -> binary_accuracy at 0.5; for other losses,
binary_accuracy when the output has one column, categorical_accuracy otherwise. The
log key is the name given: ``"accuracy"`` logs "accuracy" and "val_accuracy".

A model with several outputs takes ``metrics`` as a list applied to every output, a list
of lists (one per output, in order) or a dict keyed by output name (a name or a list);
its keys are "<output>_<metric>" (Keras 2's convention), e.g. "digits_accuracy".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import losses as losses_module
from ._names import unknown_name_error


class Metric:
    """A mean of per-element (or per-row) scores. Subclasses define ``_scores``."""

    default_name = "metric"

    def __init__(self, name: str | None = None):
        self.name = self.default_name if name is None else str(name)

    def _scores(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def totals(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, int]:
        """(sum of the scores, number of scores) of one batch."""
        scores = self._scores(np.asarray(y_true), np.asarray(y_pred))
        return float(np.sum(scores, dtype=np.float64)), int(scores.size)

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        total, count = self.totals(y_true, y_pred)
        return total / count if count else float("nan")

    def get_config(self) -> dict[str, Any]:
        return {"class_name": type(self).__name__, "name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _same_shape(metric, y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{metric.name}: y_true and y_pred must have the same shape, got "
            f"{y_true.shape} and {y_pred.shape}"
        )


class BinaryAccuracy(Metric):
    """mean(y_true == (y_pred > threshold)) over all elements; y_true, y_pred: (N, ...).

    As in Keras, y_true is compared as it is: a target of 0.7 never counts as right.
    """

    default_name = "binary_accuracy"

    def __init__(self, name: str | None = None, threshold: float = 0.5):
        super().__init__(name)
        self.threshold = float(threshold)

    def _scores(self, y_true, y_pred):
        _same_shape(self, y_true, y_pred)
        return y_true == (y_pred > self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    """mean over rows of [argmax_k y_true == argmax_k y_pred]; y_true, y_pred: (N, ..., K)."""

    default_name = "categorical_accuracy"

    def _scores(self, y_true, y_pred):
        _same_shape(self, y_true, y_pred)
        return np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)


class SparseCategoricalAccuracy(Metric):
    """mean over rows of [label == argmax_k y_pred]; labels (N,) or (N, 1), y_pred (N, K)."""

    default_name = "sparse_categorical_accuracy"

    def _scores(self, y_true, y_pred):
        if y_pred.ndim >= 2 and y_true.shape == (*y_pred.shape[:-1], 1):
            y_true = y_true.reshape(y_pred.shape[:-1])
        if y_pred.ndim < 2 or y_true.shape != y_pred.shape[:-1]:
            raise ValueError(
                f"{self.name}: expected labels of shape (N,) or (N, 1) for predictions "
                f"(N, K), got labels {y_true.shape} and predictions {y_pred.shape}"
            )
        return y_true == np.argmax(y_pred, axis=-1)


class MeanAbsoluteError(Metric):
    """mean|y_pred - y_true| over all elements; y_true, y_pred: (N, ...)."""

    default_name = "mean_absolute_error"

    def _scores(self, y_true, y_pred):
        _same_shape(self, y_true, y_pred)
        return np.abs(y_pred.astype(np.float64) - y_true)


class MeanSquaredError(Metric):
    """mean (y_pred - y_true)^2 over all elements; y_true, y_pred: (N, ...)."""

    default_name = "mean_squared_error"

    def _scores(self, y_true, y_pred):
        _same_shape(self, y_true, y_pred)
        return np.square(y_pred.astype(np.float64) - y_true)


_METRICS = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}
_ACCURACY_NAMES = ("accuracy", "acc")


def get(
    identifier: str | dict[str, Any] | Metric,
    loss: losses_module.Loss | None = None,
    output_shape: Sequence[int] | None = None,
) -> Metric:
    """A metric from a name, a config dict or a Metric; its log key is the name given.

    ``loss`` and ``output_shape`` (per sample) resolve "accuracy" / "acc" (see above).
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        classes = {cls.__name__: cls for cls in _METRICS.values()}
        class_name = config.pop("class_name", None)
        if class_name not in classes:
            raise unknown_name_error("metric class", class_name, classes)
        return classes[class_name](**config)
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _ACCURACY_NAMES:
            return _accuracy_for(loss, output_shape)(name=identifier)
        if key in _METRICS:
            return _METRICS[key](name=identifier)
    raise unknown_name_error("metric", identifier, [*_METRICS, *_ACCURACY_NAMES])


def _accuracy_for(loss, output_shape):
    if isinstance(loss, losses_module.SparseCategoricalCrossentropy):
        return SparseCategoricalAccuracy
    if isinstance(loss, losses_module.CategoricalCrossentropy):
        return CategoricalAccuracy
    if isinstance(loss, losses_module.BinaryCrossentropy):
        return BinaryAccuracy
    if output_shape is not None and tuple(output_shape)[-1:] == (1,):
        return BinaryAccuracy
    return CategoricalAccuracy


def check_spec(metrics: Any) -> None:
    """Raise ValueError unless ``metrics`` has a form ``resolve`` accepts (names checked
    later, once the outputs are known)."""
    if metrics is None or isinstance(metrics, (list, tuple, dict)):
        return
    raise ValueError(
        "compile: metrics must be a list of metric names (e.g. ['accuracy']), a list of "
        f"lists or a dict keyed by output name, got {metrics!r}"
    )


def resolve(
    metrics: Sequence[Any] | Mapping[str, Any] | None,
    output_names: Sequence[str],
    output_losses: Sequence[losses_module.Loss | None],
    output_shapes: Sequence[Sequence[int]],
) -> list[list[Metric]]:
    """Per output, the list of its metrics, from ``compile``'s ``metrics`` argument."""
    count = len(output_names)
    if not metrics:
        return [[] for _ in range(count)]
    if isinstance(metrics, dict):
        unknown = sorted(set(metrics) - set(output_names))
        if unknown:
            raise ValueError(
                f"compile: metrics names outputs {unknown} that the model does not have; "
                f"its outputs: {list(output_names)}"
            )
        per_output = [metrics.get(name, []) for name in output_names]
    elif all(isinstance(entry, (list, tuple)) for entry in metrics):
        if len(metrics) != count:
            raise ValueError(
                f"compile: metrics has {len(metrics)} lists but the model has {count} "
                f"outputs {list(output_names)}"
            )
        per_output = list(metrics)
    else:
        per_output = [metrics] * count
    resolved = []
    for entries, loss, shape in zip(per_output, output_losses, output_shapes):
        entries = [entries] if isinstance(entries, (str, dict, Metric)) else list(entries)
        resolved.append([get(entry, loss, shape) for entry in entries])
    return resolved


def serialise(metrics: Any) -> Any:
    """``compile``'s ``metrics`` as JSON-able data (names as they are, Metrics as configs)."""
    if isinstance(metrics, Metric):
        return metrics.get_config()
    if isinstance(metrics, dict):
        return {key: serialise(value) for key, value in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [serialise(entry) for entry in metrics]
    return metrics


def log_keys(per_output: Sequence[Sequence[Metric]], output_names: Sequence[str]) -> list[str]:
    """The log key of each metric, output by output: "accuracy", or "<output>_accuracy"."""
    if len(output_names) == 1:
        return [metric.name for metric in per_output[0]]
    return [
        f"{name}_{metric.name}"
        for name, metrics in zip(output_names, per_output)
        for metric in metrics
    ]


class Totals:
    """Running (sum, count) of every metric of every output, over the batches seen."""

    def __init__(self, per_output: Sequence[Sequence[Metric]], output_names: Sequence[str]):
        self.per_output = per_output
        self.keys = log_keys(per_output, output_names)
        self.sums = [0.0] * len(self.keys)
        self.counts = [0] * len(self.keys)

    def update(self, ys: Sequence[np.ndarray], predictions: Sequence[np.ndarray]) -> None:
        """Add one batch: ``ys`` and ``predictions``, one array per output."""
        index = 0
        for metrics, y, prediction in zip(self.per_output, ys, predictions):
            for metric in metrics:
                total, count = metric.totals(y, prediction)
                self.sums[index] += total
                self.counts[index] += count
                index += 1

    def results(self) -> dict[str, float]:
        return {
            key: total / count if count else float("nan")
            for key, total, count in zip(self.keys, self.sums, self.counts)
        }
