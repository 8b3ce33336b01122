"""The ONNX graph walk: parse a file safely, convert node by node, track layouts, build.

``load(path)`` reads an ONNX file, checking every tensor it holds before converting it
(``_proto``), walks the nodes in their (topological) file order and turns each into
nn_core layers with the converters of ``_import_ops`` and ``_import_spatial``, or folds it
to a constant (``_fold``). The
result is a ``Sequential`` when the layers form one chain, else a graph ``nn_core.Model``.

Layout. ONNX images are NCHW, nn_core's are NHWC. Each imported tensor records how the
array nn_core holds relates to the ONNX tensor (``_Value.layout``):

* ``"plain"``: the same array (vectors, and images an NHWC exporter keeps in NHWC);
* ``"nchw"``: ONNX holds (N, C, H, W), nn_core holds (N, H, W, C);
* ``"flat_chw"``: ONNX holds a flattened NCHW map (N, C*H*W) in C, H, W order, nn_core
  holds the same values in H, W, C order (nn_core's Flatten of its NHWC map).

A 4-D model input is taken as NCHW, except when every node reading it is a
``Transpose(perm=[0, 3, 1, 2])`` (an NHWC exporter's input): that Transpose and its
inverse ``Transpose(perm=[0, 2, 3, 1])`` are layout changes, not layers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._fold import FOLDERS, shape_of
from ._proto import _ONNX_DTYPES, OnnxImportError, attributes_of, opset_of, parse, to_array

if TYPE_CHECKING:
    import onnx

    from ..functional import Model
    from ..layers.base import Layer
    from ..sequential import Sequential

_NCHW_TO_NHWC = (0, 2, 3, 1)
_NHWC_TO_NCHW = (0, 3, 1, 2)


class _Value:
    """One ONNX tensor as the importer holds it: a known constant or a model tensor.

    ``constant``: the array when known at import time. Otherwise ``shape`` is the
    nn_core per-sample shape, ``layout`` one of "plain", "nchw", "flat_chw" (module
    docstring), ``chw`` the (C, H, W) of a "flat_chw" vector, and ``source`` the layer
    that computed it, or the value it came from unchanged by an element-wise layer.
    """

    def __init__(self, name, constant=None, shape=None, layout="plain", chw=None, source=None):
        self.name = name
        self.constant = constant
        # Typed Any: None only for constants, and a shape is read only from model values,
        # so an Optional would need a check at every use.
        self.shape: Any = None if shape is None else tuple(int(d) for d in shape)
        self.layout = layout
        self.chw = chw
        self.source = source
        # Which nn_core array this is: aliases (Identity, layout-only Transposes) share it.
        self.key = object()

    def alias(self, **changes) -> _Value:
        """The same nn_core array under another ONNX name or layout."""
        name = changes.pop("name", self.name)
        fields = {
            "constant": self.constant,
            "shape": self.shape,
            "layout": self.layout,
            "chw": self.chw,
            "source": self.source,
            **changes,
        }
        value = _Value(name, **fields)
        value.key = self.key
        return value

    @property
    def onnx_shape(self) -> tuple[int, ...]:
        """The ONNX per-sample shape: (C, H, W) for an "nchw" value held as (H, W, C)."""
        shape = cast("tuple[int, ...]", self.shape)  # None only for constants, never asked
        if self.layout == "nchw":
            height, width, channels = shape
            return (channels, height, width)
        return shape


class Context:
    """What a converter sees: the values so far, the graph's readers, the layers made."""

    def __init__(self, graph: onnx.GraphProto, opset: int, dtype: np.dtype):
        self.opset = opset
        self.dtype = dtype
        self.values: dict[str, _Value] = {}
        self.steps: list[tuple] = []  # (layer, [input _Value], output _Value), in order
        self.readers: dict[str, list] = {}
        self.pending_bias: set[int] = set()  # ids of Dense layers whose bias an Add will give
        for node in graph.node:
            for name in node.input:
                if name:
                    self.readers.setdefault(name, []).append(node)
        self.output_names = {output.name for output in graph.output}

    def error(self, node: onnx.NodeProto, message: str) -> OnnxImportError:
        return OnnxImportError(f"node {node.name!r} ({node.op_type}): {message}")

    def attribute(self, node: onnx.NodeProto, name: str, default: Any = None) -> Any:
        return attributes_of(node).get(name, default)

    def only_read_by_nhwc_to_nchw(self, name: str) -> bool:
        """True when every node reading ``name`` is a Transpose(perm=[0, 3, 1, 2])."""
        readers = self.readers.get(name, [])
        return bool(readers) and all(
            reader.op_type == "Transpose"
            and tuple(attributes_of(reader).get("perm", ())) == _NHWC_TO_NCHW
            for reader in readers
        )

    def single_use(self, value: _Value) -> bool:
        """True when one node reads ``value``'s elements (Shape reads only its shape) and
        it is not a graph output."""
        readers = [r for r in self.readers.get(value.name, []) if r.op_type != "Shape"]
        return len(readers) == 1 and value.name not in self.output_names

    def apply(
        self,
        node: onnx.NodeProto,
        layer: Layer,
        inputs: Sequence[_Value],
        weights: Mapping[str, np.ndarray] | None = None,
        buffers: Mapping[str, np.ndarray] | None = None,
        **value_fields: Any,
    ) -> _Value:
        """Build ``layer`` on ``inputs`` (model values), load its arrays, return its output.

        ``weights``/``buffers`` map parameter names to arrays in nn_core's layout; their
        shapes must be the built layer's. ``value_fields`` describe the output _Value.
        """
        shapes = [value.shape for value in inputs]
        try:
            layer.build(shapes if layer.takes_multiple_inputs else shapes[0], self.dtype)
        except ValueError as error:
            raise self.error(node, str(error)) from error
        for store, arrays in ((layer.params, weights or {}), (layer.buffers, buffers or {})):
            for key, array in arrays.items():
                if store[key].shape != array.shape:
                    raise self.error(
                        node, f"{key} of shape {array.shape} does not fit {store[key].shape}"
                    )
                store[key][...] = array
        fields = {"source": layer, **value_fields}
        value = _Value(node.output[0], shape=layer.output_shape, **fields)
        self.steps.append((layer, list(inputs), value))
        return value


