"""Keras's ``keras.models``: ``Model``, ``Sequential``, ``clone_model``, ``load_model``."""

from ..cloning import clone_model
from ..functional import Model
from ..model_files import load_model
from ..sequential import Sequential

__all__ = ["Model", "Sequential", "clone_model", "load_model"]
