"""Fashion-MNIST (Xiao, Rasul and Vollgraf, Zalando; MIT), like keras.datasets.fashion_mnist.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape
(60000, 28, 28) and (10000, 28, 28), and uint8 labels 0-9 of shape (60000,) and (10000,);
label ``k`` is ``CLASS_NAMES[k]``. Same format and file names as MNIST.

The files are searched as described in ``nn_core.datasets._files``: ``path``, then
``$NN_CORE_DATA`` (``$NN_CORE_DATA/fashion-mnist/`` first: ``$NN_CORE_DATA/`` itself
would also match MNIST files, which have the same names), then
``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist`` package), then
the user cache, then a download from Zalando's mirror (checked against the published md5).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._files import DatasetFiles, locate
from .mnist import load_image_label_files, read_spec_split

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

# The md5s published in the zalandoresearch/fashion-mnist README, checked on download only.
# Debian's dataset-fashion-mnist (0.0~git20200523.55506a9-1) ships the same deflate streams
# re-wrapped in a new 10-byte gzip header (no file name, mtime 2020-06-05), so its .gz files
# have other md5s while their content is identical: with the original header put back
# (FNAME = the name without .gz, mtime 2017-08-31 10:50:06/27 UTC) each one matches the
# published md5 below exactly. Locally found files are therefore not checked against these.
SPEC = DatasetFiles(
    name="fashion-mnist",
    filenames={
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    },
    md5={
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    mirrors=["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    system_dirs=[DEBIAN_DIR],
)


def load_data(
    path: str | os.PathLike | None = None, download: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``.

    Args:
        path: a directory holding the four files (``train-images-idx3-ubyte.gz``, ...,
            each may also be uncompressed, without ``.gz``). When given, only it is used.
        download: whether to download the official files into the cache when no local
            copy is found.

    Returns:
        x_train: (60000, 28, 28) uint8; y_train: (60000,) uint8 in 0..9;
        x_test: (10000, 28, 28) uint8; y_test: (10000,) uint8 in 0..9.
        Class names: ``CLASS_NAMES[y]``.

    Raises:
        FileNotFoundError: the files are nowhere to be found (the message lists where
            they were searched).
        DatasetFileError: a file is corrupt, or images and labels do not fit together.
    """
    return load_image_label_files(locate(SPEC, path=path, download=download))


def load_split(
    split: str, path: str | os.PathLike | None = None, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """One split of Fashion-MNIST, ``(x, y)``, reading (or downloading) only its two files.

    ``split``: "train" (60000 images) or "test" (10000); ``path`` and ``download`` as
    for ``load_data``.
    """
    return read_spec_split(SPEC, split, path, download)
