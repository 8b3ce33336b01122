"""Trials on Ray Tune: a local Ray started for the sweep (or a running cluster), one CPU
and one nn_core thread per trial, and optionally ASHA early stopping.

Ray is optional (the ``sweep`` extra, ``pip install 'ray[tune]'``); this module imports
it only inside its functions. The images reach the trials through Ray's object store
(``tune.with_parameters``), as plain NumPy arrays; a trial's result comes back as one
JSON string, which the driver appends to the results file as soon as the trial ends.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from .trial import SweepData, run_trial

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

INSTALL_HINT = "pip install 'nn-core-autoencoders[sweep]' (or: pip install 'ray[tune]')"


def ray_installed() -> bool:
    """Whether ``ray.tune`` can be imported."""
    try:
        import ray.tune  # noqa: F401
    except ImportError:
        return False
    return True


def _trainable(params, configs, arrays, evaluated_on, options):
    """One Tune trial: configs[params["index"]] trained by ``run_trial``."""
    from ray import tune

    data = SweepData(evaluated_on=evaluated_on, **arrays)
    options = dict(options)
    report = tune.report if options.pop("early_stopping") else None
    result = run_trial(configs[params["index"]], data, report=report, **options)
    last = {key: values[-1] for key, values in result["history"].items() if values}
    tune.report({"epoch": result["epochs_run"], **last, "result_json": json.dumps(result)})


def run_on_ray(
    configs: Sequence[dict[str, Any]],
    data: SweepData,
    on_result: Callable[[int, dict[str, Any]], object],
    *,
    epochs: int,
    batch_size: int,
    sweep_seed: int,
    kernel_backend: str,
    num_cpus: int | None = None,
    address: str | None = None,
    early_stopping: bool = False,
) -> None:
    """Run every configuration of ``configs`` as a Ray Tune trial.

    on_result(index, result) is called in this process as each trial ends: result is
    ``run_trial``'s dict with "status" "done", or {"status": "stopped_early",
    "epochs_run", "val_loss"} for a trial ASHA stopped. num_cpus: the local Ray's CPUs
    (default: all); address: a running Ray head ("auto", "ray://host:10001", ...)
    instead of a local Ray. A Ray already initialised in this process is used as it is
    and left running; one started here is shut down at the end, and its files (kept in a
    temporary folder) removed. RuntimeError names the trials that failed.
    """
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # no CSV/TensorBoard files
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    temp = tempfile.mkdtemp(prefix="ae-ray-")  # short: Ray's socket paths must stay < 108
    started = False
    try:
        if not ray.is_initialized():
            quiet: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": "ERROR",
            }
            if address:
                ray.init(address=address, **quiet)
            else:
                ray.init(num_cpus=num_cpus, _temp_dir=temp, **quiet)
            started = True
        has_validation = len(data.x_val) > 0
        metric = "val_loss" if has_validation else "loss"
        scheduler = (
            ASHAScheduler(time_attr="training_iteration", max_t=max(epochs, 1), grace_period=1)
            if early_stopping
            else None
        )
        trainable = tune.with_resources(
            tune.with_parameters(
                _trainable,
                configs=list(configs),
                arrays={"x_train": data.x_train, "x_val": data.x_val, "x_test": data.x_test},
                evaluated_on=data.evaluated_on,
                options={
                    "epochs": epochs,
                    "batch_size": batch_size,
                    "sweep_seed": sweep_seed,
                    "backend": kernel_backend,
                    "early_stopping": early_stopping,
                },
            ),
            {"cpu": 1},
        )
        failed: list[tuple[int, str]] = []
        tuner = tune.Tuner(
            trainable,
            param_space={"index": tune.grid_search(list(range(len(configs))))},
            tune_config=tune.TuneConfig(
                metric=metric if early_stopping else None,
                mode="min" if early_stopping else None,
                scheduler=scheduler,
                reuse_actors=True,  # a new process per trial would import everything again
            ),
            run_config=tune.RunConfig(
                name="sweep",
                storage_path=temp,
                verbose=0,
                callbacks=[_recorder(on_result, failed)],
            ),
        )
        tuner.fit()
        if failed:
            raise RuntimeError(
                "sweep: these trials failed on Ray: "
                + "; ".join(f"{configs[index]}: {error}" for index, error in failed)
            )
    finally:
        if started:
            ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def _recorder(on_result, failed):
    """A Tune callback (made here, so that importing this module needs no Ray) that hands
    each ended trial's result to ``on_result`` and each failure to ``failed``."""
    from ray import tune

    class Recorder(tune.Callback):
        def on_trial_complete(self, iteration, trials, trial, **info):
            last = trial.last_result or {}
            if "result_json" in last:
                result = {**json.loads(last["result_json"]), "status": "done"}
            else:
                result = {
                    "status": "stopped_early",
                    "epochs_run": last.get("epoch"),
                    "val_loss": last.get("val_loss"),
                }
            on_result(trial.config["index"], result)

        def on_trial_error(self, iteration, trials, trial, **info):
            failed.append((trial.config["index"], trial.error_file or "see Ray's log"))

    return Recorder()
