"""``Input``: where a graph starts. ``Input((784,))`` is the tensor of an ``InputLayer``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..layers.base import Layer, as_float_dtype
from .tensor import Node, SymbolicTensor


class InputLayer(Layer):
    """The placeholder layer behind ``Input``: it holds the shape and dtype of a model input.

    It has no weights, and in a model it is never run: the model's data go straight to
    the tensor it makes. Listed first in ``model.layers``, as in Keras.
    """

    def __init__(self, shape: int | Sequence[int], dtype: Any = "float32", name: str | None = None):
        super().__init__(name=name)
        self.sample_shape = _as_sample_shape(shape, self.name)
        Layer.build(self, self.sample_shape, as_float_dtype(dtype))
        self.node = Node(self, [], [self.sample_shape], self.dtype)

    @property
    def output(self) -> SymbolicTensor:
        return self.node.outputs[0]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The identity: y = x."""
        return self._prepare_input(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dx = dL/dy."""
        return grad_output

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.sample_shape), "dtype": self.dtype.name}


def Input(  # noqa: N802 - Keras's name for it
    shape: int | Sequence[int], dtype: Any = "float32", name: str | None = None
) -> SymbolicTensor:
    """A symbolic tensor for model inputs of per-sample ``shape`` (no batch axis).

    ``Input((784,))`` stands for batches of shape (N, 784); its ``.shape`` prints
    ``(None, 784)`` as in Keras. ``dtype``: "float32" (default) or "float64"; the model's
    inputs decide its dtype (float64 for gradient checks). ``name``: the key of this input
    in dicts given to ``fit`` / ``predict`` (default ``input_layer_<k>``).
    """
    return InputLayer(shape, dtype=dtype, name=name).output


def _as_sample_shape(shape, name):
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(
            f"Input {name!r}: shape must be a tuple of positive integers without the batch "
            f"axis, e.g. (784,) or (28, 28, 1); got {shape!r}"
        ) from None
    if not dims or any(
        isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in dims
    ):
        hint = " (leave the batch axis out: None is not allowed)" if None in dims else ""
        raise ValueError(
            f"Input {name!r}: shape must be a non-empty tuple of positive integers{hint}, "
            f"got {shape!r}"
        )
    return tuple(int(d) for d in dims)
