"""k-means clustering: k-means++ seeding, Lloyd iterations, best of n_init runs. NumPy only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class KMeansResult:
    """centres (k, D); labels (N,) in 0..k-1; inertia: summed squared distance of each
    point to its centre; iterations: Lloyd steps of the best run."""

    centres: np.ndarray
    labels: np.ndarray
    inertia: float
    iterations: int


def squared_distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """||x_i - c_j||^2 for x (N, D), centres (k, D): (N, k), by the expanded product."""
    distances = (
        np.sum(x * x, axis=1)[:, None] - 2.0 * x @ centres.T + np.sum(centres * centres, axis=1)
    )
    return np.maximum(distances, 0.0)  # rounding can leave tiny negatives


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k initial centres (k, D) by k-means++ (Arthur and Vassilvitskii, SODA 2007).

    The first centre is a uniformly random point; each next one is a point drawn with
    probability proportional to its squared distance to the nearest centre chosen so far.
    """
    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(len(x))]
    nearest = squared_distances(x, centres[:1])[:, 0]
    for j in range(1, k):
        total = nearest.sum()
        if total == 0.0:  # fewer distinct points than k: any point will do
            index = int(rng.integers(len(x)))
        else:
            index = min(int(np.searchsorted(np.cumsum(nearest), rng.random() * total)), len(x) - 1)
        centres[j] = x[index]
        nearest = np.minimum(nearest, squared_distances(x, centres[j : j + 1])[:, 0])
    return centres


def lloyd(
    x: np.ndarray, centres: np.ndarray, max_iter: int = 300, tol: float = 1e-4
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Lloyd's iterations from ``centres`` (k, D): (centres, labels, inertia, iterations).

    Stops when no label changes or when the centres move less than ``tol`` times the
    mean per-feature variance of x (squared, summed over centres: scikit-learn's
    relative tolerance). An emptied cluster is restarted at the point farthest from
    its centre, so k clusters stay k.
    """
    scale = tol * float(np.mean(np.var(x, axis=0)))
    labels, iteration = None, 0
    while iteration < max_iter:
        iteration += 1
        distances = squared_distances(x, centres)
        new_labels = np.argmin(distances, axis=1)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        counts = np.bincount(labels, minlength=len(centres))
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, x)
        new_centres = centres.copy()
        filled = counts > 0
        new_centres[filled] = sums[filled] / counts[filled, None]
        for empty in np.flatnonzero(~filled):
            farthest = int(np.argmax(distances[np.arange(len(x)), labels]))
            new_centres[empty] = x[farthest]
            labels[farthest] = empty
        shift = float(np.sum((new_centres - centres) ** 2))
        centres = new_centres
        if shift <= scale:
            break
    distances = squared_distances(x, centres)
    labels = np.argmin(distances, axis=1)
    inertia = float(distances[np.arange(len(x)), labels].sum())
    return centres, labels, inertia, iteration


def kmeans(
    x: np.ndarray,
    k: int,
    n_init: int = 10,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int | np.random.Generator | None = 0,
) -> KMeansResult:
    """Cluster x (N, D) into k groups; the run of lowest inertia among ``n_init``.

    Each run seeds by k-means++ and refines by Lloyd's algorithm (``lloyd``). Defaults
    follow scikit-learn's KMeans (n_init=10 as its classic default, max_iter=300,
    tol=1e-4). ``seed``: int, None or Generator; the same seed gives the same result.
    Computed in float64.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"kmeans expects x of shape (N, features), got {x.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(x):
        raise ValueError(f"kmeans: k must be an integer in 1..{len(x)} (the samples), got {k!r}")
    if n_init < 1:
        raise ValueError(f"kmeans: n_init must be at least 1, got {n_init!r}")
    rng = np.random.default_rng(seed)
    best: KMeansResult | None = None
    for _ in range(n_init):
        result = KMeansResult(*lloyd(x, kmeans_plus_plus(x, int(k), rng), max_iter, tol))
        if best is None or result.inertia < best.inertia:
            best = result
    assert best is not None  # n_init >= 1 runs was checked above
    return best
