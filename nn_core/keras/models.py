"""Keras's ``keras.models``: ``Model``, ``Sequential``, ``load_model`` (nn_core's .npz files)."""

from ..functional import Model
from ..model_files import load_model
from ..sequential import Sequential

__all__ = ["Model", "Sequential", "load_model"]
