"""One converter per ONNX op: ``(context, node, inputs, attributes) -> [outputs]``.

``inputs`` are the importer's ``_Value`` objects (None for an omitted optional input);
an output is a ``_Value`` (``context.apply`` makes one from a layer) or a constant array.
Weight layouts, written once here:

* Conv and ConvTranspose weights: see ``_import_spatial`` (the image ops);
* Gemm ``B`` (units, in) with transB=1 -> Dense kernel (in, units): ``B.T``; rows of a
  kernel reading a "flat_chw" vector are permuted from C, H, W to H, W, C order.
"""

from __future__ import annotations

import math

import numpy as np

from .. import layers as L
from . import _import_spatial as spatial
from ._fold import BATCH
from .importer import OnnxImportError
from .importer import constant_input as _constant
from .importer import model_value as _model_value


def _flat_chw_rows(kernel, chw):
    """Kernel rows in ONNX's C, H, W order -> nn_core's H, W, C order: (C*H*W, U) -> same."""
    channels, height, width = chw
    return kernel.reshape(channels, height, width, -1).transpose(1, 2, 0, 3).reshape(kernel.shape)


def _flat_chw_columns(array, chw):
    """The last axis of ``array`` from C, H, W order to H, W, C order."""
    channels, height, width = chw
    lead = array.shape[:-1]
    moved = array.reshape(*lead, channels, height, width)
    return np.moveaxis(moved, -3, -1).reshape(array.shape)


def _dense(context, node, x, kernel, bias):
    x = _model_value(context, node, x)
    if len(x.shape) != 1 or kernel.shape[0] != x.shape[0]:
        raise context.error(
            node,
            f"a ({kernel.shape[0]}, {kernel.shape[1]}) weight cannot take inputs of shape "
            f"(N, {x.onnx_shape}); nn_core's Dense takes (N, features)",
        )
    if x.layout == "flat_chw":
        kernel = _flat_chw_rows(kernel, x.chw)
    layer = L.Dense(kernel.shape[1], use_bias=bias is not None)
    weights = {"kernel": kernel} if bias is None else {"kernel": kernel, "bias": bias}
    return context.apply(node, layer, [x], weights=weights)


def _bias(context, node, bias, units, what):
    if bias.size not in (1, units) or bias.ndim > 2 or (bias.ndim == 2 and bias.shape[0] != 1):
        raise context.error(node, f"{what} of shape {bias.shape} does not broadcast to ({units},)")
    return np.broadcast_to(bias.reshape(-1), (units,)).astype(context.dtype)


def gemm(context, node, inputs, attributes):
    """y = alpha * A @ op(B) + beta * C -> Dense(kernel = alpha * op(B), bias = beta * C)."""
    if attributes.get("transA", 0):
        raise context.error(node, "transA=1 is not supported (the batch would be transposed)")
    weight = _constant(context, node, inputs[1], "input 1 (B)", ndim=2)
    kernel = weight.T if attributes.get("transB", 0) else weight
    kernel = attributes.get("alpha", 1.0) * kernel.astype(context.dtype)
    bias = None
    if len(inputs) > 2 and inputs[2] is not None:
        raw = _constant(context, node, inputs[2], "input 2 (C)")
        bias = attributes.get("beta", 1.0) * _bias(context, node, raw, kernel.shape[1], "C")
    return [_dense(context, node, inputs[0], kernel, bias)]


def matmul(context, node, inputs, attributes):
    """A @ B with B constant -> Dense; an Add of a constant right after becomes its bias."""
    kernel = _constant(context, node, inputs[1], "input 1 (B)", ndim=2).astype(context.dtype)
    readers = context.readers.get(node.output[0], [])
    bias_follows = (
        len(readers) == 1
        and readers[0].op_type == "Add"
        and node.output[0] not in context.output_names
    )
    bias = np.zeros(kernel.shape[1], context.dtype) if bias_follows else None
    value = _dense(context, node, inputs[0], kernel, bias)
    if bias_follows:
        context.pending_bias.add(id(value.source))
    return [value]


