"""What Dense, Conv2D and Conv2DTranspose share: an affine map followed by an
activation, with optional kernel and activity regularisers.

    z = affine(x)            (the subclass: x @ W + b, or a convolution)
    y = activation(z)
    loss += kernel_regularizer(W) + activity_regularizer(y) / N

Backward runs these in reverse: the activity penalty's gradient is added to dL/dy,
the activation turns dL/dy into dL/dz, and the subclass's ``backward_from_logits``
turns dL/dz into dL/dx, dL/dW and dL/db (adding the kernel penalty's gradient).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import allocation, initializers, regularizers
from .activations import ReLU, activation_config, activation_from_config, get_activation
from .base import Layer

if TYPE_CHECKING:
    import numpy as np
    from typing_extensions import Self

    from ..regularizers import Regularizer
    from .activations import Activation


class WeightedLayer(Layer):
    def __init__(
        self,
        activation: str | Activation | None = None,
        use_bias: bool = True,
        kernel_initializer: str | Callable[..., np.ndarray] = "glorot_uniform",
        bias_initializer: str | Callable[..., np.ndarray] = "zeros",
        kernel_regularizer: str | dict[str, Any] | Regularizer | None = None,
        activity_regularizer: str | dict[str, Any] | Regularizer | None = None,
        name: str | None = None,
        **unsupported: Any,
    ):
        if unsupported:  # Keras arguments we lack (kernel_constraint=, ...): never ignored
            own = [
                name
                for name in inspect.signature(type(self).__init__).parameters
                if name not in ("self", "kwargs", "activation")
            ]
            shared = list(inspect.signature(WeightedLayer.__init__).parameters)[1:-1]
            raise TypeError(
                f"{type(self).__name__}: argument(s) {sorted(unsupported)} are not supported "
                f"by nn_core; supported: {', '.join(dict.fromkeys(own + shared))}"
            )
        super().__init__(name=name)
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._activity_penalty = 0.0
        # Shares of dL/dkernel from layers that reuse this kernel (DenseTransposed), waiting
        # for this layer's own backward; see add_shared_kernel_gradient.
        self._pending_kernel_gradients: dict[str, np.ndarray] = {}
        self._kernel_gradient_done = False

    def _build_weights(self, kernel_shape: Sequence[int], bias_shape: Sequence[int]) -> None:
        """Initialise ``kernel`` (and ``bias``) with this layer's generator and dtype."""
        allocation.claim(self, kernel_shape, *([bias_shape] if self.use_bias else []))
        arrays = {"kernel": self.kernel_initializer(kernel_shape, self.rng, self.dtype)}
        if self.use_bias:
            arrays["bias"] = self.bias_initializer(bias_shape, self.rng, self.dtype)
        self._init_params(**arrays)
        self.activation.build(self.output_shape, self.dtype)

    def _activate(self, z: np.ndarray, training: bool) -> np.ndarray:
        """y = activation(z), and the activity penalty of y when there is one."""
        return self._finish_forward(self.activation.forward(z, training))

    def _plain_relu(self) -> ReLU | None:
        """The activation when it is exactly ReLU, else None. A subclass may then compute
        y = max(z, 0) inside its own kernel (Conv2D: ``kernels.conv2d_forward_relu``) and
        hand y to ``_activated_by_the_kernel``."""
        return self.activation if type(self.activation) is ReLU else None

    def _activated_by_the_kernel(self, relu: ReLU, y: np.ndarray) -> np.ndarray:
        """``_activate`` for y = max(z, 0) computed by the layer's kernel: ``relu`` keeps y
        for its backward, whose mask [z > 0] is [y > 0] (a NaN in z is NaN in y)."""
        relu.inputs = y
        return self._finish_forward(y)

    def _finish_forward(self, outputs: np.ndarray) -> np.ndarray:
        """The activity penalty of y = outputs when there is one; a new forward pass."""
        self._pending_kernel_gradients.clear()  # a new forward pass: shares start afresh
        self._kernel_gradient_done = False
        if self.activity_regularizer is not None:
            self.outputs = outputs
            self._activity_penalty = self.activity_regularizer(outputs) / len(outputs)
        return outputs

    # None (no dL/dx) when input_gradient_needed is False: the contract's ndarray otherwise
    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:  # type: ignore[override]
        """dL/dy -> dL/dx, through the activity penalty, the activation and the affine map."""
        return self.backward_from_logits(
            self.activation.backward(self._with_activity_gradient(grad_output))
        )

    def _with_activity_gradient(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dy plus the activity penalty's gradient, when there is one."""
        if self.activity_regularizer is None:
            return grad_output
        return grad_output + self.activity_regularizer.gradient(self.outputs) / len(self.outputs)

    def _add_kernel_penalty_gradient(self) -> None:
        if self.kernel_regularizer is not None:
            self.grads["kernel"] += self.kernel_regularizer.gradient(self.params["kernel"])
        for share in self._pending_kernel_gradients.values():
            self.grads["kernel"] += share
        self._pending_kernel_gradients.clear()
        self._kernel_gradient_done = True

    def add_shared_kernel_gradient(self, user: Layer, share: np.ndarray) -> None:
        """Add ``share`` (kernel's shape) to dL/dkernel for ``user``, a layer reusing the kernel.

        The kernel is one parameter however many layers use it, so its gradient is the sum
        of every use's share. This layer's own backward overwrites ``grads["kernel"]``: a
        share that arrives before it (from a layer later in the forward pass, such as a tied
        decoder layer) is kept and added then; one that arrives after it is added at once.
        """
        if self._kernel_gradient_done:
            self.grads["kernel"] += share
        else:
            self._pending_kernel_gradients[user.name] = share

    def penalty(self) -> float:
        """kernel_regularizer(W) + activity_regularizer(last outputs) / batch size."""
        total = self._activity_penalty if self.activity_regularizer is not None else 0.0
        if self.kernel_regularizer is not None:
            total += self.kernel_regularizer(self.params["kernel"])
        return total

    @property
    def final_activation(self) -> Activation | None:
        # An activity penalty needs dL/dy, so the fused sigmoid + cross-entropy shortcut
        # (which skips y) is offered only without one.
        if self.activity_regularizer is not None:
            return None
        return self.activation

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "activation": activation_config(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.name_of(self.kernel_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
            "kernel_regularizer": _regularizer_config(self.kernel_regularizer),
            "activity_regularizer": _regularizer_config(self.activity_regularizer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        config = dict(config)
        config["activation"] = activation_from_config(config.get("activation"))
        return cls(**config)


def _regularizer_config(regularizer: Regularizer | None) -> dict[str, Any] | None:
    return None if regularizer is None else regularizer.get_config()
