"""Where the model put data: the density of the shown images' codes, and the level below which a z
is "off the data". Qt-free, numpy only.

- A VAE or CVAE (a posterior per image): the aggregate posterior
  q(z) = (1/N) sum_i N(z; mu_i, diag sigma_i^2), sigma_i = exp(logvar_i / 2).
- A deterministic model (AE, AAE, PCA, beta = 0: a code per image): a Gaussian kernel density of the
  means, one diagonal kernel per mean with Scott's rule per axis, h_d = std_d * N^(-1 / (D + 4)).

The level is the density that 99 % of the data's own codes exceed: the 1st percentile of q(mu_i)
over the images (``QUANTILE``), each q(mu_i) leaving out image i's own component (else an image alone
in empty space would count as dense because of its own narrow peak, and the level would sit so high
that the gaps between neighbouring codes inside a cluster were shaded). A z whose q is below it lies where the model never put an image, and
what it decodes there is the decoder's guess.

Above ``MAX_COMPONENTS`` images, q is built from a seeded random subset of that many (the estimate of
a mixture of equal weights), and the level from ``MAX_REFERENCE`` of the means; both are stated in
:attr:`Manifold.note`. Every evaluation is in log space (log-sum-exp over the components), in
float64, in row chunks that bound the memory, with the squared distance expanded into matrix
products so a grid of a view costs a few BLAS calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_COMPONENTS", "MAX_REFERENCE", "QUANTILE", "Manifold", "build_manifold", "scott_bandwidth"]

QUANTILE = 0.01  # the level: this share of the data's own q(mu_i) lies below it
MAX_COMPONENTS = 20_000  # mixture components at most (a seeded subset of the images above this)
MAX_REFERENCE = 2_000  # means at most whose q(mu_i) set the level
SEED = 0
_CHUNK_ENTRIES = 4_000_000  # rows x components evaluated at once (32 MB of float64)


def scott_bandwidth(means: np.ndarray) -> np.ndarray:
    """Scott's rule per axis for a Gaussian kernel density of ``means`` (N, D): std_d * N^(-1/(D+4)).
    An axis with no spread gets a tiny positive width, so the density stays finite."""
    means = np.asarray(means, np.float64)
    n, d = means.shape
    std = means.std(axis=0)
    std = np.where(std > 0, std, 1e-3)
    return std * n ** (-1.0 / (d + 4))


@dataclass(frozen=True)
class Manifold:
    """A mixture of diagonal Gaussians of equal weight and its "off the data" level."""

    centres: np.ndarray  # (M, D) float64
    inv_var: np.ndarray  # (M, D) float64: 1 / sigma^2
    log_norm: np.ndarray  # (M,) float64: log of each component's normaliser, minus log M
    log_level: float  # log q below which a z is off the data
    kind: str  # "aggregate posterior" or "kernel density"
    note: str  # what it was built from, in one sentence

    @property
    def dim(self) -> int:
        return self.centres.shape[1]

    @property
    def level(self) -> float:
        return math.exp(self.log_level)

    def log_q(self, z: np.ndarray) -> np.ndarray:
        """log q at each row of ``z`` (K, D) (or one (D,) point: a 0-d array)."""
        z = np.asarray(z, np.float64)
        one = z.ndim == 1
        z = np.atleast_2d(z)
        if z.shape[1] != self.dim:
            raise ValueError(f"z has {z.shape[1]} dimensions; the density has {self.dim}")
        cw = self.centres * self.inv_var  # (M, D)
        const = self.log_norm - 0.5 * np.einsum("md,md->m", self.centres, cw)  # (M,)
        rows = max(1, _CHUNK_ENTRIES // len(self.centres))
        out = np.empty(len(z))
        for i in range(0, len(z), rows):
            zc = z[i : i + rows]
            # -0.5 * sum_d (z_d - c_d)^2 / s_d^2, expanded: the cross term and z's square are matrix products
            a = zc @ cw.T - 0.5 * ((zc * zc) @ self.inv_var.T) + const  # (k, M)
            top = a.max(axis=1, keepdims=True)
            a -= top  # <= 0: float32 is plenty for the exponentials, and twice as fast
            out[i : i + rows] = top[:, 0] + np.log(np.exp(a.astype(np.float32)).sum(axis=1, dtype=np.float64))
        return out[0] if one else out

    def q(self, z: np.ndarray) -> np.ndarray:
        return np.exp(self.log_q(z))

    def off(self, z: np.ndarray) -> np.ndarray:
        """True where q(z) is below the level."""
        return self.log_q(z) < self.log_level


def build_manifold(means: np.ndarray, logvars: np.ndarray | None = None, *, quantile: float = QUANTILE,
                   max_components: int = MAX_COMPONENTS, max_reference: int = MAX_REFERENCE,
                   seed: int = SEED) -> Manifold:
    """The density of ``means`` (N, D): the aggregate posterior with ``logvars`` (N, D), else a kernel
    density (Scott's rule); and its level, the ``quantile`` of q over the means themselves."""
    means = np.asarray(means, np.float64)
    if means.ndim != 2 or len(means) < 2:
        raise ValueError(f"the density needs at least 2 codes of shape (N, D), not {means.shape}")
    n, d = means.shape
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, max_components, replace=False)) if n > max_components else slice(None)
    centres = means[pick]
    if logvars is not None:
        logvars = np.asarray(logvars, np.float64)
        if logvars.shape != means.shape:
            raise ValueError(f"logvars {logvars.shape} must match means {means.shape}")
        var = np.exp(np.clip(logvars[pick], -30.0, 30.0))
        kind, how = "aggregate posterior", "the images' posteriors N(mu_i, sigma_i^2)"
    else:
        h = scott_bandwidth(means)
        var = np.broadcast_to(h * h, centres.shape).copy()
        kind = "kernel density"
        how = "Gaussian kernels at the means, Scott's rule per axis (h = " + ", ".join(f"{x:.3g}" for x in h[:4])
        how += ", \u2026)" if d > 4 else ")"
    m = len(centres)
    log_norm = -0.5 * (d * math.log(2 * math.pi) + np.log(var).sum(axis=1)) - math.log(m)
    dens = Manifold(centres, 1.0 / var, log_norm, 0.0, kind, "")
    # the level: each reference code's q without its own component (leave one out), else a code alone in
    # empty space would count as dense because of its own peak
    ref = np.sort(rng.choice(m, max_reference, replace=False)) if m > max_reference else np.arange(m)
    full = dens.log_q(centres[ref])
    own = np.minimum(log_norm[ref] - full, -1e-6)  # log of the own component's share of q, below 1
    loo = full + np.log1p(-np.exp(own)) + math.log(m / (m - 1))
    level = float(np.quantile(loo, quantile))
    of = f"{m:,} of the {n:,} images" if m < n else f"the {n:,} images"
    note = (f"{kind} of {of}: {how}; off the data below the density that {1 - quantile:.0%} of "
            f"{len(ref):,} images' own codes exceed (each without its own component)")
    return Manifold(centres, dens.inv_var, log_norm, level, kind, note)
