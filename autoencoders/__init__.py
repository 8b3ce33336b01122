"""Autoencoders built as thin compositions of ``nn_core`` layers.

``classic`` reproduces the first example of the Keras blog post "Building
Autoencoders in Keras" (F. Chollet, 2016): a 784-32-784 dense autoencoder on MNIST.
The family, each with ``.encoder``, ``.decoder`` (sharing the whole's layers),
``encode``, ``decode``, ``predict``, ``fit``, ``save`` / ``load`` (see ``base``):
``DenseAutoencoder``, ``DeepAutoencoder``, ``ConvAutoencoder``, ``SparseAutoencoder``,
``DenoisingAutoencoder``, ``ConvDenoisingAutoencoder``, ``ContractiveAutoencoder``,
``VariationalAutoencoder``; and ``PCA``, the linear baseline.
"""

from .base import Autoencoder
from .classic import build_classic_autoencoder, load_mnist_flat, train_classic
from .contractive import ContractiveAutoencoder
from .conv import ConvAutoencoder
from .deep import DeepAutoencoder
from .denoising import ConvDenoisingAutoencoder, DenoisingAutoencoder
from .dense import DenseAutoencoder
from .pca import PCA
from .sparse import SparseAutoencoder
from .variational import VariationalAutoencoder

__all__ = [
    "PCA",
    "Autoencoder",
    "ContractiveAutoencoder",
    "ConvAutoencoder",
    "ConvDenoisingAutoencoder",
    "DeepAutoencoder",
    "DenoisingAutoencoder",
    "DenseAutoencoder",
    "SparseAutoencoder",
    "VariationalAutoencoder",
    "build_classic_autoencoder",
    "load_mnist_flat",
    "train_classic",
]
