"""Activation layers: element-wise (or, for Softmax, per-sample) non-linearities.

Each keeps what its derivative needs: the input ``x`` (ReLU, LeakyReLU, Softplus, ELU)
or the output ``y`` (Sigmoid, Tanh, Softmax), and has no parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from .._names import unknown_name_error
from .base import Layer


class Activation(Layer):
    """Base of the parameter-free activations. ``final_activation`` is the layer itself."""

    @property
    def final_activation(self) -> Activation:
        return self

    def backward_from_logits(self, grad_logits: np.ndarray) -> np.ndarray:
        return grad_logits

    def flops(self) -> int:
        return int(np.prod(self.output_shape)) if self.output_shape else 0


class ReLU(Activation):
    """y = max(x, 0).  Backward: dL/dx = dL/dy * [x > 0], shape (N, ...)."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self.inputs = x
        return kernels.relu(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return kernels.relu_backward(self.inputs, grad_output)


class LeakyReLU(Activation):
    """y = x if x > 0 else alpha*x.  Backward: dL/dx = dL/dy * (1 if x > 0 else alpha).

    x, y, dL/dy, dL/dx: (N, ...), all of the same shape (element-wise).

    ``alpha`` defaults to 0.3 as in Keras's LeakyReLU layer (PyTorch: 0.01).
    """

    def __init__(self, alpha: float = 0.3, name: str | None = None):
        super().__init__(name=name)
        if not _is_finite_number(alpha) or alpha < 0:
            raise ValueError(f"LeakyReLU: alpha must be a finite number >= 0, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self.inputs = x
        return kernels.leaky_relu(x, self.alpha)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return kernels.leaky_relu_backward(self.inputs, grad_output, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class Sigmoid(Activation):
    """y = 1 / (1 + exp(-x)).  Backward: dL/dx = dL/dy * y * (1 - y).

    x, y, dL/dy, dL/dx: (N, ...), all of the same shape (element-wise).

    Keeps its input too: a model that ends in Sigmoid and is trained with binary
    cross-entropy computes the loss from these logits (see ``losses``).

    ``output_from_loss``: set by a training step (and only for that step) on the final
    sigmoid of an output trained with binary cross-entropy. The training forward then
    keeps x and returns it unchanged, and the step computes p, the loss and dL/dx in one
    pass (``kernels.sigmoid_binary_crossentropy``) and hands p back with
    ``set_outputs``: one exponential per element for the three instead of three.
    """

    output_from_loss = False

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self.inputs = x
        if training and self.output_from_loss:
            return x  # the logits: the training step computes sigmoid(x) with its loss
        self.outputs = kernels.sigmoid(x)
        return self.outputs

    def set_outputs(self, outputs: np.ndarray) -> None:
        """Take sigmoid(inputs), computed by the training step, as this step's output."""
        self.outputs = outputs

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return kernels.sigmoid_backward(self.outputs, grad_output)


class Tanh(Activation):
    """y = tanh(x).  Backward: dL/dx = dL/dy * (1 - y^2).

    x, y, dL/dy, dL/dx: (N, ...), all of the same shape (element-wise).
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self.outputs = kernels.tanh(x)
        return self.outputs

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return kernels.tanh_backward(self.outputs, grad_output)


class Softplus(Activation):
    """y = log(1 + exp(x)).  Backward: dL/dx = dL/dy * sigmoid(x).

    x, y, dL/dy, dL/dx: (N, ...), all of the same shape (element-wise).
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self.inputs = x
        return kernels.softplus(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return kernels.softplus_backward(self.inputs, grad_output)


class ELU(Activation):
    """y = x if x > 0 else alpha*(exp(x) - 1).  Backward: dL/dx = dL/dy * (1 or y + alpha).

    x, y, dL/dy, dL/dx: (N, ...), all of the same shape (element-wise).
    """

    def __init__(self, alpha: float = 1.0, name: str | None = None):
        super().__init__(name=name)
        if not _is_finite_number(alpha) or alpha < 0:
            raise ValueError(f"ELU: alpha must be a finite number >= 0, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self.inputs = x
        self.outputs = kernels.elu(x, self.alpha)
        return self.outputs

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return kernels.elu_backward(self.inputs, self.outputs, grad_output, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Activation):
    """y_i = exp(x_i) / sum_j exp(x_j) over the last axis.

    Backward (Jacobian-vector product): dL/dx_i = y_i * (dL/dy_i - sum_j dL/dy_j y_j).
    x, y, dL/dy, dL/dx: (N, ..., K); i and j run over the last axis (K classes).

    Keeps its input too: a model that ends in Softmax and is trained with a categorical
    cross-entropy computes the loss from these logits (see ``losses``).
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._prepare_input(x)
        self.inputs = x
        self.outputs = kernels.softmax(x)
        return self.outputs

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return kernels.softmax_backward(self.outputs, grad_output)


class Linear(Activation):
    """y = x (the identity), the activation of ``activation=None`` or ``"linear"``.

    Backward: dL/dx = dL/dy.  x, y, dL/dy, dL/dx: (N, ...), all of the same shape.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self._prepare_input(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output

    def flops(self) -> int:
        return 0


ACTIVATIONS = {
    "linear": Linear,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softplus": Softplus,
    "elu": ELU,
    "softmax": Softmax,
}


def get_activation(identifier: str | Activation | None) -> Activation:
    """A new activation layer from a name (``"relu"``), None (linear) or an Activation."""
    if identifier is None:
        return Linear()
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ACTIVATIONS:
        return ACTIVATIONS[identifier.lower()]()
    raise unknown_name_error("activation", identifier, ACTIVATIONS)


def activation_config(activation: Activation) -> dict[str, Any]:
    """Config of an activation owned by another layer (Dense, Conv2D): class and args."""
    config = activation.get_config()
    config.pop("name")
    return {"class_name": type(activation).__name__, "config": config}


def activation_from_config(config: str | dict[str, Any] | None) -> Activation:
    """Inverse of ``activation_config``; also accepts a plain name."""
    if isinstance(config, str) or config is None:
        return get_activation(config)
    classes = {cls.__name__: cls for cls in ACTIVATIONS.values()}
    if config.get("class_name") not in classes:
        raise unknown_name_error("activation class", config.get("class_name"), classes)
    return classes[config["class_name"]](**config.get("config", {}))


def _is_finite_number(value) -> bool:
    """A real, finite int or float (not a bool, string or array)."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and bool(np.isfinite(value))
    )
