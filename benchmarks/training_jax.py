"""The JAX anchor of ``benchmarks.training``: one ``jax.jit`` of the whole training step.

The step is a pure function (params, optimizer state, batch) -> (params, state, loss):
the forward pass, the binary cross-entropy from the logits (mean over every element, as
ours and ``BCEWithLogitsLoss``), the gradients by ``jax.grad``, and the optimizer of ours
written in jax.numpy with its hyperparameters (the same rules as nn_core's, which are
torch's):

    Adadelta  v <- rho v + (1 - rho) g^2;  d <- sqrt(u + eps) / sqrt(v + eps) g;
              u <- rho u + (1 - rho) d^2;  p <- p - lr d
    Adam      m <- m + (1 - b1)(g - m);  v <- b2 v + (1 - b2) g^2;
              p <- p - lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)

The parameters and state buffers are donated to the step (updated in place, as the other
libraries do). Layout NHWC with HWIO kernels, ours' own layout, so the weights are copied
from ours unchanged. The conv model is the Keras-blog one (``autoencoders.ConvAutoencoder``):
3x3 ``lax.conv_general_dilated`` 'SAME' except the sixth, 'VALID'; 2x2 max-pooling by
``lax.reduce_window`` with 'SAME' padding (7 -> 4: one -inf row and column at the
bottom/right, as TensorFlow and ours); nearest upsampling by repeating rows and columns.

Each epoch shuffles with ``numpy.random.Generator.permutation`` and gathers each batch
with NumPy, then calls the step and reads the loss back (``float(loss)``, the analogue of
PyTorch's ``loss.item()``, so that steps do not pile up asynchronously). XLA compiles the
step once per batch shape (the full batch and a partial last one) on first use.

Threads: XLA's CPU backend runs on its own thread pool, one thread per core; with
``--threads 1`` ``import_jax`` turns its multi-threading off (XLA_FLAGS) before the import.
There is no setting for another count, so on a machine with more cores than ``--threads``
JAX uses them all (``benchmarks.training`` says so).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time

import numpy as np

_SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def import_jax(thread_count: int):
    """The jax module on the CPU, or None when JAX is not installed."""
    if "jax" not in sys.modules:
        if importlib.util.find_spec("jax") is None:
            return None
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        if thread_count == 1:
            flags = os.environ.get("XLA_FLAGS", "")
            os.environ["XLA_FLAGS"] = f"{flags} {_SINGLE_THREAD_FLAGS}".strip()
    try:
        import jax
    except ImportError:
        return None
    return jax


def thread_note(jax, thread_count: int) -> str:
    cores = os.cpu_count() or 1
    if thread_count == 1 or cores <= thread_count:
        return ""
    return f"JAX (XLA) used all {cores} cores: it has no setting for {thread_count} threads."


def forward_function(jax, architecture):
    """forward(params, x) -> logits, params a list of (kernel, bias) in ours' layout."""
    jnp, lax = jax.numpy, jax.lax

    if architecture != "conv":

        def dense_forward(params, x):
            for index, (kernel, bias) in enumerate(params):
                x = x @ kernel + bias
                if index < len(params) - 1:
                    x = jax.nn.relu(x)
            return x

        return dense_forward

    def conv(h, kernel, bias, padding):
        dimensions = ("NHWC", "HWIO", "NHWC")
        out = lax.conv_general_dilated(h, kernel, (1, 1), padding, dimension_numbers=dimensions)
        return out + bias

    def pool(h):
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "SAME")

    def up(h):
        return jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)

    def conv_forward(params, x):
        relu = jax.nn.relu
        h = pool(relu(conv(x, *params[0], "SAME")))
        h = pool(relu(conv(h, *params[1], "SAME")))
        h = pool(relu(conv(h, *params[2], "SAME")))
        h = up(relu(conv(h, *params[3], "SAME")))
        h = up(relu(conv(h, *params[4], "SAME")))
        h = up(relu(conv(h, *params[5], "VALID")))
        return conv(h, *params[6], "SAME")

    return conv_forward


def bce_from_logits(jnp, logits, targets):
    """mean(max(z, 0) - z y + log(1 + exp(-|z|))): the stable BCE of sigmoid(z)."""
    return jnp.mean(
        jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits)))
    )


