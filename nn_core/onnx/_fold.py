"""Constant folding: the small integer computations exporters write around Reshape.

``torch.onnx.export`` with a dynamic batch axis computes the target of an Unflatten's
Reshape at run time: ``Shape -> Slice -> Concat -> Reshape``. Everything in such a chain
is known when the graph is imported except the batch size, so the importer evaluates it
here with NumPy, with the batch size as the marker ``BATCH``. Structural ops (Gather,
Slice, Concat, Unsqueeze, Squeeze, Reshape, Identity, Cast) may move the marker around;
arithmetic on it is refused, since an nn_core model does not fix its batch size.

Each folder takes ``(node, arrays, attributes)`` and returns the output arrays; it raises
``ValueError`` with a short reason, which the importer turns into ``OnnxImportError``.
"""

from __future__ import annotations

import numpy as np

#: Stands for the batch size in folded shapes (a value no real dimension has).
BATCH = np.int64(-(2**62))
#: The largest constant folding may create, in elements (folded shapes are tiny).
MAX_FOLDED_SIZE = 1 << 16


def shape_of(onnx_shape, start=0, end=None) -> np.ndarray:
    """ONNX ``Shape`` of a model tensor: (BATCH, *onnx_shape)[start:end], int64."""
    return np.array([BATCH, *onnx_shape], dtype=np.int64)[start:end]


def _check_size(array: np.ndarray) -> np.ndarray:
    if array.size > MAX_FOLDED_SIZE:
        raise ValueError(
            f"folding would create {array.size:,} values (at most {MAX_FOLDED_SIZE:,})"
        )
    return array


def _no_batch(arrays):
    for array in arrays:
        if array.dtype == np.int64 and np.any(array == BATCH):
            raise ValueError("it computes with the batch size, which an nn_core model leaves free")


def _axis(axis, rank):
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % max(rank, 1)


def _int_list(array, what):
    if array.ndim > 1 or array.dtype.kind not in "iu":
        raise ValueError(f"{what} must be a 1-D integer tensor, got {array.dtype} {array.shape}")
    return [int(v) for v in np.atleast_1d(array)]


def _arithmetic(function):
    def fold(node, arrays, attributes):
        if len(arrays) != 2:
            raise ValueError(f"expects 2 inputs, got {len(arrays)}")
        _no_batch(arrays)
        if any(a.size > MAX_FOLDED_SIZE for a in arrays):
            raise ValueError("its inputs are too large to fold")
        with np.errstate(all="raise"):
            try:
                result = function(arrays[0], arrays[1])
            except (FloatingPointError, ZeroDivisionError) as error:
                raise ValueError(f"it fails on its constant inputs ({error})") from error
        return [_check_size(np.asarray(result))]

    return fold


def _integer_or_true_divide(a, b):
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        if np.any(b == 0):
            raise ZeroDivisionError("division by zero")
        return np.trunc(a / b).astype(np.result_type(a, b))
    return a / b


def _mod(a, b):
    if np.any(b == 0):
        raise ZeroDivisionError("modulo by zero")
    return np.mod(a, b)


def _gather(node, arrays, attributes):
    data, indices = arrays
    axis = _axis(attributes.get("axis", 0), data.ndim)
    if indices.dtype.kind not in "iu" or indices.size > MAX_FOLDED_SIZE:
        raise ValueError("indices must be a small integer tensor")
    size = data.shape[axis]
    if np.any((indices < -size) | (indices >= size)):
        raise ValueError(f"indices {indices.tolist()} are out of range for size {size}")
    return [_check_size(np.take(data, indices, axis=axis))]


def _axes(arrays, attributes, rank_for_negative):
    axes = attributes.get("axes")
    if len(arrays) > 1:
        axes = _int_list(arrays[1], "axes")
    return None if axes is None else [_axis(a, rank_for_negative) for a in axes]


