"""The translation table nn_core layer -> equivalent torch.nn modules, in both directions.

Each translator takes a built layer and the layout of the flat vector it receives
(``flat_from``: the (H, W, C) image a Flatten flattened, or None) and returns a
``Translation``: the torch modules (``Part``: how to build it from ``torch.nn``, and its
state-dict tensors in torch's layout), a ``load`` that turns those tensors back into the
layer's params and buffers, and the ``flat_from`` of its output. Layout changes are
written once here:

* images: nn_core (N, H, W, C), torch (N, C, H, W);
* Dense kernel (in, out) <-> Linear weight (out, in); after a Flatten of an (H, W, C)
  image the kernel's rows are in H, W, C order and torch's columns in C, H, W order,
  so they are permuted (as are a BatchNorm's per-feature vectors in between);
* Conv2D kernel (kh, kw, C, F) <-> Conv2d weight (F, C, kh, kw);
* Conv2DTranspose kernel (kh, kw, F, C) <-> ConvTranspose2d weight (C, F, kh, kw), no
  flip (both are the adjoint of the convolution with that kernel);
* "same" padding is TensorFlow's (the odd cell at the bottom/right): an explicit
  ZeroPad2d (or -inf ConstantPad2d before a max-pool, or a negative, cropping, pad
  after a transposed convolution) where torch's symmetric padding differs;
* a fused activation is its own module after the affine one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import layers as L

if TYPE_CHECKING:
    from ..layers.base import Layer


@dataclass
class Part:
    """One torch.nn module: ``build(nn)`` makes it; ``tensors`` is its state dict (numpy)."""

    build: Callable
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Translation:
    parts: list[Part]
    load: Callable[[list[dict[str, np.ndarray]]], dict[str, np.ndarray]] = lambda found: {}
    flat_from: tuple | None = None


class UnsupportedLayerError(ValueError):
    """A layer (or a setting of one) that has no torch.nn equivalent here."""


def _unsupported(layer, why: str):
    return UnsupportedLayerError(
        f"layer {layer.name!r} ({type(layer).__name__}) has no torch.nn equivalent: {why}"
    )


def _flat_permutation(image_shape) -> np.ndarray:
    """perm with torch_vector = nn_core_vector[perm], for a flattened (H, W, C) image."""
    height, width, channels = image_shape
    return (
        np.arange(height * width * channels)
        .reshape(height, width, channels)
        .transpose(2, 0, 1)
        .ravel()
    )


def _torch_order(vector, flat_from):
    return vector if flat_from is None else vector[_flat_permutation(flat_from)]


def _nn_core_order(vector, flat_from):
    if flat_from is None:
        return vector
    result = np.empty_like(vector)
    result[_flat_permutation(flat_from)] = vector
    return result


# ---------------------------------------------------------------------- activations
def activation_parts(layer: Layer, activation: Layer) -> list[Part]:
    """The torch module of a (fused or standalone) activation; none for Linear."""
    if isinstance(activation, L.Linear):
        return []
    simple = {L.ReLU: "ReLU", L.Sigmoid: "Sigmoid", L.Tanh: "Tanh", L.Softplus: "Softplus"}
    for kind, name in simple.items():
        if type(activation) is kind:
            return [Part(lambda nn, name=name: getattr(nn, name)())]
    if type(activation) is L.LeakyReLU:
        return [Part(lambda nn: nn.LeakyReLU(activation.alpha))]
    if type(activation) is L.ELU:
        return [Part(lambda nn: nn.ELU(activation.alpha))]
    if type(activation) is L.Softmax:
        rank = len(activation.input_shape or layer.output_shape)
        if rank not in (1, 3):
            raise _unsupported(layer, f"softmax over samples of rank {rank}")
        dim = 1 if rank == 3 else -1  # the channel axis: 1 in NCHW
        return [Part(lambda nn: nn.Softmax(dim=dim))]
    raise _unsupported(layer, f"activation {type(activation).__name__}")


def _activation(layer, flat_from):
    return Translation(activation_parts(layer, layer), flat_from=flat_from)


# ---------------------------------------------------------------------- weighted layers
def _bias_tensors(layer, tensors):
    if layer.use_bias:
        tensors["bias"] = layer.params["bias"]
    return tensors


def _dense(layer, flat_from):
    """Linear(in, out): weight (out, in) = kernel.T, rows permuted after a Flatten."""
    kernel = layer.params["kernel"]
    rows = kernel if flat_from is None else kernel[_flat_permutation(flat_from)]
    tensors = _bias_tensors(layer, {"weight": rows.T})
    inputs, units, bias = kernel.shape[0], layer.units, layer.use_bias
    linear = Part(lambda nn: nn.Linear(inputs, units, bias=bias), tensors)

    def load(found):
        arrays = {"kernel": _nn_core_order(found[0]["weight"].T, flat_from)}
        if bias:
            arrays["bias"] = found[0]["bias"]
        return arrays

    return Translation([linear, *activation_parts(layer, layer.activation)], load)


def _require_image(layer, flat_from):
    if flat_from is not None:
        raise _unsupported(layer, "it follows a Flatten")


def _conv2d(layer, flat_from):
    """[ZeroPad2d when "same" is asymmetric] + Conv2d(C, F): weight (F, C, kh, kw)."""
    _require_image(layer, flat_from)
    top, bottom, left, right = layer.padding_amounts
    channels, filters = layer.input_shape[2], layer.filters
    size, strides, bias = layer.kernel_size, layer.strides, layer.use_bias
    parts, symmetric = [], (top, left)
    if (top, left) != (bottom, right):
        amounts = (left, right, top, bottom)
        parts.append(Part(lambda nn: nn.ZeroPad2d(amounts)))
        symmetric = (0, 0)
    tensors = _bias_tensors(layer, {"weight": layer.params["kernel"].transpose(3, 2, 0, 1)})
    parts.append(
        Part(
            lambda nn: nn.Conv2d(channels, filters, size, strides, padding=symmetric, bias=bias),
            tensors,
        )
    )
    index = len(parts) - 1

    def load(found):
        arrays = {"kernel": found[index]["weight"].transpose(2, 3, 1, 0)}
        if bias:
            arrays["bias"] = found[index]["bias"]
        return arrays

    return Translation([*parts, *activation_parts(layer, layer.activation)], load)


def _conv2d_transpose(layer, flat_from):
    """ConvTranspose2d(C, F): weight (C, F, kh, kw), then a cropping pad if needed.

    The full transposed convolution has (H - 1) * s + k rows; nn_core keeps OH of them
    from row ``top`` on, as TensorFlow. torch's ``padding=p, output_padding=q`` keeps
    them from row p with p - q cut at the bottom, which fits when 0 <= top - cut < s;
    otherwise the full output is cropped by a ZeroPad2d with negative amounts.
    """
    _require_image(layer, flat_from)
    channels, filters = layer.input_shape[2], layer.filters
    size, strides, bias = layer.kernel_size, layer.strides, layer.use_bias
    top, _, left, _ = layer.padding_amounts
    paddings, output_paddings, crops = [], [], []
    for axis, start in ((0, top), (1, left)):
        full = (layer.input_shape[axis] - 1) * strides[axis] + size[axis]
        cut = full - start - layer.output_shape[axis]  # < 0: bias-only rows to add
        if 0 <= start - cut < strides[axis]:
            paddings.append(start)
            output_paddings.append(start - cut)
            crops.append((0, 0))
        else:
            paddings.append(0)
            output_paddings.append(max(-cut, 0))
            crops.append((start, max(cut, 0)))
    tensors = _bias_tensors(layer, {"weight": layer.params["kernel"].transpose(3, 2, 0, 1)})
    parts = [
        Part(
            lambda nn: nn.ConvTranspose2d(
                channels,
                filters,
                size,
                strides,
                padding=tuple(paddings),
                output_padding=tuple(output_paddings),
                bias=bias,
            ),
            tensors,
        )
    ]
    (crop_top, crop_bottom), (crop_left, crop_right) = crops
    if any(crops[0] + crops[1]):
        amounts = (-crop_left, -crop_right, -crop_top, -crop_bottom)
        parts.append(Part(lambda nn: nn.ZeroPad2d(amounts)))

    def load(found):
        arrays = {"kernel": found[0]["weight"].transpose(2, 3, 1, 0)}
        if bias:
            arrays["bias"] = found[0]["bias"]
        return arrays

    return Translation([*parts, *activation_parts(layer, layer.activation)], load)


def _batch_normalization(layer, flat_from):
    """BatchNorm1d/2d(C, eps, momentum=1 - momentum): weight, bias, running_mean,
    running_var, num_batches_tracked (int64, 0: nn_core keeps no count)."""
    if layer.scale != layer.center:
        raise _unsupported(layer, "torch's affine= sets scale and center together")
    rank = len(layer.input_shape)
    if rank not in (1, 3):
        raise _unsupported(layer, f"inputs of rank {rank} (torch: BatchNorm1d (N, C), 2d NCHW)")
    if rank == 3:
        _require_image(layer, flat_from)
    features, eps, momentum, affine = (
        layer.input_shape[-1],
        layer.epsilon,
        layer.momentum,
        layer.scale,
    )
    order = flat_from if rank == 1 else None
    tensors = {}
    if affine:
        tensors["weight"] = _torch_order(layer.params["gamma"], order)
        tensors["bias"] = _torch_order(layer.params["beta"], order)
    tensors["running_mean"] = _torch_order(layer.buffers["moving_mean"], order)
    tensors["running_var"] = _torch_order(layer.buffers["moving_variance"], order)
    tensors["num_batches_tracked"] = np.array(0, dtype=np.int64)
    name = "BatchNorm2d" if rank == 3 else "BatchNorm1d"
    part = Part(
        lambda nn: getattr(nn, name)(features, eps=eps, momentum=1.0 - momentum, affine=affine),
        tensors,
    )

    def load(found):
        arrays = {}
        if affine:
            arrays["gamma"] = _nn_core_order(found[0]["weight"], order)
            arrays["beta"] = _nn_core_order(found[0]["bias"], order)
        arrays["moving_mean"] = _nn_core_order(found[0]["running_mean"], order)
        arrays["moving_variance"] = _nn_core_order(found[0]["running_var"], order)
        return arrays

    return Translation([part], load, flat_from)


# ---------------------------------------------------------------------- shape layers
def _flatten(layer, flat_from):
    """nn.Flatten(); remembers the (H, W, C) image it flattens for the next Dense."""
    if len(layer.input_shape) == 3:
        flat_from = tuple(layer.input_shape)
    elif len(layer.input_shape) != 1:
        raise _unsupported(layer, f"samples of rank {len(layer.input_shape)}")
    return Translation([Part(lambda nn: nn.Flatten())], flat_from=flat_from)


def _pooling(layer, flat_from):
    """MaxPool2d / AvgPool2d; "same" by ceil_mode when all padding is bottom/right and
    torch's ceil-mode size agrees, else (max only) a -inf ConstantPad2d first."""
    _require_image(layer, flat_from)
    is_max = isinstance(layer, L.MaxPooling2D)
    name = "MaxPool2d" if is_max else "AvgPool2d"
    size, strides = layer.pool_size, layer.strides
    top, bottom, left, right = layer.padding_amounts
    if not any(layer.padding_amounts):
        return Translation([Part(lambda nn: getattr(nn, name)(size, strides))])
    ceil_sizes = [
        -(-(layer.input_shape[axis] - size[axis]) // strides[axis]) + 1 for axis in (0, 1)
    ]
    if (top, left) == (0, 0) and tuple(ceil_sizes) == tuple(layer.output_shape[:2]):
        return Translation([Part(lambda nn: getattr(nn, name)(size, strides, ceil_mode=True))])
    if not is_max:
        raise _unsupported(layer, "'same' average pooling padded at the top or left")
    pad = Part(lambda nn: nn.ConstantPad2d((left, right, top, bottom), float("-inf")))
    return Translation([pad, Part(lambda nn: nn.MaxPool2d(size, strides))])


def _upsampling(layer, flat_from):
    _require_image(layer, flat_from)
    factors = tuple(float(s) for s in layer.size)
    return Translation([Part(lambda nn: nn.Upsample(scale_factor=factors, mode="nearest"))])


def _dropout(layer, flat_from):
    return Translation([Part(lambda nn: nn.Dropout(layer.rate))], flat_from=flat_from)


TRANSLATORS: dict[type, Callable[..., Translation]] = {
    L.Dense: _dense,
    L.Conv2D: _conv2d,
    L.Conv2DTranspose: _conv2d_transpose,
    L.BatchNormalization: _batch_normalization,
    L.Flatten: _flatten,
    L.MaxPooling2D: _pooling,
    L.AveragePooling2D: _pooling,
    L.UpSampling2D: _upsampling,
    L.Dropout: _dropout,
    **{
        kind: _activation
        for kind in (L.ReLU, L.Sigmoid, L.Tanh, L.Softplus, L.LeakyReLU, L.ELU, L.Softmax, L.Linear)
    },
}


def translate(layer: Layer, flat_from: tuple[int, ...] | None) -> Translation:
    """The Translation of one (non-model) layer; UnsupportedLayerError when none exists."""
    translator = TRANSLATORS.get(type(layer))
    if translator is None:
        supported = ", ".join(sorted(kind.__name__ for kind in TRANSLATORS))
        raise _unsupported(layer, f"supported layers: {supported}")
    return translator(layer, flat_from)
