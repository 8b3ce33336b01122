"""Layers that change the shape of each sample, not its values: Flatten and Reshape.

Both keep the batch axis, so a batch (N, ...) keeps its N. Backward reshapes dL/dy back
to the input shape. Outputs are NumPy views of the inputs where NumPy can make one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import Layer, format_shape


class _ReshapingLayer(Layer):
    """Base of Flatten and Reshape: forward reshapes to ``output_shape``, backward back."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x: (N, *input_shape) -> y: (N, *output_shape), the same values in C order."""
        x = self._prepare_input(x)
        return x.reshape((x.shape[0], *self.output_shape))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dx = dL/dy reshaped from (N, *output_shape) to (N, *input_shape)."""
        grad_output = np.asarray(grad_output)
        return grad_output.reshape((grad_output.shape[0], *self.input_shape))


class Flatten(_ReshapingLayer):
    """(N, d1, d2, ...) -> (N, d1*d2*...), in C (row-major) order.

    Channels-last like Keras's default ``data_format``, so an (N, H, W, C) image flattens
    to the same vector as in Keras. A batch of scalars (N,) becomes (N, 1), as in Keras.
    """

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        return (int(np.prod(input_shape, dtype=np.int64)),)


class Reshape(_ReshapingLayer):
    """(N, *input_shape) -> (N, *target_shape), Keras semantics.

    ``target_shape`` excludes the batch axis; at most one entry may be -1, which is
    inferred from the input size. ``build`` raises ValueError when the input of a sample
    cannot be reshaped to ``target_shape``.
    """

    def __init__(self, target_shape: Sequence[int], name: str | None = None):
        super().__init__(name=name)
        self.target_shape = _validated_target_shape(target_shape)

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        input_size = int(np.prod(input_shape, dtype=np.int64))
        known = [d for d in self.target_shape if d != -1]
        known_size = int(np.prod(known, dtype=np.int64))
        if -1 not in self.target_shape:
            if known_size == input_size:
                return self.target_shape
            reason = f"{input_size} values per sample cannot become {known_size}"
        elif input_size % known_size == 0:
            inferred = input_size // known_size
            return tuple(inferred if d == -1 else d for d in self.target_shape)
        else:
            reason = f"{input_size} values per sample are not a multiple of {known_size}"
        raise ValueError(
            f"layer {self.name!r} (Reshape) cannot reshape input of shape "
            f"{format_shape(input_shape)} to target_shape={self.target_shape}: {reason}"
        )

    def get_config(self) -> dict[str, Any]:
        # A list, so that the config survives a JSON round trip unchanged.
        return {**super().get_config(), "target_shape": list(self.target_shape)}


def _validated_target_shape(target_shape: Sequence[int]) -> tuple[int, ...]:
    """``target_shape`` as a tuple of positive ints with at most one -1, or ValueError."""
    message = (
        "Reshape: target_shape must be a tuple of positive integers (at most one -1, "
        f"without the batch axis), got {target_shape!r}"
    )
    if not isinstance(target_shape, (tuple, list)) or not target_shape:
        raise ValueError(message)
    for dim in target_shape:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise ValueError(message)
        if dim < 1 and dim != -1:
            raise ValueError(message)
    if sum(1 for dim in target_shape if dim == -1) > 1:
        raise ValueError(message + "; only one dimension can be inferred")
    return tuple(int(dim) for dim in target_shape)
