"""MNIST handwritten digits (LeCun, Cortes and Burges; CC BY-SA 3.0), like keras.datasets.mnist.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
(60000, 28, 28) and (10000, 28, 28), 0 = background and 255 = ink, and uint8 labels 0-9
of shape (60000,) and (10000,).

The files are searched as described in ``nn_core.datasets._files``: ``path``, then
``$NN_CORE_DATA``, then the copy shipped in ``nn_core/datasets/data/mnist/``, then the
user cache, then a download from the official mirrors (checked against the published
md5). In practice the shipped copy is found, and no network is used.

About the shipped copy (see its README.md; ``sha256sum -c SHA256SUMS`` checks it): the
two label files and the test images are the official files (their md5 equals the
published one). ``train-images-idx3-ubyte.gz`` is a faithful reconstruction, NOT the
official file: it was rebuilt from a PNG rendering of MNIST, and about 2.8% of its
pixels are off by one gray level (out of 255). Labels and image order are exact. It is
fine for training; for byte-exact MNIST, put the official files in ``$NN_CORE_DATA/mnist/``
or pass ``path=``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._files import DatasetFiles, locate
from .idx import DatasetFileError, load_idx

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10

SPEC = DatasetFiles(
    name="mnist",
    filenames={
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    },
    md5={
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    mirrors=[
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
)


def load_data(
    path: str | os.PathLike | None = None, download: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, like keras.datasets.mnist.

    Args:
        path: a directory holding the four files (``train-images-idx3-ubyte.gz``, ...,
            each may also be uncompressed, without ``.gz``). When given, only it is used.
            Keras's ``path`` is a file name inside its cache; ours is a directory.
        download: whether to download the official files into the cache when no local
            copy is found.

    Returns:
        x_train: (60000, 28, 28) uint8; y_train: (60000,) uint8 in 0..9;
        x_test: (10000, 28, 28) uint8; y_test: (10000,) uint8 in 0..9.

    Raises:
        FileNotFoundError: the files are nowhere to be found (the message lists where
            they were searched).
        DatasetFileError: a file is corrupt, or images and labels do not fit together.
    """
    return load_image_label_files(locate(SPEC, path=path, download=download))


def load_split(
    split: str, path: str | os.PathLike | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """One split of MNIST, ``(x, y)``, reading (or downloading) only that split's two files.

    ``split``: "train" (60000 images) or "test" (10000); ``path`` and ``download`` as
    for ``load_data``.
    """
    return read_spec_split(SPEC, split, path, download)


def load_image_label_files(
    files: dict[str, Path],
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read the four files of an MNIST-format dataset and check that they fit together.

    Shared with Fashion-MNIST, which uses the same format.

    Args:
        files: role -> path, for train_images, train_labels, test_images, test_labels.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28), uint8 labels
        (N,) in 0..9. The sizes N are checked for agreement, not against 60000/10000.

    Raises:
        DatasetFileError: naming the file, when images are not (N, 28, 28) uint8, labels
            are not (N,) uint8 in 0..9, or a split's image and label counts differ.
    """
    return read_split(files, "train"), read_split(files, "test")


def read_split(files: dict[str, Path], split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of one split ("train" or "test") from its two files, checked."""
    images_path, labels_path = files[f"{split}_images"], files[f"{split}_labels"]
    images, labels = load_idx(images_path), load_idx(labels_path)
    _check_images(images, images_path)
    _check_labels(labels, labels_path)
    if len(images) != len(labels):
        raise DatasetFileError(
            f"{images_path}: holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; the two files must come from the same split"
        )
    return images, labels


def read_spec_split(
    spec: DatasetFiles, split: str, path: str | os.PathLike | None, download: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``load_split`` for any MNIST-format dataset ``spec``: locate its two files, read them."""
    files = locate(spec, path=path, download=download, roles=split_roles(split))
    return read_split(files, split)


def split_roles(split: str) -> tuple[str, str]:
    """The two file roles of ``split``; ValueError for anything but "train" or "test"."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return f"{split}_images", f"{split}_labels"


def _check_images(images: np.ndarray, path: Path) -> None:
    expected = f"(N, {IMAGE_SHAPE[0]}, {IMAGE_SHAPE[1]}) uint8"
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE or images.dtype != np.uint8:
        raise DatasetFileError(
            f"{path}: expected images of shape {expected}, got shape {images.shape} "
            f"{images.dtype.name} (is it an images file?)"
        )


def _check_labels(labels: np.ndarray, path: Path) -> None:
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetFileError(
            f"{path}: expected labels of shape (N,) uint8, got shape {labels.shape} "
            f"{labels.dtype.name} (is it a labels file?)"
        )
    out_of_range = np.flatnonzero(labels >= NUM_CLASSES)
    if out_of_range.size:
        index = out_of_range[0]
        raise DatasetFileError(
            f"{path}: labels must be 0..{NUM_CLASSES - 1}, found {labels[index]} at index {index}"
        )
