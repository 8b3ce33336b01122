"""Saving and loading whole models (``Sequential`` or graph ``Model``) and training backups.

A model file is one archive (``nn_core.saving``) whose JSON config holds

* ``model_class``: "Sequential" or "Model" (files written before graph models have
  none and are Sequentials);
* ``model``: the architecture (``model.get_config()``): a Sequential's list of layers,
  or a graph's layers and nodes;
* ``input_shape`` (Sequential) and ``dtype``;
* ``compile``: the optimizer's config, the loss (one config, or one per output with
  ``loss_weights``) and the ``metrics`` as given to compile (when any), or None;
* ``frozen``: the layers and nested models with ``trainable = False``, each as its path
  of positions from the model down (``[]`` is the model itself, ``[1, 0]`` the first
  layer of its second layer), so a half-frozen transfer-learning model resumes as it was;

and its arrays ``weight/<i>`` (``get_weights()`` order) and ``optimizer/<name>``.
Loading never unpickles and never trusts the config: the model is rebuilt inside a
weight budget equal to the values the file's arrays really hold (``nn_core.allocation``),
so a config asking for ``Dense(10**9)`` is refused before anything is allocated, and
every array is checked against the rebuilt model before it is copied in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .allocation import weight_budget
from .errors import ModelFileError
from .saving import read_archive, write_archive

if TYPE_CHECKING:
    import os

    import numpy as np

    from .functional import Model
    from .layers.base import Layer
    from .sequential import Sequential
    from .training import TrainableModel


def file_contents(
    model: TrainableModel, include_optimizer: bool = True
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(config, arrays) of ``model`` as ``save`` writes them."""
    model._require_built("save")
    config: dict[str, Any] = {
        "model_class": type(model).__name__,
        "model": model.get_config(),
        "dtype": model.dtype.name,
        "compile": None,
        "frozen": frozen_paths(model),
    }
    if type(model).__name__ == "Sequential":
        config["input_shape"] = list(model.input_shape)
    arrays = {f"weight/{i}": array for i, array in enumerate(model.weight_arrays())}
    if model.loss is not None and model.optimizer is not None:
        if model._output_losses is None:
            model._resolve_losses()
        config["compile"] = {"optimizer": model.optimizer.get_config(), **_loss_config(model)}
        if model.metrics:
            config["compile"]["metrics"] = metrics_module.serialise(model.metrics)
        if include_optimizer:
            for key, value in model.optimizer.get_state().items():
                arrays[f"optimizer/{key}"] = value
    return config, arrays


def _loss_config(model: TrainableModel) -> dict:
    losses = model._output_losses
    if len(losses) == 1:
        return {"loss": losses[0].get_config()}
    return {
        "loss": [None if loss is None else loss.get_config() for loss in losses],
        "loss_weights": list(model._output_loss_weights),
    }


def frozen_paths(model: TrainableModel) -> list[list[int]]:
    """Positions (``_direct_layers`` indices, from ``model`` down) of every frozen layer."""
    paths: list[list[int]] = []

    def visit(layer: Layer, path: list[int]) -> None:
        if not layer.trainable:
            paths.append(path)
        if hasattr(layer, "_direct_layers"):
            for index, child in enumerate(layer._direct_layers()):
                visit(child, [*path, index])

    visit(model, [])
    return paths


def apply_frozen_paths(model: TrainableModel, paths: Any) -> None:
    """Set ``trainable = False`` on the layers ``frozen_paths`` listed (ValueError if absent)."""
    # paths: Any, as it comes from a file's untrusted config; its form is checked here.
    if not isinstance(paths, list):
        raise ValueError(f"frozen must be a list of paths, got {type(paths).__name__}")
    for path in paths:
        layer: Layer = model
        if not isinstance(path, list):
            raise ValueError(f"a frozen path must be a list of positions, got {path!r}")
        for index in path:
            children = layer._direct_layers() if hasattr(layer, "_direct_layers") else []
            if (
                isinstance(index, bool)
                or not isinstance(index, int)
                or not 0 <= index < len(children)
            ):
                raise ValueError(f"frozen path {path!r} names no layer of the model")
            layer = children[index]
        layer.trainable = False


def save_model(
    model: TrainableModel, path: str | os.PathLike[str], include_optimizer: bool = True
) -> None:
    config, arrays = file_contents(model, include_optimizer)
    write_archive(path, config, arrays)


def save_training_state(model: TrainableModel, path: str | os.PathLike[str], epoch: int) -> None:
    """Everything ``BackupAndRestore`` needs to resume after ``epoch``."""
    config, arrays = file_contents(model)
    config["training_state"] = {
        "epoch": int(epoch),
        "rng": model.rng_state(),
        "history": model.history.history if model.history else {},
        "history_epochs": model.history.epoch if model.history else [],
    }
    write_archive(path, config, arrays)


def restore_training_state(model: TrainableModel, path: str | os.PathLike[str]) -> None:
    config, arrays = read_archive(path)
    state = config.get("training_state")
    if state is None:
        raise ModelFileError(f"{path!r} is a model file, not a training backup")
    try:
        epoch = state["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}")
        history = {str(k): [float(v) for v in values] for k, values in state["history"].items()}
        history_epochs = [int(e) for e in state["history_epochs"]]
        rng_state = state["rng"]
        if len(rng_state["layers"]) != len(model.leaf_layers()):
            raise ValueError("random-generator states do not match the model's layers")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelFileError(f"{path!r}: invalid training state: {error!r}") from error
    load_weights_and_optimizer(model, config, arrays, path)
    try:
        model.set_rng_state(rng_state)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        raise ModelFileError(f"{path!r}: invalid random-generator state: {error!r}") from error
    if model.history is not None:
        model.history.history = history
        model.history.epoch = history_epochs
    model._resume_epoch = epoch + 1


