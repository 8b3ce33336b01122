"""Loading Keras 3 weights: ``.weights.h5`` files and ``.keras`` archives (h5py needed).

Keras 3's h5 layout (``model.save_weights``; ``model.weights.h5`` inside a ``.keras``
zip): ``layers/<key>/vars/<i>`` holds the i-th variable of a layer; a nested model is
``layers/<key>/layers/...``. The key is not the layer's name but its class in snake
case, numbered within its container in order of appearance: ``dense``, ``dense_1``,
... (HDF5 lists them alphabetically, so that order is rebuilt from the numbers).

Layers are matched by order, class by class: the k-th nn_core Dense (in
``model.leaf_layers()`` order) takes the k-th Keras Dense, and so on for Conv2D,
Conv2DTranspose and BatchNormalization, whose variables Keras stores in nn_core's own
layouts and order (kernel, bias; gamma, beta, moving_mean, moving_variance). Nested
containers of different classes side by side (a Sequential next to a Dense) leave that
order ambiguous in a bare ``.weights.h5``; a ``.keras`` archive's ``config.json``,
read as JSON data only, gives it. Everything is checked (counts, shapes, dtypes, links
and storage of every dataset) before any value is read or copied.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelFileError
from ..layers import BatchNormalization, Conv2D, Conv2DTranspose, Dense
from ..layers.base import _snake_case

if TYPE_CHECKING:
    from ..training import TrainableModel

INSTALL_HINT = "pip install 'nn-core-autoencoders[keras-weights]'"
#: nn_core layer class -> the Keras class whose variables it takes (same layout).
KERAS_CLASSES = {
    Dense: "dense",
    Conv2D: "conv2d",
    Conv2DTranspose: "conv2d_transpose",
    BatchNormalization: "batch_normalization",
}
CONTAINERS = ("sequential", "functional")
MAX_WEIGHTS_BYTES = 8 * 2**30  # a .keras archive's model.weights.h5, uncompressed
MAX_JSON_BYTES = 16 * 2**20  # its config.json and metadata.json
KERAS_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}


def _h5py():
    try:
        import h5py
    except ImportError as error:
        raise ImportError(f"loading Keras weights needs h5py: {INSTALL_HINT}") from error
    return h5py


def load_keras_weights(model: TrainableModel, path: str | os.PathLike[str]) -> None:
    """Copy the weights of a Keras 3 ``.weights.h5`` file or ``.keras`` archive into ``model``.

    ``model`` must have the same architecture (the same weighted layers of each class,
    in the same order, with the same shapes). Raises FileNotFoundError, ImportError (no
    h5py) or ModelFileError naming the layer, variable, expected and found shapes.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no weights file at {path!r}")
    model._require_built("load_keras_weights")
    h5py = _h5py()
    config = None
    if path.lower().endswith(".keras"):
        source, config = _read_keras_archive(path)
    else:
        source = path
    try:
        with h5py.File(source, "r") as file:
            groups = _weighted_groups(file, config, path)
            pairs = _match(model, groups, path)
            values = [
                (target, _read(dataset, target, where, path)) for target, dataset, where in pairs
            ]
    except (OSError, KeyError, TypeError, ValueError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{path!r} is not a readable Keras weights file: {error}") from error
    for target, value in values:
        np.copyto(target, value, casting="same_kind")


def _read_keras_archive(path):
    """(model.weights.h5 as a file object, config.json as data) of a .keras zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            if len(infos) != len(archive.infolist()):
                raise ModelFileError(f"{path!r}: the .keras archive has duplicated members")
            unexpected = sorted(
                name
                for name in infos
                if name not in KERAS_MEMBERS and not name.startswith("assets/")
            )
            if unexpected or "model.weights.h5" not in infos:
                raise ModelFileError(
                    f"{path!r} is not a Keras 3 archive: members {sorted(infos)} (expected "
                    f"{sorted(KERAS_MEMBERS)}; unexpected {unexpected})"
                )
            weights = _bounded_read(archive, infos["model.weights.h5"], MAX_WEIGHTS_BYTES, path)
            config = None
            if "config.json" in infos:
                text = _bounded_read(archive, infos["config.json"], MAX_JSON_BYTES, path)
                config = json.loads(text.decode("utf-8"))
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        NotImplementedError,
        RuntimeError,
        UnicodeDecodeError,
        json.JSONDecodeError,
        RecursionError,
    ) as error:
        raise ModelFileError(f"{path!r} is not a readable .keras archive: {error}") from error
    return io.BytesIO(weights), config


def _bounded_read(archive, info, limit, path) -> bytes:
    """A member's bytes, refused when it declares (or holds) more than ``limit``."""
    if info.file_size > limit:
        raise ModelFileError(
            f"{path!r}: member {info.filename!r} declares {info.file_size:,} bytes, "
            f"more than the {limit:,} allowed"
        )
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ModelFileError(f"{path!r}: member {info.filename!r} is not the size it declares")
    return data


# ---------------------------------------------------------------------- the h5 tree
_KEY = re.compile(r"^(?P<prefix>[a-z0-9_]+?)(?:_(?P<number>[0-9]+))?$")


def _split_key(key):
    """``"dense_3"`` -> ("dense", 3); ``"dense"`` -> ("dense", 0)."""
    match = _KEY.match(key)
    if match is None:
        return key, 0
    return match["prefix"], int(match["number"] or 0)


def _hard_children(group, path, h5py):
    for key in group:
        link = group.get(key, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise ModelFileError(f"{path!r}: {group.name}/{key} is a {type(link).__name__}")
    return list(group)


def _weighted_groups(file, config, path) -> dict[str, list]:
    """{Keras class: [(h5 path, [datasets in variable order]), ...] in model order}."""
    h5py = _h5py()
    if "layers" not in file:
        raise ModelFileError(f"{path!r} has no 'layers' group; it is not a Keras 3 weights file")
    layers_config = _config_layers(config)
    return _walk(file["layers"], layers_config, path, h5py)


def _config_layers(config):
    if isinstance(config, dict) and isinstance(config.get("config"), dict):
        layers = config["config"].get("layers")
        if isinstance(layers, list) and all(isinstance(entry, dict) for entry in layers):
            return layers
    return None


def _walk(layers_group, layers_config, path, h5py) -> dict[str, list]:
    keys = _hard_children(layers_group, path, h5py)
    if layers_config is not None:
        ordered: list = []
        counters: dict[str, int] = {}
        for entry in layers_config:
            prefix = _snake_case(str(entry.get("class_name", "")))
            number = counters.get(prefix, -1) + 1
            counters[prefix] = number
            key = prefix if number == 0 else f"{prefix}_{number}"
            if key in keys:
                ordered.append((key, _config_layers(entry)))
        missing = sorted(set(keys) - {key for key, _ in ordered})
        if missing:
            raise ModelFileError(
                f"{path!r}: groups {missing} of {layers_group.name} are not in config.json"
            )
    else:
        ordered = [(key, None) for key in sorted(keys, key=_split_key)]
    result: dict[str, list] = {}
    sources: dict[str, set[str]] = {}
    for key, child_config in ordered:
        group = layers_group[key]
        prefix = _split_key(key)[0]
        if "layers" in group:
            found = _walk(group["layers"], child_config, path, h5py)
        else:
            found = {prefix: [(group.name, _variables(group, path, h5py))]}
            if not found[prefix][0][1]:
                continue
        for keras_class, entries in found.items():
            origins = sources.setdefault(keras_class, set())
            origins.add(prefix)
            if layers_config is None and len(origins) > 1:
                raise ModelFileError(
                    f"{path!r}: the order of the {keras_class!r} layers under {layers_group.name} "
                    f"(in {sorted(origins)}) is not recorded in a .weights.h5 file; load the "
                    ".keras archive instead (its config.json gives the order)"
                )
            result.setdefault(keras_class, []).extend(entries)
    return result


def _variables(group, path, h5py) -> list:
    if "vars" not in group:
        return []
    variables = group["vars"]
    keys = _hard_children(variables, path, h5py)
    if set(keys) != {str(i) for i in range(len(keys))}:
        raise ModelFileError(f"{path!r}: {variables.name} holds {sorted(keys)}, not 0, 1, ...")
    datasets = [variables[str(i)] for i in range(len(keys))]
    for dataset in datasets:
        if not isinstance(dataset, h5py.Dataset):
            raise ModelFileError(f"{path!r}: {dataset.name} is not a dataset")
    return datasets


# ---------------------------------------------------------------------- matching
def _match(model, groups, path):
    """[(target array, dataset, description)] pairing nn_core's layers with Keras's."""
    ours: dict[str, list] = {}
    for layer in model.leaf_layers():
        if not (layer.params or layer.buffers):
            continue
        keras_class = KERAS_CLASSES.get(type(layer))
        if keras_class is None:
            raise ModelFileError(
                f"layer {layer.name!r} ({type(layer).__name__}) has no Keras counterpart here; "
                f"supported: {', '.join(kind.__name__ for kind in KERAS_CLASSES)}"
            )
        ours.setdefault(keras_class, []).append(layer)
    unknown = sorted(set(groups) - set(KERAS_CLASSES.values()))
    if unknown:
        raise ModelFileError(f"{path!r} holds weights of Keras layers nn_core lacks: {unknown}")
    counts_ours = {name: len(layers) for name, layers in ours.items()}
    counts_theirs = {name: len(entries) for name, entries in groups.items()}
    if counts_ours != counts_theirs:
        raise ModelFileError(
            f"{path!r}: model {model.name!r} has weighted layers {counts_ours}, the file "
            f"{counts_theirs} (per Keras class)"
        )
    pairs = []
    for keras_class, layers in ours.items():
        for layer, (group_name, datasets) in zip(layers, groups[keras_class], strict=True):
            targets = {**layer.params, **layer.buffers}
            if len(datasets) != len(targets):
                raise ModelFileError(
                    f"{path!r}: {group_name} has {len(datasets)} variables, layer "
                    f"{layer.name!r} has {len(targets)} ({', '.join(targets)})"
                )
            for (name, target), dataset in zip(targets.items(), datasets, strict=True):
                where = f"{dataset.name} -> {layer.name}/{name}"
                if tuple(dataset.shape or ()) != target.shape:
                    raise ModelFileError(
                        f"{path!r}: {where}: expected shape {target.shape}, found "
                        f"{tuple(dataset.shape or ())}"
                    )
                pairs.append((target, dataset, where))
    return pairs


def _read(dataset, target, where, path) -> np.ndarray:
    """The dataset's values, after checking its dtype and storage (never external files)."""
    if dataset.dtype.kind != "f" or dataset.dtype.itemsize not in (2, 4, 8):
        raise ModelFileError(f"{path!r}: {where}: dtype {dataset.dtype} is not a float")
    if dataset.external or dataset.is_virtual:
        raise ModelFileError(f"{path!r}: {where} stores its data outside the file")
    value = dataset[()]
    if not np.isfinite(value).all():
        raise ModelFileError(f"{path!r}: {where} contains NaN or Inf")
    return value.astype(target.dtype)
