"""``Sequential``: a stack of layers that is itself a layer, and a trainable model.

As a layer it follows the layer contract (``build``, ``forward``, ``backward``,
``params``, ``grads``), so models nest: an autoencoder can be
``Sequential([encoder, decoder])`` and share the encoder's and decoder's layer
objects. As a model it has the Keras habits (``compile``, ``fit``, ``evaluate``,
``predict``, ``summary``, ``get_weights`` / ``set_weights``, ``save``), from the
training engine it shares with the graph ``Model`` (``nn_core.training``): a stack is
the graph with one path.

Training step (``loss_and_gradients``), for a batch (x, y):

    y_pred = forward(x)                       every layer, in order, training=True
    loss   = loss_fn(y, y_pred) + sum of layer penalties (regularisers)
    dL/dy_pred from the loss, then backward   every layer, in reverse order

When the model ends in a sigmoid and the loss is binary cross-entropy, the loss and
its gradient are computed from the logits (see ``nn_core.losses``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .layers.base import Layer, format_shape
from .model_files import load_model
from .training import TrainableModel

if TYPE_CHECKING:
    import numpy as np
    from typing_extensions import Self

__all__ = ["Sequential", "load_model"]


class Sequential(TrainableModel):
    """A linear stack of layers. ``seed`` fixes initialisation, shuffling, dropout and noise."""

    def __init__(
        self,
        layers: Iterable[Layer] | None = None,
        seed: int | None = None,
        name: str | None = None,
    ):
        self.layers: list[Layer] = []
        super().__init__(seed=seed, name=name)
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    def add(self, layer: Layer) -> None:
        """Append ``layer``; it gets a random generator derived from the model's seed."""
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if layer is self:
            raise ValueError("a Sequential cannot contain itself")
        if getattr(layer, "takes_multiple_inputs", False):
            raise ValueError(
                f"Sequential.add: layer {layer.name!r} ({type(layer).__name__}) takes several "
                "inputs; build a graph with nn_core.Input and nn_core.Model instead"
            )
        layer.set_rng(self._child_rng())
        self.layers.append(layer)
        if self.built:
            self.build(self.input_shape, self.dtype)

    def _direct_layers(self) -> list[Layer]:
        return self.layers

    def leaf_layers(self) -> list[Layer]:
        """Every layer that is not a model, depth first, each once (shared layers appear once)."""
        seen, leaves = set(), []
        for layer in self.layers:
            children = layer.leaf_layers() if isinstance(layer, TrainableModel) else [layer]
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    leaves.append(child)
        return leaves

    def build(self, input_shape: Sequence[int], dtype: Any = "float32") -> None:
        """Build every layer in turn, each on the previous layer's output shape."""
        if not self.layers:
            raise ValueError(f"model {self.name!r} has no layers to build")
        Layer.build(self, input_shape, dtype)
        shape = self.input_shape
        for layer in self.layers:
            if not layer.built:
                layer.build(shape, self.dtype)
            elif layer.input_shape != shape or layer.dtype != self.dtype:
                raise ValueError(
                    f"layer {layer.name!r} is already built for inputs "
                    f"{format_shape(layer.input_shape)} {layer.dtype}, but model {self.name!r} "
                    f"feeds it {format_shape(shape)} {self.dtype}"
                )
            shape = layer.output_shape
        self.output_shape = tuple(shape)

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    # ------------------------------------------------------------------ the layer contract
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Run every layer in order. x: (N, *input_shape) -> (N, *output_shape)."""
        x = self._prepare_input(x)
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Run every layer's backward in reverse order; returns dL/dx."""
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    @property
    def final_activation(self) -> Layer | None:
        return self.layers[-1].final_activation if self.layers else None

    def backward_from_logits(self, grad_logits: np.ndarray) -> np.ndarray:
        grad = self.layers[-1].backward_from_logits(grad_logits)
        for layer in reversed(self.layers[:-1]):
            grad = layer.backward(grad)
        return grad

    def flops(self) -> int:
        return int(sum(layer.flops() for layer in self.layers))

    # ------------------------------------------------------------------ training-engine hooks
    def _input_specs(self):
        return [("input", self.input_shape)]

    def _output_specs(self):
        return [("output", self.output_shape)]

    def _build_from_data(self, xs):
        self.build(xs[0].shape[1:], xs[0].dtype)

    def _forward_all(self, xs, training):
        return [self.forward(xs[0], training=training)]

    def _output_final_activations(self):
        return [self.final_activation]

    def _backward_all(self, grads, from_logits):
        """Backward from the output, without the first layer's dL/dx (nobody reads it)."""
        first = _skip_first_input_gradient(self.leaf_layers())
        try:
            if from_logits[0]:
                self.backward_from_logits(grads[0])
            else:
                self.backward(grads[0])
        finally:
            if first is not None:
                del first.input_gradient_needed  # back to the class default, True

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        return {
            "name": self.name,
            "seed": self.seed,
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
        }

    @classmethod
    def from_config(cls, config: dict) -> Self:
        from .layers import layer_class
        from .layers.dense_transposed import link_tied_layers

        layers = [
            layer_class(entry["class_name"]).from_config(entry["config"])
            for entry in config["layers"]
        ]
        model = cls(layers, seed=config.get("seed"), name=config.get("name"))
        link_tied_layers(model.leaf_layers())  # a config names the layer a tied layer reuses
        return model


def _skip_first_input_gradient(leaves):
    """Tell the first leaf layer to skip dL/dx for this step, and return it (or None).

    A training step never reads the gradient of the model's input, and the first
    layer's dL/dx is a product as large as its dL/dW (Dense) or a whole convolution
    (Conv2D). Only layers that offer the skip (``input_gradient_needed``) and whose
    ``backward`` is not wrapped (``nn_core.trace`` reports dL/dx) are told.
    """
    first = leaves[0] if leaves else None
    if first is None:
        return None
    return skip_input_gradient(first)


def skip_input_gradient(layer: Layer) -> Layer | None:
    """Set ``layer.input_gradient_needed = False`` when it offers the skip and its
    ``backward`` is not wrapped; returns the layer (to ``del`` the flag after), or None."""
    watched = "backward" in vars(layer) or "backward_from_logits" in vars(layer)
    if watched or not getattr(layer, "input_gradient_needed", False):
        return None
    # Only the layers that offer the skip (Dense, Conv2D, ...) define the flag: checked above.
    layer.input_gradient_needed = False  # type: ignore[attr-defined]
    return layer
