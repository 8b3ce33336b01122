"""Converters of the image ops: Conv, ConvTranspose, MaxPool, AveragePool, Resize.

Each takes an "nchw" value (ONNX (N, C, H, W), nn_core (N, H, W, C)) and returns one.
ONNX gives explicit pads; nn_core has the modes "valid" and TensorFlow's "same", so each
converter checks that one of them places every window exactly where ONNX does, and
refuses the node otherwise. Weight layouts:

* Conv weight (F, C, kh, kw) -> Conv2D kernel (kh, kw, C, F): ``transpose(2, 3, 1, 0)``;
* ConvTranspose weight (C, F, kh, kw) -> Conv2DTranspose kernel (kh, kw, F, C): the same.
"""

from __future__ import annotations

import math

import numpy as np

from .. import kernels
from .. import layers as L
from ._fold import BATCH
from .importer import constant_input as _constant
from .importer import model_value as _model_value


def _image(context, node, value):
    """The (H, W, C) of an "nchw" model value, or an error: the op needs NCHW images."""
    value = _model_value(context, node, value)
    if value.layout != "nchw":
        raise context.error(
            node,
            f"expects an NCHW image (N, C, H, W), got a tensor of shape (N, {value.onnx_shape})",
        )
    return value.shape


def _pair(context, node, attributes, name, default):
    values = attributes.get(name, default)
    if len(values) != 2 or any(v < 1 for v in values):
        raise context.error(node, f"{name} must be two positive integers, got {values}")
    return tuple(int(v) for v in values)


def _check_plain_window(context, node, attributes):
    if attributes.get("group", 1) != 1:
        raise context.error(node, f"group={attributes['group']} is not supported; only group=1")
    if any(d != 1 for d in attributes.get("dilations", [1, 1])):
        raise context.error(node, f"dilations {attributes['dilations']} are not supported; only 1")
    if attributes.get("storage_order", 0) != 0:
        raise context.error(node, "storage_order=1 is not supported")


def _window_padding(context, node, hw, window, strides, attributes, ceil_mode=False):
    """'valid' or 'same': the nn_core padding whose windows over ``hw`` are ONNX's.

    ONNX's explicit ``pads`` (top, left, bottom, right) and ``ceil_mode`` give, per axis,
    an output size and the padding before the first window; nn_core's mode must give both.
    """
    auto_pad = attributes.get("auto_pad", "NOTSET")
    if auto_pad in ("VALID", "SAME_UPPER"):
        return auto_pad.split("_")[0].lower()
    if auto_pad != "NOTSET":
        raise context.error(
            node, f"auto_pad={auto_pad} is not supported (NOTSET, VALID, SAME_UPPER)"
        )
    pads = attributes.get("pads", [0, 0, 0, 0])
    if len(pads) != 4 or any(p < 0 for p in pads):
        raise context.error(node, f"pads must be 4 integers >= 0, got {pads}")
    onnx_windows = []
    for axis in (0, 1):
        padded = hw[axis] + pads[axis] + pads[axis + 2] - window[axis]
        if padded < 0:
            raise context.error(node, f"a {window} window does not fit a {hw} input padded {pads}")
        steps = math.ceil(padded / strides[axis]) if ceil_mode else padded // strides[axis]
        if ceil_mode and steps * strides[axis] >= hw[axis] + pads[axis]:
            steps -= 1  # the last window must start inside the input or the leading padding
        onnx_windows.append((steps + 1, pads[axis]))
    for mode in ("valid", "same"):
        ours = [
            (
                kernels.conv_output_size(hw[axis], window[axis], strides[axis], mode),
                kernels.same_padding(hw[axis], window[axis], strides[axis])[0]
                if mode == "same"
                else 0,
            )
            for axis in (0, 1)
        ]
        if ours == onnx_windows:
            return mode
    raise context.error(
        node,
        f"pads {pads}{' with ceil_mode' if ceil_mode else ''} over a {hw[0]}x{hw[1]} input are "
        "neither 'valid' nor TensorFlow's 'same' padding, the two nn_core supports",
    )


def conv(context, node, inputs, attributes):
    """Conv (N, C, H, W) -> Conv2D on (N, H, W, C); weight (F, C, kh, kw) -> (kh, kw, C, F)."""
    height, width, channels = _image(context, node, inputs[0])
    _check_plain_window(context, node, attributes)
    weight = _constant(context, node, inputs[1], "input 1 (W)", ndim=4)
    if weight.shape[1] != channels:
        raise context.error(node, f"weight {weight.shape} does not take {channels} channels")
    window = weight.shape[2:]
    strides = _pair(context, node, attributes, "strides", [1, 1])
    padding = _window_padding(context, node, (height, width), window, strides, attributes)
    bias = None
    if len(inputs) > 2 and inputs[2] is not None:
        bias = _constant(context, node, inputs[2], "input 2 (B)", ndim=1)
    layer = L.Conv2D(weight.shape[0], window, strides, padding, use_bias=bias is not None)
    weights = {"kernel": weight.transpose(2, 3, 1, 0)}
    if bias is not None:
        weights["bias"] = bias
    return [context.apply(node, layer, [inputs[0]], weights=weights, layout="nchw")]


