"""Training parity with PyTorch: same initial weights, batches and optimizer settings
give the same loss per epoch (about 1e-4 relative in float32, far tighter in float64).

Skipped cleanly when torch is not installed (``pip install torch==2.13.0``).
"""

import numpy as np
import pytest

import nn_core as nn

torch = pytest.importorskip("torch")

EPOCHS = 3
BATCH_SIZE = 128


@pytest.fixture(scope="module")
def mnist_slice():
    (x_train, _), _ = nn.datasets.mnist.load_data()
    return x_train[:1000].reshape(1000, -1) / 255.0


def _torch_dense_stack(model, dtype):
    """A torch nn.Sequential with the same Dense layers, weights and activations."""
    modules = []
    for layer in model.leaf_layers():
        linear = torch.nn.Linear(layer.input_shape[0], layer.units).to(dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.params["kernel"].T.copy()))
            linear.bias.copy_(torch.from_numpy(layer.params["bias"].copy()))
        modules.append(linear)
        activation = type(layer.activation).__name__
        if activation == "ReLU":
            modules.append(torch.nn.ReLU())
    # The final sigmoid is folded into BCEWithLogitsLoss, as nn_core folds it too.
    return torch.nn.Sequential(*modules)


def _train_torch(torch_model, optimizer, x, epochs, batch_size, dtype):
    loss_function = torch.nn.BCEWithLogitsLoss()
    data = torch.from_numpy(x.astype(dtype))
    epoch_losses = []
    for _ in range(epochs):
        total = 0.0
        for start in range(0, len(data), batch_size):
            batch = data[start : start + batch_size]
            optimizer.zero_grad()
            loss = loss_function(torch_model(batch), batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        epoch_losses.append(total / len(data))
    return epoch_losses


OPTIMIZER_PAIRS = {
    "adadelta": (
        lambda: nn.optimizers.Adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-7),
        lambda params: torch.optim.Adadelta(params, lr=1.0, rho=0.95, eps=1e-7),
    ),
    "adam": (
        lambda: nn.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7),
        lambda params: torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7),
    ),
    "sgd_nesterov": (
        lambda: nn.optimizers.SGD(learning_rate=0.5, momentum=0.9, nesterov=True),
        lambda params: torch.optim.SGD(params, lr=0.5, momentum=0.9, nesterov=True),
    ),
    "rmsprop": (
        lambda: nn.optimizers.RMSprop(learning_rate=1e-3, epsilon=1e-7),
        lambda params: torch.optim.RMSprop(params, lr=1e-3, alpha=0.9, eps=1e-7),
    ),
}


def _dense_autoencoder(hidden_sizes, seed, dtype):
    sizes = [*hidden_sizes, 784]
    layers = [nn.layers.Dense(size, activation="relu") for size in sizes[:-1]]
    layers.append(nn.layers.Dense(784, activation="sigmoid"))
    model = nn.Sequential(layers, seed=seed)
    model.build((784,), dtype=dtype)
    return model


@pytest.mark.parametrize(
    "dtype, tolerance", [("float64", 1e-9), ("float32", 1e-4)], ids=["float64", "float32"]
)
@pytest.mark.parametrize(
    "hidden_sizes, optimizer_name",
    [
        ((32,), "adadelta"),
        ((128, 64, 32, 64, 128), "adam"),
        ((32,), "sgd_nesterov"),
        ((32,), "rmsprop"),
    ],
    ids=["classic-adadelta", "deep-adam", "classic-sgd-nesterov", "classic-rmsprop"],
)
def test_epoch_losses_match_pytorch(mnist_slice, hidden_sizes, optimizer_name, dtype, tolerance):
    ours_optimizer, torch_optimizer = OPTIMIZER_PAIRS[optimizer_name]
    model = _dense_autoencoder(hidden_sizes, seed=3, dtype=dtype)
    torch_dtype = getattr(torch, dtype)
    torch_model = _torch_dense_stack(model, torch_dtype)
    torch_losses = _train_torch(
        torch_model,
        torch_optimizer(torch_model.parameters()),
        mnist_slice,
        EPOCHS,
        BATCH_SIZE,
        dtype,
    )

    model.compile(optimizer=ours_optimizer(), loss="binary_crossentropy")
    x = mnist_slice.astype(dtype)
    history = model.fit(x, x, epochs=EPOCHS, batch_size=BATCH_SIZE, shuffle=False, verbose=0)

    np.testing.assert_allclose(history.history["loss"], torch_losses, rtol=tolerance)
    # The trained weights agree too, not only the losses.
    final_torch_kernel = torch_model[0].weight.detach().numpy().T
    np.testing.assert_allclose(
        model.get_weights()[0], final_torch_kernel, rtol=0, atol=100 * tolerance
    )