def model_value(
    context: Context, node: onnx.NodeProto, value: _Value | None, what: str = "input 0"
) -> _Value:
    """``value`` when it is computed from the model input, else OnnxImportError."""
    if value is None or value.constant is not None:
        raise context.error(node, f"{what} must be computed from the model input, not a constant")
    return value


def constant_input(
    context: Context,
    node: onnx.NodeProto,
    value: _Value | None,
    what: str,
    ndim: int | None = None,
) -> np.ndarray:
    """The array of a constant ``value`` (of ``ndim`` dimensions), else OnnxImportError."""
    if value is None or value.constant is None:
        raise context.error(node, f"{what} must be a constant (an initializer or Constant)")
    if ndim is not None and value.constant.ndim != ndim:
        raise context.error(
            node, f"{what} must have {ndim} dimensions, got shape {value.constant.shape}"
        )
    return value.constant


def load(path: str | os.PathLike[str] | bytes) -> Sequential | Model:
    """Read the ONNX file at ``path`` (or its bytes) and return an nn_core model.

    Returns a ``Sequential`` when the graph is a chain, else an ``nn_core.Model``, built
    in the dtype of the ONNX input (float32 or float64), uncompiled. Layout: an ONNX NCHW
    input (N, C, H, W) becomes an nn_core input (N, H, W, C): pass ``x.transpose(0, 2, 3,
    1)``; NCHW outputs come out as NHWC (``y.transpose(0, 3, 1, 2)`` gives ONNX's).
    Raises OnnxImportError for a file that is not ONNX, is truncated, holds external data
    or inconsistent tensors, or uses ops or attributes nn_core cannot express.
    """
    from . import _import_ops

    model_proto = parse(path)
    graph = model_proto.graph
    opset = opset_of(model_proto)
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    if len(graph.sparse_initializer):
        raise OnnxImportError("sparse initializers are not supported")
    inputs = [value for value in graph.input if value.name not in initializers]
    if not inputs:
        raise OnnxImportError("the graph has no input (besides its initializers)")
    dtype = _input_dtype(inputs)
    context = Context(graph, opset, dtype)
    for name, tensor in initializers.items():
        context.values[name] = _Value(name, constant=to_array(tensor, f"initializer {name!r}"))
    model_inputs = [_model_input(context, value) for value in inputs]
    for node in graph.node:
        _convert_node(context, node, _import_ops.CONVERTERS, _import_ops.ARITY)
    if not len(graph.output):
        raise OnnxImportError("the graph declares no output")
    outputs = []
    for output in graph.output:
        value = context.values.get(output.name)
        if value is None or value.constant is not None:
            raise OnnxImportError(f"graph output {output.name!r} is not computed from an input")
        if value.layout == "flat_chw":
            raise OnnxImportError(
                f"graph output {output.name!r} is a flattened NCHW map, which nn_core holds in "
                "H, W, C order; nn_core can import it only followed by Gemm/MatMul or Reshape"
            )
        outputs.append(value)
    return _build_model(context, model_inputs, outputs)


def _input_dtype(inputs) -> np.dtype:
    dtypes = set()
    for value in inputs:
        elem_type = value.type.tensor_type.elem_type
        if elem_type not in (1, 11):
            raise OnnxImportError(
                f"input {value.name!r} has ONNX data type {elem_type}; nn_core models take "
                "float32 (1) or float64 (11) inputs"
            )
        dtypes.add(_ONNX_DTYPES[elem_type][0])
    if len(dtypes) > 1:
        raise OnnxImportError("the inputs mix float32 and float64; nn_core takes one dtype")
    return dtypes.pop()