def _unsqueeze(node, arrays, attributes):
    data = arrays[0]
    axes = _int_list(arrays[1], "axes") if len(arrays) > 1 else list(attributes.get("axes", []))
    if not axes:
        raise ValueError("axes are missing")
    rank = data.ndim + len(axes)
    return [np.expand_dims(data, tuple(sorted(_axis(a, rank) for a in axes)))]


def _squeeze(node, arrays, attributes):
    data = arrays[0]
    axes = _axes(arrays, attributes, data.ndim)
    if axes is None:
        axes = [i for i, d in enumerate(data.shape) if d == 1]
    if any(data.shape[a] != 1 for a in axes):
        raise ValueError(f"cannot squeeze axes {axes} of shape {data.shape}")
    return [np.squeeze(data, tuple(axes))]


def _concat(node, arrays, attributes):
    if not arrays:
        raise ValueError("has no inputs")
    rank = arrays[0].ndim
    axis = _axis(attributes.get("axis", 0), rank)
    if any(a.ndim != rank for a in arrays) or rank == 0:
        raise ValueError("inputs must have the same rank, at least 1")
    for a in arrays:
        if (
            a.shape[:axis] + a.shape[axis + 1 :]
            != arrays[0].shape[:axis] + arrays[0].shape[axis + 1 :]
        ):
            raise ValueError(f"shapes {[x.shape for x in arrays]} do not join on axis {axis}")
    if sum(a.size for a in arrays) > MAX_FOLDED_SIZE:
        raise ValueError("its result would be too large to fold")
    return [np.concatenate(arrays, axis=axis)]


def _slice(node, arrays, attributes):
    data = arrays[0]
    if len(arrays) >= 3:
        starts, ends = _int_list(arrays[1], "starts"), _int_list(arrays[2], "ends")
        axes = _int_list(arrays[3], "axes") if len(arrays) > 3 else list(range(len(starts)))
        steps = _int_list(arrays[4], "steps") if len(arrays) > 4 else [1] * len(starts)
    else:
        starts, ends = list(attributes.get("starts", [])), list(attributes.get("ends", []))
        axes = list(attributes.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps) or 0 in steps:
        raise ValueError("starts, ends, axes and steps must have one entry per axis, steps != 0")
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        index[_axis(axis, data.ndim)] = slice(start, end, step)
    return [data[tuple(index)]]


def _reshape(node, arrays, attributes):
    data, shape = arrays
    target = _int_list(shape, "shape")
    if attributes.get("allowzero", 0) == 0:
        target = [data.shape[i] if d == 0 and i < data.ndim else d for i, d in enumerate(target)]
    if target.count(-1) > 1 or any(d < -1 for d in target):
        raise ValueError(f"shape {target} is not a valid target")
    known = int(np.prod([d for d in target if d != -1], dtype=np.int64))
    if (-1 in target and (known == 0 or data.size % known)) or (
        -1 not in target and known != data.size
    ):
        raise ValueError(f"cannot reshape {data.shape} to {target}")
    return [data.reshape(target)]


_CASTS = {1: np.float32, 11: np.float64, 6: np.int32, 7: np.int64, 9: np.bool_}


def _cast(node, arrays, attributes):
    to = attributes.get("to")
    if to not in _CASTS:
        raise ValueError(f"Cast to type {to} is not supported (float, double, int32, int64, bool)")
    if np.dtype(_CASTS[to]).kind != "i":
        _no_batch(arrays)
    return [arrays[0].astype(_CASTS[to])]


FOLDERS = {
    "Add": _arithmetic(np.add),
    "Sub": _arithmetic(np.subtract),
    "Mul": _arithmetic(np.multiply),
    "Div": _arithmetic(_integer_or_true_divide),
    "Mod": _arithmetic(_mod),
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": _concat,
    "Slice": _slice,
    "Reshape": _reshape,
    "Cast": _cast,
    "Identity": lambda node, arrays, attributes: [arrays[0]],
}
