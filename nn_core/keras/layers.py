"""Keras's ``keras.layers`` names for nn_core's layers, plus ``Input``.

Each layer class is nn_core's own (``nn_core.keras.layers.Dense is nn_core.layers.Dense``),
so models built here save, load and train exactly like any nn_core model. An argument
that Keras has and nn_core lacks (``kernel_constraint=``, ``bias_regularizer=``, ...)
raises a TypeError naming the layer and the argument, never ignored.
"""

from ..functional import Input, InputLayer
from ..layers import (
    ELU,
    Activation,
    Add,
    Average,
    AveragePooling2D,
    BatchNormalization,
    Concatenate,
    Conv2D,
    Conv2DTranspose,
    Dense,
    Dropout,
    Flatten,
    GaussianNoise,
    LeakyReLU,
    MaxPooling2D,
    Multiply,
    ReLU,
    Reshape,
    Softmax,
    Subtract,
    UpSampling2D,
)
from ..layers.base import Layer

__all__ = [
    "ELU",
    "Activation",
    "Add",
    "Average",
    "AveragePooling2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Conv2DTranspose",
    "Dense",
    "Dropout",
    "Flatten",
    "GaussianNoise",
    "Input",
    "InputLayer",
    "Layer",
    "LeakyReLU",
    "MaxPooling2D",
    "Multiply",
    "ReLU",
    "Reshape",
    "Softmax",
    "Subtract",
    "UpSampling2D",
]
