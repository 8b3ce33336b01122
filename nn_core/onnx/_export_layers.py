"""One ONNX translation per nn_core layer: what the layer computes at inference (``predict``).

Each emitter takes the ``GraphBuilder``, the layer and the names of its input values and
returns the name of its output value. Tensors stay NHWC between layers, as in nn_core;
an op that ONNX defines on NCHW (Conv, ConvTranspose, pooling, Resize, 4-D
BatchNormalization) is wrapped here in Transpose nodes, and the export removes the pairs
that cancel between two such ops. The layout changes, written once each:

* Dense kernel (in, units): Gemm's B as it is; DenseTransposed: the tied kernel, transB=1;
* Conv2D kernel (kh, kw, C, F) -> Conv's W (F, C, kh, kw);
* Conv2DTranspose kernel (kh, kw, F, C) -> ConvTranspose's W (C, F, kh, kw);
* "same" padding (top, bottom, left, right) -> ONNX pads [top, left, bottom, right].

Layers are looked up by their exact class: a subclass (a user's own layer) may compute
something else, so it raises ``ExportError`` instead of being exported as its parent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import layers as L
from ._graph_builder import channels_first_perm, channels_last_perm


class ExportError(ValueError):
    """A layer or model that nn_core cannot translate to ONNX (named in the message)."""


def emit_layer(graph, layer, inputs) -> str:
    """Add ``layer``'s nodes reading ``inputs`` (value names); returns its output's name."""
    emitter = LAYER_EMITTERS.get(type(layer))
    if emitter is None:
        supported = ", ".join(sorted(kind.__name__ for kind in LAYER_EMITTERS))
        raise ExportError(
            f"layer {layer.name!r} ({type(layer).__name__}) has no ONNX translation; the "
            f"layers that export are {supported}, and Sequential / Model holding them"
        )
    return emitter(graph, layer, inputs)


# ---------------------------------------------------------------------- activations
def _activation(graph, activation, value, owner, channel_axis=-1) -> str:
    """``activation`` applied to ``value``; Softmax runs over ``channel_axis`` (the last
    axis in NHWC, axis 1 inside an NCHW section); Linear adds no node."""
    kind = type(activation)
    if kind is L.Linear:
        return value
    simple = {L.ReLU: "Relu", L.Sigmoid: "Sigmoid", L.Tanh: "Tanh", L.Softplus: "Softplus"}
    if kind in simple:
        return graph.node(simple[kind], [value], owner)
    if kind is L.LeakyReLU:
        return graph.node("LeakyRelu", [value], owner, alpha=activation.alpha)
    if kind is L.ELU:
        return graph.node("Elu", [value], owner, alpha=activation.alpha)
    if kind is L.Softmax:
        return graph.node("Softmax", [value], owner, axis=channel_axis)
    raise ExportError(
        f"layer {owner!r}: activation {activation.name!r} ({kind.__name__}) has no ONNX "
        "translation; use one of nn_core's activations"
    )


def _activation_layer(graph, layer, inputs):
    """ReLU, LeakyReLU, Sigmoid, Tanh, Softplus, ELU, Softmax (last axis); Linear: Identity."""
    if type(layer) is L.Linear:
        return graph.node("Identity", inputs, layer.name)
    return _activation(graph, layer, inputs[0], layer.name)


# ---------------------------------------------------------------------- dense layers
def _dense(graph, layer, inputs):
    """y = activation(x @ kernel + bias): Gemm, x (N, in), kernel (in, units)."""
    operands = [inputs[0], graph.weight(layer, "kernel", layer.params["kernel"])]
    if layer.use_bias:
        operands.append(graph.weight(layer, "bias", layer.params["bias"]))
    return _activation(
        graph, layer.activation, graph.node("Gemm", operands, layer.name), layer.name
    )


def _dense_transposed(graph, layer, inputs):
    """y = activation(x @ W.T + bias): Gemm with transB=1 on the tied layer's own kernel."""
    kernel = graph.weight(layer.tied_to, "kernel", layer.kernel)
    operands = [inputs[0], kernel]
    if layer.use_bias:
        operands.append(graph.weight(layer, "bias", layer.params["bias"]))
    gemm = graph.node("Gemm", operands, layer.name, transB=1)
    return _activation(graph, layer.activation, gemm, layer.name)


