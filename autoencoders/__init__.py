"""Autoencoders built as thin compositions of ``nn_core`` layers.

``classic`` reproduces the first example of the Keras blog post "Building
Autoencoders in Keras" (F. Chollet, 2016): a 784-32-784 dense autoencoder on MNIST.
"""

from .classic import build_classic_autoencoder, load_mnist_flat, train_classic

__all__ = ["build_classic_autoencoder", "load_mnist_flat", "train_classic"]
