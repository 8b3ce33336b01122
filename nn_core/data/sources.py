"""How the training engine reads its batches: from arrays, memory maps or a data source.

Two sources with one interface, used by ``fit``, ``evaluate`` and ``predict``:

    len(source)          batches per epoch
    source[i]            (xs, ys): lists of float arrays of the model's dtype, checked
    source.end_epoch()   after each epoch (a new order; the Dataset's ``on_epoch_end``)

``ArrayBatches`` serves arrays. In-memory arrays were converted and checked whole by
``fit`` (as before); a ``np.memmap`` is only checked for dtype and shape up front, and
each batch gathered from it is cast to the model's dtype and checked for NaN/Inf on
arrival, so the file is never read whole at once nor copied. Both kinds take the very
same batch indices from ``ArrayDataset.batch_indices`` (the model's generator, drawn at
the epoch's first batch) and gather ``array[indices]``, and a cast commutes with a
gather, so memory-mapped data trains to bit-identical weights.

``DatasetBatches`` serves a user's ``Dataset``: each batch goes through the same checks
as a whole array given to ``fit`` (``TrainableModel._prepare_data``), named by its batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..validation import as_float_batch, check_batch_size, check_numeric_dtype
from .dataset import ArrayDataset, Dataset, take

if TYPE_CHECKING:
    from ..training import TrainableModel


def is_data_source(data: Any) -> bool:
    """Whether ``data`` is a data source: a ``Dataset``, or any object with ``__len__``,
    ``__getitem__`` and ``on_epoch_end`` (a Keras ``PyDataset`` / ``Sequence``)."""
    if isinstance(data, Dataset):
        return True
    if isinstance(data, (np.ndarray, list, tuple, dict)):
        return False
    kind = type(data)
    return all(hasattr(kind, name) for name in ("__len__", "__getitem__", "on_epoch_end"))


def is_memory_mapped(array: Any) -> bool:
    """Whether ``array`` is read from a file on demand (``np.memmap``, ``np.load(...,
    mmap_mode="r")``): such arrays are checked and converted batch by batch."""
    return isinstance(array, np.memmap)


def checked_memory_map(array: np.ndarray, argument: str) -> np.ndarray:
    """The checks of ``validation.checked_batch`` that do not read the data: dtype, a
    batch axis, at least one sample. NaN/Inf are looked for in each batch instead."""
    check_numeric_dtype(array, argument)
    if array.ndim < 2:
        raise ValueError(
            f"{argument} must be a batch of samples with shape (N, ...), got shape {array.shape}"
        )
    if len(array) == 0:
        raise ValueError(f"{argument} is empty (shape {array.shape})")
    return array


def prepared_array(array: Any, argument: str, dtype: Any) -> np.ndarray:
    """What ``fit`` keeps of a whole array: a memory map checked by
    ``checked_memory_map`` and left on disk, any other array converted and checked whole
    by ``validation.as_float_batch``."""
    if is_memory_mapped(array):
        return checked_memory_map(array, argument)
    return as_float_batch(array, argument, dtype)


def cast_batch(
    batch: np.ndarray,
    dtype: Any,
    argument: str,
    samples: slice | np.ndarray,
    batch_index: int,
) -> np.ndarray:
    """A gathered batch (B, ...) as a C-contiguous ``dtype`` array, refused if it holds
    NaN or Inf. ``samples``: the batch's sample indices in the whole array (an index
    array or a slice), to name the first bad one."""
    with np.errstate(over="ignore"):  # an overflow becomes Inf, reported below
        converted = np.ascontiguousarray(batch, dtype=dtype)
    if converted.dtype.kind == "f" and not np.isfinite(converted).all():
        rows = np.isfinite(converted.reshape(len(converted), -1)).all(axis=1)
        first = int(np.flatnonzero(~rows)[0])
        sample = samples.start + first if isinstance(samples, slice) else int(samples[first])
        cast = "" if batch.dtype == converted.dtype else f" (cast to {converted.dtype})"
        raise ValueError(
            f"{argument}{cast} contains NaN or Inf in batch {batch_index} (first at sample "
            f"{sample}); clean the data first"
        )
    return converted


class ArrayBatches:
    """Batches of prepared arrays ``xs``, ``ys`` (lists, N samples each).

    A target that is the very same array as an input (``fit(x, x)``) is gathered once
    and used for both (layers never write into their inputs). rng: the generator to
    shuffle with (the model's).
    """

    def __init__(
        self,
        xs: list[np.ndarray],
        ys: list[np.ndarray],
        batch_size: int,
        shuffle: bool,
        rng: np.random.Generator,
        dtype: Any,
        x_names: Iterable[str],
        y_names: Iterable[str],
    ) -> None:
        self.xs, self.ys = xs, ys
        self.dtype = dtype
        self.names = list(x_names) + list(y_names)
        self.order = ArrayDataset(xs, None, check_batch_size(batch_size), shuffle, rng)
        self.target_sources = [_index_of_same(array, xs) for array in ys]

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, batch_index):
        indices = self.order.batch_indices(batch_index)
        x_batches = [
            self._gather(array, indices, name, batch_index)
            for array, name in zip(self.xs, self.names)
        ]
        y_batches = [
            x_batches[source]
            if source is not None
            else self._gather(array, indices, name, batch_index)
            for source, array, name in zip(self.target_sources, self.ys, self.names[len(self.xs) :])
        ]
        return x_batches, y_batches

    def _gather(self, array, indices, name, batch_index):
        batch = take(array, indices)
        if is_memory_mapped(array):
            return cast_batch(batch, self.dtype, name, indices, batch_index)
        return batch  # converted and checked whole already

    def end_epoch(self) -> None:
        self.order.on_epoch_end()


class DatasetBatches:
    """The batches of a data source, each checked and converted by ``model._prepare_data``
    as a whole array would be. ``argument``: its name in messages ("x", "validation_data")."""

    def __init__(self, model: TrainableModel, dataset: Any, argument: str) -> None:
        self.model, self.dataset, self.argument = model, dataset, argument
        self.count = self.checked_length(dataset, argument)
        if not model.built:  # build from a batch before training starts
            peek = getattr(dataset, "peek", None)
            self._prepare(peek() if callable(peek) else dataset[0], 0)

    @staticmethod
    def checked_length(dataset: Any, argument: str) -> int:
        """``len(dataset)``, refused unless a positive integer."""
        try:
            count = len(dataset)
        except TypeError as error:
            raise ValueError(f"{argument}: the data source has no length: {error}") from None
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(
                f"{argument}: the data source must have at least one batch, but len() "
                f"returned {count!r}"
            )
        return int(count)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, batch_index):
        return self._prepare(self.dataset[batch_index], batch_index)

    def _prepare(self, item, batch_index):
        where = f"batch {batch_index} of {self.argument}"
        if not isinstance(item, tuple) or len(item) != 2:
            kind = f"a tuple of {len(item)}" if isinstance(item, tuple) else type(item).__name__
            raise ValueError(
                f"{where}: a data source for fit and evaluate must return (x, y) pairs, got "
                f"{kind}; an autoencoder's returns (x, x)"
            )
        x, y = item
        return self.model._prepare_data(x, y, f"x of {where}", f"y of {where}")

    def end_epoch(self) -> None:
        self.dataset.on_epoch_end()


def predict_inputs(item: Any) -> Any:
    """The inputs of a data source's batch for ``predict``: x of an (x, y) pair, else it."""
    if isinstance(item, tuple) and len(item) in (1, 2):
        return item[0]
    return item


def _index_of_same(array, arrays):
    for index, candidate in enumerate(arrays):
        if candidate is array:
            return index
    return None