# ---------------------------------------------------------------------- image layers
def _onnx_pads(padding_amounts) -> list[int]:
    """(top, bottom, left, right) -> ONNX's [top, left, bottom, right]."""
    top, bottom, left, right = padding_amounts
    return [top, left, bottom, right]


def _in_nchw(graph, layer, value, compute) -> str:
    """Transpose NHWC -> NCHW, ``compute(nchw_value)``, transpose back."""
    nchw = graph.transpose(value, channels_first_perm(4), layer.name)
    return graph.transpose(compute(nchw), channels_last_perm(4), layer.name)


def _conv_weights(graph, layer) -> list:
    """[W, b] (b only with a bias): the kernel's axes moved by (3, 2, 0, 1), which turns
    Conv2D's (kh, kw, C, F) into Conv's (F, C, kh, kw) and Conv2DTranspose's
    (kh, kw, F, C) into ConvTranspose's (C, F, kh, kw)."""
    weights = [graph.weight(layer, "kernel", layer.params["kernel"], (3, 2, 0, 1))]
    if layer.use_bias:
        weights.append(graph.weight(layer, "bias", layer.params["bias"]))
    return weights


def _conv2d(graph, layer, inputs):
    """Conv on NCHW, W (F, C, kh, kw) from the (kh, kw, C, F) kernel; TF "same" pads."""

    def compute(x):
        operands = [x, *_conv_weights(graph, layer)]
        conv = graph.node(
            "Conv",
            operands,
            layer.name,
            kernel_shape=list(layer.kernel_size),
            strides=list(layer.strides),
            pads=_onnx_pads(layer.padding_amounts),
        )
        return _activation(graph, layer.activation, conv, layer.name, channel_axis=1)

    return _in_nchw(graph, layer, inputs[0], compute)


def _conv2d_transpose(graph, layer, inputs):
    """ConvTranspose on NCHW, W (C, F, kh, kw) from the (kh, kw, F, C) kernel.

    ONNX's size is OH = sh (H - 1) + output_padding + kh - top - bottom; the pads are
    those of the Conv2D this layer transposes, and output_padding (< sh) adds the rows
    that Keras keeps past the last kernel window (only the bias reaches them).
    """
    height, width = layer.input_shape[:2]
    top, bottom, left, right = layer.padding_amounts
    covered = [
        stride * (size - 1) + kernel - before - after
        for size, kernel, stride, before, after in zip(
            (height, width), layer.kernel_size, layer.strides, (top, left), (bottom, right)
        )
    ]
    output_padding = [out - rows for out, rows in zip(layer.output_hw, covered)]

    def compute(x):
        operands = [x, *_conv_weights(graph, layer)]
        conv = graph.node(
            "ConvTranspose",
            operands,
            layer.name,
            kernel_shape=list(layer.kernel_size),
            strides=list(layer.strides),
            pads=_onnx_pads(layer.padding_amounts),
            output_padding=output_padding,
        )
        return _activation(graph, layer.activation, conv, layer.name, channel_axis=1)

    return _in_nchw(graph, layer, inputs[0], compute)


def _pooling(graph, layer, inputs):
    """MaxPool (pads never win) or AveragePool with count_include_pad=0: the mean of the
    real cells of each window, as nn_core (and TensorFlow) compute it."""
    attributes: dict[str, list[int] | int] = {
        "kernel_shape": list(layer.pool_size),
        "strides": list(layer.strides),
        "pads": _onnx_pads(layer.padding_amounts),
    }
    if type(layer) is L.AveragePooling2D:
        op_type, attributes["count_include_pad"] = "AveragePool", 0
    else:
        op_type = "MaxPool"
    return _in_nchw(
        graph, layer, inputs[0], lambda x: graph.node(op_type, [x], layer.name, **attributes)
    )


def _upsampling(graph, layer, inputs):
    """Resize, nearest: y[h, w] = x[floor(h / sh), floor(w / sw)] (asymmetric, floor)."""
    scales = graph.constant(layer.name, "scales", np.array([1, 1, *layer.size], np.float32))

    def compute(x):
        return graph.node(
            "Resize",
            [x, "", scales],
            layer.name,
            mode="nearest",
            coordinate_transformation_mode="asymmetric",
            nearest_mode="floor",
        )

    return _in_nchw(graph, layer, inputs[0], compute)


