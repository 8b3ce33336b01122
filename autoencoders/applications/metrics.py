"""Image-quality, clustering and retrieval metrics, written with NumPy.

Image metrics take the layouts of ``_images``: one image (H, W) gives a float, a batch
(N, H, W) or (N, H, W, C) gives one value per image, shape (N,); average those for a
data set (the convention of image-restoration papers: mean of per-image PSNR).
"""

from __future__ import annotations

import numpy as np

from ._images import same_shape

SSIM_WINDOW_SIZE = 11  # Wang et al. (2004): 11 x 11 circular-symmetric Gaussian window,
SSIM_SIGMA = 1.5  # standard deviation 1.5 pixels,
SSIM_K1, SSIM_K2 = 0.01, 0.03  # and these stabilising constants.


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float | np.ndarray:
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE(a, b)).

    a, b: images of the same shape, (H, W) -> float, or batches (N, H, W[, C]) -> (N,),
    the MSE taken over each image's pixels and channels. ``data_range``: the pixel
    range, 1.0 for pixels in [0, 1]. Identical images give +inf.
    """
    a, b, single = same_shape(a, b, "psnr")
    mse = np.mean(np.square(a - b), axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(data_range**2 / mse)
    return float(values[0]) if single else values


def gaussian_window(size: int = SSIM_WINDOW_SIZE, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """The 1-D Gaussian (size,) summing to 1; its outer product with itself is SSIM's window."""
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    window = np.exp(-(offsets**2) / (2 * sigma**2))
    return window / window.sum()