def _merge(layer_class):
    def convert(context, node, inputs, attributes):
        constants = [v for v in inputs if v is not None and v.constant is not None]
        if node.op_type == "Add" and len(inputs) == 2 and len(constants) == 1:
            return [_add_bias(context, node, inputs)]
        if constants or len(inputs) < 2:
            raise context.error(
                node,
                "nn_core merges model tensors only; a constant operand is supported only as "
                "the bias Add after a MatMul",
            )
        first = inputs[0]
        for value in inputs[1:]:
            if (value.shape, value.layout, value.chw) != (first.shape, first.layout, first.chw):
                raise context.error(
                    node,
                    f"operands of shapes (N, {first.onnx_shape}) and (N, {value.onnx_shape}) "
                    "differ; nn_core's merge layers do not broadcast",
                )
        return [context.apply(node, layer_class(), inputs, layout=first.layout, chw=first.chw)]

    return convert


def _add_bias(context, node, inputs):
    x, constant = (inputs[0], inputs[1]) if inputs[1].constant is not None else inputs[::-1]
    layer = x.source
    if id(layer) not in context.pending_bias or not context.single_use(x):
        raise context.error(
            node, "adding a constant is supported only as the bias right after a MatMul"
        )
    context.pending_bias.discard(id(layer))
    layer.params["bias"][...] = _bias(context, node, constant.constant, layer.units, "the bias")
    return x


def concat(context, node, inputs, attributes):
    values = [_model_value(context, node, v, f"input {i}") for i, v in enumerate(inputs)]
    first = values[0]
    rank = len(first.shape) + 1
    axis = attributes.get("axis", 1)
    if not -rank <= axis < rank or any(v.layout != first.layout for v in values):
        raise context.error(node, f"axis {axis} or mixed layouts are not supported")
    axis %= rank
    if first.layout == "flat_chw" or axis == 0:
        raise context.error(node, "joining flattened NCHW maps or batches is not supported")
    if first.layout == "nchw":
        if axis != 1:
            raise context.error(
                node, f"joining NCHW images on axis {axis} is not supported; only 1"
            )
        axis = -1
    return [context.apply(node, L.Concatenate(axis=axis), values, layout=first.layout)]


def flatten(context, node, inputs, attributes):
    value = _model_value(context, node, inputs[0])
    if attributes.get("axis", 1) != 1:
        raise context.error(node, f"axis={attributes['axis']} is not supported; only axis=1")
    if len(value.shape) == 1:
        return [value]
    chw = value.onnx_shape if value.layout == "nchw" else None
    layout = "flat_chw" if value.layout == "nchw" else "plain"
    return [context.apply(node, L.Flatten(), [value], layout=layout, chw=chw)]


def reshape(context, node, inputs, attributes):
    """Reshapes nn_core can hold: NCHW <-> flat (as Flatten / Reshape) and plain ones."""
    value = _model_value(context, node, inputs[0])
    raw = _constant(context, node, inputs[1], "input 1 (shape)", ndim=1).tolist()
    allow_zero = attributes.get("allowzero", 0)
    if not raw or raw[0] not in (BATCH, -1) and not (raw[0] == 0 and not allow_zero):
        raise context.error(
            node, f"target shape {raw} fixes the batch size; export with a dynamic batch axis"
        )
    if len(raw) > len(value.onnx_shape) + 1 and 0 in raw[len(value.onnx_shape) + 1 :]:
        raise context.error(
            node, f"target shape {raw} copies (0) an axis (N, {value.onnx_shape}) lacks"
        )
    dims = [d if d != 0 or allow_zero else value.onnx_shape[i] for i, d in enumerate(raw[1:])]
    size = math.prod(value.shape)
    if dims.count(-1) > 1 or any(d < -1 or d == 0 for d in dims):
        raise context.error(node, f"target shape {raw} is not supported")
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if -1 in raw[1:] and raw[0] == -1 or size % known:
            raise context.error(node, f"target shape {raw} does not fit (N, {value.onnx_shape})")
        dims[dims.index(-1)] = size // known
    if math.prod(dims) != size:
        raise context.error(node, f"cannot reshape (N, {value.onnx_shape}) to (N, {dims})")
    target = tuple(dims)
    if target == value.onnx_shape:
        return [value]
    if value.layout == "nchw" and len(target) == 1:
        return [context.apply(node, L.Flatten(), [value], layout="flat_chw", chw=value.onnx_shape)]
    if len(target) == 3 and not context.only_read_by_nhwc_to_nchw(node.output[0]):
        height_width_channels = (target[1], target[2], target[0])
        if value.layout == "flat_chw" and value.chw == target:
            pass
        elif value.layout == "plain" and len(value.shape) == 1:
            _permute_producer_columns(context, node, value, target)
        else:
            raise context.error(
                node, f"cannot reshape (N, {value.onnx_shape}) to NCHW (N, {target})"
            )
        layer = L.Reshape(height_width_channels)
        return [context.apply(node, layer, [value], layout="nchw")]
    if value.layout != "plain":
        raise context.error(
            node,
            f"reshaping an NCHW tensor (N, {value.onnx_shape}) to (N, {target}) would "
            "change its element order; only flattening it is supported",
        )
    return [context.apply(node, L.Reshape(target), [value])]


