"""The PyTorch anchors of ``benchmarks.training``: the same network, weights and optimizer.

Three variants, each its own module with the initial weights copied from ours
(Glorot-uniform kernels, zero biases), trained by the usual loop (shuffled batches from
``torch.randperm`` with a generator seeded alike, ``zero_grad``, forward, loss,
``backward``, ``step``, ``loss.item()``):

* ``torch``: what a typical user writes: the model ends in ``nn.Sigmoid()`` and the loss
  is ``nn.BCELoss()``; predict is ``model(batch)``;
* ``torch-logits``: the model returns logits, the loss is ``nn.BCEWithLogitsLoss()``
  (the sigmoid fused into the loss, as ours does); predict ``sigmoid(model(batch))``;
* ``torch-compile``: ``torch-logits`` with the forward and loss, the optimizer step and
  the predict function each wrapped in ``torch.compile`` with its defaults (Inductor, C++
  on the CPU). It compiles on first use, and again for a second batch shape (by default
  with a dynamic batch dimension): ``benchmarks.training`` warms it up on every shape
  before the timed rounds and reports the compile time as first use.

An anchor offers ``train_step(batch) -> loss``, ``batch_of(begin, size)``, ``epoch()``
and ``predict()`` (seconds), as ``benchmarks.training_jax.JaxAnchor`` does.
"""

from __future__ import annotations

import time

import numpy as np

VARIANTS = ("torch", "torch-logits", "torch-compile")


def build_module(torch, ours, architecture, final_sigmoid=False):
    """The network of ``ours`` (a built nn_core model) in PyTorch with its current weights;
    it returns logits, or probabilities when ``final_sigmoid``."""
    layers = [layer for layer in ours.leaf_layers() if "kernel" in layer.params]
    if architecture == "conv":
        module = _conv_autoencoder(torch, layers)
    else:
        modules = []
        for index, layer in enumerate(layers):
            linear = torch.nn.Linear(*layer.params["kernel"].shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.params["kernel"].T.copy()))
                linear.bias.copy_(torch.from_numpy(layer.params["bias"].copy()))
            modules.append(linear)
            if index < len(layers) - 1:
                modules.append(torch.nn.ReLU())
        module = torch.nn.Sequential(*modules)
    return torch.nn.Sequential(module, torch.nn.Sigmoid()) if final_sigmoid else module


def build_optimizer(torch, module, ours_optimizer):
    """torch.optim's Adadelta or Adam with the hyperparameters of ours (nn_core's
    optimizers implement torch's update rules exactly)."""
    name = type(ours_optimizer).__name__
    lr = ours_optimizer.learning_rate
    if name == "Adadelta":
        return torch.optim.Adadelta(
            module.parameters(), lr=lr, rho=ours_optimizer.rho, eps=ours_optimizer.epsilon
        )
    if name == "Adam":
        betas = (ours_optimizer.beta_1, ours_optimizer.beta_2)
        return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, eps=ours_optimizer.epsilon)
    raise ValueError(f"benchmarks.training_torch: no PyTorch anchor for {name}")


def _conv_autoencoder(torch, conv_layers):
    """The Keras-blog conv autoencoder in PyTorch (NCHW), as tests/test_torch_parity.py:
    'same' pooling of 7x7 pads one -inf row/column at the bottom/right, as TensorFlow."""
    functional = torch.nn.functional

    class ConvAutoencoderTorch(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = torch.nn.ModuleList()
            for layer in conv_layers:
                kh, kw, cin, cout = layer.params["kernel"].shape
                conv = torch.nn.Conv2d(cin, cout, (kh, kw))
                with torch.no_grad():
                    kernel = layer.params["kernel"].transpose(3, 2, 0, 1).copy()
                    conv.weight.copy_(torch.from_numpy(kernel))
                    conv.bias.copy_(torch.from_numpy(layer.params["bias"].copy()))
                self.convs.append(conv)

        def forward(self, x):
            same, c = (1, 1, 1, 1), self.convs

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
            return c[6](functional.pad(h, same))

    return ConvAutoencoderTorch()


def as_torch(torch, x):
    """A float32 tensor of x (N, H, W, C images become NCHW)."""
    if x.ndim == 4:
        x = x.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(x))


class TorchAnchor:
    """One PyTorch variant (``VARIANTS``) trained on ``x`` and predicting ``test_x``
    (NumPy arrays in ours' layout), starting from the weights of ``ours``."""

    def __init__(self, torch, variant, ours, architecture, x, test_x, batch_size, seed):
        if variant not in VARIANTS:
            raise ValueError(f"TorchAnchor: variant must be one of {VARIANTS}, got {variant!r}")
        self.torch, self.name, self.batch_size = torch, variant, batch_size
        plain = variant == "torch"
        self.module = build_module(torch, ours, architecture, final_sigmoid=plain)
        self.optimizer = build_optimizer(torch, self.module, ours.optimizer)
        self.data, self.test_data = as_torch(torch, x), as_torch(torch, test_x)
        self.generator = torch.Generator().manual_seed(seed)
        loss_function = torch.nn.BCELoss() if plain else torch.nn.BCEWithLogitsLoss()
        module, optimizer = self.module, self.optimizer

        def loss_of(batch):
            return loss_function(module(batch), batch)

        def step():
            optimizer.step()

        def predict(batch):
            return module(batch) if plain else torch.sigmoid(module(batch))

        if variant == "torch-compile":
            loss_of, step, predict = (torch.compile(f) for f in (loss_of, step, predict))
        self._loss_of, self._step, self._predict = loss_of, step, predict

    def batch_of(self, begin, size):
        return self.data[begin : begin + size]

    def train_step(self, batch) -> float:
        self.optimizer.zero_grad()
        loss = self._loss_of(batch)
        loss.backward()
        self._step()
        return loss.item()

    def epoch(self) -> float:
        """Seconds of one epoch over the training data, shuffled."""
        start = time.perf_counter()
        order = self.torch.randperm(len(self.data), generator=self.generator)
        total = 0.0
        for begin in range(0, len(self.data), self.batch_size):
            batch = self.data[order[begin : begin + self.batch_size]]
            total += self.train_step(batch) * len(batch)
        return time.perf_counter() - start

    def predict(self) -> float:
        """Seconds of predicting the test images at the batch size, the outputs written
        into one tensor of them all (as ``predict`` returns them; the batch outputs were
        dropped until 2026-12-07, which left PyTorch 31 MB of writes fewer per run than
        ours on the dense models)."""
        start = time.perf_counter()
        with self.torch.inference_mode():
            outputs = None
            for begin in range(0, len(self.test_data), self.batch_size):
                batch_outputs = self._predict(self.test_data[begin : begin + self.batch_size])
                if outputs is None:
                    outputs = self.torch.empty(
                        (len(self.test_data), *batch_outputs.shape[1:]), dtype=batch_outputs.dtype
                    )
                outputs[begin : begin + len(batch_outputs)] = batch_outputs
        return time.perf_counter() - start
