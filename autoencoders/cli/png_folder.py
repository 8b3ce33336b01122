"""A folder of PNG images read batch by batch, for ``autoencoders train --dataset FOLDER``.

``PNGFolder.scan(folder)`` reads only each file's 26-byte header (size and colour type),
so a folder of 10^6 images is never loaded whole; ``folder.batches(...)`` is an
``nn.data.Dataset`` whose ``__getitem__`` decodes the PNGs of one batch. The images are
what ``data.load_dataset`` would give (sorted by file name, alpha dropped, RGB as soon as
one image is in colour, float32 in [0, 1]), and with ``seed=model.rng`` the batches come
in the order ``fit`` would shuffle the loaded array into: training streamed from the
folder ends with the weights of training on the folder in memory.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

import nn_core as nn

from .. import imageio
from .common import CliError, psnr
from .data import _channels, _read_png, _size

if TYPE_CHECKING:
    from ..base import Autoencoder

_GREY_COLOUR_TYPES = (0, 4)  # greyscale, greyscale + alpha; 2, 3, 6 become RGB


class PNGFolder:
    """The PNG files of a folder: ``paths`` (sorted by name) and ``image_shape`` (H, W, C)."""

    def __init__(self, folder: str, paths: list[str], image_shape: Sequence[int]):
        self.folder, self.paths, self.image_shape = folder, paths, tuple(image_shape)

    @classmethod
    def scan(cls, folder: str, limit: int | None = None) -> PNGFolder:
        """The first ``limit`` (default all) ``*.png`` of ``folder``, from their headers;
        CliError when there is none or their sizes differ (as ``load_dataset``)."""
        names = sorted(name for name in os.listdir(folder) if name.lower().endswith(".png"))
        if not names:
            raise CliError(f"the folder {folder!r} holds no .png images")
        names = names[:limit] if limit is not None else names
        paths = [os.path.join(folder, name) for name in names]
        headers = [_header(path) for path in paths]
        (width, height, _), colour = headers[0], False
        for name, (other_width, other_height, colour_type) in zip(names, headers):
            if (other_width, other_height) != (width, height):
                raise CliError(
                    f"the images in {folder!r} must all have the same size: {names[0]} is "
                    f"{width}x{height}, {name} is {other_width}x{other_height}"
                )
            colour = colour or colour_type not in _GREY_COLOUR_TYPES
        return cls(folder, paths, (height, width, 3 if colour else 1))

    def __len__(self) -> int:
        return len(self.paths)

    def batches(
        self,
        start: int,
        stop: int,
        batch_size: int,
        sample_shape: Sequence[int],
        shuffle: bool,
        seed: int | np.random.Generator | None = None,
    ) -> PNGBatches:
        """An ``nn.data.Dataset`` of images ``start:stop``, each batch (x, x) with x
        float32 (B, *sample_shape) (the image shape, or flat (H*W*C,) for dense models)."""
        return PNGBatches(
            self.paths[start:stop], self.image_shape, sample_shape, batch_size, shuffle, seed
        )


class PNGBatches(nn.data.Dataset):
    """Batches of decoded PNG files, shuffled as ``nn.data.ArrayDataset`` shuffles (its
    ``batch_size``, ``shuffle`` and ``seed`` mean the same)."""

    def __init__(
        self,
        paths: Iterable[str],
        image_shape: Sequence[int],
        sample_shape: Sequence[int],
        batch_size: int,
        shuffle: bool,
        seed: int | np.random.Generator | None = None,
    ):
        self.paths, self.image_shape = list(paths), tuple(image_shape)
        self.sample_shape = tuple(sample_shape)
        self.order = nn.data.ArrayDataset(
            np.arange(len(self.paths)), None, batch_size, shuffle, seed
        )

    def __len__(self) -> int:
        return len(self.order)

    @property
    def size(self) -> int:
        """Images in all the batches together."""
        return len(self.paths)

    def __getitem__(self, batch_index):
        return self._decode(self.order[batch_index][0])

    def peek(self) -> tuple[np.ndarray, np.ndarray]:
        return self._decode(np.arange(min(len(self.paths), self.order.batch_size)))

    def on_epoch_end(self) -> None:
        self.order.on_epoch_end()

    def _decode(self, indices: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        images = []
        for index in indices:
            image = _channels(_read_png(self.paths[index]), self.image_shape[2])
            if image.shape != self.image_shape:  # the file changed since the scan
                raise CliError(
                    f"{self.paths[index]} is {_size(image)}, the other images "
                    f"{self.image_shape[1]}x{self.image_shape[0]}"
                )
            images.append(image)
        x = (np.stack(images).astype(np.float32) / 255).reshape(len(images), *self.sample_shape)
        return x, x


def streamed_metrics(model: Autoencoder, batches: nn.data.Dataset) -> dict[str, float]:
    """``common.reconstruction_metrics`` over the batches of a source, one at a time:
    {"mse": over every pixel, "psnr_db": the mean of the per-image PSNRs}."""
    squared, pixels, psnr_sum, images = 0.0, 0, 0.0, 0
    for index in range(len(batches)):
        x, _ = batches[index]
        reconstructed = model.predict(x)
        difference = (x.reshape(len(x), -1) - reconstructed.reshape(len(x), -1)).astype(np.float64)
        squared += float(np.sum(difference**2))
        pixels += difference.size
        psnr_sum += float(np.sum(psnr(x, reconstructed)))
        images += len(x)
    return {"mse": squared / pixels, "psnr_db": psnr_sum / images}


def _header(path: str) -> tuple[int, int, int]:
    """(width, height, colour type) from a PNG's IHDR chunk, without decoding it."""
    with open(path, "rb") as file:
        head = file.read(26)
    if len(head) < 26 or head[:8] != imageio.SIGNATURE or head[12:16] != b"IHDR":
        _read_png(path)  # raises the reader's CliError naming what is wrong
        raise CliError(f"{path}: not a PNG file with an IHDR header")  # pragma: no cover
    width, height = struct.unpack(">II", head[16:24])
    return width, height, head[25]
