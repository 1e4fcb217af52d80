"""PCA, the linear baseline, fitted in closed form and offering the same contract as the neural kinds.

    encode(x) = ((x - center) @ components.T) / scale        (N, D); logvar None
    decode(z) = clip((z * scale) @ components + center, 0, 1)   (N, C, H, W)

``components`` (D, P) are the top D right-singular vectors of the centred data (the first D principal
components, largest variance first, for any D up to min(N - 1, P)); ``scale`` (D,) the standard
deviation along each, so the codes have unit variance in every direction like a VAE's (whitening does
not change the reconstruction). Before the clip to [0, 1], the reconstruction is exactly closed-form PCA.

Solvers (:func:`fit_pca`):
- ``svd``: ``torch.linalg.svd`` of the centred data (float64), in memory;
- ``randomized``: ``torch.svd_lowrank`` (Halko et al. 2011), faster for large data, approximate;
- ``incremental``: one pass over chunks accumulating the mean and X^T X in float64, then an
  eigendecomposition: exact, and memory O(P^2), so the data may be a memory-mapped array larger than RAM.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from training.config import ModelConfig
from training.datasets.base import to_unit_float
from training.errors import UserError

SOLVERS = ("auto", "svd", "randomized", "incremental")
SVD_MAX_VALUES = 20_000_000  # "auto" switches from svd to incremental above N * P values
LOGIT_CLIP = 1e-3  # decode_logits: the Bernoulli score of a linear output clipped to [1e-3, 1 - 1e-3]


class PCAError(UserError, ValueError):
    """PCA cannot be fitted as asked (a bad solver name, or too few images for D components)."""


class PCA(nn.Module):
    phases: tuple[str, ...] = ()  # nothing to train by gradient: fit_pca sets the weights

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.metadata: dict[str, Any] = {}
        p = math.prod(cfg.image_shape)
        self.center = nn.Parameter(torch.zeros(p), requires_grad=False)  # (P,) the data mean
        self.components = nn.Parameter(torch.zeros(cfg.latent_dim, p), requires_grad=False)  # (D, P), orthonormal rows
        self.scale = nn.Parameter(torch.ones(cfg.latent_dim), requires_grad=False)  # (D,) std along each component

    conditional = False

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        return ((x.flatten(1) - self.center) @ self.components.T) / self.scale, None  # (N, D)

    def reconstruct_linear(self, z: torch.Tensor) -> torch.Tensor:
        """The unclipped PCA reconstruction (N, P) of codes z (N, D)."""
        return (z * self.scale) @ self.components + self.center

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.reconstruct_linear(z).clamp(0, 1).view(-1, *self.config.image_shape)

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        p = self.reconstruct_linear(z).clamp(LOGIT_CLIP, 1 - LOGIT_CLIP)
        return torch.logit(p).view(-1, *self.config.image_shape)


def fit_pca(model: PCA, images: Any, solver: str = "auto", chunk: int = 4096, seed: int = 0) -> str:
    """Set ``model``'s weights to the PCA of ``images`` (N, C, H, W); returns the solver used."""
    n = len(images)
    p = math.prod(model.config.image_shape)
    d = model.config.latent_dim
    if solver not in SOLVERS:
        raise PCAError(f"unknown PCA solver {solver!r} (known: {', '.join(SOLVERS)})")
    if n < 2:
        raise PCAError("PCA needs at least 2 images")
    if n - 1 < d:  # n centred images span at most n - 1 directions
        raise PCAError(f"PCA with latent_dim {d} needs at least {d + 1} images (got {n})")
    if p < d:
        raise PCAError(f"PCA with latent_dim {d} needs images of at least {d} pixel values (got {p})")
    if solver == "auto":
        solver = "svd" if n * p <= SVD_MAX_VALUES else "incremental"
    if solver == "incremental":
        center, comps, var = _incremental(images, p, d, chunk)
    else:
        x = _rows(images, 0, n, p)
        center = x.mean(0)
        if solver == "svd":
            _, s, vt = torch.linalg.svd(x - center, full_matrices=False)
            comps, var = vt[:d], s[:d] ** 2 / (n - 1)
        else:
            gen_state = torch.random.get_rng_state()
            torch.manual_seed(seed)  # svd_lowrank draws its random projection from the global generator
            _, s, v = torch.svd_lowrank(x - center, q=min(d + 10, n, p), niter=6)
            torch.random.set_rng_state(gen_state)
            comps, var = v[:, :d].T, s[:d] ** 2 / (n - 1)
    comps = _fix_signs(comps)
    with torch.no_grad():
        model.center.copy_(center.float())
        model.components.copy_(comps.float())
        model.scale.copy_(var.clamp_min(1e-12).sqrt().float())
    return solver


def _incremental(images: Any, p: int, d: int, chunk: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean and top-d eigenvectors of the covariance from one pass over chunks (float64 sums)."""
    n = len(images)
    total = torch.zeros(p, dtype=torch.float64)
    gram = torch.zeros(p, p, dtype=torch.float64)
    shift = _rows(images, 0, chunk, p).mean(0)  # subtracted before summing, for float64 accuracy
    for i in range(0, n, chunk):
        x = _rows(images, i, i + chunk, p) - shift
        total += x.sum(0)
        gram += x.T @ x
    mean_shifted = total / n
    cov = (gram - n * torch.outer(mean_shifted, mean_shifted)) / (n - 1)
    evals, evecs = torch.linalg.eigh(cov)  # ascending
    order = torch.argsort(evals, descending=True)[:d]
    return mean_shifted + shift, evecs[:, order].T, evals[order]


def _rows(images: Any, start: int, stop: int, p: int) -> torch.Tensor:
    """Rows start:stop as a float64 (rows, P) tensor (a copy: works for read-only memory maps too); uint8
    pixels (images on disk, a LazyImages) become [0, 1] as to_unit_float makes them."""
    rows = images[start:stop]
    if isinstance(rows, torch.Tensor):
        rows = rows.detach().cpu().numpy()
    if rows.dtype == np.uint8:
        rows = to_unit_float(rows)
    return torch.from_numpy(np.array(rows, dtype=np.float64).reshape(-1, p))


def _fix_signs(comps: torch.Tensor) -> torch.Tensor:
    """Each component's largest-magnitude entry positive: the same basis from every solver."""
    idx = comps.abs().argmax(1)
    signs = torch.sign(comps[torch.arange(len(comps)), idx])
    return comps * torch.where(signs == 0, torch.ones_like(signs), signs)[:, None]
