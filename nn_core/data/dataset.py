"""Data sources for ``fit``, ``evaluate`` and ``predict``: batches read on demand.

A data source is what Keras calls a ``PyDataset`` (formerly ``keras.utils.Sequence``):

    len(dataset)              number of batches in one epoch
    dataset[batch_index]      (x_batch, y_batch); x and y each an array (B, ...), or a list
                              or dict of them for a model with several inputs / outputs
    dataset.on_epoch_end()    called by ``fit`` after each epoch (reshuffle here)

``fit`` asks for batches 0, 1, ..., len - 1 in that order every epoch and ignores its own
``shuffle`` argument (as Keras does for a PyDataset): the source decides the order.
``predict`` accepts batches that are x alone. Each batch is checked when it arrives
(dtype, shape, NaN/Inf) and errors name the batch.

``ArrayDataset`` serves batches of arrays, or of ``np.memmap`` arrays read batch by
batch; ``fit`` uses the same batching for the arrays it is given, so a model trained
on ``ArrayDataset(x, y, batch_size, shuffle=True, seed=model.rng)`` ends with exactly
the weights of ``model.fit(x, y, batch_size=batch_size, shuffle=True)``.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import numpy as np

# x or y: an array, or a list / tuple / dict of arrays (several inputs or outputs)
_Arrays: TypeAlias = np.ndarray | list[np.ndarray] | tuple[np.ndarray, ...] | dict[str, np.ndarray]


class Dataset:
    """Base class of data sources: subclass it and define ``__len__`` and ``__getitem__``.

    Subclassing is optional (``fit`` takes any object with ``__len__`` and
    ``__getitem__``), but it says what the object is and provides ``on_epoch_end``.
    """

    def __len__(self) -> int:  # pragma: no cover - subclasses define it
        raise NotImplementedError("a Dataset defines __len__: the number of batches")

    def __getitem__(self, batch_index: int):  # pragma: no cover - subclasses define it
        raise NotImplementedError("a Dataset defines __getitem__(batch_index) -> (x, y)")

    def on_epoch_end(self) -> None:
        """Called by ``fit`` after every epoch; does nothing unless overridden."""

    def peek(self) -> Any:
        """A batch that shows the data's shapes, for building an unbuilt model before
        training starts; default ``self[0]``. Override it when ``self[0]`` has a side
        effect (``ArrayDataset`` returns its first samples without drawing an order)."""
        return self[0]


class ArrayDataset(Dataset):
    """Batches of ``x`` (N, ...) and ``y`` (N, ...), arrays in memory or memory-mapped.

    x, y: arrays, or lists / dicts of arrays (several inputs / outputs), all of N
    samples. ``y=None``: the targets are the inputs (an autoencoder): each batch is
    ``(x_batch, x_batch)``, the very same array. Batches are gathered as
    ``x[indices]``, so a ``np.memmap`` (or ``np.load(path, mmap_mode="r")``) is read one
    batch at a time and never copied whole; they are returned in the arrays' dtype
    (``fit`` converts and checks each one).

    batch_size: samples per batch (default 32, as ``fit``); the last batch holds the
    rest. shuffle: a new random order of the samples every epoch (default True, as
    ``fit``); the order is drawn when the epoch's first batch is asked for. seed: an int
    or a ``np.random.Generator`` to draw the orders from (default None: a fresh one).
    Pass ``seed=model.rng`` to shuffle exactly as ``model.fit(x, y, shuffle=True)`` does
    and to have ``BackupAndRestore`` resume the order too; an int seed gives the same
    orders on every run, but a resumed run starts its generator afresh.
    """

    def __init__(
        self,
        x: _Arrays,
        y: _Arrays | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(
                f"ArrayDataset: batch_size must be a positive integer, got {batch_size!r}"
            )
        self.x, self.y = x, y
        arrays = _leaves(x, "x") + ([] if y is None else _leaves(y, "y"))
        self.size = len(arrays[0][1])
        for name, array in arrays:
            if np.ndim(array) < 1 or len(array) != self.size:
                raise ValueError(
                    f"ArrayDataset: {name} must hold {self.size} samples (as "
                    f"{arrays[0][0]}), got shape {np.shape(array)}"
                )
        if self.size == 0:
            raise ValueError(f"ArrayDataset: {arrays[0][0]} holds no samples")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.rng = np.random.default_rng(seed)  # a Generator passes through as it is
        self._order: np.ndarray | None = None

    def __len__(self) -> int:
        return math.ceil(self.size / self.batch_size)

    def __getitem__(self, batch_index):
        indices = self.batch_indices(batch_index)
        x_batch = _gather(self.x, indices)
        return x_batch, x_batch if self.y is None else _gather(self.y, indices)

    def batch_indices(self, batch_index: int) -> slice | np.ndarray:
        """The samples of batch ``batch_index``: an index array, or a slice unshuffled."""
        if isinstance(batch_index, bool) or not isinstance(batch_index, (int, np.integer)):
            raise TypeError(f"ArrayDataset: batch index must be an integer, got {batch_index!r}")
        if not 0 <= batch_index < len(self):
            raise IndexError(f"ArrayDataset: batch {batch_index} of {len(self)}")
        start = int(batch_index) * self.batch_size
        if not self.shuffle:
            return slice(start, start + self.batch_size)
        if self._order is None:
            self._order = self.rng.permutation(self.size)
        return self._order[start : start + self.batch_size]

    def on_epoch_end(self) -> None:
        self._order = None  # the next epoch draws a new order

    def peek(self) -> tuple[Any, Any]:
        x_batch = _gather(self.x, slice(0, self.batch_size))
        return x_batch, x_batch if self.y is None else _gather(self.y, slice(0, self.batch_size))


def _leaves(data, name):
    """[(name, array)] of an array, a list or a dict of arrays."""
    if isinstance(data, dict):
        return [(f"{name}[{key!r}]", value) for key, value in data.items()]
    if isinstance(data, (list, tuple)):
        return [(f"{name}[{i}]", value) for i, value in enumerate(data)]
    if data is None:
        raise ValueError(f"ArrayDataset: {name} is required, got None")
    return [(name, data)]


def _gather(data, indices):
    if isinstance(data, dict):
        return {key: take(value, indices) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [take(value, indices) for value in data]
    return take(data, indices)


def take(array: np.ndarray, indices: slice | np.ndarray) -> np.ndarray:
    """``array[indices]`` as a plain ndarray; a ``np.memmap`` reads only those samples."""
    if isinstance(array, np.memmap):
        array = array.view(np.ndarray)  # its rows, not a memmap object of a copy
    return array[indices]