def _model_input(context, value) -> _Value:
    """An ONNX graph input -> a model _Value: (N, C, H, W) -> nn_core (H, W, C)."""
    dims = value.type.tensor_type.shape.dim
    sample = []
    for dim in list(dims)[1:]:
        if not dim.HasField("dim_value") or dim.dim_value < 1:
            raise OnnxImportError(
                f"input {value.name!r}: every axis but the batch axis needs a fixed positive "
                f"size, got {[d.dim_value or d.dim_param for d in dims]}"
            )
        sample.append(int(dim.dim_value))
    if not sample:
        raise OnnxImportError(f"input {value.name!r} needs a batch axis and at least one more")
    layout = "plain"
    if len(sample) == 3 and not context.only_read_by_nhwc_to_nchw(value.name):
        channels, height, width = sample
        sample, layout = [height, width, channels], "nchw"
    result = _Value(value.name, shape=sample, layout=layout)
    context.values[value.name] = result
    return result


def _convert_node(context, node, converters, arity):
    if node.domain not in ("", "ai.onnx"):
        raise context.error(node, f"domain {node.domain!r} is not supported, only standard ops")
    inputs: list[_Value | None] = []
    for name in node.input:
        if not name:
            inputs.append(None)  # an omitted optional input
            continue
        if name not in context.values:
            raise context.error(node, f"input {name!r} is not defined by any earlier node")
        inputs.append(context.values[name])
    if not len(node.output) or not node.output[0]:
        raise context.error(node, "has no output")
    for name in node.output:
        if name in context.values:
            raise context.error(node, f"output {name!r} is defined twice")
    attributes = attributes_of(node)
    present = [value for value in inputs if value is not None]
    if node.op_type == "Constant":
        outputs = [_constant_attribute(context, node, attributes)]
    elif node.op_type == "Shape" and len(present) == 1 and present[0].constant is None:
        outputs = [
            shape_of(present[0].onnx_shape, attributes.get("start", 0), attributes.get("end"))
        ]
    elif node.op_type in FOLDERS and present and all(v.constant is not None for v in present):
        try:
            outputs = FOLDERS[node.op_type](node, [v.constant for v in present], attributes)
        except ValueError as error:
            raise context.error(node, f"cannot fold it to a constant: {error}") from error
    elif node.op_type in converters:
        fewest, most = arity.get(node.op_type, (1, 1))
        if not fewest <= len(inputs) <= most:
            raise context.error(
                node,
                f"takes {fewest} to {most} inputs, got {len(inputs)}"
                if fewest != most
                else f"takes {fewest} input(s), got {len(inputs)}",
            )
        try:
            outputs = converters[node.op_type](context, node, inputs, attributes)
        except OnnxImportError:
            raise
        except ValueError as error:  # an nn_core layer refusing an argument
            raise context.error(node, str(error)) from error
    else:
        raise context.error(
            node,
            f"op {node.op_type!r} is not supported; supported: {', '.join(sorted(converters))}",
        )
    _check_extra_outputs(context, node, len(outputs))
    for name, output in zip(node.output, outputs):
        if isinstance(output, _Value):
            output = output.alias(name=name) if output.name != name else output
        else:
            output = _Value(name, constant=output)
        context.values[name] = output


def _check_extra_outputs(context, node, produced):
    for name in list(node.output)[produced:]:
        if name and (context.readers.get(name) or name in context.output_names):
            raise context.error(node, f"its optional output {name!r} is used; nn_core has none")


def _constant_attribute(context, node, attributes):
    for key, dtype in (
        ("value", None),
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if key in attributes:
            return attributes[key] if dtype is None else np.asarray(attributes[key], dtype)
    raise context.error(node, "only value, value_float(s) and value_int(s) constants are supported")


def _build_model(context, inputs, outputs):
    """A Sequential when the steps form one chain from the input to the output."""
    from ..functional import Input, Model
    from ..sequential import Sequential

    if not context.steps:
        raise OnnxImportError("the graph computes nothing nn_core holds as a layer")
    chain = len(inputs) == 1 and len(outputs) == 1
    chain = chain and outputs[0].key is context.steps[-1][2].key
    previous = inputs[0]
    for _, step_inputs, output in context.steps:
        chain = chain and len(step_inputs) == 1 and step_inputs[0].key is previous.key
        previous = output
    if chain:
        model = Sequential([layer for layer, _, _ in context.steps])
        model.build(inputs[0].shape, context.dtype)
        return model
    tensors = {value.key: Input(value.shape, dtype=context.dtype) for value in inputs}
    for layer, step_inputs, output in context.steps:
        arguments = [tensors[value.key] for value in step_inputs]
        tensors[output.key] = layer(arguments if layer.takes_multiple_inputs else arguments[0])
    model_inputs = [tensors[value.key] for value in inputs]
    model_outputs = [tensors[value.key] for value in outputs]
    return Model(
        model_inputs if len(model_inputs) > 1 else model_inputs[0],
        model_outputs if len(model_outputs) > 1 else model_outputs[0],
    )