def _permute_producer_columns(context, node, value, chw):
    """Make the Dense before ``value`` emit H, W, C order, so a Reshape gives NHWC maps.

    Walks back through element-wise layers (each read once) to the Dense and permutes its
    kernel columns and bias; the values on the way become "flat_chw".
    """
    chain, current = [value], value
    while not isinstance(current.source, L.Dense):
        if current.source is None or isinstance(current.source, L.Layer):
            raise context.error(
                node,
                f"a Reshape to NCHW (N, {chw}) must follow a Gemm/MatMul (through element-"
                "wise ops only), so nn_core can reorder its outputs to NHWC",
            )
        current = current.source
        chain.append(current)
    for item in chain:
        if not context.single_use(item):
            raise context.error(node, f"{item.name!r} is read elsewhere too; cannot reorder it")
    layer = current.source
    layer.params["kernel"][...] = _flat_chw_columns(layer.params["kernel"], chw)
    if layer.use_bias:
        layer.params["bias"][...] = _flat_chw_columns(layer.params["bias"], chw)
    for item in chain:
        item.layout, item.chw = "flat_chw", tuple(chw)


def transpose(context, node, inputs, attributes):
    """The NHWC <-> NCHW transposes around convolutions are layout changes, not layers."""
    value = _model_value(context, node, inputs[0])
    perm = tuple(attributes.get("perm", ()))
    if len(value.shape) == 3 and value.layout == "plain" and perm == (0, 3, 1, 2):
        return [value.alias(layout="nchw")]
    if value.layout == "nchw" and perm == (0, 2, 3, 1):
        return [value.alias(layout="plain")]
    if perm == tuple(range(len(value.shape) + 1)):
        return [value]
    raise context.error(
        node,
        f"perm {list(perm)} on (N, {value.onnx_shape}) is not supported; only the layout "
        "changes [0, 3, 1, 2] (NHWC -> NCHW) and [0, 2, 3, 1] (NCHW -> NHWC)",
    )


def _elementwise(make_layer):
    def convert(context, node, inputs, attributes):
        value = _model_value(context, node, inputs[0])
        layer = make_layer(attributes)
        return [
            context.apply(node, layer, [value], layout=value.layout, chw=value.chw, source=value)
        ]

    return convert


def softmax(context, node, inputs, attributes):
    value = _model_value(context, node, inputs[0])
    rank = len(value.shape) + 1
    axis = attributes.get("axis", -1 if context.opset >= 13 else 1)
    if not -rank <= axis < rank:
        raise context.error(node, f"axis {axis} is out of range for rank {rank}")
    channel_axis = 1 if value.layout == "nchw" else rank - 1
    if axis % rank != channel_axis or (context.opset < 13 and rank > 2):
        raise context.error(
            node,
            f"axis {axis} on (N, {value.onnx_shape}): nn_core's Softmax runs over the "
            "channels (axis 1 of NCHW maps, or the last axis; opset >= 13 beyond 2-D)",
        )
    return [
        context.apply(node, L.Softmax(), [value], layout=value.layout, chw=value.chw, source=value)
    ]


