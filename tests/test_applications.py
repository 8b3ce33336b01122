"""The applications of issue 5: each metric against hand-computed values, the NumPy
building blocks on hand cases, and each application's quick run beating its baseline."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from autoencoders.applications import APPLICATIONS, run_all
from autoencoders.applications.colour_mnist import (
    BACKGROUND_COLOURS,
    INK_COLOURS,
    colourise,
    luminance,
)
from autoencoders.applications.filters import gaussian_filter, gaussian_kernel, median_filter
from autoencoders.applications.kmeans import kmeans
from autoencoders.applications.metrics import (
    cluster_purity,
    normalized_mutual_info,
    precision_at_k,
    psnr,
    roc_auc,
    ssim,
)
from autoencoders.applications.noise import gaussian_noise, salt_and_pepper_noise
from autoencoders.applications.upsampling import (
    downsample_mean,
    keys_kernel,
    upsample_bicubic,
    upsample_nearest,
)
from autoencoders.applications.watermark import stamp_watermark, text_mask
from nn_core import threads


# ------------------------------------------------------------------------------ metrics
def test_psnr_of_a_known_mse():
    assert psnr(np.zeros((4, 4)), np.full((4, 4), 0.1)) == pytest.approx(20.0)  # MSE 0.01
    batch_a = np.zeros((2, 5, 5))
    batch_b = np.stack([np.full((5, 5), 0.1), np.full((5, 5), 0.01)])  # MSE 1e-2, 1e-4
    np.testing.assert_allclose(psnr(batch_a, batch_b), [20.0, 40.0])
    assert psnr(np.zeros((3, 3)), np.full((3, 3), 2.55), data_range=255) == pytest.approx(40.0)
    assert psnr(np.ones((3, 3)), np.ones((3, 3))) == math.inf
    with pytest.raises(ValueError, match="same shape"):
        psnr(np.zeros((3, 3)), np.zeros((3, 4)))


def test_ssim_of_identical_images_is_one():
    image = np.random.default_rng(0).random((28, 28))
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    batch = np.random.default_rng(1).random((3, 20, 20, 3))
    np.testing.assert_allclose(ssim(batch, batch), np.ones(3), atol=1e-12)


def test_ssim_of_constant_images_is_the_luminance_term():
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * 0.5 * 0.25 + c1) / (0.5**2 + 0.25**2 + c1)  # contrast term is C2 / C2
    assert ssim(np.full((11, 11), 0.5), np.full((11, 11), 0.25)) == pytest.approx(expected, 1e-9)


def test_ssim_matches_the_direct_formula_on_one_window():
    rng = np.random.default_rng(2)
    a, b = rng.random((11, 11)), rng.random((11, 11))
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    mu_a, mu_b = np.sum(w * a), np.sum(w * b)
    var_a, var_b = np.sum(w * (a - mu_a) ** 2), np.sum(w * (b - mu_b) ** 2)
    cov = np.sum(w * (a - mu_a) * (b - mu_b))
    c1, c2 = 0.01**2, 0.03**2
    expected = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    assert ssim(a, b) == pytest.approx(expected, rel=1e-10)
    assert ssim(a, b) < 0.5  # independent noise images are dissimilar
    with pytest.raises(ValueError, match="at least 11"):
        ssim(np.zeros((10, 10)), np.zeros((10, 10)))


def test_purity_and_nmi_on_hand_made_labelings():
    truth = [0, 0, 0, 1, 1, 1]
    clusters = [0, 0, 1, 1, 2, 2]  # table [[2, 1, 0], [0, 1, 2]]
    assert cluster_purity(truth, clusters) == pytest.approx(5 / 6)
    mutual_info = (2 / 3) * math.log(2)  # two cells of 2/6, each contributing (1/3) ln 2
    expected = mutual_info / ((math.log(2) + math.log(3)) / 2)
    assert normalized_mutual_info(truth, clusters) == pytest.approx(expected)  # 0.5158
    assert normalized_mutual_info([0, 0, 1, 1], [5, 5, 3, 3]) == pytest.approx(1.0)
    assert normalized_mutual_info([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0)
    assert cluster_purity([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.5)
    assert normalized_mutual_info([1, 1, 1], [2, 2, 2]) == 1.0


def test_roc_auc_with_ties():
    labels = [0, 0, 1, 1, 0, 1]
    scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4]
    # positives 0.35 (beats 1), 0.8 (beats 3), 0.4 (beats 1, ties 2): (1 + 3 + 2) / 9
    assert roc_auc(labels, scores) == pytest.approx(6 / 9)
    assert roc_auc([0, 1, 0, 1], [1, 1, 1, 1]) == pytest.approx(0.5)
    assert roc_auc([0, 0, 1], [0.1, 0.2, 0.3]) == 1.0
    assert roc_auc([1, 1, 0], [0.1, 0.2, 0.3]) == 0.0
    rng = np.random.default_rng(3)  # against the pair-counting definition
    labels, scores = rng.integers(0, 2, 60), rng.integers(0, 5, 60)
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    assert roc_auc(labels, scores) == pytest.approx(pairs.mean())
    with pytest.raises(ValueError, match="positive and one negative"):
        roc_auc([1, 1], [0.2, 0.3])


def test_precision_at_k():
    retrieved = [[0, 0, 1], [1, 0, 0]]
    assert precision_at_k([0, 1], retrieved, k=2) == pytest.approx(0.75)  # (2/2 + 1/2) / 2
    assert precision_at_k([0, 1], retrieved, k=3) == pytest.approx(0.5)  # (2/3 + 1/3) / 2
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k([0, 1], retrieved, k=4)


# ------------------------------------------------------------------------------ building blocks
def test_kmeans_finds_well_separated_blobs():
    rng = np.random.default_rng(4)
    centres = np.array([[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]])
    truth = np.repeat(np.arange(3), 50)
    x = centres[truth] + rng.normal(0, 0.5, (150, 2))
    result = kmeans(x, 3, n_init=3, seed=0)
    assert cluster_purity(truth, result.labels) == 1.0
    assert normalized_mutual_info(truth, result.labels) == pytest.approx(1.0)
    found = result.centres[np.argsort(result.centres[:, 0])]
    np.testing.assert_allclose(found, centres[[2, 0, 1]], atol=0.3)
    assert result.inertia == pytest.approx(
        sum(np.sum((x[truth == j] - x[truth == j].mean(0)) ** 2) for j in range(3))
    )
    again = kmeans(x, 3, n_init=3, seed=0)
    np.testing.assert_array_equal(again.labels, result.labels)


def test_median_filter_hand_case():
    image = np.arange(1.0, 10.0).reshape(3, 3)
    filtered = median_filter(image, 3)
    assert filtered[1, 1] == 5.0
    # corner: mirrored neighbourhood [[1, 1, 2], [1, 1, 2], [4, 4, 5]] has median 2
    assert filtered[0, 0] == 2.0
    salt = np.zeros((1, 7, 7))
    salt[0, 3, 3] = 1.0
    np.testing.assert_array_equal(median_filter(salt), np.zeros((1, 7, 7)))


def test_gaussian_filter_hand_case():
    kernel = gaussian_kernel(1.0)
    assert len(kernel) == 9  # radius int(4 * 1 + 0.5) = 4
    np.testing.assert_allclose(kernel[4] / kernel[5], math.exp(0.5))
    impulse = np.zeros((15, 15))
    impulse[7, 7] = 1.0
    response = gaussian_filter(impulse, 1.0)
    np.testing.assert_allclose(response[3:12, 3:12], np.outer(kernel, kernel))
    assert response.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(gaussian_filter(np.full((2, 6, 6, 3), 0.3)), 0.3)


def test_bicubic_reproduces_linear_ramps_exactly():
    i, j = np.meshgrid(np.arange(14.0), np.arange(14.0), indexing="ij")
    ramp = 0.3 + 0.02 * i - 0.01 * j
    s = (np.arange(28) + 0.5) / 2 - 0.5  # input coordinate of each output pixel
    expected = 0.3 + 0.02 * s[:, None] - 0.01 * s[None, :]
    np.testing.assert_allclose(upsample_bicubic(ramp), expected, atol=1e-12)
    quadratic = (i / 13) ** 2
    np.testing.assert_allclose(upsample_bicubic(quadratic)[:, 0], (s / 13) ** 2, atol=1e-12)


def test_keys_kernel_values_and_resizing_hand_cases():
    np.testing.assert_allclose(
        keys_kernel([0, 0.5, 1, 1.5, 2]), [1, 0.5625, 0, -0.0625, 0], atol=1e-15
    )
    t = 0.3
    assert keys_kernel([t + 1, t, 1 - t, 2 - t]).sum() == pytest.approx(1.0)
    small = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(upsample_nearest(small), np.kron(small, np.ones((2, 2))))
    assert downsample_mean(small).item() == 2.5
    images = np.random.default_rng(5).random((2, 14, 14))
    np.testing.assert_allclose(downsample_mean(upsample_nearest(images)), images)


def test_noise_is_seeded_and_at_its_level():
    images = np.full((20, 28, 28), 0.5)
    noisy = gaussian_noise(images, 0.1, seed=1)
    np.testing.assert_array_equal(noisy, gaussian_noise(images, 0.1, seed=1))
    assert np.std(noisy - images) == pytest.approx(0.1, rel=0.05)
    assert gaussian_noise(images, 2.0, seed=1).min() >= 0.0
    salted = salt_and_pepper_noise(images, 0.2, seed=2)
    changed = salted != images
    assert changed.mean() == pytest.approx(0.2, abs=0.01)
    assert set(np.unique(salted[changed])) == {0.0, 1.0}


def test_colour_mnist_rule_and_luminance():
    digits = np.zeros((2, 28, 28))
    digits[:, 10:18, 12:16] = 1.0
    coloured = colourise(digits, [3, 7])
    np.testing.assert_allclose(coloured[0, 12, 13], INK_COLOURS[3])
    np.testing.assert_allclose(coloured[1, 0, 0], BACKGROUND_COLOURS[7])
    grey = luminance(coloured)
    assert grey[0, 12, 13] == pytest.approx(INK_COLOURS[3] @ [0.299, 0.587, 0.114])
    assert grey.shape == (2, 28, 28)


def test_watermark_fixed_and_random_positions():
    mask = text_mask("©AE")
    assert mask.shape == (7, 19)  # 7 + 1 + 5 + 1 + 5 columns
    images = np.zeros((3, 28, 28))
    fixed = stamp_watermark(images, position="fixed", alpha=0.7)
    np.testing.assert_allclose(
        fixed[:, 20:27, 8:27], np.broadcast_to(np.where(mask, 0.7, 0.0), (3, 7, 19))
    )
    assert fixed[:, :20].max() == 0 and fixed[:, :, :8].max() == 0
    random = stamp_watermark(images, position="random", seed=0)
    np.testing.assert_array_equal(random, stamp_watermark(images, position="random", seed=0))
    assert (random > 0).sum() == 3 * mask.sum()
    assert not np.array_equal(random[0], random[1]) or not np.array_equal(random[1], random[2])
    with pytest.raises(ValueError, match="no glyph"):
        text_mask("a#")


# ------------------------------------------------------------------------------ applications
@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    """Every application in quick mode, once. One thread per pool: on a shared 2-core
    machine two spinning BLAS threads made these runs ten times slower."""
    out = tmp_path_factory.mktemp("applications")
    calls = []
    with threads.limit(blas=1, numba=1):
        results = run_all(out, quick=True, progress=lambda stage, f: calls.append((stage, f)))
    return out, {r["name"]: r for r in results}, calls


def test_every_application_returns_the_interface(quick_results):
    out, results, calls = quick_results
    assert list(results) == list(APPLICATIONS)
    for name, result in results.items():
        assert set(result) == {"name", "title", "metrics", "table_markdown", "figures", "command"}
        assert result["command"] == f"python -m autoencoders report --only {name}"
        assert all(isinstance(v, float) for v in result["metrics"].values())
        json.dumps(result)
        assert result["table_markdown"].startswith("|") and "Settings" in result["table_markdown"]
        for figure in result["figures"]:
            assert (out / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert calls[0][0].startswith("dimensionality_reduction: ")


def test_run_all_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="choose from dimensionality_reduction"):
        run_all(tmp_path, only="teleportation")


def test_dimensionality_reduction_beats_the_mean_image(quick_results):
    m = quick_results[1]["dimensionality_reduction"]["metrics"]
    pca = [m[f"pca_error_code_{k}"] for k in (2, 8, 16, 32, 64)]
    assert pca == sorted(pca, reverse=True)  # more components, less error
    assert pca[0] < m["mean_image_error"]
    assert m["deep_error_code_64"] < m["mean_image_error"]
    assert m["dense_error_code_64"] < m["mean_image_error"]


def test_denoising_beats_the_noisy_input(quick_results):
    m = quick_results[1]["denoising"]["metrics"]
    for key in ("gaussian_0.5", "salt_and_pepper_0.3"):
        assert m[f"{key}_psnr_autoencoder"] > m[f"{key}_psnr_noisy"] + 2
        assert m[f"{key}_psnr_unet"] > m[f"{key}_psnr_noisy"] + 2
        assert m[f"{key}_ssim_median"] > m[f"{key}_ssim_noisy"]


def test_watermark_removal_raises_psnr(quick_results):
    m = quick_results[1]["watermark"]["metrics"]
    assert m["mnist_fixed_psnr_after"] > m["mnist_fixed_psnr_before"]
    assert m["mnist_random_psnr_after"] > m["mnist_random_psnr_before"]


def test_colourisation_beats_the_mean_colour(quick_results):
    m = quick_results[1]["colourisation"]["metrics"]
    assert m["autoencoder_rmse"] < m["mean_rmse"]


def test_super_resolution_baselines(quick_results):
    m = quick_results[1]["super_resolution"]["metrics"]
    assert m["bicubic_psnr"] > m["nearest_psnr"]  # quick training is too short to beat them
    assert m["autoencoder_psnr"] > 12.0


def test_clustering_beats_chance(quick_results):
    m = quick_results[1]["clustering"]["metrics"]
    for representation in ("raw_pixels", "pca", "deep_autoencoder_code"):
        assert m[f"{representation}_purity"] > 0.25  # chance is about 0.11
        assert m[f"{representation}_nmi"] > 0.15


def test_image_search_beats_chance(quick_results):
    m = quick_results[1]["image_search"]["metrics"]
    assert m["autoencoder_code_precision_at_10"] > 3 * m["chance_precision"]
    assert m["raw_pixels_precision_at_10"] > 3 * m["chance_precision"]


def test_generation_beats_independent_pixels(quick_results):
    m = quick_results[1]["generation"]["metrics"]
    assert m["negative_elbo"] < m["independent_pixels_nll"]
    assert m["negative_elbo"] == pytest.approx(m["reconstruction"] + m["kl"])


def test_anomaly_detection_beats_chance(quick_results):
    m = quick_results[1]["anomaly_detection"]["metrics"]
    assert m["held_out_digit_auc_autoencoder"] > 0.6
    if "fashion_auc_autoencoder" in m:
        assert m["fashion_auc_autoencoder"] > 0.75


def test_transfer_learning_freezes_the_encoder_and_transfers(quick_results):
    m = quick_results[1]["transfer_learning"]["metrics"]
    assert m["frozen_encoder_max_change"] == 0.0  # trainable = False really froze it
    for per_class in (10, 100):
        for method in ("frozen", "fine_tuned", "scratch"):
            assert m[f"accuracy_{per_class}_{method}"] > 0.15  # chance is 0.10
    if "bce_mnist_pretrained_1" in m:  # Fashion-MNIST installed: part (b) ran
        # Shapes of strokes learnt on clothing help on digits after one epoch (0.48 vs 0.67).
        assert m["bce_mnist_pretrained_1"] < m["bce_mnist_random_1"]
