"""PyTorch state dicts for nn_core models, without requiring torch.

The equivalence (what ``torch_state_dict`` names and lays out, and ``torch_module`` builds):

* A ``Sequential`` is a ``torch.nn.Sequential`` in which each nn_core layer becomes its
  torch modules in order (``nn_core.interop.torch_layers``), a fused activation being
  its own module: ``Dense(32, activation="relu")`` is ``Linear`` then ``ReLU``, so its
  keys are ``"0.weight"``, ``"0.bias"`` and the next layer starts at index 2. Modules
  without tensors (activations, pooling, Flatten, padding) still take an index.
* A nested ``Sequential`` is a nested ``torch.nn.Sequential``: ``"0.0.weight"``.
* A graph ``Model`` has no torch counterpart module; its keys are
  ``"<layer.name>.<tensor>"`` (``"dense_3.weight"``), a nested Sequential's
  ``"<name>.<index>.<tensor>"``, a nested Model's ``"<name>.<layer.name>.<tensor>"``.
* Tensors: Linear ``weight`` (out, in), ``bias``; Conv2d ``weight`` (F, C, kh, kw);
  ConvTranspose2d ``weight`` (C_in, C_out, kh, kw); BatchNorm ``weight``, ``bias``,
  ``running_mean``, ``running_var``, ``num_batches_tracked`` (int64). A Dense after a
  Flatten of an (H, W, C) image has its columns in torch's C, H, W order.
* The torch module takes and returns images as (N, C, H, W); nn_core's are (N, H, W, C).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelFileError
from ..functional import InputLayer, Model
from ..sequential import Sequential
from ..weights_files import TORCH_PICKLE_SUFFIXES, torch_pickle_refusal
from .torch_layers import Part, UnsupportedLayerError, translate

if TYPE_CHECKING:
    import torch

    from ..training import TrainableModel


class _Entry:
    """One layer's translation and the state-dict key prefix of each of its parts."""

    def __init__(self, layer, translation, prefixes):
        self.layer, self.translation, self.prefixes = layer, translation, prefixes

    def tensors(self) -> dict[str, np.ndarray]:
        return {
            prefix + name: value
            for prefix, part in zip(self.prefixes, self.translation.parts)
            for name, value in part.tensors.items()
        }


def _walk_sequential(model, prefix, flat_from, entries):
    """Translate ``model``'s layers; returns (module tree, flat_from after the model)."""
    tree, index = [], 0
    for layer in model.layers:
        if isinstance(layer, Sequential):
            subtree, flat_from = _walk_sequential(layer, f"{prefix}{index}.", flat_from, entries)
            tree.append(subtree)
            index += 1
            continue
        if isinstance(layer, Model):
            raise UnsupportedLayerError(
                f"layer {layer.name!r} is a graph Model inside Sequential {model.name!r}; "
                "torch.nn.Sequential cannot hold a graph"
            )
        translation = translate(layer, flat_from)
        prefixes = [f"{prefix}{index + i}." for i in range(len(translation.parts))]
        entries.append(_Entry(layer, translation, prefixes))
        tree.extend(translation.parts)
        index += len(translation.parts)
        flat_from = translation.flat_from
    return tree, flat_from


def _walk_graph(model, prefix, entries):
    """Translate a graph's layers, keyed by name; flat layouts follow the tensors."""
    layouts: dict[int, tuple | None] = {}
    done: dict[int, Any] = {}
    for node in model.nodes:
        layer = node.layer
        found = {layouts.get(id(tensor)) for tensor in node.inputs}
        if len(found) > 1:
            raise UnsupportedLayerError(
                f"layer {layer.name!r} of Model {model.name!r} joins flattened images of "
                "different layouts"
            )
        flat_from = found.pop() if found else None
        if isinstance(layer, InputLayer):
            out = None
        elif isinstance(layer, Sequential):
            if id(layer) not in done:
                done[id(layer)] = _walk_sequential(
                    layer, f"{prefix}{layer.name}.", flat_from, entries
                )[1]
            out = done[id(layer)]
        elif isinstance(layer, Model):
            if id(layer) not in done:
                _walk_graph(layer, f"{prefix}{layer.name}.", entries)
                done[id(layer)] = None
            out = None
        elif type(layer).__name__ in ("Reshape", "Flatten") or not (layer.params or layer.buffers):
            out = _layout_only(layer, flat_from)
        else:
            if id(layer) in done and done[id(layer)][0] != flat_from:
                raise UnsupportedLayerError(
                    f"layer {layer.name!r} is used on inputs of different layouts"
                )
            translation = translate(layer, flat_from)
            if id(layer) not in done:
                with_tensors = [p for p in translation.parts if p.tensors]
                prefixes = [
                    f"{prefix}{layer.name}." if p.tensors else "" for p in translation.parts
                ]
                assert len(with_tensors) <= 1
                entries.append(_Entry(layer, translation, prefixes))
            done[id(layer)] = (flat_from, translation.flat_from)
            out = translation.flat_from
        for tensor in node.outputs:
            layouts[id(tensor)] = out


def _layout_only(layer, flat_from):
    """The flat layout after a layer without tensors in a graph."""
    if len(layer.output_shape or ()) == 1 and len(layer.input_shape or ()) == 3:
        return tuple(layer.input_shape)  # a Flatten or Reshape of an image
    if len(layer.output_shape or ()) != 1:
        return None
    return flat_from


