"""Keras's ``keras.callbacks``. ``TensorBoard`` is not available: constructing it raises,
saying what to use instead (the History that ``fit`` returns, or ``CSVLogger``-style
logging from a ``Callback`` of your own)."""

from __future__ import annotations

from typing import Any

from ..callbacks import (
    BackupAndRestore,
    Callback,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
)


class TensorBoard(Callback):
    """Refused: nn_core writes no TensorBoard event files."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise TypeError(
            "nn_core.keras.callbacks.TensorBoard is not supported: nn_core writes no "
            "TensorBoard event files. Read the losses from the History that fit returns "
            "(history.history['loss'], ['val_loss']) or log them from a Callback's "
            "on_epoch_end"
        )


__all__ = [
    "BackupAndRestore",
    "Callback",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "TensorBoard",
]
