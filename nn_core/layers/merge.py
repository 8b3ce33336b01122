"""Merge layers: several tensors in, one out (skip connections, two-input models).

    y = Add()([a, b])          y = a + b                 dL/da = dL/dy,  dL/db = dL/dy
    y = Subtract()([a, b])     y = a - b                 dL/da = dL/dy,  dL/db = -dL/dy
    y = Multiply()([a, b, c])  y = a * b * c             dL/da = dL/dy * b * c, ...
    y = Average()([a, b])      y = (a + b) / 2           dL/da = dL/dy / 2, ...
    y = Concatenate()([a, b])  y = [a | b] on one axis   dL/da, dL/db = the slices of dL/dy

A merge layer takes a list of arrays in ``forward`` and returns one dL/dx per input from
``backward`` (``takes_multiple_inputs = True``). Per-sample shapes must agree exactly
(Concatenate: on every axis but the joined one); Keras 3 broadcasts some mismatches, we
refuse them, naming the inputs, since a silent broadcast usually hides a wiring mistake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..validation import check_finite, check_numeric_dtype
from .base import _FLOAT_DTYPES, Layer, as_float_dtype, format_shape


class Merge(Layer):
    """Base: checks the list of inputs, builds on the first forward, keeps the inputs."""

    takes_multiple_inputs = True
    #: exactly this many inputs (None: two or more)
    input_count: int | None = None

    def build(  # type: ignore[override]  # merge layers take a list of shapes (takes_multiple_inputs)
        self, input_shape: Sequence[Sequence[int]], dtype: Any = "float32"
    ) -> None:
        """``input_shape``: a list of per-sample shapes, one per input."""
        shapes = self._as_shapes(input_shape)
        self.output_shape = tuple(self.compute_output_shape(shapes))
        self.input_shape = shapes
        self.dtype = as_float_dtype(dtype)
        self.built = True

    def _as_shapes(self, input_shapes: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
        label = f"layer {self.name!r} ({type(self).__name__})"
        if not isinstance(input_shapes, (list, tuple)) or not all(
            isinstance(shape, (list, tuple)) for shape in input_shapes
        ):
            raise ValueError(f"{label} takes a list of input shapes, got {input_shapes!r}")
        count = len(input_shapes)
        if self.input_count is not None and count != self.input_count:
            raise ValueError(f"{label} takes exactly {self.input_count} inputs, got {count}")
        if count < 2:
            raise ValueError(f"{label} takes at least 2 inputs, got {count}")
        return tuple(tuple(int(d) for d in shape) for shape in input_shapes)

    def compute_output_shape(  # type: ignore[override]  # merge layers take a list of shapes (takes_multiple_inputs)
        self, input_shape: Sequence[Sequence[int]]
    ) -> tuple[int, ...]:
        """Element-wise merges: every input has the same per-sample shape, and so has y."""
        shapes = self._as_shapes(input_shape)
        for position, shape in enumerate(shapes[1:], start=1):
            if shape != shapes[0]:
                raise ValueError(
                    f"layer {self.name!r} ({type(self).__name__}) needs inputs of one shape: "
                    f"input 0 is {format_shape(shapes[0])}, input {position} is "
                    f"{format_shape(shape)}"
                )
        return shapes[0]

    def _prepare_inputs(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The inputs as arrays of the layer's dtype, building the layer on its first call."""
        label = f"layer {self.name!r} ({type(self).__name__})"
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{label} takes a list of arrays, got {type(inputs).__name__}")
        arrays = [np.asarray(x) for x in inputs]
        for position, array in enumerate(arrays):
            if array.dtype not in _FLOAT_DTYPES:
                check_numeric_dtype(array, f"{label} input {position}")
            if array.ndim < 1:
                raise ValueError(f"{label}: input {position} is a scalar, not a batch")
        if not self.built:
            for position, array in enumerate(arrays):
                check_finite(array, f"{label} input {position}")
            dtype = arrays[0].dtype if arrays[0].dtype in _FLOAT_DTYPES else "float32"
            self.build([array.shape[1:] for array in arrays], dtype)
        if len(arrays) != len(self.input_shape):
            raise ValueError(
                f"{label} is built for {len(self.input_shape)} inputs, got {len(arrays)}"
            )
        for position, (array, shape) in enumerate(zip(arrays, self.input_shape)):
            if array.shape[1:] != shape:
                raise ValueError(
                    f"{label} expected input {position} of shape {format_shape(shape)}, "
                    f"got {array.shape}"
                )
            if len(array) != len(arrays[0]):
                raise ValueError(
                    f"{label}: inputs hold different numbers of samples, {len(arrays[0])} "
                    f"(input 0) and {len(array)} (input {position})"
                )
        return [array.astype(self.dtype, copy=False) for array in arrays]


class Add(Merge):
    """y = x_0 + x_1 + ... (same shapes)."""

    def forward(  # type: ignore[override]  # merge layers take a list of arrays (takes_multiple_inputs)
        self, inputs: list[np.ndarray], training: bool = False
    ) -> np.ndarray:
        arrays = self._prepare_inputs(inputs)
        self._count = len(arrays)
        total = arrays[0] + arrays[1]
        for array in arrays[2:]:
            total += array
        return total

    def backward(  # type: ignore[override]  # merge layers return one dL/dx per input
        self, grad_output: np.ndarray
    ) -> list[np.ndarray]:
        """dL/dx_i = dL/dy (N, ...) for every input: a sum passes its gradient to each term."""
        return [grad_output] * self._count


