"""``export(model, path)``: an nn_core model as an ONNX file that computes its ``predict``.

The walk: a ``Sequential`` emits its layers in order, each reading the previous one's
output; a graph ``Model`` emits its nodes in topological order, each reading the values
of its input tensors; a model held as a layer (nested) is walked the same way, inline,
on the values it is called on. A layer used at several nodes emits its nodes once per
use, on one set of initializers. Then the Transpose pairs that cancel are removed, the
graph's outputs are given the model's output names, and ``onnx.checker`` checks it.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import helper

from ..functional import Model
from ..saving import write_atomically
from ..sequential import Sequential
from ..training import TrainableModel
from ._export_layers import ExportError, emit_layer
from ._graph_builder import GraphBuilder
from ._transposes import remove_cancelling_transposes

#: Opset used when none is asked for: supported by onnxruntime since 1.12 (2022).
DEFAULT_OPSET = 17
#: The oldest opset the translations are written for (Softmax over one axis, Resize,
#: Slice and Reshape reading tensors, as opset 13 defines them).
MIN_OPSET = 13
#: Name of the dynamic batch axis of every graph input and output.
BATCH_AXIS = "batch"


def export(
    model: TrainableModel, path: str | os.PathLike[str], opset: int | None = None
) -> onnx.ModelProto:
    """Write ``model`` (a built ``Sequential`` or ``Model``) to the ONNX file ``path``.

    Inputs and outputs keep nn_core's shapes, (batch, *sample_shape) with NHWC images and
    a dynamic batch axis, and the model's names (``model.predict`` takes dicts keyed by
    them; a ``Sequential``'s are "input" and "output"); the dtype is the model's (float32
    or float64). ``opset``: the ONNX opset, ``DEFAULT_OPSET`` (17) by default, from
    ``MIN_OPSET`` (13) to the newest the installed onnx knows. The file is written
    atomically (a crash leaves the old file or the new one). Returns the ModelProto.

    Raises ``ExportError`` (a ValueError) naming a layer that cannot be exported, and
    ValueError for an unbuilt model or an unsupported opset.
    """
    proto = to_onnx(model, opset)
    write_atomically(path, lambda file: file.write(proto.SerializeToString()))
    return proto


def to_onnx(model: TrainableModel, opset: int | None = None) -> onnx.ModelProto:
    """The checked ONNX ModelProto of ``model``, in memory (see ``export``)."""
    opset = checked_opset(opset)
    _check_exportable(model, "the model")
    model._require_built("exporting it to ONNX")
    input_specs, output_specs = model._input_specs(), model._output_specs()
    input_names = [name for name, _ in input_specs]
    output_names = [name for name, _ in output_specs]
    graph = GraphBuilder(model.dtype, reserved=input_names + output_names)
    values = _emit_model(graph, model, input_names)
    for value, name in zip(values, output_names):
        if name in input_names and value != name:
            raise ExportError(
                f"model {model.name!r} has an input and a different output both named "
                f"{name!r}; ONNX needs distinct names (name the inputs or outputs apart)"
            )
    nodes = remove_cancelling_transposes(graph.nodes, keep=values)
    nodes = _name_outputs(nodes, values, output_names, set(input_names))
    onnx_graph = helper.make_graph(
        nodes,
        model.name,
        [_value_info(graph, name, shape) for name, shape in input_specs],
        [_value_info(graph, name, shape) for name, shape in output_specs],
        graph.initializers,
    )
    opset_ids = [helper.make_opsetid("", opset)]
    proto = helper.make_model(
        onnx_graph, opset_imports=opset_ids, producer_name="nn_core", producer_version=_version()
    )
    proto.ir_version = helper.find_min_ir_version_for(opset_ids)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as error:  # a bug here, not in the user's model
        raise ExportError(f"the ONNX graph of model {model.name!r} is invalid: {error}") from error
    return proto


def checked_opset(opset: int | None) -> int:
    """``opset`` as an int in [MIN_OPSET, newest opset of the installed onnx], or ValueError."""
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if (
        isinstance(opset, bool)
        or not isinstance(opset, (int, np.integer))
        or not MIN_OPSET <= opset <= newest
    ):
        raise ValueError(
            f"export: opset must be an integer from {MIN_OPSET} to {newest} (the newest that "
            f"onnx {onnx.__version__} knows), got {opset!r}"
        )
    return int(opset)


def _check_exportable(model, what):
    """A Sequential or Model whose forward is nn_core's (a subclass may compute more)."""
    if not isinstance(model, (Sequential, Model)):
        raise ExportError(
            f"export takes an nn_core Sequential or Model, got {what} {type(model).__name__}"
            + (" (export its .model, .encoder or .decoder)" if hasattr(model, "encoder") else "")
        )
    base = Sequential if isinstance(model, Sequential) else Model
    if type(model).forward is not base.forward:
        raise ExportError(
            f"model {model.name!r} ({type(model).__name__}) overrides forward, so its ONNX "
            f"graph cannot be derived from its layers"
        )


def _emit_model(graph, model, inputs) -> list[str]:
    """The nodes of ``model`` reading ``inputs`` (value names); returns its output names."""
    if isinstance(model, Sequential):
        (value,) = inputs
        for layer in model.layers:
            (value,) = _emit(graph, layer, [value])
        return [value]
    values = {id(tensor): name for tensor, name in zip(model._input_tensors, inputs)}
    for node in model.nodes:
        results = _emit(graph, node.layer, [values[id(tensor)] for tensor in node.inputs])
        for tensor, name in zip(node.outputs, results):
            values[id(tensor)] = name
    return [values[id(tensor)] for tensor in model._output_tensors]


def _emit(graph, layer, inputs) -> list[str]:
    if isinstance(layer, TrainableModel):
        _check_exportable(layer, f"layer {layer.name!r}, a")
        return _emit_model(graph, layer, inputs)
    return [emit_layer(graph, layer, inputs)]


def _name_outputs(nodes, values, output_names, input_names) -> list:
    """Rename each output value to its output name, or copy it there with an Identity
    (a model input returned as it is, or one value returned twice)."""
    renamed: dict[str, str] = {}
    identities = []
    for value, name in zip(values, output_names):
        if value == name:  # a model input returned as it is, under its own name
            continue
        if value in input_names or value in renamed:
            source = renamed.get(value, value)
            identities.append(helper.make_node("Identity", [source], [name], name=name))
            continue
        renamed[value] = name
    for node in nodes:
        for field in (node.input, node.output):
            for position, value in enumerate(field):
                if value in renamed:
                    field[position] = renamed[value]
    return [*nodes, *identities]


def _value_info(graph, name, sample_shape):
    return helper.make_tensor_value_info(name, graph.elem_type, [BATCH_AXIS, *sample_shape])


def _version() -> str:
    from .. import __version__

    return __version__
