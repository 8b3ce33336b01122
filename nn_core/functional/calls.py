"""Calling a layer on symbolic tensors: check what it is given and record the node.

``Layer.__call__`` sends symbolic inputs here. Nothing is built: the output shape comes
from ``layer.compute_output_shape``, and the model that takes the graph builds its layers
later, in order. What can be checked now is checked now, with the layer's name in the
message: the number and kind of inputs, their dtypes, and the shapes the layer is
already built for (or was first called on).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..layers.base import format_shape
from .tensor import Node, SymbolicTensor

if TYPE_CHECKING:
    from ..layers.base import Layer


def call_symbolically(
    layer: Layer, inputs: SymbolicTensor | Sequence[SymbolicTensor]
) -> SymbolicTensor | list[SymbolicTensor]:
    """Record ``layer(inputs)``; returns its output tensor (a list for several outputs)."""
    tensors = _as_tensors(layer, inputs)
    dtypes = {tensor.dtype for tensor in tensors}
    if len(dtypes) > 1:
        found = ", ".join(tensor.describe() for tensor in tensors)
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}) was called on inputs of different "
            f"dtypes: {found}; make every Input of the model the same dtype"
        )
    dtype = tensors[0].dtype
    several = _takes_several(layer)
    shapes = [tensor.sample_shape for tensor in tensors]
    expected_shape = tuple(shapes) if several else shapes[0]
    _check_against_earlier(layer, expected_shape, dtype, tensors)
    output_shapes = _output_shapes(layer, expected_shape, tensors)
    node = Node(layer, tensors, output_shapes, dtype)
    return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)


def _takes_several(layer) -> bool:
    return bool(getattr(layer, "takes_multiple_inputs", False))


def _as_tensors(layer, inputs):
    label = f"layer {layer.name!r} ({type(layer).__name__})"
    if _takes_several(layer):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{label} takes a list of inputs, got one {type(inputs).__name__}")
        tensors = list(inputs)
    else:
        if isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{label} takes one input tensor, got a list of {len(inputs)}; the merge "
                "layers (Add, Concatenate, ...) take lists"
            )
        tensors = [inputs]
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, SymbolicTensor):
            raise TypeError(
                f"{label}: input {position} is a {type(tensor).__name__}, but the others are "
                "symbolic tensors; call a layer on all symbolic tensors (building a graph) or "
                "on all arrays (computing values)"
            )
    return tensors


def _check_against_earlier(layer, expected_shape, dtype, tensors):
    """A layer takes one input shape and dtype: the one it is built for or first called on."""
    if layer.built:
        shape, built_dtype, what = layer.input_shape, layer.dtype, "is built for"
    elif layer._inbound_nodes:
        first = layer._inbound_nodes[0]
        firsts = [tensor.sample_shape for tensor in first.inputs]
        shape = tuple(firsts) if _takes_several(layer) else firsts[0]
        built_dtype, what = first.inputs[0].dtype, "was first called on"
    else:
        return
    if tuple(shape) != tuple(expected_shape) or built_dtype != dtype:
        found = ", ".join(tensor.describe() for tensor in tensors)
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}) {what} inputs "
            f"{_describe_shape(shape)} {built_dtype.name}, and cannot take {found}; a layer "
            "used twice shares its weights, so it needs the same input shape every time"
        )


def _describe_shape(shape):
    if shape and isinstance(shape[0], tuple):
        return "[" + ", ".join(format_shape(s) for s in shape) + "]"
    return format_shape(shape)


def _output_shapes(layer, input_shape, tensors):
    """Per-sample output shapes: one for a layer, one per output for a model."""
    from ..training import TrainableModel

    if layer.built and isinstance(layer, TrainableModel):
        return [shape for _, shape in layer._output_specs()]
    try:
        shape = layer.compute_output_shape(input_shape)
    except ValueError:
        raise
    except Exception as error:  # noqa: BLE001 - say which layer could not take which input
        found = ", ".join(tensor.describe() for tensor in tensors)
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}) cannot take inputs {found}: "
            f"{type(error).__name__}: {error}"
        ) from error
    return [tuple(shape)]