def conv_transpose(context, node, inputs, attributes):
    """ConvTranspose: weight (C, F, kh, kw) -> Conv2DTranspose kernel (kh, kw, F, C)."""
    height, width, channels = _image(context, node, inputs[0])
    _check_plain_window(context, node, attributes)
    if "output_shape" in attributes or attributes.get("auto_pad", "NOTSET") != "NOTSET":
        raise context.error(node, "output_shape and auto_pad are not supported; give pads")
    weight = _constant(context, node, inputs[1], "input 1 (W)", ndim=4)
    if weight.shape[0] != channels:
        raise context.error(node, f"weight {weight.shape} does not take {channels} channels")
    window = weight.shape[2:]
    strides = _pair(context, node, attributes, "strides", [1, 1])
    pads = attributes.get("pads", [0, 0, 0, 0])
    extra = attributes.get("output_padding", [0, 0])
    if len(pads) != 4 or len(extra) != 2:
        raise context.error(node, f"pads {pads} / output_padding {extra} need 4 / 2 entries")
    onnx_rows = [
        ((size - 1) * s + e + k - pads[a] - pads[a + 2], pads[a])
        for a, (size, k, s, e) in enumerate(zip((height, width), window, strides, extra))
    ]
    padding = None
    for mode in ("valid", "same"):
        ours = [
            (size * s + max(k - s, 0), 0) if mode == "valid" else (size * s, max(k - s, 0) // 2)
            for size, k, s in zip((height, width), window, strides)
        ]
        if ours == onnx_rows:
            padding = mode
            break
    if padding is None:
        raise context.error(
            node,
            f"pads {pads} and output_padding {extra} give rows {onnx_rows} (size, first) "
            "that neither nn_core padding ('valid', TensorFlow's 'same') gives",
        )
    bias = None
    if len(inputs) > 2 and inputs[2] is not None:
        bias = _constant(context, node, inputs[2], "input 2 (B)", ndim=1)
    layer = L.Conv2DTranspose(weight.shape[1], window, strides, padding, use_bias=bias is not None)
    weights = {"kernel": weight.transpose(2, 3, 1, 0)}
    if bias is not None:
        weights["bias"] = bias
    return [context.apply(node, layer, [inputs[0]], weights=weights, layout="nchw")]


def pool(layer_class):
    def convert(context, node, inputs, attributes):
        height, width, _ = _image(context, node, inputs[0])
        _check_plain_window(context, node, attributes)
        window = _pair(context, node, attributes, "kernel_shape", [0, 0])
        strides = _pair(context, node, attributes, "strides", [1, 1])
        ceil_mode = bool(attributes.get("ceil_mode", 0))
        padding = _window_padding(
            context, node, (height, width), window, strides, attributes, ceil_mode
        )
        pads = attributes.get("pads", [0, 0, 0, 0])
        if node.op_type == "AveragePool" and attributes.get("count_include_pad", 0) and any(pads):
            raise context.error(
                node,
                "count_include_pad=1 with pads is not supported: nn_core's average "
                "excludes padded cells (count_include_pad=0)",
            )
        layer = layer_class(window, strides, padding)
        return [context.apply(node, layer, [inputs[0]], layout="nchw")]

    return convert


def _resize_factors(context, node, value, scales, sizes):
    """Integer (size_h, size_w) from Resize's scales or sizes, in ONNX's axis order."""
    spatial = (2, 3) if value.layout == "nchw" else (1, 2)
    other = [axis for axis in (0, 1, 2, 3) if axis not in spatial]
    onnx_shape = (0, *value.onnx_shape)
    if scales is not None and scales.size:
        factors = [float(s) for s in scales.reshape(-1)]
    elif sizes is not None and sizes.size == 4:
        factors = [
            float("nan") if s == BATCH else s / max(d, 1)
            for s, d in zip(sizes.tolist(), onnx_shape)
        ]
        factors[0] = 1.0
    else:
        raise context.error(node, "needs constant scales or sizes for all 4 axes")
    if len(factors) != 4 or any(factors[a] != 1 for a in other):
        raise context.error(node, f"scales {factors}: only the two spatial axes may be scaled")
    if any(factors[a] < 1 or factors[a] != int(factors[a]) for a in spatial):
        raise context.error(
            node, f"scales {factors}: only integer upsampling factors are supported"
        )
    return int(factors[spatial[0]]), int(factors[spatial[1]])


def resize(context, node, inputs, attributes):
    """Nearest upsampling by integer factors -> UpSampling2D (floor(out / scale) sampling)."""
    value = _model_value(context, node, inputs[0])
    if len(value.shape) != 3:
        raise context.error(node, "only 4-D (image) inputs can be resized")
    mode = attributes.get("mode", "nearest")
    transform = attributes.get("coordinate_transformation_mode", "half_pixel")
    nearest = attributes.get("nearest_mode", "round_prefer_floor")
    floor_equivalent = transform in ("half_pixel", "pytorch_half_pixel") or (
        transform == "asymmetric" and nearest == "floor"
    )
    if mode != "nearest" or not floor_equivalent or "axes" in attributes:
        raise context.error(
            node,
            f"mode={mode!r}, coordinate_transformation_mode={transform!r}, nearest_mode="
            f"{nearest!r}: only nearest upsampling by integer factors (half_pixel, or "
            "asymmetric with floor) is supported",
        )
    if attributes.get("exclude_outside", 0) or attributes.get("antialias", 0):
        raise context.error(node, "exclude_outside and antialias are not supported")
    if node.op_type == "Upsample":
        scales = attributes.get("scales")
        scales = (
            np.asarray(scales)
            if scales is not None
            else _constant(context, node, inputs[1], "scales")
        )
        sizes = None
    else:
        position = 1 if context.opset < 11 else 2
        optional = [v.constant if v is not None else None for v in inputs[position : position + 2]]
        for v in inputs[1:]:
            if v is not None and v.constant is None:
                raise context.error(node, "roi, scales and sizes must be constants")
        scales, sizes = (optional + [None, None])[:2]
    size = _resize_factors(context, node, value, scales, sizes)
    return [context.apply(node, L.UpSampling2D(size), [value], layout=value.layout)]