def _entries(model) -> tuple[list[_Entry], list]:
    model._require_built("torch_state_dict")
    entries: list[_Entry] = []
    if isinstance(model, Sequential):
        tree, _ = _walk_sequential(model, "", None, entries)
    else:
        tree = None
        _walk_graph(model, "", entries)
    return entries, tree


def torch_state_dict(model: TrainableModel) -> dict[str, np.ndarray]:
    """The state dict (numpy copies) of the torch module equivalent to ``model``.

    Names and layouts: see the module docstring. Raises UnsupportedLayerError (a
    ValueError) for a layer with no torch equivalent.
    """
    entries, _ = _entries(model)
    state = {}
    for entry in entries:
        for key, value in entry.tensors().items():
            state[key] = np.array(value, copy=True)
    return state


def save_torch_state_dict(model: TrainableModel, path: str | os.PathLike[str]) -> None:
    """Write ``torch_state_dict(model)`` to the safetensors file ``path``, atomically.

    PyTorch reads it without unpickling anything:
    ``module.load_state_dict(safetensors.torch.load_file(path))``.
    """
    from .safetensors_files import write_safetensors

    write_safetensors(path, torch_state_dict(model), {"format": "pt"})


def torch_module(model: TrainableModel) -> torch.nn.Sequential:
    """The equivalent ``torch.nn.Sequential`` of a Sequential ``model``, its weights loaded,
    in eval mode (as ``predict``: BatchNorm uses its running statistics, no dropout).

    Takes and returns images as (N, C, H, W). Needs torch.
    """
    try:
        import torch
    except ImportError as error:
        raise ImportError("torch_module needs PyTorch (pip install torch)") from error
    if not isinstance(model, Sequential):
        raise ValueError(
            f"torch_module: model {model.name!r} is a {type(model).__name__}; only Sequential "
            "models have a torch.nn.Sequential equivalent (use torch_state_dict for graphs)"
        )
    entries, tree = _entries(model)

    def build(items):
        return torch.nn.Sequential(
            *[item.build(torch.nn) if isinstance(item, Part) else build(item) for item in items]
        )

    module = build(tree)
    state = {
        key: torch.from_numpy(np.array(value)) for key, value in torch_state_dict(model).items()
    }
    module.load_state_dict(state, strict=True)
    return module.to(torch.float64 if model.dtype == np.float64 else torch.float32).eval()


def _as_numpy(key, value):
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.split(".")[0] == "torch":
        import torch  # importable: the value is one of its tensors

        if isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy()
    raise TypeError(
        f"load_torch_state_dict: {key!r} is a {type(value).__name__}, expected a numpy array "
        "or a torch tensor"
    )


def _read_source(source) -> tuple[dict[str, np.ndarray], str]:
    if isinstance(source, dict):
        return {str(key): _as_numpy(key, value) for key, value in source.items()}, "the state dict"
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path.lower().endswith(TORCH_PICKLE_SUFFIXES):
            raise torch_pickle_refusal(path)
        if not path.lower().endswith(".safetensors"):
            raise ValueError(
                f"load_torch_state_dict: {path!r} is not a .safetensors file (the only file "
                "format read; PyTorch pickles are refused)"
            )
        from .safetensors_files import read_safetensors

        return read_safetensors(path)[0], repr(path)
    raise TypeError(
        f"load_torch_state_dict: source must be a dict or a .safetensors path, got "
        f"{type(source).__name__}"
    )


def load_torch_state_dict(
    model: TrainableModel, source: dict[str, Any] | str | os.PathLike[str]
) -> None:
    """Load a torch state dict into ``model``, matched by the names of ``torch_state_dict``.

    ``source``: a dict of numpy arrays or torch tensors, or the path of a ``.safetensors``
    file (``safetensors.torch.save_file``). Every key, shape and value is checked before
    anything is copied: missing and unexpected keys are listed, a shape mismatch names
    the key with the expected and found shapes; NaN/Inf are refused. Raises
    ModelFileError (a ValueError).
    """
    entries, _ = _entries(model)
    found, where = _read_source(source)
    expected = {key: value for entry in entries for key, value in entry.tensors().items()}
    missing = [key for key in expected if key not in found]
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"{where} does not match model {model.name!r}: missing keys {missing}, "
            f"unexpected keys {unexpected}"
        )
    for key, target in expected.items():
        value = found[key]
        if value.shape != target.shape:
            raise ModelFileError(
                f"{where}: {key!r} has shape {tuple(value.shape)}, expected {tuple(target.shape)}"
            )
        kind = "i" if target.dtype.kind == "i" else "f"
        if value.dtype.kind != kind:
            raise ModelFileError(
                f"{where}: {key!r} has dtype {value.dtype}, expected {target.dtype}"
            )
        if kind == "f" and not np.isfinite(value).all():
            raise ModelFileError(f"{where}: {key!r} contains NaN or Inf")
    updates = []
    for entry in entries:
        parts = [
            {name: found[prefix + name] for name in part.tensors}
            for prefix, part in zip(entry.prefixes, entry.translation.parts)
        ]
        for name, value in entry.translation.load(parts).items():
            layer = entry.layer
            target = layer.params[name] if name in layer.params else layer.buffers[name]
            updates.append((target, value))
    for target, value in updates:
        np.copyto(target, value, casting="unsafe")