def _keras_blog_conv_autoencoder(seed, dtype):
    L = nn.layers
    model = nn.Sequential(
        [
            L.Conv2D(16, 3, activation="relu", padding="same"),
            L.MaxPooling2D(2, padding="same"),
            L.Conv2D(8, 3, activation="relu", padding="same"),
            L.MaxPooling2D(2, padding="same"),
            L.Conv2D(8, 3, activation="relu", padding="same"),
            L.MaxPooling2D(2, padding="same"),
            L.Conv2D(8, 3, activation="relu", padding="same"),
            L.UpSampling2D(2),
            L.Conv2D(8, 3, activation="relu", padding="same"),
            L.UpSampling2D(2),
            L.Conv2D(16, 3, activation="relu"),
            L.UpSampling2D(2),
            L.Conv2D(1, 3, activation="sigmoid", padding="same"),
        ],
        seed=seed,
    )
    model.build((28, 28, 1), dtype=dtype)
    return model


class _TorchConvAutoencoder(torch.nn.Module):
    """The same network in PyTorch (NCHW). MaxPool 'same' on 7x7 needs one cell of
    padding at the bottom/right: -inf padding, as TensorFlow's 'same' pooling."""

    def __init__(self, model, dtype):
        super().__init__()
        self.convs = torch.nn.ModuleList()
        for layer in model.leaf_layers():
            if isinstance(layer, nn.layers.Conv2D):
                kh, kw, cin, cout = layer.params["kernel"].shape
                conv = torch.nn.Conv2d(cin, cout, (kh, kw)).to(dtype)
                with torch.no_grad():
                    conv.weight.copy_(
                        torch.from_numpy(layer.params["kernel"].transpose(3, 2, 0, 1).copy())
                    )
                    conv.bias.copy_(torch.from_numpy(layer.params["bias"].copy()))
                self.convs.append(conv)

    def forward(self, x):
        functional = torch.nn.functional
        same = (1, 1, 1, 1)
        c = self.convs

        def pool(h):
            pad = (0, h.shape[-1] % 2, 0, h.shape[-2] % 2)
            return functional.max_pool2d(functional.pad(h, pad, value=-torch.inf), 2)

        def up(h):
            return functional.interpolate(h, scale_factor=2, mode="nearest")

        h = pool(torch.relu(c[0](functional.pad(x, same))))
        h = pool(torch.relu(c[1](functional.pad(h, same))))
        h = pool(torch.relu(c[2](functional.pad(h, same))))
        h = up(torch.relu(c[3](functional.pad(h, same))))
        h = up(torch.relu(c[4](functional.pad(h, same))))
        h = up(torch.relu(c[5](h)))
        return c[6](functional.pad(h, same))  # logits; the sigmoid is in the loss


@pytest.mark.parametrize(
    "dtype, tolerance", [("float64", 1e-9), ("float32", 1e-4)], ids=["float64", "float32"]
)
def test_keras_blog_conv_autoencoder_matches_pytorch(mnist_slice, dtype, tolerance):
    x = mnist_slice[:256].reshape(-1, 28, 28, 1).astype(dtype)
    model = _keras_blog_conv_autoencoder(seed=5, dtype=dtype)
    torch_model = _TorchConvAutoencoder(model, getattr(torch, dtype))
    optimizer = torch.optim.Adadelta(torch_model.parameters(), lr=1.0, rho=0.95, eps=1e-7)
    loss_function = torch.nn.BCEWithLogitsLoss()
    data = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    torch_losses = []
    for _ in range(2):
        total = 0.0
        for start in range(0, len(data), 64):
            batch = data[start : start + 64]
            optimizer.zero_grad()
            loss = loss_function(torch_model(batch), batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        torch_losses.append(total / len(data))

    model.compile(optimizer=nn.optimizers.Adadelta(1.0, rho=0.95, epsilon=1e-7), loss="bce")
    history = model.fit(x, x, epochs=2, batch_size=64, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], torch_losses, rtol=tolerance)
