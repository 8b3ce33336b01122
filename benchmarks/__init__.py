"""Benchmarks: kernels, training speed against PyTorch, and the Keras-blog results."""