def batch_normalization(context, node, inputs, attributes):
    """Inference-mode BatchNormalization -> nn_core's, gamma/beta/moving stats per channel."""
    value = _model_value(context, node, inputs[0])
    if value.layout == "flat_chw" or (value.layout == "plain" and len(value.shape) != 1):
        raise context.error(node, "expects (N, C) features or NCHW maps (N, C, H, W)")
    if attributes.get("training_mode", 0) or attributes.get("spatial", 1) != 1:
        raise context.error(node, "training_mode=1 and spatial=0 are not supported")
    names = ("gamma", "beta", "moving_mean", "moving_variance")
    arrays = {}
    for index, name in enumerate(names, start=1):
        array = _constant(
            context, node, inputs[index] if index < len(inputs) else None, f"input {index}"
        )
        if array.shape != (value.shape[-1],):
            raise context.error(
                node, f"input {index} has shape {array.shape}, expected ({value.shape[-1]},)"
            )
        arrays[name] = array
    # ONNX's momentum is nn_core's: running = momentum * running + (1 - momentum) * batch.
    layer = L.BatchNormalization(
        momentum=attributes.get("momentum", 0.9), epsilon=attributes.get("epsilon", 1e-5)
    )
    weights = {key: arrays[key] for key in ("gamma", "beta")}
    buffers = {key: arrays[key] for key in ("moving_mean", "moving_variance")}
    return [
        context.apply(node, layer, [value], weights=weights, buffers=buffers, layout=value.layout)
    ]


def dropout(context, node, inputs, attributes):
    value = _model_value(context, node, inputs[0])
    rate = attributes.get("ratio", 0.5)
    if len(inputs) > 1 and inputs[1] is not None:
        rate = float(_constant(context, node, inputs[1], "input 1 (ratio)").reshape(-1)[0])
    if len(inputs) > 2 and inputs[2] is not None:
        if bool(_constant(context, node, inputs[2], "input 2 (training_mode)").reshape(-1)[0]):
            raise context.error(node, "training_mode=True is not supported")
    if not 0 <= rate < 1:
        raise context.error(node, f"ratio {rate} must be in [0, 1)")
    layer = L.Dropout(rate)
    return [context.apply(node, layer, [value], layout=value.layout, chw=value.chw, source=value)]


def identity(context, node, inputs, attributes):
    if inputs[0] is None:
        raise context.error(node, "has no input")
    return [inputs[0].constant if inputs[0].constant is not None else inputs[0]]


CONVERTERS = {
    "Add": _merge(L.Add),
    "AveragePool": spatial.pool(L.AveragePooling2D),
    "BatchNormalization": batch_normalization,
    "Concat": concat,
    "Conv": spatial.conv,
    "ConvTranspose": spatial.conv_transpose,
    "Dropout": dropout,
    "Elu": _elementwise(lambda a: L.ELU(alpha=a.get("alpha", 1.0))),
    "Flatten": flatten,
    "Gemm": gemm,
    "Identity": identity,
    "LeakyRelu": _elementwise(lambda a: L.LeakyReLU(alpha=a.get("alpha", 0.01))),
    "MatMul": matmul,
    "MaxPool": spatial.pool(L.MaxPooling2D),
    "Mul": _merge(L.Multiply),
    "Relu": _elementwise(lambda a: L.ReLU()),
    "Reshape": reshape,
    "Resize": spatial.resize,
    "Sigmoid": _elementwise(lambda a: L.Sigmoid()),
    "Softmax": softmax,
    "Softplus": _elementwise(lambda a: L.Softplus()),
    "Sub": _merge(L.Subtract),
    "Tanh": _elementwise(lambda a: L.Tanh()),
    "Transpose": transpose,
    "Upsample": spatial.resize,
}

#: (fewest, most) inputs of each op, omitted optional ones included.
ARITY = {
    **dict.fromkeys(("Add", "Sub", "Mul", "MatMul", "Reshape"), (2, 2)),
    **dict.fromkeys(("Conv", "ConvTranspose", "Gemm"), (2, 3)),
    "BatchNormalization": (5, 5),
    "Concat": (1, 2**31),
    "Dropout": (1, 3),
    "Resize": (1, 4),
    "Upsample": (1, 2),
}

__all__ = ["ARITY", "CONVERTERS", "OnnxImportError"]
