"""Anomaly detection: reconstruction error flags images unlike the training data.

A deep autoencoder (784-256-128-32, linear code) trained on MNIST digits reconstructs
digits well and other images badly, so its per-image reconstruction error (mean
squared error over pixels) is an anomaly score. Two experiments: MNIST test digits
(normal) against Fashion-MNIST test images (anomalies), when Fashion-MNIST is
installed; and a digit class held out of training (``HELD_OUT_DIGIT``, chosen before
any run) against the other nine. Score: ROC AUC (1 = perfect separation, 0.5 = chance),
against PCA's reconstruction error with the same code size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..deep import DeepAutoencoder
from ..pca import PCA
from . import _common as common
from .metrics import roc_auc

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    #: per detector: {name: ROC AUC}, {name: scores (N,)}, labels (N,) (1: anomalous)
    Experiment = tuple[dict[str, float], dict[str, np.ndarray], np.ndarray]

NAME = "anomaly_detection"
TITLE = "Anomaly detection: reconstruction error"
CODE_SIZE = 32
HELD_OUT_DIGIT = 2
QUICK = {"batch": 32, "train": 1500, "test": 600, "epochs": 4}
FULL = {"batch": 128, "train": 20000, "test": 4000, "epochs": 20}


def reconstruction_errors(
    reconstruct: Callable[[np.ndarray], np.ndarray], x: np.ndarray
) -> np.ndarray:
    """Mean squared error over pixels of each image x (N, D) and reconstruct(x): (N,)."""
    return np.mean((np.asarray(reconstruct(x), np.float64) - x) ** 2, axis=1)


def experiment(
    x_train: np.ndarray,
    x_normal: np.ndarray,
    x_anomalous: np.ndarray,
    settings: dict[str, Any],
    update: Callable[[float], None] | None,
    seed: int | None,
) -> Experiment:
    """Train on x_train (N, 784); AUCs and scores on normal (label 0) vs anomalous (1)."""
    model = DeepAutoencoder(784, (256, 128), CODE_SIZE, code_activation="linear", seed=seed)
    common.train(
        model, x_train, epochs=settings["epochs"], batch_size=settings["batch"], update=update
    )
    pca = PCA(CODE_SIZE).fit(x_train)
    x = np.concatenate([x_normal, x_anomalous])
    labels = np.r_[np.zeros(len(x_normal), int), np.ones(len(x_anomalous), int)]
    scores = {"autoencoder": reconstruction_errors(model.predict, x)}
    scores["PCA"] = reconstruction_errors(pca.reconstruct, x)
    return {name: roc_auc(labels, value) for name, value in scores.items()}, scores, labels


def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Both experiments (the Fashion one when available); ROC AUC table and histograms."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    fashion = common.fashion_available()
    tracker = common.Tracker(progress, settings["epochs"] * (2 if fashion else 1))
    x_train, y_train = common.load_images("mnist", "train", settings["train"])
    x_test, y_test = common.load_images("mnist", "test", settings["test"])
    flat_train, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    experiments: dict[str, Experiment] = {}
    if fashion:
        x_fashion, _ = common.load_images("fashion-mnist", "test", settings["test"])
        experiments["MNIST vs Fashion-MNIST"] = experiment(
            flat_train,
            flat_test,
            x_fashion.reshape(len(x_fashion), -1),
            settings,
            tracker.stage("training on MNIST", settings["epochs"]),
            seed,
        )
    held = y_test == HELD_OUT_DIGIT
    experiments[f"digit {HELD_OUT_DIGIT} held out"] = experiment(
        flat_train[y_train != HELD_OUT_DIGIT],
        flat_test[~held],
        flat_test[held],
        settings,
        tracker.stage(f"training on MNIST without {HELD_OUT_DIGIT}s", settings["epochs"]),
        seed,
    )
    rows, metrics = [], {}
    for name, (aucs, _, labels) in experiments.items():
        rows.append(
            [
                name,
                f"{int(np.sum(labels == 0))} / {int(np.sum(labels == 1))}",
                common.fmt(aucs["autoencoder"]),
                common.fmt(aucs["PCA"]),
            ]
        )
        slug = "fashion" if "Fashion" in name else "held_out_digit"
        metrics[f"{slug}_auc_autoencoder"], metrics[f"{slug}_auc_pca"] = (
            aucs["autoencoder"],
            aucs["PCA"],
        )
    table = common.markdown_table(
        [
            "normal vs anomalous",
            "test images (normal / anomalous)",
            "ROC AUC autoencoder",
            f"ROC AUC PCA ({CODE_SIZE})",
        ],
        rows,
    )
    table += common.settings_line(
        MNIST_training_images=len(x_train),
        epochs=settings["epochs"],
        batch=settings["batch"],
        optimizer=common.OPTIMIZER,
        model="deep 784-256-128-32, BCE",
        score="mean squared reconstruction error per image",
        seed=seed,
    )
    if not fashion:
        table += "\n\n" + common.FASHION_MISSING_NOTE
    figure_name = plot(experiments, out)
    return common.result(NAME, TITLE, metrics, table, [figure_name], tracker.finish())


def plot(experiments: dict[str, Experiment], out: str | os.PathLike[str]) -> str:
    plt = common.pyplot()
    figure, axes = plt.subplots(1, len(experiments), figsize=(4.6 * len(experiments), 3.4))
    axes = np.atleast_1d(axes)
    for axis, (name, (aucs, scores, labels)) in zip(axes, experiments.items()):
        errors = scores["autoencoder"]
        bins = np.linspace(0, np.quantile(errors, 0.995), 50)
        normal_name, anomalous_name = (
            name.split(" vs ") if " vs " in name else ("other digits", name.split(" held")[0])
        )
        axis.hist(errors[labels == 0], bins, alpha=0.6, density=True, label=normal_name)
        axis.hist(errors[labels == 1], bins, alpha=0.6, density=True, label=anomalous_name)
        axis.set_xlabel("reconstruction error (MSE per pixel)")
        axis.set_ylabel("density")
        axis.set_title(f"{name}: AUC {aucs['autoencoder']:.3f}", fontsize=9)
        axis.legend(fontsize=8)
    figure.tight_layout()
    return common.save_figure(figure, out, f"{NAME}.png")