def optimizer_functions(jax, ours_optimizer):
    """(init(params) -> state, update(params, grads, state) -> (params, state)) in
    jax.numpy, the rule and hyperparameters of ours (Adadelta or Adam)."""
    jnp, tree = jax.numpy, jax.tree_util
    name = type(ours_optimizer).__name__
    lr, eps = ours_optimizer.learning_rate, ours_optimizer.epsilon
    if name == "Adadelta":
        rho = ours_optimizer.rho

        def init(params):
            zeros = tree.tree_map(jnp.zeros_like, params)
            return {"square_avg": zeros, "acc_delta": tree.tree_map(jnp.zeros_like, params)}

        def update(params, grads, state):
            square_avg = tree.tree_map(
                lambda v, g: rho * v + (1 - rho) * g * g, state["square_avg"], grads
            )
            delta = tree.tree_map(
                lambda u, v, g: jnp.sqrt(u + eps) / jnp.sqrt(v + eps) * g,
                state["acc_delta"],
                square_avg,
                grads,
            )
            acc_delta = tree.tree_map(
                lambda u, d: rho * u + (1 - rho) * d * d, state["acc_delta"], delta
            )
            params = tree.tree_map(lambda p, d: p - lr * d, params, delta)
            return params, {"square_avg": square_avg, "acc_delta": acc_delta}

        return init, update
    if name == "Adam":
        beta_1, beta_2 = ours_optimizer.beta_1, ours_optimizer.beta_2

        def init(params):
            return {
                "step": jnp.zeros((), jnp.float32),
                "exp_avg": tree.tree_map(jnp.zeros_like, params),
                "exp_avg_sq": tree.tree_map(jnp.zeros_like, params),
            }

        def update(params, grads, state):
            step = state["step"] + 1
            exp_avg = tree.tree_map(
                lambda m, g: m + (1 - beta_1) * (g - m), state["exp_avg"], grads
            )
            exp_avg_sq = tree.tree_map(
                lambda v, g: beta_2 * v + (1 - beta_2) * g * g, state["exp_avg_sq"], grads
            )
            step_size = lr / (1 - beta_1**step)
            root_correction = jnp.sqrt(1 - beta_2**step)
            params = tree.tree_map(
                lambda p, m, v: p - step_size * m / (jnp.sqrt(v) / root_correction + eps),
                params,
                exp_avg,
                exp_avg_sq,
            )
            return params, {"step": step, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}

        return init, update
    raise ValueError(f"benchmarks.training_jax: no JAX optimizer for {name}")


class JaxAnchor:
    """The model of ``ours`` in JAX, trained on ``x`` and predicting ``test_x`` (NumPy
    arrays in ours' layout), starting from ours' current weights."""

    name = "jax"

    def __init__(self, jax, ours, architecture, x, test_x, batch_size, seed):
        jnp = jax.numpy
        self.batch_size, self.x, self.test_x = batch_size, x, test_x
        self.rng = np.random.default_rng(seed)
        layers = [layer for layer in ours.leaf_layers() if "kernel" in layer.params]
        self.params = [
            (jnp.array(layer.params["kernel"]), jnp.array(layer.params["bias"])) for layer in layers
        ]
        forward = forward_function(jax, architecture)
        init, update = optimizer_functions(jax, ours.optimizer)
        self.state = init(self.params)

        def loss_of(params, batch):
            return bce_from_logits(jnp, forward(params, batch), batch)

        def step(params, state, batch):
            loss, grads = jax.value_and_grad(loss_of)(params, batch)
            params, state = update(params, grads, state)
            return params, state, loss

        self._step = jax.jit(step, donate_argnums=(0, 1))
        self._predict = jax.jit(lambda params, batch: jax.nn.sigmoid(forward(params, batch)))

    def batch_of(self, begin, size):
        return self.x[begin : begin + size]

    def train_step(self, batch) -> float:
        self.params, self.state, loss = self._step(self.params, self.state, batch)
        return float(loss)

    def epoch(self) -> float:
        """Seconds of one epoch over the training data, shuffled."""
        start = time.perf_counter()
        order = self.rng.permutation(len(self.x))
        total = 0.0
        for begin in range(0, len(self.x), self.batch_size):
            batch = self.x[order[begin : begin + self.batch_size]]
            total += self.train_step(batch) * len(batch)
        return time.perf_counter() - start

    def predict(self) -> float:
        """Seconds of predicting the test images at the batch size, the outputs written
        into one array of them all (as ``predict`` returns them)."""
        start = time.perf_counter()
        outputs = None
        for begin in range(0, len(self.test_x), self.batch_size):
            batch = self.test_x[begin : begin + self.batch_size]
            batch_outputs = np.asarray(self._predict(self.params, batch))
            if outputs is None:
                outputs = np.empty(
                    (len(self.test_x), *batch_outputs.shape[1:]), batch_outputs.dtype
                )
            outputs[begin : begin + len(batch_outputs)] = batch_outputs
        return time.perf_counter() - start
