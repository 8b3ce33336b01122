"""Generation: a variational autoencoder's samples and its 2-D latent-space manifold.

A ``VariationalAutoencoder`` with latent_dim=2 (784-256-2, as the Keras blog) is trained
on MNIST; ``sample(n)`` decodes z ~ N(0, I), and the traversal grid decodes z on a
15 x 15 lattice placed at the Gaussian's quantiles 0.05 .. 0.95 on each axis (the
classic picture of the digit manifold). Number: the test negative ELBO in nats per
image (reconstruction + KL, one posterior sample), an upper bound on the negative
log-likelihood, against the baseline of independent Bernoulli pixels with the
training set's mean as probabilities.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..variational import VariationalAutoencoder
from . import _common as common

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Sequence

NAME = "generation"
TITLE = "Generation: VAE samples and the 2-D latent manifold"
GRID = 15
QUICK = {"batch": 32, "train": 1500, "test": 500, "epochs": 4}
FULL = {"batch": 128, "train": 20000, "test": 2000, "epochs": 30}
_EPSILON = 1e-7  # probabilities are clipped to [eps, 1 - eps] before the log, as Keras's BCE


def normal_quantile(probability: float) -> float:
    """z with P(Z <= z) = probability for Z ~ N(0, 1), by bisection on math.erf (1e-12)."""
    low, high = -10.0, 10.0
    while high - low > 1e-12:
        middle = (low + high) / 2
        if 0.5 * (1 + math.erf(middle / math.sqrt(2))) < probability:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def bernoulli_nll(x: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """-sum over pixels of x log p + (1 - x) log(1 - p): x (N, D), p (N, D) or (D,) -> (N,)."""
    p = np.clip(probabilities, _EPSILON, 1 - _EPSILON)
    return -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1)


def negative_elbo(
    vae: VariationalAutoencoder, x: np.ndarray, seed: int | None = 0
) -> tuple[float, float, float]:
    """(negative ELBO, reconstruction term, KL term), nats per image, means over x (N, D)."""
    mean, log_variance = (m.astype(np.float64) for m in vae.encode_distribution(x))
    noise = np.random.default_rng(seed).standard_normal(mean.shape)
    z = mean + np.exp(log_variance / 2) * noise
    reconstruction = bernoulli_nll(x, vae.decode(z.astype(np.float32)).astype(np.float64))
    kl = -0.5 * np.sum(1 + log_variance - mean**2 - np.exp(log_variance), axis=1)
    return float(np.mean(reconstruction + kl)), float(np.mean(reconstruction)), float(np.mean(kl))


def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Train the VAE; report its ELBO against the pixel baseline; draw samples and the grid."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    x_train, _ = common.load_images("mnist", "train", settings["train"])
    x_test, _ = common.load_images("mnist", "test", settings["test"])
    flat_train, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    tracker = common.Tracker(progress, settings["epochs"] + 1)
    vae = VariationalAutoencoder(784, latent_dim=2, hidden_sizes=(256,), seed=seed)
    common.train(
        vae,
        flat_train,
        epochs=settings["epochs"],
        update=tracker.stage("training the VAE", settings["epochs"]),
        batch_size=settings["batch"],
    )
    tracker.stage("sampling", 1)
    elbo, reconstruction, kl = negative_elbo(vae, flat_test, seed)
    baseline = float(np.mean(bernoulli_nll(flat_test, flat_train.mean(axis=0))))
    rows = [
        ["VAE negative ELBO", common.fmt(elbo, 1)],
        ["  reconstruction term", common.fmt(reconstruction, 1)],
        ["  KL term", common.fmt(kl, 2)],
        ["independent pixels (training mean)", common.fmt(baseline, 1)],
    ]
    table = common.markdown_table(["model (test set)", "nats per image"], rows)
    table += common.settings_line(
        MNIST_training_images=len(x_train),
        test_images=len(x_test),
        epochs=settings["epochs"],
        batch=settings["batch"],
        optimizer=common.OPTIMIZER,
        model="VAE 784-256-2, summed BCE + KL",
        seed=seed,
    )
    metrics = {
        "negative_elbo": elbo,
        "reconstruction": reconstruction,
        "kl": kl,
        "independent_pixels_nll": baseline,
    }
    samples = vae.sample(100, seed=seed).reshape(100, 28, 28)
    quantiles = [normal_quantile(p) for p in np.linspace(0.05, 0.95, GRID)]
    lattice = np.array([[zx, zy] for zy in reversed(quantiles) for zx in quantiles])
    traversal = vae.decode(lattice.astype(np.float32)).reshape(GRID, GRID, 28, 28)
    figure_name = plot(samples.reshape(10, 10, 28, 28), traversal, quantiles, out)
    return common.result(NAME, TITLE, metrics, table, [figure_name], tracker.finish())


def _tile(images) -> np.ndarray:
    """(rows, columns, H, W) -> one (rows H, columns W) picture."""
    rows, columns, height, width = images.shape
    return images.transpose(0, 2, 1, 3).reshape(rows * height, columns * width)


def plot(
    samples: np.ndarray,
    traversal: np.ndarray,
    quantiles: Sequence[float],
    out: str | os.PathLike[str],
) -> str:
    plt = common.pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(9.0, 4.6), width_ratios=[1, 1.3])
    axes[0].imshow(_tile(samples), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("100 samples, z ~ N(0, I)", fontsize=9)
    axes[0].axis("off")
    extent = (-0.5, GRID - 0.5, -0.5, GRID - 0.5)
    axes[1].imshow(_tile(traversal), cmap="gray", vmin=0, vmax=1, extent=extent)
    ticks = [0, GRID // 2, GRID - 1]
    tick_labels = [f"{round(quantiles[i], 2) + 0.0:.2f}" for i in ticks]  # no "-0.00"
    axes[1].set_xticks(ticks, tick_labels)
    axes[1].set_yticks(ticks, tick_labels)
    axes[1].set_xlabel("z1")
    axes[1].set_ylabel("z2")
    axes[1].set_title("decoder over a 15 x 15 grid of z (Gaussian quantiles)", fontsize=9)
    figure.tight_layout()
    return common.save_figure(figure, out, f"{NAME}.png")
