"""``model.save_weights(path)`` and ``model.load_weights(path)``: weights only, as in Keras.

The file's format follows its name:

* ``.npz`` (``.weights.npz``): nn_core's own archive (``nn_core.saving``: a JSON config,
  one array per weight, SHA-256 checksums, never unpickled);
* ``.safetensors``: one tensor per weight, written with ``safetensors.numpy`` (the
  ``interop`` extra), its header checked before the library reads it;
* ``.weights.h5`` and ``.keras``: Keras 3 weights, loading only
  (``nn_core.interop.load_keras_weights``); nn_core does not write Keras files.

Both nn_core formats key each array by its name in ``model.weight_names()``
(``"<layer name>/<kernel|bias|gamma|beta|moving_mean|moving_variance>"``) and store it
in nn_core's layout (Dense kernel (in, out), Conv2D kernel (kh, kw, in, out)). Loading
checks every name, shape and dtype against the model before anything is copied, so a
failed load leaves the model as it was. Writes are atomic. PyTorch files (``.pt``,
``.pth``, ``.bin``, ``.ckpt``) are pickles and are never opened.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from .errors import ModelFileError
from .saving import read_archive, write_archive

if TYPE_CHECKING:
    from .training import TrainableModel

WEIGHTS_CONTENTS = "nn_core.weights"
TORCH_PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
SUPPORTED = ".weights.npz / .npz, .safetensors (read and write); .weights.h5, .keras (read)"


def torch_pickle_refusal(path: str | os.PathLike[str]) -> ModelFileError:
    """The error for a PyTorch pickle file, with the one-line conversion to safetensors."""
    return ModelFileError(
        f"{os.fspath(path)!r} is a PyTorch pickle file; nn_core never unpickles files. "
        "Convert it once, in a Python you trust, with: from safetensors.torch import "
        f'save_file; save_file(torch.load(p, weights_only=True), "model.safetensors"), '
        "then load the .safetensors file (nn_core.interop.load_torch_state_dict)"
    )


def _kind(path: str | os.PathLike[str]) -> str:
    name = os.fspath(path).lower()
    for suffix, kind in (
        (".npz", "npz"),
        (".safetensors", "safetensors"),
        (".h5", "keras"),
        (".keras", "keras"),
    ):
        if name.endswith(suffix):
            return kind
    if name.endswith(TORCH_PICKLE_SUFFIXES):
        raise torch_pickle_refusal(path)
    raise ValueError(
        f"weights path {os.fspath(path)!r} has an unknown suffix; supported: {SUPPORTED}"
    )


def named_weights(model: TrainableModel) -> dict[str, np.ndarray]:
    """{weight name: live array} of ``model``; ValueError when two weights share a name."""
    model._require_built("save_weights")
    names, arrays = model.weight_names(), model.weight_arrays()
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"model {model.name!r} has several weights named {duplicates}; give its layers "
            "unique names to save their weights by name"
        )
    return dict(zip(names, arrays, strict=True))


def save_weights(model: TrainableModel, path: str | os.PathLike[str]) -> None:
    """Atomically write every weight of ``model`` to ``path`` (.npz or .safetensors)."""
    kind = _kind(path)
    weights = named_weights(model)
    if kind == "keras":
        raise ValueError(
            f"cannot write {os.fspath(path)!r}: nn_core only loads Keras weights "
            "(.weights.h5, .keras); save to .weights.npz or .safetensors instead"
        )
    if kind == "npz":
        write_archive(path, {"contents": WEIGHTS_CONTENTS, "names": list(weights)}, weights)
    else:
        from .interop.safetensors_files import write_safetensors

        write_safetensors(path, weights, {"format": WEIGHTS_CONTENTS})


def load_weights(model: TrainableModel, path: str | os.PathLike[str]) -> None:
    """Copy the weights stored in ``path`` into ``model``, matched by name.

    Raises FileNotFoundError, ModelFileError (unreadable file, missing, unexpected or
    mismatched weights, NaN/Inf), ImportError (a missing optional package).
    """
    kind = _kind(path)
    model._require_built("load_weights")
    if kind == "keras":
        from .interop.keras_weights import load_keras_weights

        load_keras_weights(model, path)
        return
    if kind == "npz":
        config, stored = read_archive(path)
        if config.get("contents") != WEIGHTS_CONTENTS:
            raise ModelFileError(
                f"{os.fspath(path)!r} is an nn_core model file, not a weights file; load it "
                "with nn_core.load_model"
            )
    else:
        from .interop.safetensors_files import read_safetensors

        stored, metadata = read_safetensors(path)
        if metadata.get("format") != WEIGHTS_CONTENTS:
            raise ModelFileError(
                f"{os.fspath(path)!r} was not written by nn_core's save_weights (its metadata "
                f"format is {metadata.get('format')!r}); for a PyTorch state dict use "
                "nn_core.interop.load_torch_state_dict"
            )
    assign_checked(model, stored, os.fspath(path))


def assign_checked(model: TrainableModel, stored: dict[str, np.ndarray], source: str) -> None:
    """Check ``stored`` (name -> array) against every weight of ``model``, then copy it in.

    Every name must be present and no other; shapes and dtypes must equal the model's;
    values must be finite. Nothing is copied unless all of it fits.
    """
    targets = named_weights(model)
    missing = [name for name in targets if name not in stored]
    unexpected = sorted(set(stored) - set(targets))
    if missing or unexpected:
        raise ModelFileError(
            f"{source!r} does not hold the weights of model {model.name!r}: missing "
            f"{missing}, unexpected {unexpected}"
        )
    for name, target in targets.items():
        array = stored[name]
        if array.shape != target.shape or array.dtype != target.dtype:
            raise ModelFileError(
                f"{source!r}: weight {name!r} has shape {array.shape} and dtype {array.dtype}, "
                f"the model expects {target.shape} and {target.dtype}"
            )
        if not np.isfinite(array).all():
            raise ModelFileError(f"{source!r}: weight {name!r} contains NaN or Inf")
    for name, target in targets.items():
        np.copyto(target, stored[name])
