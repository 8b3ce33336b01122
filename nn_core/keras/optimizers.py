"""Keras's ``keras.optimizers``; ``get("adadelta")`` is Adadelta(learning_rate=1.0)."""

from ..optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop, get

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "RMSprop", "get"]
