"""``run(space, dataset=...)``: expand a search space, skip the trials the results file
already holds, train the others (on Ray or one after another) and record each one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import nn_core as nn

from . import ray_backend
from .results import append_result, read_results
from .space import config_key, grid, random_configs
from .trial import check_config, load_sweep_data, run_trial

if TYPE_CHECKING:
    from collections.abc import Callable

BACKENDS = ("auto", "ray", "serial")


def sweep_configs(space: dict, samples: int | None = None, seed: int = 0) -> list[dict]:
    """The configurations of ``space``: the grid, or ``samples`` random draws (seeded)."""
    configs = grid(space) if samples is None else random_configs(space, samples, seed)
    for config in configs:
        check_config(config)
    return configs


def run(
    space: dict,
    dataset: str = "mnist",
    *,
    samples: int | None = None,
    epochs: int = 5,
    seed: int = 0,
    limit: int | None = None,
    batch_size: int = 256,
    validation_split: float = 0.1,
    results: str | None = None,
    backend: str = "auto",
    num_cpus: int | None = None,
    address: str | None = None,
    early_stopping: bool = False,
    on_result: Callable[[dict[str, Any]], object] | None = None,
    log: Callable[[str], object] | None = print,
) -> list[dict[str, Any]]:
    """Train and evaluate every configuration of ``space``; returns their records.

    space: {key: [values]} (see ``autoencoders.sweep.space``); samples: draw that many
    configurations at random instead of the whole grid. dataset, limit, validation_split:
    as ``autoencoders train`` takes them (the test split of MNIST / Fashion-MNIST gives
    the test metrics, else the validation images). Each trial is seeded from ``seed``
    and its configuration, runs on one nn_core thread and the current kernel backend.

    results: a .jsonl file; each finished trial is appended at once, and trials already
    there (same configuration and settings) are not run again. backend: "ray" (Ray
    Tune: a local Ray with ``num_cpus`` CPUs, or the head at ``address``; one trial per
    CPU; ``early_stopping`` adds the ASHA scheduler), "serial" (one trial after another,
    in this process) or "auto" (Ray when installed, else serial, saying so).
    on_result(record): called after each new record is written. log: where progress
    lines go (None: nowhere). Records are returned in the order of the configurations.
    """
    if backend not in BACKENDS:
        raise ValueError(f"sweep: backend {backend!r} is not one of {', '.join(BACKENDS)}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"sweep: epochs must be a positive integer, got {epochs!r}")
    log = log or (lambda *_: None)
    configs = sweep_configs(space, samples, seed)
    settings = {
        "dataset": dataset,
        "limit": limit,
        "epochs": epochs,
        "batch_size": batch_size,
        "validation_split": validation_split,
        "seed": seed,
        "kernel_backend": nn.kernels.backend_name(),
    }
    keys = [config_key(config, settings) for config in configs]
    recorded = {record["key"]: record for record in (read_results(results) if results else [])}
    pending = [index for index, key in enumerate(keys) if key not in recorded]
    if len(pending) < len(configs):
        log(f"{len(configs) - len(pending)} of {len(configs)} trials are already in {results}")
    runner = _choose_backend(backend, early_stopping, log)
    if pending:
        data = load_sweep_data(dataset, limit, validation_split)
        log(
            f"sweep: {len(pending)} trial{'s' * (len(pending) != 1)} on {runner}, "
            f"{len(data.x_train)} training images of {dataset}, {epochs} epoch(s) each"
        )
        finished = 0

        def record(position, result):
            nonlocal finished
            index = pending[position]
            entry = {
                "key": keys[index],
                "config": configs[index],
                "settings": settings,
                "status": "done",
                **result,
                "runner": runner,
            }
            if results:
                append_result(results, entry)
            recorded[keys[index]] = entry
            finished += 1
            log(f"[{finished}/{len(pending)}] {describe(entry)}")
            if on_result is not None:
                on_result(entry)

        pending_configs = [configs[index] for index in pending]
        if runner == "ray":
            ray_backend.run_on_ray(
                pending_configs,
                data,
                record,
                epochs=epochs,
                batch_size=batch_size,
                sweep_seed=seed,
                kernel_backend=str(settings["kernel_backend"]),
                num_cpus=num_cpus,
                address=address,
                early_stopping=early_stopping,
            )
        else:
            for position, config in enumerate(pending_configs):
                record(
                    position,
                    run_trial(config, data, epochs=epochs, batch_size=batch_size, sweep_seed=seed),
                )
    return [recorded[key] for key in keys if key in recorded]


def _choose_backend(backend: str, early_stopping: bool, log) -> str:
    if backend == "serial" or (backend == "auto" and not ray_backend.ray_installed()):
        if early_stopping:
            raise ValueError(
                "sweep: early stopping (ASHA) needs the Ray backend; "
                + ("" if ray_backend.ray_installed() else ray_backend.INSTALL_HINT)
            )
        if backend == "auto":
            log(
                "Ray is not installed: the trials run one after another in this process; "
                f"to run one per CPU: {ray_backend.INSTALL_HINT}"
            )
        return "serial"
    if not ray_backend.ray_installed():
        raise ValueError(f"sweep: the ray backend needs Ray Tune: {ray_backend.INSTALL_HINT}")
    return "ray"


def describe(record: dict) -> str:
    """One line for a record: its configuration and its numbers."""
    config = ", ".join(f"{key} {value}" for key, value in record["config"].items())
    if record.get("status") == "stopped_early":
        return f"{config}: stopped early after {record.get('epochs_run')} epoch(s)"
    return (
        f"{config}: test loss {record['test_loss']:.4f}, MSE {record['mse']:.5f}, "
        f"PSNR {record['psnr_db']:.2f} dB, {record['params']:,} params, "
        f"{record['seconds']:.1f} s"
    )
