"""DenseTransposed: a fully connected layer whose kernel is another Dense layer's, transposed.

Tied weights (as in Hinton and Salakhutdinov's deep autoencoders): a decoder layer reuses
its mirror encoder layer's kernel W instead of learning its own. The kernel stays one
parameter, owned by the tied ``Dense`` layer: this layer's ``params`` hold only its own
bias, and its share of dL/dW is added into the tied layer's ``grads["kernel"]``, so
``get_weights`` lists W once and the optimizer updates it once, with the summed gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import allocation, kernels
from .base import format_shape
from .dense import Dense
from .weighted import WeightedLayer

if TYPE_CHECKING:
    from ..regularizers import Regularizer
    from .activations import Activation
    from .base import Layer


class DenseTransposed(WeightedLayer):
    """y = activation(x @ W.T + bias), W = ``tied_to.params["kernel"]``.

    ``tied_to`` is a ``Dense`` layer mapping (N, in) -> (N, units) with kernel W (in, units);
    this layer maps x: (N, units) -> y: (N, in); bias: (in,) (its only parameter).
    ``tied_to`` usually comes earlier in the forward pass (as an encoder layer comes before
    its mirror decoder layer); either order gives the right gradient. ``output_size`` = in,
    the tied layer's input size: optional once the tied layer is built, needed before (a
    model computes every output shape before it builds its layers); checked against the
    tied layer once both are built. In a saved config the tied layer is named
    (``{"tied_to": "dense_3"}``); ``link_tied_layers`` reconnects it when the model is
    rebuilt. Keyword arguments as in ``Dense``: ``activation`` (default linear),
    ``use_bias``, ``bias_initializer`` (zeros), ``activity_regularizer``. A kernel
    regularizer belongs on the tied layer, which owns the kernel.
    """

    def __init__(
        self,
        tied_to: Dense | str,
        activation: str | Activation | None = None,
        output_size: int | None = None,
        use_bias: bool = True,
        bias_initializer: str | Callable[..., np.ndarray] = "zeros",
        activity_regularizer: str | dict[str, Any] | Regularizer | None = None,
        name: str | None = None,
    ):
        super().__init__(
            activation=activation,
            use_bias=use_bias,
            bias_initializer=bias_initializer,
            activity_regularizer=activity_regularizer,
            name=name,
        )
        if not isinstance(tied_to, (Dense, str)):
            raise ValueError(
                f"DenseTransposed: tied_to must be a Dense layer (or its name in a config), "
                f"got {type(tied_to).__name__}"
            )
        if output_size is not None and (
            isinstance(output_size, bool)
            or not isinstance(output_size, (int, np.integer))
            or output_size < 1
        ):
            raise ValueError(
                f"DenseTransposed: output_size must be a positive integer or None, got "
                f"{output_size!r}"
            )
        self.tied_to: Dense | str = tied_to
        self.output_size = None if output_size is None else int(output_size)

    def _tied_layer(self, built: bool = True) -> Dense:
        if isinstance(self.tied_to, str):
            raise ValueError(
                f"layer {self.name!r} (DenseTransposed) is tied to a layer named "
                f"{self.tied_to!r} that is not linked to it; rebuild the whole model from its "
                "config (Sequential.from_config links tied layers by name)"
            )
        if built and not self.tied_to.built:
            raise ValueError(
                f"layer {self.name!r} (DenseTransposed) is tied to Dense {self.tied_to.name!r}, "
                "which is not built yet; put the tied layer earlier in the model"
            )
        return self.tied_to

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        tied = self._tied_layer(built=self.output_size is None)
        if tuple(input_shape) != (tied.units,):
            raise ValueError(
                f"layer {self.name!r} (DenseTransposed) expects inputs of shape "
                f"(N, {tied.units}) (the units of Dense {tied.name!r}), got samples of "
                f"shape {tuple(input_shape)}"
            )
        return tied.input_shape if self.output_size is None else (self.output_size,)

    def build(self, input_shape: Sequence[int], dtype: Any = "float32") -> None:
        super().build(input_shape, dtype)  # checks the shape through compute_output_shape
        if self._tied_layer(built=False).built:
            self._check_tied_layer()
        arrays: dict[str, np.ndarray] = {}
        if self.use_bias:
            allocation.claim(self, self.output_shape)
            arrays["bias"] = self.bias_initializer(self.output_shape, self.rng, self.dtype)
        self._init_params(**arrays)
        self.activation.build(self.output_shape, self.dtype)

    def _check_tied_layer(self) -> Dense:
        tied = self._tied_layer()
        if tied.input_shape != self.output_shape:
            raise ValueError(
                f"layer {self.name!r} (DenseTransposed) has output_size {self.output_size}, "
                f"but the Dense {tied.name!r} it is tied to takes inputs of shape "
                f"{format_shape(tied.input_shape)}"
            )
        if tied.dtype != self.dtype:
            raise ValueError(
                f"layer {self.name!r} (DenseTransposed) is built in {self.dtype.name}, but the "
                f"Dense {tied.name!r} it is tied to holds {tied.dtype.name} weights"
            )
        return tied

    @property
    def kernel(self) -> np.ndarray:
        """The tied kernel W, (in, units): the tied Dense layer's own array, not a copy."""
        return self._check_tied_layer().params["kernel"]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x: (N, units) -> y: (N, in)."""
        x = self._prepare_input(x)
        self.inputs = x
        bias = self.params["bias"] if self.use_bias else 0
        z = kernels.dense_forward(x, self.kernel.T, bias)
        return self._activate(z, training)

    def backward_from_logits(self, grad_logits: np.ndarray) -> np.ndarray:
        """Given dL/dz (N, in) for z = x @ W.T + b:

        dL/dW = dL/dz.T @ x  (in, units), added into the tied layer's grads["kernel"];
        dL/db = sum over N of dL/dz  (in,);  dL/dx = dL/dz @ W  (N, units).
        """
        kernel = self.kernel
        # dense_backward of z = x @ K + b with K = W.T writes dL/dK = x.T @ dL/dz = (dL/dW).T
        grad_kernel_transposed = np.empty(kernel.T.shape, self.dtype)
        grad_bias = self.grads["bias"] if self.use_bias else np.empty(len(kernel), self.dtype)
        grad_input = kernels.dense_backward(
            self.inputs, kernel.T, grad_logits, grad_kernel_transposed, grad_bias
        )
        self._tied_layer(built=False).add_shared_kernel_gradient(self, grad_kernel_transposed.T)
        return grad_input

    def flops(self) -> int:
        return 2 * self.input_shape[0] * self.output_shape[0] + self.activation.flops()

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("kernel_initializer", "kernel_regularizer"):
            config.pop(key)
        tied = self.tied_to
        output_size = self.output_size
        if output_size is None and self.built:
            output_size = self.output_shape[0]
        return {
            **config,
            "tied_to": tied if isinstance(tied, str) else tied.name,
            "output_size": output_size,
        }


def link_tied_layers(layers: Sequence[Layer]) -> None:
    """Replace each ``DenseTransposed``'s ``tied_to`` name by the layer of that name.

    ``layers``: the leaf layers of one model (names unique within it). A name not found is
    left as it is: the tied layer may sit in an enclosing model that links it later.
    """
    by_name = {layer.name: layer for layer in layers}
    for layer in layers:
        if isinstance(layer, DenseTransposed) and isinstance(layer.tied_to, str):
            tied = by_name.get(layer.tied_to)
            if tied is not None:
                if not isinstance(tied, Dense):
                    raise ValueError(
                        f"layer {layer.name!r} (DenseTransposed) is tied to {layer.tied_to!r}, "
                        f"which is a {type(tied).__name__}, not a Dense layer"
                    )
                layer.tied_to = tied
