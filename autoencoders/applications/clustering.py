"""Latent-space clustering: k-means on autoencoder codes vs raw pixels vs PCA codes.

k-means (``kmeans``, k = 10, k-means++ with n_init restarts) groups test digits by
(a) their 784 raw pixels, (b) 10 PCA components, (c) the 10-d linear code of a deep
autoencoder (784-256-128-10), (d) the 2-d latent means of a variational autoencoder.
Each clustering is scored against the true digits by purity and normalised mutual
information. The figure maps the codes in 2-D, coloured by digit: the VAE's latent
space itself, and the first two principal components of the deep autoencoder's codes
(a linear projection, no t-SNE) beside those of the raw pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..deep import DeepAutoencoder
from ..pca import PCA
from ..variational import VariationalAutoencoder
from . import _common as common
from .kmeans import kmeans
from .metrics import cluster_purity, normalized_mutual_info

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

NAME = "clustering"
TITLE = "Latent-space clustering: k-means on codes"
CODE_SIZE = 10
QUICK = {"batch": 32, "train": 1000, "test": 600, "epochs": 3, "vae_epochs": 3, "n_init": 2}
FULL = {"batch": 128, "train": 10000, "test": 5000, "epochs": 20, "vae_epochs": 30, "n_init": 10}


def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Train the two encoders, cluster four representations, score them, draw the maps."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    x_train, _ = common.load_images("mnist", "train", settings["train"])
    x_test, y_test = common.load_images("mnist", "test", settings["test"])
    flat_train, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    tracker = common.Tracker(progress, settings["epochs"] + settings["vae_epochs"] + 4)
    deep = DeepAutoencoder(784, (256, 128), CODE_SIZE, code_activation="linear", seed=seed)
    common.train(
        deep,
        flat_train,
        epochs=settings["epochs"],
        update=tracker.stage("training the deep autoencoder", settings["epochs"]),
        batch_size=settings["batch"],
    )
    vae = VariationalAutoencoder(784, latent_dim=2, hidden_sizes=(256,), seed=seed)
    common.train(
        vae,
        flat_train,
        epochs=settings["vae_epochs"],
        update=tracker.stage("training the VAE (latent_dim=2)", settings["vae_epochs"]),
        batch_size=settings["batch"],
    )
    pca = PCA(CODE_SIZE).fit(flat_train)
    representations = {
        "raw pixels (784)": flat_test,
        f"PCA ({CODE_SIZE})": pca.transform(flat_test),
        f"deep autoencoder code ({CODE_SIZE})": deep.encode(flat_test),
        "VAE latent means (2)": vae.encode(flat_test),
    }
    rows, metrics = [], {}
    for name, features in representations.items():
        tracker.stage(f"k-means on {name}", 1)
        result = kmeans(features, 10, n_init=settings["n_init"], seed=seed)
        purity = cluster_purity(y_test, result.labels)
        nmi = normalized_mutual_info(y_test, result.labels)
        slug = name.split(" (")[0].replace(" ", "_").lower()
        metrics[f"{slug}_purity"], metrics[f"{slug}_nmi"] = purity, nmi
        rows.append([name, common.fmt(purity), common.fmt(nmi)])
    table = common.markdown_table(["k-means (k=10) on", "purity", "NMI"], rows)
    table += common.settings_line(
        MNIST_training_images=len(x_train),
        clustered_test_images=len(x_test),
        epochs=f"deep {settings['epochs']}, VAE {settings['vae_epochs']}",
        batch=settings["batch"],
        optimizer=common.OPTIMIZER,
        k_means=f"k-means++, n_init {settings['n_init']}",
        NMI="arithmetic normalisation",
        seed=seed,
    )
    maps = {
        "VAE latent space (2-D means)": representations["VAE latent means (2)"],
        "PCA of deep-autoencoder codes": _pca_2d(
            representations[f"deep autoencoder code ({CODE_SIZE})"]
        ),
        "PCA of raw pixels": _pca_2d(flat_test),
    }
    figure_name = plot(maps, y_test, out)
    return common.result(NAME, TITLE, metrics, table, [figure_name], tracker.finish())


def _pca_2d(features) -> np.ndarray:
    """The first two principal components of features (N, D): (N, 2)."""
    return PCA(2).fit(features).transform(features)


def plot(maps: dict[str, np.ndarray], labels: np.ndarray, out: str | os.PathLike[str]) -> str:
    plt = common.pyplot()
    figure, axes = plt.subplots(1, len(maps), figsize=(3.6 * len(maps) + 0.6, 3.6))
    count = min(len(labels), 3000)
    for axis, (title, points) in zip(axes, maps.items()):
        scatter = axis.scatter(
            points[:count, 0],
            points[:count, 1],
            c=labels[:count],
            cmap="tab10",
            s=3,
            vmin=-0.5,
            vmax=9.5,
        )
        axis.set_title(title, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.subplots_adjust(left=0.01, right=0.92, bottom=0.02, top=0.92, wspace=0.05)
    colourbar = figure.colorbar(scatter, ax=list(axes), ticks=range(10), fraction=0.02, pad=0.01)
    colourbar.set_label("digit")
    return common.save_figure(figure, out, f"{NAME}.png")
