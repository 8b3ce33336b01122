"""Bridges to other frameworks' weight files: PyTorch state dicts and Keras 3 weights.

* ``torch_state_dict(model)`` / ``load_torch_state_dict(model, source)``: the state dict
  of the equivalent ``torch.nn`` module (names and layouts in
  ``nn_core.interop.torch_state_dict``), as numpy arrays; torch is not required.
* ``torch_module(model)``: that ``torch.nn.Sequential`` itself, weights loaded (torch).
* ``load_keras_weights(model, path)``: a Keras 3 ``.weights.h5`` file or ``.keras``
  archive (h5py, the ``keras-weights`` extra).
"""

from .keras_weights import load_keras_weights
from .torch_layers import UnsupportedLayerError
from .torch_state_dict import (
    load_torch_state_dict,
    save_torch_state_dict,
    torch_module,
    torch_state_dict,
)

__all__ = [
    "save_torch_state_dict",
    "UnsupportedLayerError",
    "load_keras_weights",
    "load_torch_state_dict",
    "torch_module",
    "torch_state_dict",
]