def _batch_normalization(graph, layer, inputs):
    """BatchNormalization with the moving statistics, channels moved to axis 1 (and back)
    for inputs of rank > 2; an absent gamma / beta is 1 / 0."""
    channels = layer.input_shape[-1]
    gamma = layer.params["gamma"] if layer.scale else np.ones(channels)
    beta = layer.params["beta"] if layer.center else np.zeros(channels)
    operands = [
        graph.weight(layer, "gamma", gamma),
        graph.weight(layer, "beta", beta),
        graph.weight(layer, "moving_mean", layer.buffers["moving_mean"]),
        graph.weight(layer, "moving_variance", layer.buffers["moving_variance"]),
    ]
    rank = len(layer.input_shape) + 1
    value = inputs[0]
    if rank > 2:
        value = graph.transpose(value, channels_first_perm(rank), layer.name)
    value = graph.node("BatchNormalization", [value, *operands], layer.name, epsilon=layer.epsilon)
    if rank > 2:
        value = graph.transpose(value, channels_last_perm(rank), layer.name)
    return value


# ---------------------------------------------------------------------- shapes, merges
def _reshape(graph, layer, inputs):
    """Reshape to (N, *output_shape); 0 copies the (dynamic) batch size."""
    shape = graph.constant(layer.name, "shape", np.array([0, *layer.output_shape], np.int64))
    return graph.node("Reshape", [inputs[0], shape], layer.name)


def _flatten(graph, layer, inputs):
    """(N, d1, d2, ...) -> (N, d1*d2*...), C order, as the NHWC tensor is laid out."""
    return graph.node("Flatten", inputs, layer.name, axis=1)


def _add(graph, layer, inputs):
    return graph.node("Add" if len(inputs) == 2 else "Sum", inputs, layer.name)


def _subtract(graph, layer, inputs):
    return graph.node("Sub", inputs, layer.name)


def _multiply(graph, layer, inputs):
    product = inputs[0]
    for factor in inputs[1:]:
        product = graph.node("Mul", [product, factor], layer.name)
    return product


def _average(graph, layer, inputs):
    return graph.node("Mean", inputs, layer.name)


def _concatenate(graph, layer, inputs):
    """Concat on the layer's axis, counted with the batch axis as in nn_core."""
    axis = layer._sample_axis(len(layer.input_shape[0])) + 1
    return graph.node("Concat", inputs, layer.name, axis=axis)


# ---------------------------------------------------------------------- inference-only
def _identity(graph, layer, inputs):
    """Dropout and the noise / corruption layers: the identity at inference."""
    return graph.node("Identity", inputs, layer.name)


def _gaussian_sampling(graph, layer, inputs):
    """At inference z = mean: the first ``latent`` columns of [mean | log_variance]."""
    latent = layer.output_shape[0]
    starts = graph.constant(layer.name, "starts", np.array([0], np.int64))
    ends = graph.constant(layer.name, "ends", np.array([latent], np.int64))
    axes = graph.constant(layer.name, "axes", np.array([1], np.int64))
    return graph.node("Slice", [inputs[0], starts, ends, axes], layer.name)


LAYER_EMITTERS: dict[type, Callable] = {
    L.Dense: _dense,
    L.ContractiveDense: _dense,  # its penalty is training-only; inference is Dense's
    L.DenseTransposed: _dense_transposed,
    L.Conv2D: _conv2d,
    L.Conv2DTranspose: _conv2d_transpose,
    L.MaxPooling2D: _pooling,
    L.AveragePooling2D: _pooling,
    L.UpSampling2D: _upsampling,
    L.BatchNormalization: _batch_normalization,
    L.Reshape: _reshape,
    L.Flatten: _flatten,
    L.Add: _add,
    L.Subtract: _subtract,
    L.Multiply: _multiply,
    L.Average: _average,
    L.Concatenate: _concatenate,
    L.Dropout: _identity,
    L.GaussianNoise: _identity,
    L.MaskingNoise: _identity,
    L.ClippedGaussianNoise: _identity,
    L.GaussianSampling: _gaussian_sampling,
    **{
        kind: _activation_layer
        for kind in (L.ReLU, L.LeakyReLU, L.Sigmoid, L.Tanh, L.Softplus, L.ELU, L.Softmax, L.Linear)
    },
}
