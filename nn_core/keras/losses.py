"""Keras's ``keras.losses`` (classes and the snake_case names ``compile`` accepts)."""

from ..losses import BinaryCrossentropy, MeanAbsoluteError, MeanSquaredError, get

__all__ = ["BinaryCrossentropy", "MeanAbsoluteError", "MeanSquaredError", "get"]
