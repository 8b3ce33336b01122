"""Exceptions nn_core raises beyond the built-in ValueError and FileNotFoundError."""


class TrainingDivergedError(FloatingPointError):
    """The loss or a gradient became NaN or infinite during ``fit``.

    Raised before the bad step is applied, so the model keeps its last finite weights.
    """


class ModelFileError(ValueError):
    """A saved model or checkpoint file is truncated, corrupted, foreign or inconsistent."""
