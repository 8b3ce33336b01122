"""PCA by NumPy's SVD: the linear baseline of Hinton and Salakhutdinov (Science 2006).

With k components, PCA is the best linear autoencoder with a k-dimensional code: it
minimises the summed squared reconstruction error over all rank-k affine maps. On MNIST
(pixels in [0, 1]) 30 components leave 13.87 per test image, the number the deep
autoencoders of that paper are compared with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .base import check_positive_int

if TYPE_CHECKING:
    from typing_extensions import Self


class PCA:
    """Principal component analysis of x (N, D): codes (N, k), reconstructions (N, D).

    ``fit`` centres the data and takes its thin SVD, x - mean = U S V^T; the components
    are the first k rows of V^T (unit vectors, by decreasing variance). Everything is
    computed in float64. Attributes after ``fit``: ``mean`` (D,), ``components`` (k, D),
    ``singular_values`` (k,), ``explained_variance`` (k,) = S^2 / (N - 1).
    """

    def __init__(self, n_components: int):
        self.n_components = check_positive_int(n_components, "n_components", "PCA")
        # Set by fit(); typed Any because they are None only until then, and the methods
        # that read them check that first (_check).
        self.mean: Any = None
        self.components: Any = None
        self.singular_values: Any = None
        self.explained_variance: Any = None

    def fit(self, x: np.ndarray) -> Self:
        """Find the components of x (N, D); returns self."""
        x = self._check(x, fitted=False)
        if self.n_components > min(x.shape):
            raise ValueError(
                f"PCA: n_components={self.n_components} exceeds min(N, D) = {min(x.shape)} "
                f"for x of shape {x.shape}"
            )
        self.mean = x.mean(axis=0)
        _, singular_values, components = np.linalg.svd(x - self.mean, full_matrices=False)
        self.components = components[: self.n_components]
        self.singular_values = singular_values[: self.n_components]
        self.explained_variance = self.singular_values**2 / max(len(x) - 1, 1)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Codes (N, k) = (x - mean) @ components.T."""
        return (self._check(x) - self.mean) @ self.components.T

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        """Reconstructions (N, D) = codes @ components + mean."""
        if self.components is None:
            raise ValueError("PCA is not fitted yet: call fit(x) first")
        codes = np.asarray(codes, dtype=np.float64)
        if codes.ndim != 2 or codes.shape[1] != self.n_components:
            raise ValueError(
                f"PCA: codes must have shape (N, {self.n_components}), got {codes.shape}"
            )
        return codes @ self.components + self.mean

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """The projection of x (N, D) onto the components' affine subspace, (N, D)."""
        return self.inverse_transform(self.transform(x))

    # The autoencoders' names, so that PCA stands in for one anywhere (applications,
    # image search, the CLI): encode = transform, decode = inverse_transform,
    # predict = reconstruct. ``batch_size`` is accepted and unused (PCA is one product).
    def encode(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Codes (N, k) of x (N, D); the autoencoders' name for ``transform``."""
        return self.transform(x)

    def decode(self, codes: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Reconstructions (N, D) of codes (N, k); the name for ``inverse_transform``."""
        return self.inverse_transform(codes)

    def predict(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Reconstructions (N, D) of x (N, D); the autoencoders' name for ``reconstruct``."""
        return self.reconstruct(x)

    def _check(self, x, fitted=True):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f"PCA expects x of shape (N, features), got {x.shape}")
        if fitted:
            if self.components is None:
                raise ValueError("PCA is not fitted yet: call fit(x) first")
            if x.shape[1] != self.mean.shape[0]:
                raise ValueError(
                    f"PCA was fitted on {self.mean.shape[0]} features, got x of shape {x.shape}"
                )
        return x


def squared_error_per_image(x: np.ndarray, reconstructions: np.ndarray) -> float:
    """sum over pixels of (x - reconstruction)^2, averaged over images: x, reconstructions (N, D).

    Hinton and Salakhutdinov's (2006) measure, with pixels in [0, 1].
    """
    x = np.asarray(x, dtype=np.float64)
    reconstructions = np.asarray(reconstructions, dtype=np.float64)
    if x.shape != reconstructions.shape:
        raise ValueError(
            f"x and reconstructions must have the same shape, got {x.shape} and "
            f"{reconstructions.shape}"
        )
    return float(np.mean(np.sum(np.square(x - reconstructions).reshape(len(x), -1), axis=1)))
