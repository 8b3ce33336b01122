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
"""

import numpy as np

from . import kernels
from ._names import unknown_name_error


class Loss:
    """A mean loss over all elements. Subclasses define ``_value`` and ``_gradient``."""

    name = "loss"

    def __call__(self, y_true, y_pred) -> float:
        y_true, y_pred = self._check(y_true, y_pred)
        return self._value(y_true, y_pred)

    def gradient(self, y_true, y_pred):
        """dL/dy_pred, an array of y_pred's shape and dtype."""
        y_true, y_pred = self._check(y_true, y_pred)
        return self._gradient(y_true, y_pred)

    def _check(self, y_true, y_pred):
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

    def get_config(self) -> dict:
        return {"class_name": type(self).__name__}

    def __repr__(self):
        return f"{type(self).__name__}()"


class BinaryCrossentropy(Loss):
    """mean(-(y log p + (1 - y) log(1 - p))) over all elements.

    ``from_logits=False`` (default): y_pred are probabilities, clipped to
    [epsilon, 1 - epsilon]. ``from_logits=True``: y_pred are logits z and
    p = sigmoid(z) is never formed (stable for every z). Gradients:
    probabilities: (p - y) / (p (1 - p)) / size;  logits: (sigmoid(z) - y) / size.
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits=False, epsilon=1e-7):
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

    def logits_value(self, y_true, logits) -> float:
        """The loss of sigmoid(logits), computed stably from the logits."""
        y_true, logits = self._check(y_true, logits)
        return kernels.binary_crossentropy_from_logits(y_true, logits)

    def logits_gradient(self, y_true, logits, probabilities=None):
        """dL/dlogits = (sigmoid(logits) - y) / size.

        ``probabilities``: sigmoid(logits) when the caller already has it (the output of
        the model's forward pass), so that it is not computed a second time.
        """
        y_true, logits = self._check(y_true, logits)
        if probabilities is not None:
            return kernels.binary_crossentropy_from_probabilities_gradient(y_true, probabilities)
        return kernels.binary_crossentropy_from_logits_gradient(y_true, logits)

    def get_config(self):
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

    def logits_value(self, y_true, logits) -> float:
        """The loss of sigmoid(logits), computed stably from the logits."""
        per_sample = self._elements_per_sample(np.asarray(logits))
        return per_sample * super().logits_value(y_true, logits)

    def logits_gradient(self, y_true, logits, probabilities=None):
        """dL/dlogits = (sigmoid(logits) - y) / N."""
        grad = super().logits_gradient(y_true, logits, probabilities)
        grad *= self._elements_per_sample(np.asarray(logits))
        return grad


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


_LOSSES = {
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "summed_binary_crossentropy": SummedBinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
}


def get(identifier) -> Loss:
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
