"""The Keras blog's dense, deep and conv autoencoders as nn_core Sequentials, with random
non-zero weights, shared by the weight-file and interop tests."""

import numpy as np

import nn_core as nn

L = nn.layers


def dense_layers():
    return [L.Dense(32, activation="relu"), L.Dense(784, activation="sigmoid")]


def deep_layers():
    sizes = [(128, "relu"), (64, "relu"), (32, "relu"), (64, "relu"), (128, "relu")]
    return [L.Dense(units, activation=a) for units, a in sizes] + [
        L.Dense(784, activation="sigmoid")
    ]


def conv_layers():
    """Conv 16-8-8 with 'same' max-pools (the last 7 -> 4), then the decoder with
    UpSampling2D and the 'valid' Conv2D 16 that takes 16x16 to 14x14."""

    def conv(filters, padding="same", activation="relu"):
        return L.Conv2D(filters, (3, 3), activation=activation, padding=padding)

    return [
        conv(16), L.MaxPooling2D((2, 2), padding="same"),
        conv(8), L.MaxPooling2D((2, 2), padding="same"),
        conv(8), L.MaxPooling2D((2, 2), padding="same"),
        conv(8), L.UpSampling2D((2, 2)),
        conv(8), L.UpSampling2D((2, 2)),
        conv(16, padding="valid"), L.UpSampling2D((2, 2)),
        conv(1, activation="sigmoid"),
    ]  # fmt: skip


BLOG = {
    "dense": (dense_layers, (784,)),
    "deep": (deep_layers, (784,)),
    "conv": (conv_layers, (28, 28, 1)),
}


def randomize(model, seed):
    """Random non-zero biases and BatchNorm statistics (kernels keep their Glorot draw)."""
    rng = np.random.default_rng(seed)
    for layer in model.leaf_layers():
        for key, array in {**layer.params, **layer.buffers}.items():
            if key == "moving_variance":
                array[...] = rng.uniform(0.5, 2.0, array.shape)
            elif key in ("bias", "beta", "moving_mean"):
                array[...] = rng.normal(0.0, 0.2, array.shape)
            elif key == "gamma":
                array[...] = rng.uniform(0.5, 1.5, array.shape)
    return model


def blog_model(name, seed=0, dtype="float32"):
    make, shape = BLOG[name]
    model = nn.Sequential(make(), seed=seed)
    model.build(shape, dtype)
    return randomize(model, seed + 100)


def images(shape, count=4, seed=1):
    return np.random.default_rng(seed).random((count, *shape)).astype(np.float32)