class Subtract(Merge):
    """y = x_0 - x_1 (exactly two inputs)."""

    input_count = 2

    def forward(  # type: ignore[override]  # merge layers take a list of arrays (takes_multiple_inputs)
        self, inputs: list[np.ndarray], training: bool = False
    ) -> np.ndarray:
        first, second = self._prepare_inputs(inputs)
        return first - second

    def backward(  # type: ignore[override]  # merge layers return one dL/dx per input
        self, grad_output: np.ndarray
    ) -> list[np.ndarray]:
        """dL/dx_0 = dL/dy, dL/dx_1 = -dL/dy, both (N, ...)."""
        return [grad_output, -grad_output]


class Multiply(Merge):
    """y = x_0 * x_1 * ... element-wise (same shapes)."""

    def forward(  # type: ignore[override]  # merge layers take a list of arrays (takes_multiple_inputs)
        self, inputs: list[np.ndarray], training: bool = False
    ) -> np.ndarray:
        self.inputs = self._prepare_inputs(inputs)
        product = self.inputs[0] * self.inputs[1]
        for array in self.inputs[2:]:
            product *= array
        return product

    def backward(  # type: ignore[override]  # merge layers return one dL/dx per input
        self, grad_output: np.ndarray
    ) -> list[np.ndarray]:
        """dL/dx_i = dL/dy * prod_{j != i} x_j (N, ...), from prefix and suffix products,
        so no division: exact where some x_j is 0."""
        arrays = self.inputs
        prefixes = [np.ones_like(arrays[0])]  # prefixes[i] = x_0 * ... * x_{i-1}
        for array in arrays[:-1]:
            prefixes.append(prefixes[-1] * array)
        grads: list[Any] = [None] * len(arrays)  # every entry set below
        suffix = grad_output  # dL/dy * x_{i+1} * ... * x_{n-1}
        for i in range(len(arrays) - 1, -1, -1):
            grads[i] = prefixes[i] * suffix
            suffix = suffix * arrays[i]
        return grads


class Average(Merge):
    """y = (x_0 + ... + x_{n-1}) / n (same shapes)."""

    def forward(  # type: ignore[override]  # merge layers take a list of arrays (takes_multiple_inputs)
        self, inputs: list[np.ndarray], training: bool = False
    ) -> np.ndarray:
        arrays = self._prepare_inputs(inputs)
        self._count = len(arrays)
        total = arrays[0] + arrays[1]
        for array in arrays[2:]:
            total += array
        return total / self.dtype.type(self._count)

    def backward(  # type: ignore[override]  # merge layers return one dL/dx per input
        self, grad_output: np.ndarray
    ) -> list[np.ndarray]:
        """dL/dx_i = dL/dy / n (N, ...) for every input."""
        share = grad_output / grad_output.dtype.type(self._count)
        return [share] * self._count


class Concatenate(Merge):
    """y = the inputs joined along ``axis`` (default -1, the channels of NHWC maps).

    ``axis`` counts the batch axis as 0, as in Keras and NumPy, and may not be 0: joining
    batches is not a layer. Every other axis must agree.
    """

    def __init__(self, axis: int = -1, name: str | None = None):
        super().__init__(name=name)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"Concatenate: axis must be an integer, got {axis!r}")
        if axis == 0:
            raise ValueError("Concatenate: axis 0 is the batch axis; join along another axis")
        self.axis = int(axis)

    def _sample_axis(self, rank: int) -> int:
        """``axis`` as an index into a per-sample shape of ``rank`` axes."""
        axis = self.axis - 1 if self.axis > 0 else rank + self.axis
        if not 0 <= axis < rank:
            raise ValueError(
                f"layer {self.name!r} (Concatenate): axis {self.axis} is out of range for "
                f"inputs of shape (N, {rank} more axes)"
            )
        return axis

    def compute_output_shape(  # type: ignore[override]  # merge layers take a list of shapes (takes_multiple_inputs)
        self, input_shape: Sequence[Sequence[int]]
    ) -> tuple[int, ...]:
        shapes = self._as_shapes(input_shape)
        rank = len(shapes[0])
        axis = self._sample_axis(rank)
        for position, shape in enumerate(shapes[1:], start=1):
            if len(shape) != rank or any(
                a != b for k, (a, b) in enumerate(zip(shape, shapes[0])) if k != axis
            ):
                raise ValueError(
                    f"layer {self.name!r} (Concatenate) joins along axis {self.axis}, so every "
                    f"other axis must agree: input 0 is {format_shape(shapes[0])}, input "
                    f"{position} is {format_shape(shape)}"
                )
        joined = list(shapes[0])
        joined[axis] = sum(shape[axis] for shape in shapes)
        return tuple(joined)

    def forward(  # type: ignore[override]  # merge layers take a list of arrays (takes_multiple_inputs)
        self, inputs: list[np.ndarray], training: bool = False
    ) -> np.ndarray:
        arrays = self._prepare_inputs(inputs)
        axis = self._sample_axis(len(self.input_shape[0])) + 1
        self._splits = np.cumsum([array.shape[axis] for array in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(  # type: ignore[override]  # merge layers return one dL/dx per input
        self, grad_output: np.ndarray
    ) -> list[np.ndarray]:
        """dL/dx_i = the slice of dL/dy (N, ...) that x_i filled, along the joined axis."""
        axis = self._sample_axis(len(self.input_shape[0])) + 1
        return np.split(grad_output, self._splits, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
