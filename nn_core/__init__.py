"""nn_core: a from-scratch neural-network engine on NumPy, with hand-written backprop.

import nn_core as nn
model = nn.Sequential([nn.layers.Dense(32, activation="relu"),
                       nn.layers.Dense(784, activation="sigmoid")], seed=0)
model.compile(optimizer="adadelta", loss="binary_crossentropy")
history = model.fit(x, x, epochs=50, batch_size=256, validation_data=(x_val, x_val))
"""

from . import (
    callbacks,
    data,
    datasets,
    gradcheck,
    initializers,
    kernels,
    layers,
    losses,
    optimizers,
    regularizers,
    trace,
)
from ._version import __version__ as __version__  # re-exported: the one place it is set
from .cloning import clone_model
from .errors import ModelFileError, TrainingDivergedError
from .functional import Input, Model
from .random import set_random_seed
from .sequential import Sequential, load_model

__all__ = [
    "Input",
    "Model",
    "ModelFileError",
    "Sequential",
    "TrainingDivergedError",
    "callbacks",
    "clone_model",
    "data",
    "datasets",
    "gradcheck",
    "initializers",
    "kernels",
    "layers",
    "losses",
    "load_model",
    "optimizers",
    "regularizers",
    "set_random_seed",
    "trace",
]
