"""Reading an untrusted ONNX file: the protobuf, its tensors and its attributes, checked.

Nothing here opens a second file or allocates more than the file's own bytes: a tensor's
claimed size (dims x itemsize) is compared with the data it holds before converting it,
external data is refused, and attributes must have the kind the importer reads.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np


class OnnxImportError(ValueError):
    """An ONNX file that is unreadable, unsafe, or uses what nn_core cannot express."""


#: Refused before anything is read: the protobuf format itself stops at 2 GiB.
MAX_FILE_BYTES = 2**31
#: Refused before converting: no initializer of a model nn_core trains is this large.
MAX_TENSOR_VALUES = 2**31

# TensorProto.DataType -> (NumPy dtype, the typed field holding values)
_ONNX_DTYPES: dict[int, tuple[np.dtype, str]] = {
    1: (np.dtype("float32"), "float_data"),
    11: (np.dtype("float64"), "double_data"),
    7: (np.dtype("int64"), "int64_data"),
    6: (np.dtype("int32"), "int32_data"),
    9: (np.dtype("bool"), "int32_data"),
}
_DTYPE_NAMES = "float32, float64, int64, int32, bool"


def parse(path):
    import onnx
    from google.protobuf.message import DecodeError

    if isinstance(path, (bytes, bytearray)):
        data = bytes(path)
    else:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise OnnxImportError(f"{path}: {size:,} bytes, more than an ONNX file can hold")
        with open(path, "rb") as file:
            data = file.read()
    model_proto = onnx.ModelProto()
    try:
        model_proto.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as error:
        raise OnnxImportError(f"not an ONNX file or truncated: {error}") from error
    if model_proto.ir_version < 1 or not model_proto.HasField("graph"):
        raise OnnxImportError("not an ONNX model: no IR version or no graph")
    if not len(model_proto.graph.node):
        raise OnnxImportError("the ONNX graph has no nodes")
    return model_proto


def opset_of(model_proto) -> int:
    versions = [
        entry.version for entry in model_proto.opset_import if entry.domain in ("", "ai.onnx")
    ]
    if not versions or not 1 <= versions[0] <= 1000:
        raise OnnxImportError("the model declares no (valid) version of the standard ONNX opset")
    return int(versions[0])


def to_array(tensor, where) -> np.ndarray:
    """A TensorProto's values as an array, after checking its claims against its data.

    Refuses external data (no other file is opened), unknown dtypes, negative dims, more
    than MAX_TENSOR_VALUES values and data whose length differs from dims x itemsize,
    all before allocating anything.
    """
    if tensor.data_location == 1 or len(tensor.external_data):
        raise OnnxImportError(f"{where} keeps its data in an external file, which is refused")
    if tensor.data_type not in _ONNX_DTYPES:
        raise OnnxImportError(
            f"{where} has ONNX data type {tensor.data_type}; supported: {_DTYPE_NAMES}"
        )
    if tensor.HasField("segment"):
        raise OnnxImportError(f"{where} is a segment of a tensor, which is not supported")
    dims = [int(d) for d in tensor.dims]
    if any(d < 0 for d in dims):
        raise OnnxImportError(f"{where} claims negative dimensions {dims}")
    count = math.prod(dims)
    if count > MAX_TENSOR_VALUES:
        raise OnnxImportError(f"{where} claims {count:,} values (dims {dims}), too many")
    dtype, field = _ONNX_DTYPES[tensor.data_type]
    typed = getattr(tensor, field)
    if tensor.raw_data:
        if len(typed):
            raise OnnxImportError(f"{where} holds both raw and typed data")
        expected = count * dtype.itemsize
        if len(tensor.raw_data) != expected:
            raise OnnxImportError(
                f"{where} claims dims {dims} ({expected:,} bytes of {dtype.name}) but holds "
                f"{len(tensor.raw_data):,} bytes"
            )
        array = np.frombuffer(tensor.raw_data, dtype=dtype.newbyteorder("<")).astype(dtype)
    else:
        if len(typed) != count:
            raise OnnxImportError(f"{where} claims dims {dims} but holds {len(typed):,} values")
        array = np.asarray(typed).astype(dtype)
    return array.reshape(dims)


# The kind each attribute the converters read must have (ONNX's AttributeProto types):
# 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 6 FLOATS, 7 INTS. A FLOAT may be given as an INT.
_ATTRIBUTE_KINDS = {
    **dict.fromkeys(("alpha", "beta", "epsilon", "momentum", "ratio", "value_float"), (1, 2)),
    **dict.fromkeys(
        (
            "axis",
            "group",
            "transA",
            "transB",
            "ceil_mode",
            "count_include_pad",
            "start",
            "end",
            "storage_order",
            "allowzero",
            "to",
            "training_mode",
            "spatial",
            "value_int",
            "exclude_outside",
            "antialias",
        ),
        (2,),
    ),  # fmt: skip
    **dict.fromkeys(("mode", "coordinate_transformation_mode", "nearest_mode", "auto_pad"), (3,)),
    "value": (4,),
    **dict.fromkeys(("scales", "value_floats"), (6,)),
    **dict.fromkeys(
        (
            "perm",
            "pads",
            "strides",
            "kernel_shape",
            "dilations",
            "axes",
            "starts",
            "ends",
            "output_padding",
            "output_shape",
            "value_ints",
        ),
        (7,),
    ),  # fmt: skip
}


def attributes_of(node) -> dict:
    """A node's attributes as Python values; TENSOR attributes are checked arrays."""
    result: dict[str, Any] = {}
    for attribute in node.attribute:
        kind = attribute.type
        if kind not in _ATTRIBUTE_KINDS.get(attribute.name, (kind,)):
            raise OnnxImportError(
                f"node {node.name!r} ({node.op_type}): attribute {attribute.name!r} has type "
                f"{kind}, expected one of {_ATTRIBUTE_KINDS[attribute.name]} (AttributeProto types)"
            )
        if kind == 1:
            result[attribute.name] = float(attribute.f)
        elif kind == 2:
            result[attribute.name] = int(attribute.i)
        elif kind == 3:
            result[attribute.name] = attribute.s.decode("utf-8", "replace")
        elif kind == 4:
            result[attribute.name] = to_array(attribute.t, f"attribute {attribute.name!r}")
        elif kind == 6:
            result[attribute.name] = [float(v) for v in attribute.floats]
        elif kind == 7:
            result[attribute.name] = [int(v) for v in attribute.ints]
        else:
            raise OnnxImportError(
                f"node {node.name!r} ({node.op_type}): attribute {attribute.name!r} has type "
                f"{kind}, which is not supported"
            )
    return result
