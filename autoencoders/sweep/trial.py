"""One trial: build the configuration's model, train it, evaluate it; the same numbers
wherever it runs (one thread, the trial's own seed, the given kernel backend)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

import nn_core as nn
from nn_core import threads

from ..cli.common import reconstruction_metrics
from ..cli.data import load_dataset
from ..cli.train import LOSSES, build_model, model_options
from .space import trial_seed

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class SweepData:
    """The images every trial trains on: x_train, x_val, x_test (N, H, W, C) float32 in
    [0, 1]; ``evaluated_on`` names the split x_test is ("test", or "validation" for a
    dataset without a test split)."""

    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray
    evaluated_on: str

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def load_sweep_data(
    dataset: str, limit: int | None = None, validation_split: float = 0.1
) -> SweepData:
    """The dataset split as ``autoencoders train`` splits it: the last ``validation_split``
    of the training images for val_loss; the test split of MNIST / Fashion-MNIST (else the
    validation images) for the final metrics."""
    images = load_dataset(dataset, "train", limit).images
    validation_count = int(round(len(images) * validation_split))
    if validation_count >= len(images):
        raise ValueError(
            f"sweep: validation_split {validation_split} leaves no training images "
            f"out of {len(images)}"
        )
    x_train, x_val = (
        images[: len(images) - validation_count],
        images[len(images) - validation_count :],
    )
    if dataset.lower().replace("_", "-") in ("mnist", "fashion-mnist"):
        return SweepData(x_train, x_val, load_dataset(dataset, "test", limit).images, "test")
    if not len(x_val):
        raise ValueError(f"sweep: {dataset!r} has no test split; give a validation_split > 0")
    return SweepData(x_train, x_val, x_val, "validation")


def _train_args(config: dict, seed: int):
    """The ``autoencoders train`` options for ``config``, to reuse its model building."""
    return SimpleNamespace(
        model=config["model"],
        code_size=config.get("code_size"),
        hidden_sizes=None,
        layers=config.get("layers"),
        nodes=config.get("nodes"),
        loss=config["loss"],
        seed=seed,
        l1=1e-4,
        noise_stddev=0.5,
        contractive_weight=1e-4,
    )


def check_config(config: dict) -> None:
    """ValueError (naming the configuration) when ``autoencoders train`` would refuse it."""
    try:
        model_options(_train_args(config, 0))
    except Exception as error:  # CliError: the train command's wording
        raise ValueError(f"sweep: configuration {config} cannot be trained: {error}") from None


class _EpochReporter(nn.callbacks.Callback):
    """Calls ``report`` after every epoch but the last (whose numbers come with the
    trial's result), so a scheduler sees ``epochs`` reports in all."""

    def __init__(self, report, epochs):
        super().__init__()
        self.report, self.epochs = report, epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 < self.epochs:
            self.report({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})


def run_trial(
    config: dict,
    data: SweepData,
    epochs: int,
    batch_size: int = 256,
    sweep_seed: int = 0,
    backend: str | None = None,
    report: Callable[[dict[str, float]], object] | None = None,
) -> dict[str, Any]:
    """Train and evaluate one configuration on one thread; returns its metrics.

    report: called after each epoch but the last with {"epoch", "loss", "val_loss"} (for
    Ray Tune's early-stopping scheduler). backend: the nn_core kernel backend to use
    ("numpy" or "numba"; None keeps the current one). Returns {"test_loss", "mse",
    "psnr_db", "params", "seconds", "epochs_run", "val_loss", "seed", "evaluated_on",
    "history"}; seconds is the trial's wall time (building, training, evaluating).
    """
    previous = nn.kernels.backend_name()
    if backend is not None:
        nn.kernels.set_backend(backend)
    try:
        return _train_and_evaluate(config, data, epochs, batch_size, sweep_seed, report)
    finally:
        nn.kernels.set_backend(previous)  # a serial sweep leaves the caller's backend as it was


def _train_and_evaluate(config, data, epochs, batch_size, sweep_seed, report) -> dict:
    seed = trial_seed(config, sweep_seed)
    cls, options = model_options(_train_args(config, seed))
    with threads.limit(blas=1, numba=1):
        start = time.perf_counter()
        model = build_model(cls, options, data.image_shape)
        shape = (-1, *model.input_shape)
        x_train, x_val, x_test = (x.reshape(shape) for x in (data.x_train, data.x_val, data.x_test))
        rate = config.get("learning_rate")
        optimizer = nn.optimizers.get(
            config["optimizer"], **({} if rate is None else {"learning_rate": rate})
        )
        model.compile(
            optimizer, None if config["model"] == "variational" else LOSSES[config["loss"]]
        )
        callbacks = [_EpochReporter(report, epochs)] if report is not None else None
        history = model.fit(
            x_train,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=x_val if len(x_val) else None,
            callbacks=callbacks,
            verbose=0,
        ).history
        test_loss = float(model.evaluate(x_test))
        metrics = reconstruction_metrics(x_test, model.predict(x_test))
        seconds = time.perf_counter() - start
    return {
        "test_loss": test_loss,
        "mse": metrics["mse"],
        "psnr_db": metrics["psnr_db"],
        "params": int(model.count_params()),
        "seconds": round(seconds, 3),
        "epochs_run": len(history.get("loss", [])),
        "val_loss": float(history["val_loss"][-1]) if history.get("val_loss") else None,
        "seed": seed,
        "evaluated_on": data.evaluated_on,
        "history": {key: [float(v) for v in values] for key, values in history.items()},
    }
