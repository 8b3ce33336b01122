"""From the user's arrays to what the training engine computes on (``fit``, ``evaluate``,
``predict``): inputs and targets as lists, checked in the user's terms, converted to the
model's dtype: whole for arrays in memory, batch by batch for memory-mapped arrays (see
``sources``). Functions of the model, kept out of ``training`` to keep it one concept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..layers.base import format_shape
from ..validation import check_finite, check_same_length, checked_batch
from .dataset import take
from .sources import cast_batch, checked_memory_map, is_memory_mapped, prepared_array

if TYPE_CHECKING:
    from ..training import TrainableModel


def prepare_data(
    model: TrainableModel, x: Any, y: Any, x_name: str, y_name: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Inputs and targets as lists of checked float arrays of the model's dtype.

    A memory-mapped array is checked for dtype and shape only and kept as it is:
    its batches are converted and checked for NaN/Inf as they are read.
    """
    dtype = model.dtype if model.built else np.float32
    xs = model._as_input_list(x, x_name)
    ys = model._as_output_list(y, y_name)
    x_names = element_names(x_name, model._input_specs_or_none())
    y_names = element_names(y_name, model._output_specs_or_none())
    # fit(x, x): convert once, so that the targets stay the very same arrays.
    converted = {}
    prepared_x = []
    for array, name in zip(xs, x_names):
        prepared_x.append(prepared_array(array, name, dtype))
        converted[id(array)] = prepared_x[-1]
    for array, name in zip(prepared_x[1:], x_names[1:]):
        check_same_length(prepared_x[0], array, x_names[0], name)
    if not model.built:  # in float32, as the arrays converted above, memory maps too
        model._build_from_data([array[:1].astype(dtype, copy=False) for array in prepared_x])
    for (_, shape), array, name in zip(model._input_specs(), prepared_x, x_names):
        if array.shape[1:] != shape:
            raise ValueError(
                f"model {model.name!r} expects {name} of shape {format_shape(shape)}, "
                f"got {array.shape}"
            )
    if model.loss is not None and model._output_losses is None:
        model._resolve_losses()
    output_losses = model._output_losses or [None] * len(ys)
    prepared_y = []
    for (_, shape), array, name, loss in zip(model._output_specs(), ys, y_names, output_losses):
        if id(array) in converted:
            prepared_y.append(converted[id(array)])
            continue
        if loss is not None:  # class labels: checked, then (N, 1)
            array = loss.check_targets(array, shape, name)
        prepared_y.append(prepared_array(array, name, dtype))
        check_same_length(prepared_x[0], prepared_y[-1], x_names[0], name)
    for (_, shape), array, name, loss in zip(
        model._output_specs(), prepared_y, y_names, output_losses
    ):
        if loss is not None:
            shape = loss.target_shape(shape)
        if array.shape[1:] != shape:
            raise ValueError(
                f"model {model.name!r} outputs {format_shape(shape)}, but {name} "
                f"has shape {array.shape}"
            )
    return prepared_x, prepared_y


def predict_arrays(
    model: TrainableModel, x: Any, batch_size: int, argument: str
) -> list[np.ndarray]:
    """One array per output for arrays x (an array, list or dict)."""
    xs = model._as_input_list(x, argument)
    names = element_names(argument, model._input_specs_or_none())
    xs = [
        checked_memory_map(array, name) if is_memory_mapped(array) else checked_batch(array, name)
        for array, name in zip(xs, names)
    ]
    for array, name in zip(xs[1:], names[1:]):
        check_same_length(xs[0], array, names[0], name)
    if not model.built:
        dtype = xs[0].dtype if xs[0].dtype in (np.float32, np.float64) else "float32"
        model._build_from_data([array[:1].astype(dtype) for array in xs])
    for (_, shape), array, name in zip(model._input_specs(), xs, names):
        if array.shape[1:] != shape:
            raise ValueError(
                f"model {model.name!r} expects {name} of shape {format_shape(shape)}, "
                f"got {array.shape}"
            )
    size = len(xs[0])
    outputs = [np.empty((size, *shape), dtype=model.dtype) for _, shape in model._output_specs()]
    for batch_index, start in enumerate(range(0, size, batch_size)):
        batches = []
        for array, name in zip(xs, names):
            samples = slice(start, start + batch_size)
            if is_memory_mapped(array):
                batches.append(
                    cast_batch(take(array, samples), model.dtype, name, samples, batch_index)
                )
                continue
            narrowing = array.dtype.kind == "f" and array.dtype.itemsize > model.dtype.itemsize
            with np.errstate(over="ignore"):  # an overflow becomes Inf, reported below
                batch = np.ascontiguousarray(array[samples], model.dtype)
            if narrowing:  # 1e300 in float64 is Inf in float32
                check_finite(batch, f"{name} (cast to {model.dtype})", first_index=start)
            batches.append(batch)
        for output, result in zip(outputs, model._forward_all(batches, training=False)):
            output[start : start + batch_size] = result
    return outputs


def element_names(argument: str, specs: Sequence[tuple[str | None, Any]]) -> list[str]:
    """How messages name each input or output: ``x``, or ``x['image']`` for several."""
    if len(specs) == 1:
        return [argument]
    return [f"{argument}[{name!r}]" for name, _ in specs]