def load_weights_and_optimizer(
    model: TrainableModel,
    config: dict[str, Any],
    arrays: dict[str, np.ndarray],
    path: str | os.PathLike[str],
) -> None:
    expected = [f"weight/{i}" for i in range(len(model.weight_arrays()))]
    stored = {name for name in arrays if name.startswith("weight/")}
    if stored != set(expected):
        raise ModelFileError(
            f"{path!r} holds weight arrays {sorted(stored)}, but its model config builds "
            f"{len(expected)}: {expected}"
        )
    weights = [arrays[name] for name in expected]
    for name, stored_array, target in zip(expected, weights, model.weight_arrays()):
        if stored_array.dtype != target.dtype:
            raise ModelFileError(
                f"{path!r}: {name} has dtype {stored_array.dtype}, but the config builds a "
                f"{target.dtype} model"
            )
    try:
        model.set_weights(weights)
    except ValueError as error:
        raise ModelFileError(f"{path!r}: {error}") from error
    optimizer_state = {
        name.split("/", 1)[1]: array
        for name, array in arrays.items()
        if name.startswith("optimizer/")
    }
    if optimizer_state and model.optimizer is not None:
        try:
            model.optimizer.set_state(optimizer_state)
        except ValueError as error:
            raise ModelFileError(f"{path!r}: optimizer state does not fit: {error}") from error
        _check_optimizer_state_fits(model, path)


def _check_optimizer_state_fits(model: TrainableModel, path: str | os.PathLike[str]) -> None:
    """A fresh optimizer checks state shapes only at its first step; check them at load."""
    names, params, _ = model._trainable_pairs()
    slots = {key: value for key, value in model.optimizer.get_state().items() if "/" in key}
    indices = {int(key.split("/", 1)[0]) for key in slots}
    if indices and indices != set(range(len(params))):
        raise ModelFileError(
            f"{path!r}: the optimizer state is for {len(indices)} parameter arrays, but the "
            f"model trains {len(params)}"
        )
    for key, value in slots.items():
        index = int(key.split("/", 1)[0])
        if value.shape != params[index].shape:
            raise ModelFileError(
                f"{path!r}: optimizer state {key!r} has shape {value.shape}, but "
                f"{names[index]} has shape {params[index].shape}"
            )


def model_from_file_config(
    config: dict[str, Any], arrays: dict[str, np.ndarray], path: str | os.PathLike[str]
) -> Sequential | Model:
    """Rebuild (and compile) the model a file's config describes, inside its weight budget."""
    from .functional import Model
    from .sequential import Sequential

    stored_values = sum(array.size for name, array in arrays.items() if name.startswith("weight/"))
    model_class = config.get("model_class", "Sequential")
    classes = {"Sequential": Sequential, "Model": Model}
    if model_class not in classes:
        raise ModelFileError(
            f"{path!r}: unknown model_class {model_class!r}; expected one of {sorted(classes)}"
        )
    try:
        with weight_budget(stored_values, f"{stored_values:,} weight values the file holds"):
            model: Sequential | Model
            if model_class == "Sequential":
                model = Sequential.from_config(config["model"])
                model.build(tuple(config["input_shape"]), config["dtype"])
            else:
                model = Model.from_config(config["model"])
                if model.dtype.name != config["dtype"]:
                    raise ValueError(
                        f"the graph's inputs are {model.dtype.name} but the file says "
                        f"{config['dtype']!r}"
                    )
        # Before compiling and before the optimizer state is checked: a frozen layer has none.
        apply_frozen_paths(model, config.get("frozen", []))
        compiled = config.get("compile")
        if compiled:
            loss = compiled["loss"]
            loss = (
                [None if entry is None else losses_module.get(entry) for entry in loss]
                if (isinstance(loss, list))
                else losses_module.get(loss)
            )
            model.compile(
                optimizer=optimizers_module.get(compiled["optimizer"]),
                loss=loss,
                loss_weights=compiled.get("loss_weights"),
                metrics=compiled.get("metrics"),
            )
    except ModelFileError:
        raise
    except Exception as error:  # noqa: BLE001 - the config is untrusted input: any failure
        # to rebuild a model from it is a problem of the file, reported as such.
        raise ModelFileError(
            f"{path!r}: cannot rebuild the model from its config: {type(error).__name__}: {error}"
        ) from error
    return model


def load_model(path: str | os.PathLike[str]) -> Sequential | Model:
    """Rebuild a model saved with ``model.save(path)``: architecture, weights, optimizer.

    Returns a ``Sequential`` or a ``Model``, whichever was saved. Never unpickles.
    Raises ``ModelFileError`` (a ValueError) naming the file when it is truncated,
    corrupted, from another program, or inconsistent with its own config.
    """
    config, arrays = read_archive(path)
    model = model_from_file_config(config, arrays, path)
    load_weights_and_optimizer(model, config, arrays, path)
    return model