def _filter_valid(x, window):
    """Separable 'valid' correlation of x (N, H, W, C) with window (k,) along H then W."""
    size = len(window)
    x = np.lib.stride_tricks.sliding_window_view(x, size, axis=1) @ window
    return np.lib.stride_tricks.sliding_window_view(x, size, axis=2) @ window


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float | np.ndarray:
    """Mean structural similarity (Wang, Bovik, Sheikh and Simoncelli, IEEE TIP 2004).

    Local means, variances and covariance are weighted by the 11 x 11 Gaussian window
    (sigma 1.5) at every position where it fits inside the image ('valid', as the
    authors' ssim_index.m; 28 x 28 images give an 18 x 18 map), with population
    (not N - 1) statistics:

        SSIM = (2 mu_a mu_b + C1)(2 sigma_ab + C2)
               / ((mu_a^2 + mu_b^2 + C1)(sigma_a^2 + sigma_b^2 + C2))

    C1 = (0.01 data_range)^2, C2 = (0.03 data_range)^2. The result is the mean of that
    map (over channels too, for colour images). a, b: (H, W) -> float; (N, H, W) or
    (N, H, W, C) -> (N,). Images need at least 11 x 11 pixels.
    """
    a, b, single = same_shape(a, b, "ssim")
    if min(a.shape[1:3]) < SSIM_WINDOW_SIZE:
        raise ValueError(
            f"ssim needs images of at least {SSIM_WINDOW_SIZE} x {SSIM_WINDOW_SIZE} pixels, "
            f"got {a.shape[1]} x {a.shape[2]}"
        )
    window = gaussian_window()
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    mean_a, mean_b = _filter_valid(a, window), _filter_valid(b, window)
    var_a = _filter_valid(a * a, window) - mean_a**2
    var_b = _filter_valid(b * b, window) - mean_b**2
    cov = _filter_valid(a * b, window) - mean_a * mean_b
    ssim_map = ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) / (
        (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
    )
    values = ssim_map.mean(axis=(1, 2, 3))
    return float(values[0]) if single else values


def _labels(values, name):
    array = np.asarray(values)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of labels, got shape {array.shape}")
    return array


def contingency_table(labels_true: np.ndarray, labels_pred: np.ndarray) -> np.ndarray:
    """Counts (n_classes, n_clusters): entry [i, j] = samples of class i put in cluster j."""
    labels_true = _labels(labels_true, "labels_true")
    labels_pred = _labels(labels_pred, "labels_pred")
    if len(labels_true) != len(labels_pred):
        raise ValueError(
            f"labels_true and labels_pred must have the same length, got {len(labels_true)} "
            f"and {len(labels_pred)}"
        )
    _, classes = np.unique(labels_true, return_inverse=True)
    _, clusters = np.unique(labels_pred, return_inverse=True)
    table = np.zeros((classes.max() + 1, clusters.max() + 1), dtype=np.int64)
    np.add.at(table, (classes, clusters), 1)
    return table


def cluster_purity(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Fraction of samples whose cluster's most common class is their own class, in (0, 1].

    labels_true, labels_pred: (N,). purity = (1 / N) sum over clusters of the count of
    the cluster's majority class (Manning, Raghavan and Schuetze, IR book, ch. 16).
    """
    table = contingency_table(labels_true, labels_pred)
    return float(table.max(axis=0).sum() / table.sum())


def _entropy(counts):
    probabilities = counts[counts > 0] / counts.sum()
    return float(-np.sum(probabilities * np.log(probabilities)))


def normalized_mutual_info(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Normalised mutual information, MI(U, V) / ((H(U) + H(V)) / 2), in [0, 1].

    labels_true, labels_pred: (N,). The arithmetic-mean normalisation is
    scikit-learn's default (``normalized_mutual_info_score``, average_method=
    "arithmetic", since 0.22), the "NMI_sum" of Vinh, Epps and Bailey (JMLR 2010);
    natural logarithms (the ratio does not depend on the base). Two labelings that each
    put everything in one group give 1.0, as scikit-learn does.
    """
    table = contingency_table(labels_true, labels_pred).astype(np.float64)
    total = table.sum()
    entropy_true, entropy_pred = _entropy(table.sum(axis=1)), _entropy(table.sum(axis=0))
    if entropy_true == 0.0 and entropy_pred == 0.0:
        return 1.0
    outer = np.outer(table.sum(axis=1), table.sum(axis=0))
    nonzero = table > 0
    mutual_info = np.sum(table[nonzero] / total * np.log(table[nonzero] * total / outer[nonzero]))
    return float(max(mutual_info, 0.0) / ((entropy_true + entropy_pred) / 2))


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..N of values (N,), tied values sharing the mean of their ranks."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]  # each tie group is positions starts..ends-1
    group_rank = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties count 1/2.

    labels: (N,) 1 (or True) for positives (e.g. anomalies), 0 for negatives; scores: (N,),
    higher meaning more positive. Computed from ranks (the Mann-Whitney U statistic,
    U / (n_pos n_neg)), tied scores getting their average rank: the same value as the
    trapezoidal area under the ROC curve.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(
            f"roc_auc: labels and scores must be 1-D of the same length, got {labels.shape} "
            f"and {scores.shape}"
        )
    if not np.all(np.isin(labels, (0, 1))):
        raise ValueError("roc_auc: labels must be 0 (negative) or 1 (positive)")
    positive = labels.astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc needs at least one positive and one negative sample")
    rank_sum = average_ranks(scores)[positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def precision_at_k(query_labels: np.ndarray, retrieved_labels: np.ndarray, k: int = 10) -> float:
    """Mean over queries of the fraction of the first k retrieved items with the query's label.

    query_labels: (Q,); retrieved_labels: (Q, M), M >= k, each row best match first.
    """
    query_labels = np.asarray(query_labels)
    retrieved_labels = np.asarray(retrieved_labels)
    if retrieved_labels.ndim != 2 or retrieved_labels.shape[0] != len(query_labels):
        raise ValueError(
            f"precision_at_k: retrieved_labels must be (Q, M) with Q = {len(query_labels)} "
            f"queries, got shape {retrieved_labels.shape}"
        )
    if not 1 <= k <= retrieved_labels.shape[1]:
        raise ValueError(f"precision_at_k: k must be in 1..{retrieved_labels.shape[1]}, got {k}")
    return float(np.mean(retrieved_labels[:, :k] == query_labels[:, None]))
