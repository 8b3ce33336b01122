"""Search spaces: which configurations a sweep trains, and each trial's key and seed.

A space is a dict from a searched key to a list of values, e.g.
``{"model": ["deep"], "code_size": [2, 4, 8], "layers": [1, 2]}``. Keys (``SPACE_KEYS``):
model, code_size, layers (hidden layers; 0 = none), nodes (units per hidden layer; default:
the model's own widths), loss (bce, mse, mae), optimizer, learning_rate (default: the
optimizer's own). A missing key takes the ``autoencoders train`` default.

``grid(space)`` is every combination; ``random_configs(space, trials, seed)`` draws
``trials`` of them, each key uniformly from its list, except that ``learning_rate`` may
also be ``{"log_uniform": [low, high]}``. Keys that a model does not use are dropped
(dense has no hidden layers; conv models derive the code size from their filters), so
configurations that would train the same model appear once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math

import numpy as np

from ..cli.train import LOSSES, MODELS, OPTIMIZERS

SPACE_KEYS = ("model", "code_size", "layers", "nodes", "loss", "optimizer", "learning_rate")
DEFAULTS = {"model": "dense", "loss": "bce", "optimizer": "adam"}
MODELS_WITH_LAYERS = tuple(name for name, (_, meaning, _) in MODELS.items() if meaning)
CONV_MODELS = ("conv", "conv-denoising")


def check_space(space: dict) -> dict:
    """``space`` with every value a list, checked; ValueError naming the bad key."""
    if not isinstance(space, dict) or not space:
        raise ValueError("sweep space must be a non-empty dict of key -> list of values")
    checked = {}
    for key, values in space.items():
        if key not in SPACE_KEYS:
            raise ValueError(f"sweep space: unknown key {key!r}; keys are {', '.join(SPACE_KEYS)}")
        if key == "learning_rate" and isinstance(values, dict):
            checked[key] = _check_log_uniform(values)
            continue
        if not isinstance(values, (list, tuple)):
            values = [values]
        if not values:
            raise ValueError(f"sweep space: {key!r} has no values")
        checked[key] = [_check_value(key, value) for value in values]
    return checked


def _check_value(key, value):
    if key == "model":
        if not isinstance(value, str) or value.lower() not in MODELS:
            raise ValueError(f"sweep space: model {value!r} is not one of {', '.join(MODELS)}")
        return value.lower()
    if key == "loss":
        if value not in LOSSES:
            raise ValueError(f"sweep space: loss {value!r} is not one of {', '.join(LOSSES)}")
        return value
    if key == "optimizer":
        if value not in OPTIMIZERS:
            raise ValueError(
                f"sweep space: optimizer {value!r} is not one of {', '.join(OPTIMIZERS)}"
            )
        return value
    if key == "learning_rate":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"sweep space: learning_rate must be > 0, got {value!r}")
        return float(value)
    smallest = 0 if key == "layers" else 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < smallest:
        raise ValueError(f"sweep space: {key} must be an integer >= {smallest}, got {value!r}")
    return int(value)


def _check_log_uniform(values: dict):
    bounds = values.get("log_uniform") if set(values) == {"log_uniform"} else None
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 2 or not 0 < bounds[0] < bounds[1]:
        raise ValueError(
            "sweep space: learning_rate must be a list of rates or "
            f"{{'log_uniform': [low, high]}} with 0 < low < high, got {values!r}"
        )
    return {"log_uniform": [float(bounds[0]), float(bounds[1])]}


def normalize(config: dict) -> dict:
    """One configuration with defaults filled in and the keys its model ignores dropped."""
    config = {**DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    model = config["model"]
    if model not in MODELS_WITH_LAYERS:
        config.pop("layers", None)
        config.pop("nodes", None)
    elif config.get("layers") == 0:
        config.pop("nodes", None)
    if model in CONV_MODELS:
        config.pop("code_size", None)
    if model == "variational":
        config["loss"] = "bce"  # the VAE trains on its own loss
    return dict(sorted(config.items()))


def _unique(configs):
    seen, kept = set(), []
    for config in configs:
        key = config_key(config)
        if key not in seen:
            seen.add(key)
            kept.append(config)
    return kept


def grid(space: dict) -> list[dict]:
    """Every combination of ``space``'s values, normalized, duplicates removed."""
    space = check_space(space)
    if isinstance(space.get("learning_rate"), dict):
        raise ValueError("sweep space: a log_uniform learning_rate needs a random search")
    keys = list(space)
    combos = itertools.product(*(space[key] for key in keys))
    return _unique(normalize(dict(zip(keys, combo))) for combo in combos)


def random_configs(space: dict, trials: int, seed: int = 0) -> list[dict]:
    """``trials`` configurations drawn from ``space`` by a generator seeded with ``seed``
    (the same list for the same arguments); duplicates drawn twice appear once."""
    space = check_space(space)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"sweep: trials must be a positive integer, got {trials!r}")
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(trials):
        config = {}
        for key, values in space.items():
            if isinstance(values, dict):
                low, high = values["log_uniform"]
                rate = math.exp(rng.uniform(math.log(low), math.log(high)))
                config[key] = float(f"{rate:.3g}")  # short, stable in JSON
            else:
                config[key] = values[int(rng.integers(len(values)))]
        configs.append(normalize(config))
    return _unique(configs)


def config_key(config: dict, settings: dict | None = None) -> str:
    """The trial's identity: sorted JSON of its configuration (and the sweep's settings)."""
    identity = dict(config) if settings is None else {"config": config, "settings": settings}
    return json.dumps(identity, sort_keys=True, separators=(",", ":"))


def trial_seed(config: dict, sweep_seed: int) -> int:
    """A seed in [0, 2**31) from SHA-256 of the sweep seed and the sorted config JSON: the
    same in every process (unlike Python's ``hash``), different for every configuration."""
    digest = hashlib.sha256(f"{int(sweep_seed)}:{config_key(config)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
