"""VariationalAutoencoder (Kingma and Welling, ICLR 2014): Gaussian encoder, Bernoulli decoder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import nn_core as nn

from .base import DEFAULT_BATCH_SIZE, Autoencoder, check_positive_int, flat_input_size


class VariationalAutoencoder(Autoencoder):
    """x (N, D) -> encoder -> [mean | log_variance] (N, 2 latent) -> z (N, latent) -> decoder -> p.

    encoder: Dense(h, activation) per entry of ``hidden_sizes``, then one linear Dense of
    2 * latent_dim units: the mean and log-variance heads side by side (the same as two
    Dense heads on the same input). ``sampling`` (``nn.layers.GaussianSampling``) draws
    z = mean + exp(log_variance / 2) * eps, eps ~ N(0, I) from its seeded generator, in
    training, and passes z = mean in inference. decoder: the hidden layers mirrored, then
    Dense(D, sigmoid): Bernoulli pixel probabilities p.

    Loss (``compile()``'s default), per sample, averaged over the batch:

        sum over the D pixels of BCE(x, p)  +  kl_weight * KL(q(z|x) || N(0, I))

    i.e. the negative ELBO (kl_weight 1), in nats per image: ``SummedBinaryCrossentropy``
    plus the sampling layer's penalty. The Keras blog's script added the KL to a *mean*
    over pixels, weighting it D = 784 times too heavily. ``evaluate`` (and val_loss) use
    z = mean, a deterministic estimate; ``predict`` reconstructs from the mean too.
    Defaults as the blog: 256 relu hidden units, a 2-d latent space.
    """

    default_loss = "summed_binary_crossentropy"

    def __init__(
        self,
        input_shape: int | Sequence[int],
        latent_dim: int = 2,
        hidden_sizes: Sequence[int] = (256,),
        activation: str | None = "relu",
        kl_weight: float = 1.0,
        seed: int | None = None,
    ):
        input_size = flat_input_size(input_shape, "VariationalAutoencoder")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim", "VariationalAutoencoder")
        self.hidden_sizes = tuple(
            check_positive_int(size, "each hidden size", "VariationalAutoencoder")
            for size in hidden_sizes
        )
        self.activation, self.kl_weight = activation, kl_weight
        encoder = [nn.layers.Dense(size, activation=activation) for size in self.hidden_sizes]
        encoder.append(nn.layers.Dense(2 * self.latent_dim))  # [mean | log_variance]
        decoder = [
            nn.layers.Dense(size, activation=activation) for size in reversed(self.hidden_sizes)
        ]
        decoder.append(nn.layers.Dense(input_size, activation="sigmoid"))
        self.sampling = nn.layers.GaussianSampling(kl_weight)
        super().__init__((input_size,), encoder, decoder, between=[self.sampling], seed=seed)
        # sample()'s own stream, fixed by the seed and independent of training's.
        self._sample_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])

    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "latent_dim": self.latent_dim,
            "hidden_sizes": list(self.hidden_sizes),
            "activation": self.activation,
            "kl_weight": self.kl_weight,
            "seed": self.seed,
        }

    def encode_distribution(
        self, x: Any, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mean, log_variance), each (N, latent_dim): the Gaussian q(z | x) of each sample."""
        self._ensure_built()
        moments = self.encoder.predict(x, batch_size=batch_size)
        return moments[:, : self.latent_dim], moments[:, self.latent_dim :]

    def encode(self, x: Any, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """The posterior means (N, latent_dim): the codes to plot or to decode."""
        return self.encode_distribution(x, batch_size)[0]

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """n new images (n, D), pixel probabilities in (0, 1), decoded from z ~ N(0, I).

        ``seed``: draw z from ``np.random.default_rng(seed)``; by default from the model's
        sampling generator (fixed by the model's seed, advancing with each call).
        """
        n = check_positive_int(n, "n", "VariationalAutoencoder.sample")
        rng = self._sample_rng if seed is None else np.random.default_rng(seed)
        codes = rng.standard_normal((n, self.latent_dim))
        self._ensure_built()
        return self.decode(codes.astype(self.model.dtype))
