"""Keras's ``keras.datasets``: ``mnist`` and ``fashion_mnist``, each with ``load_data()``
returning ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, like Keras."""

from ...datasets import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
