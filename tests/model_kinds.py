"""The two kinds of model the reliability tests run on: a Sequential, and the same stack
as a graph Model (Input -> layers -> Model), so every guarantee is checked on both."""

import nn_core as nn

KINDS = ["sequential", "graph"]


def make_model(kind, layers, seed, input_shape, dtype="float32"):
    """``layers`` as a built model of ``kind``: Sequential(layers) or Model(Input, chain)."""
    if kind == "sequential":
        model = nn.Sequential(layers, seed=seed)
        model.build(input_shape, dtype)
        return model
    tensor = inputs = nn.Input(input_shape, dtype=dtype)
    for layer in layers:
        tensor = layer(tensor)
    return nn.Model(inputs, tensor, seed=seed)
