"""Keras 3 weights (placeholder)."""


def load_keras_weights(model, path):
    raise NotImplementedError
