"""Datasets for the command-line tool, and image grids written as PNG.

``load_dataset(spec)`` takes what the user typed after ``--dataset``:

* ``mnist`` or ``fashion-mnist``: the ``nn_core.datasets`` copies (local files first);
  ``split`` picks the 60000 training or the 10000 test images, with their labels;
* a folder of PNG images: every ``*.png`` in it, sorted by file name, all of one size
  (greyscale, RGB, RGBA or palette; alpha is dropped, and the images become RGB as soon
  as one of them is in colour);
* one ``.png`` file;
* a ``.npy`` file of uint8 pixels 0-255 or floats in [0, 1], shaped (N, H, W) greyscale,
  (N, H, W, C) with C 1 or 3, or (N, D) flat vectors (as square greyscale images when D
  is a square, else square RGB when D / 3 is, else rows one pixel high). Read without
  pickle.

Every dataset is returned as float32 images (N, H, W, C) in [0, 1].
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

import nn_core as nn

from .. import imageio
from .common import USAGE_ERROR, CliError, did_you_mean

NAMED_DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


@dataclass
class Dataset:
    """images: float32 (N, H, W, C) in [0, 1]; labels: (N,) ints or None; names: N short
    names for output files; source: where it came from, for messages."""

    images: np.ndarray
    labels: np.ndarray | None
    names: list[str]
    source: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def take(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        indices = np.asarray(indices, dtype=int)
        return Dataset(
            self.images[indices],
            None if self.labels is None else self.labels[indices],
            [self.names[i] for i in indices],
            self.source,
        )


def load_dataset(spec: str, split: str = "test", limit: int | None = None) -> Dataset:
    """The dataset named or pointed to by ``spec`` (see the module docstring).

    split: "train" or "test", for the named datasets only. limit: keep the first
    ``limit`` images. Raises CliError: exit 2 for an unknown dataset name, 1 for a
    missing or unreadable file.
    """
    key = spec.lower().replace("_", "-")
    if key in NAMED_DATASETS and not os.path.exists(spec):
        dataset = _load_named(key, split)
    elif os.path.isdir(spec):
        dataset = _load_folder(spec)
    elif os.path.isfile(spec):
        if spec.lower().endswith(".npy"):
            dataset = _load_npy(spec)
        elif spec.lower().endswith(".png"):
            dataset = Dataset(
                _to_float_image(_read_png(spec))[None],
                None,
                [_stem(spec)],
                spec,
            )
        else:
            raise CliError(
                f"cannot read {spec!r} as a dataset: give a .npy file, a .png file or a folder "
                "of .png images"
            )
    elif os.sep in spec or "." in os.path.basename(spec):
        raise CliError(f"no such file or folder: {spec!r}")
    else:
        raise CliError(
            f"unknown dataset {spec!r}{did_you_mean(key, NAMED_DATASETS)}; give mnist, "
            "fashion-mnist, a folder of .png images, a .png file or a .npy file",
            USAGE_ERROR,
        )
    if limit is not None:
        dataset = dataset.take(np.arange(min(limit, len(dataset.images))))
    return dataset


def _load_named(key: str, split: str) -> Dataset:
    module = nn.datasets.mnist if key == "mnist" else nn.datasets.fashion_mnist
    try:
        images, labels = module.load_split(split)  # only that split's files
    except (FileNotFoundError, nn.datasets.DatasetFileError) as error:
        raise CliError(f"cannot load {NAMED_DATASETS[key]}: {error}") from None
    return Dataset(
        images[:, :, :, None].astype(np.float32) / 255,
        labels.astype(np.int64),
        [f"{split}_{i:05d}" for i in range(len(images))],
        f"{NAMED_DATASETS[key]} ({split} split)",
    )


def _load_folder(folder: str) -> Dataset:
    files = sorted(name for name in os.listdir(folder) if name.lower().endswith(".png"))
    if not files:
        raise CliError(f"the folder {folder!r} holds no .png images")
    pixels = [_read_png(os.path.join(folder, name)) for name in files]
    colour = any(image.ndim == 3 and image.shape[2] >= 3 for image in pixels)
    images = [_channels(image, 3 if colour else 1) for image in pixels]
    for name, image in zip(files, images):
        if image.shape[:2] != images[0].shape[:2]:
            raise CliError(
                f"the images in {folder!r} must all have the same size: {files[0]} is "
                f"{_size(images[0])}, {name} is {_size(image)}"
            )
    return Dataset(
        np.stack(images).astype(np.float32) / 255, None, [_stem(name) for name in files], folder
    )


def _load_npy(path: str) -> Dataset:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise CliError(f"cannot read {path!r} as a .npy array: {error}") from None
    if not isinstance(array, np.ndarray):
        raise CliError(f"{path!r} is not a single .npy array")
    if array.ndim == 2:
        array = array.reshape(len(array), *flat_image_shape(array.shape[1]))
    elif array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[3] not in (1, 3) or 0 in array.shape:
        raise CliError(
            f"{path!r} has shape {array.shape}; expected (N, H, W) greyscale images, "
            "(N, H, W, C) with C = 1 or 3, or (N, D) flat vectors"
        )
    if array.dtype.kind in "iub":
        if array.min() < 0 or array.max() > 255:
            raise CliError(
                f"{path!r} holds integers from {array.min()} to {array.max()}; expected "
                "pixels 0-255 (uint8) or floats in [0, 1]"
            )
        images = array.astype(np.float32) / 255
    elif array.dtype.kind == "f":
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise CliError(
                f"{path!r} holds floats from {np.nanmin(array):.4g} to {np.nanmax(array):.4g}; "
                "expected floats in [0, 1] (divide 0-255 pixels by 255) or uint8 0-255"
            )
        images = array.astype(np.float32)
    else:
        raise CliError(f"{path!r} has dtype {array.dtype}; expected uint8 or float pixels")
    return Dataset(images, None, [f"{i:05d}" for i in range(len(images))], path)


def flat_image_shape(size: int) -> tuple[int, int, int]:
    """How to show a flat vector of ``size`` values: square greyscale (784 -> 28x28), else
    square RGB (3072 -> 32x32x3), else one row of pixels."""
    side = math.isqrt(size)
    if side * side == size:
        return (side, side, 1)
    side = math.isqrt(size // 3)
    if size % 3 == 0 and 3 * side * side == size:
        return (side, side, 3)
    return (1, size, 1)


def _read_png(path: str) -> np.ndarray:
    try:
        return imageio.read_png(path)
    except imageio.PNGError as error:
        raise CliError(str(error)) from None


def _channels(image: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (H, W, channels) from a read PNG (H, W) / (H, W, 2|3|4); alpha dropped."""
    if image.ndim == 2:
        image = image[:, :, None]
    image = image[:, :, :1] if image.shape[2] in (1, 2) else image[:, :, :3]
    return np.repeat(image, channels // image.shape[2], axis=2) if channels == 3 else image


def _to_float_image(image: np.ndarray) -> np.ndarray:
    colour = image.ndim == 3 and image.shape[2] >= 3
    return _channels(image, 3 if colour else 1).astype(np.float32) / 255


def _size(image) -> str:
    return f"{image.shape[1]}x{image.shape[0]}"


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


# ---------------------------------------------------------------------------- pictures
def as_images(x: np.ndarray, image_shape: Sequence[int]) -> np.ndarray:
    """Model outputs (N, ...) as images (N, H, W, C) in [0, 1] for ``image_shape``."""
    return np.clip(np.asarray(x, dtype=np.float32).reshape(len(x), *image_shape), 0, 1)


def image_grid(
    rows: Sequence[np.ndarray], scale: int | None = None, gap: int = 2, background: float = 0.5
) -> np.ndarray:
    """One picture of rows of images, e.g. originals above reconstructions.

    rows: a list of arrays (n_r, H, W, C) in [0, 1], all of one (H, W, C); shorter rows
    are left blank at the end. scale: nearest-neighbour enlargement (default: enough to
    make a 28-pixel digit about 56 pixels). gap: pixels between images, in ``background``
    grey. Returns float32 (rows * (H + gap) + gap, ...) with C channels, for ``write_png``.
    """
    rows = [np.asarray(row, dtype=np.float32) for row in rows]
    height, width, channels = rows[0].shape[1:]
    if scale is None:
        scale = max(1, min(4, 56 // max(height, 1)))
    columns = max(len(row) for row in rows)
    cell_h, cell_w = height * scale, width * scale
    grid = np.full(
        (len(rows) * (cell_h + gap) + gap, columns * (cell_w + gap) + gap, channels),
        background,
        np.float32,
    )
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            big = image.repeat(scale, axis=0).repeat(scale, axis=1)
            top, left = gap + r * (cell_h + gap), gap + c * (cell_w + gap)
            grid[top : top + cell_h, left : left + cell_w] = big
    return grid


def write_grid(path: str, rows: Sequence[np.ndarray], scale: int | None = None) -> str:
    """``image_grid(rows)`` written as a PNG at ``path``; returns the path."""
    try:
        return imageio.write_png(path, image_grid(rows, scale))
    except OSError as error:
        raise CliError(f"cannot write {path!r}: {error}") from None
