"""Keras's ``keras.utils.set_random_seed``: seeds every model made afterwards without a seed."""

from ..random import set_random_seed

__all__ = ["set_random_seed"]
