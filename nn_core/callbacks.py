"""Callbacks: hooks into ``Sequential.fit`` (Keras semantics).

A callback subclasses ``Callback`` and overrides any of
``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_epoch_begin(epoch, logs)``,
``on_epoch_end(epoch, logs)``, ``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)``.
``epoch`` and ``batch`` count from 0; ``logs`` holds ``"loss"`` (and ``"val_loss"`` at
epoch end when validation data is given). ``self.model`` is the model being trained;
setting ``self.model.stop_training = True`` ends training after the current epoch.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from . import kernels

if TYPE_CHECKING:
    from .training import TrainableModel


class Callback:
    """Base class: every hook does nothing."""

    def __init__(self) -> None:
        self.model: Any = None  # the model being trained, set by fit (set_model)

    def set_model(self, model: TrainableModel) -> None:
        self.model = model

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        pass

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        pass

    def on_batch_begin(self, batch: int, logs: dict[str, float] | None = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        pass


class History(Callback):
    """Records the epoch-end logs: ``history["loss"]``, ``history["val_loss"]``, ``epoch``."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))


def _monitor_mode(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if any(word in monitor for word in ("acc", "auc", "psnr")) else "min"
    return mode


def _monitored_value(callback_name: str, monitor: str, logs: dict[str, float] | None) -> float:
    if logs is None or monitor not in logs:
        available = ", ".join(sorted(logs or {})) or "none"
        raise ValueError(
            f"{callback_name}: monitored quantity {monitor!r} is not in the logs "
            f"(available: {available}); pass validation_data to fit to get 'val_loss'"
        )
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights=True`` the model ends training with the weights of its
    best epoch (whether or not training stopped early). Default monitor: "val_loss".
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        super().__init__()
        if patience < 0 or int(patience) != patience:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 0, got {patience!r}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.mode = _monitor_mode(monitor, mode)
        self.restore_best_weights = bool(restore_best_weights)
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.wait = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.stopped_epoch = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        value = _monitored_value("EarlyStopping", self.monitor, logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:  # as Keras: patience=2 stops at the 2nd bad epoch
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model at each epoch end (or only when ``monitor`` improves).

    ``filepath`` may hold format fields: ``"ckpt-{epoch:02d}-{val_loss:.4f}.npz"``
    (``epoch`` counts from 1, as Keras prints it). Files are written atomically.
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
    ) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.save_best_only = bool(save_best_only)
        self.mode = _monitor_mode(monitor, mode)
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        if self.save_best_only:
            value = _monitored_value("ModelCheckpoint", self.monitor, logs)
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return
            self.best = value
        path = self.filepath.format(epoch=epoch + 1, **logs)
        self.model.save(path)


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start to ``schedule(epoch, current_lr)``."""

    def __init__(self, schedule: Callable[[int, float], float]) -> None:
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"LearningRateScheduler: schedule must be callable, got {schedule!r}")
        self.schedule = schedule

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        optimizer = self.model.optimizer
        if callable(optimizer.learning_rate):
            raise ValueError(
                "LearningRateScheduler cannot drive an optimizer whose learning_rate is "
                "already a schedule; use one or the other"
            )
        new_rate = float(self.schedule(epoch, float(optimizer.learning_rate)))
        if not math.isfinite(new_rate) or new_rate <= 0:
            raise ValueError(
                f"LearningRateScheduler: schedule returned {new_rate!r} at epoch {epoch}"
            )
        optimizer.learning_rate = new_rate


class BackupAndRestore(Callback):
    """Make ``fit`` resumable after an interruption (a crash, SIGKILL, a pre-empted job).

    At every epoch end the weights, optimizer state, random-generator states, history
    and epoch number are written atomically to ``backup_dir/backup.npz``. When ``fit``
    starts and a backup exists, it is restored and training continues with the next
    epoch, so the interrupted run ends exactly where an uninterrupted one would.
    The backup is deleted when training completes (``delete_checkpoint=True``).
    """

    FILENAME = "backup.npz"

    def __init__(self, backup_dir: str | os.PathLike[str], delete_checkpoint: bool = True) -> None:
        super().__init__()
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = bool(delete_checkpoint)

    @property
    def backup_path(self) -> str:
        return os.path.join(self.backup_dir, self.FILENAME)

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        # A run killed while writing its backup leaves a temporary file beside it (the
        # backup itself is the previous, complete one): never read, removed here.
        if os.path.isdir(self.backup_dir):
            for name in os.listdir(self.backup_dir):
                if name.startswith(f".{self.FILENAME}.") and name.endswith(".tmp"):
                    os.remove(os.path.join(self.backup_dir, name))
        if os.path.exists(self.backup_path):
            self.model._restore_training_state(self.backup_path)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        self.model._save_training_state(self.backup_path, epoch)

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir, ignore_errors=True)


class ProgressBar(Callback):
    """What ``fit(verbose=1)`` prints: a live bar per epoch; ``verbose=2``: one line per epoch.

    The live bar (carriage returns) is drawn only on a terminal; into a log or a pipe
    ``verbose=1`` writes one line per epoch, as ``verbose=2`` does. The ETA is measured
    from the end of each epoch's first step, because the first step of a run may compile
    the Numba kernels (seconds) and would make the estimate false; while that first step
    runs on the Numba backend, the bar says "compiling kernels (first run only)".
    """

    def __init__(
        self,
        epochs: int,
        steps_per_epoch: int,
        verbose: int = 1,
        stream: IO[str] | None = None,
        refresh_seconds: float = 0.1,
    ) -> None:
        super().__init__()
        self.epochs = epochs
        self.steps = steps_per_epoch
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.refresh_seconds = refresh_seconds
        self.first_epoch: int | None = None

    def _live(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return self.verbose == 1 and callable(isatty) and bool(isatty())

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch_start = time.perf_counter()
        self.last_draw = 0.0
        self.first_step_end: float | None = None
        if self.first_epoch is None:
            self.first_epoch = epoch
        if self._live():
            self.stream.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            if epoch == self.first_epoch and kernels.backend_name() == "numba":
                # Drawn while the first step runs, which is when the kernels compile.
                width = len(str(self.steps))
                self.stream.write(
                    f"\r{0:>{width}}/{self.steps} {self._bar(0)} "
                    "- compiling kernels (first run only)\x1b[K"
                )
                self.stream.flush()

    def _bar(self, done: int) -> str:
        width = 30
        filled = int(width * done / self.steps)
        arrow = ">" if filled < width else ""
        return "[" + "=" * filled + arrow + "." * (width - filled - len(arrow)) + "]"

    def _eta(self, batch: int, now: float) -> str:
        if batch == 0:
            self.first_step_end = now
            return "ETA -"
        assert self.first_step_end is not None  # set by this epoch's batch 0, drawn first
        seconds = (now - self.first_step_end) / batch * (self.steps - batch - 1)
        return f"ETA {seconds:4.1f}s"

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        if not self._live():
            return
        now = time.perf_counter()
        if batch > 0 and now - self.last_draw < self.refresh_seconds and batch + 1 < self.steps:
            return
        self.last_draw = now
        eta = self._eta(batch, now)
        width = len(str(self.steps))
        self.stream.write(
            f"\r{batch + 1:>{width}}/{self.steps} {self._bar(batch + 1)} "
            f"- {eta} - "
            + " - ".join(f"{key}: {value:.4f}" for key, value in (logs or {}).items())
            + "\x1b[K"
        )
        self.stream.flush()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        elapsed = time.perf_counter() - self.epoch_start
        metrics = " - ".join(f"{key}: {value:.4f}" for key, value in (logs or {}).items())
        if self._live():
            width = len(str(self.steps))
            self.stream.write(
                f"\r{self.steps:>{width}}/{self.steps} {self._bar(self.steps)} "
                f"- {elapsed:.2f}s/epoch - {metrics}\x1b[K\n"
            )
        elif self.verbose in (1, 2):
            self.stream.write(f"Epoch {epoch + 1}/{self.epochs} - {elapsed:.2f}s - {metrics}\n")
        self.stream.flush()


def as_weights_copy(weights: Iterable[np.ndarray]) -> list[np.ndarray]:
    """Independent copies of a list of arrays (for snapshots)."""
    return [np.array(w, copy=True) for w in weights]
