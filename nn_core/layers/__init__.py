"""Layers: each a small class with ``build``, ``forward``, ``backward``, ``params``, ``grads``."""

from __future__ import annotations

from .activations import (
    ELU,
    Activation,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    get_activation,
)
from .base import Layer
from .batch_normalization import BatchNormalization
from .contractive_dense import ContractiveDense
from .conv2d import Conv2D
from .conv2d_transpose import Conv2DTranspose
from .corruption import ClippedGaussianNoise, MaskingNoise
from .dense import Dense
from .dense_transposed import DenseTransposed
from .dropout import Dropout
from .gaussian_sampling import GaussianSampling
from .merge import Add, Average, Concatenate, Multiply, Subtract
from .noise import GaussianNoise
from .pooling import AveragePooling2D, MaxPooling2D
from .reshape import Flatten, Reshape
from .upsampling import UpSampling2D

__all__ = [
    "ELU",
    "Activation",
    "Add",
    "Average",
    "AveragePooling2D",
    "BatchNormalization",
    "ClippedGaussianNoise",
    "Concatenate",
    "ContractiveDense",
    "Conv2D",
    "Conv2DTranspose",
    "Dense",
    "DenseTransposed",
    "Dropout",
    "Flatten",
    "GaussianNoise",
    "GaussianSampling",
    "Layer",
    "LeakyReLU",
    "Linear",
    "MaskingNoise",
    "MaxPooling2D",
    "Multiply",
    "ReLU",
    "Reshape",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Subtract",
    "Tanh",
    "UpSampling2D",
    "get_activation",
    "layer_class",
]


def layer_class(class_name: str) -> type[Layer]:
    """The layer class called ``class_name`` (for rebuilding saved models)."""
    from .._names import unknown_name_error
    from ..functional import Model
    from ..sequential import Sequential

    classes = {
        name: value
        for name, value in globals().items()
        if isinstance(value, type) and issubclass(value, Layer)
    }
    classes["Sequential"] = Sequential
    classes["Model"] = Model
    if class_name not in classes:
        raise unknown_name_error("layer class", class_name, classes)
    return classes[class_name]
