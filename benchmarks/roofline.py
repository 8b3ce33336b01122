"""The FLOPs of a training epoch and the seconds they take at the machine's GEMM peak.

Each Dense and Conv2D layer is a matrix product per batch of N samples, z = A @ W with
A (M, K) and W (K, F): Dense M = N, K = inputs, F = units; Conv2D the im2col GEMM,
M = N * OH * OW, K = kh * kw * C, F = filters. One training step costs, per layer,
2 M K F FLOPs three times:

* forward, z = A @ W;
* weight gradient, dL/dW = A.T @ dL/dz;
* input gradient, dL/dA = dL/dz @ W.T, except for the model's first layer: its input is
  the data, and no implementation computes that gradient (ours skips it, PyTorch's
  inputs do not require grad, jax.grad differentiates the parameters only).

Element-wise work (bias, activations, pooling, upsampling, the loss, the optimizer update)
is not counted: it is memory-bound and small next to the products, so the limit below is
an optimistic bound. The forward count per layer is the product part of
``layer.flops()`` (what ``model.summary()`` shows, which also adds the activation).

Limit: epoch FLOPs / (GEMM peak in FLOP/s), the peak measured in the same process
(``_timing.gemm_peak_best``); a fraction of the limit is limit seconds / measured seconds
(1.0 would be every product running at the peak and nothing else costing any time).
"""

from __future__ import annotations

import numpy as np

from nn_core.layers import Conv2D, Dense


def gemm_layers(model) -> list[dict]:
    """One entry per matrix-product layer of a built model, in forward order:
    {"name", "type", "gemm" (M per sample, K, F), "forward_flops_per_sample"}."""
    entries = []
    for layer in model.leaf_layers():
        if "kernel" not in layer.params:
            continue
        kernel = layer.params["kernel"]
        if isinstance(layer, Dense):
            positions = 1
        elif isinstance(layer, Conv2D):
            positions = int(np.prod(layer.output_shape[:2]))
        else:
            raise ValueError(
                f"roofline: no GEMM count for {type(layer).__name__} layer {layer.name!r} "
                "(Dense and Conv2D only)"
            )
        inner, filters = int(np.prod(kernel.shape[:-1])), int(kernel.shape[-1])
        entries.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "gemm": (positions, inner, filters),
                "forward_flops_per_sample": 2 * positions * inner * filters,
            }
        )
    return entries


def epoch_flops(model, samples: int) -> dict:
    """FLOPs of one training epoch over ``samples`` samples (the batch size does not
    matter: every count is linear in N). Keys: forward, weight_gradient, input_gradient,
    total (ints), layers (``gemm_layers``)."""
    layers = gemm_layers(model)
    forward = sum(entry["forward_flops_per_sample"] for entry in layers) * samples
    input_gradient = sum(entry["forward_flops_per_sample"] for entry in layers[1:]) * samples
    return {
        "forward": forward,
        "weight_gradient": forward,
        "input_gradient": input_gradient,
        "total": 2 * forward + input_gradient,
        "layers": layers,
    }


def roofline(model, samples: int, peak_gflops: float, seconds: dict[str, float | None]) -> dict:
    """Epoch FLOPs, the seconds they take at ``peak_gflops`` and each implementation's
    fraction of that limit: {"flops", "peak_gflops", "limit_s", "fraction_of_limit"}."""
    flops = epoch_flops(model, samples)
    limit = flops["total"] / (peak_gflops * 1e9)
    return {
        "flops": flops,
        "peak_gflops": peak_gflops,
        "limit_s": limit,
        "fraction_of_limit": {
            name: (limit / value if value else None) for name, value in seconds.items()
        },
    }
