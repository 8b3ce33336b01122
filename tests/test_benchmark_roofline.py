"""benchmarks.roofline counts an epoch's GEMM FLOPs as computed by hand."""

from __future__ import annotations

import pytest

from autoencoders import ConvAutoencoder, DenseAutoencoder
from benchmarks import roofline


def _model(autoencoder):
    autoencoder.build()
    return autoencoder.model


def test_dense_784_32_784_batch_of_256_by_hand():
    model = _model(DenseAutoencoder(784, code_size=32, seed=0))
    counts = roofline.epoch_flops(model, samples=256)
    one_product = 2 * 256 * 784 * 32  # both layers: (256, 784) @ (784, 32), (256, 32) @ (32, 784)
    assert counts["forward"] == one_product * 2
    assert counts["weight_gradient"] == one_product * 2
    assert counts["input_gradient"] == one_product  # the first layer's input is the data
    assert counts["total"] == one_product * 5
    assert [entry["gemm"] for entry in counts["layers"]] == [(1, 784, 32), (1, 32, 784)]


def test_conv_autoencoder_im2col_gemm_sizes_by_hand():
    model = _model(ConvAutoencoder(seed=0))
    layers = roofline.gemm_layers(model)
    # (output positions, kh * kw * C, filters) of the Keras-blog model's seven convolutions
    expected = [
        (28 * 28, 9 * 1, 16),
        (14 * 14, 9 * 16, 8),
        (7 * 7, 9 * 8, 8),
        (4 * 4, 9 * 8, 8),
        (8 * 8, 9 * 8, 8),
        (14 * 14, 9 * 8, 16),  # the 'valid' one: 16x16 -> 14x14
        (28 * 28, 9 * 16, 1),
    ]
    assert [entry["gemm"] for entry in layers] == expected
    per_sample = [2 * m * k * f for m, k, f in expected]
    counts = roofline.epoch_flops(model, samples=128)
    assert counts["forward"] == 128 * sum(per_sample)
    assert counts["input_gradient"] == 128 * sum(per_sample[1:])
    assert counts["total"] == 128 * (3 * sum(per_sample) - per_sample[0])
    # The forward count is the product part of what model.summary() counts.
    for entry, layer in zip(layers, [l for l in model.leaf_layers() if "kernel" in l.params]):
        assert entry["forward_flops_per_sample"] == layer.flops() - layer.activation.flops()


def test_limit_is_flops_at_the_peak_and_fraction_is_limit_over_seconds():
    model = _model(DenseAutoencoder(784, code_size=32, seed=0))
    result = roofline.roofline(model, 60000, peak_gflops=100.0, seconds={"a": 2.0, "b": None})
    total = 5 * 2 * 60000 * 784 * 32
    assert result["limit_s"] == pytest.approx(total / 100e9)
    assert result["fraction_of_limit"]["a"] == pytest.approx(total / 100e9 / 2.0)
    assert result["fraction_of_limit"]["b"] is None
