"""Loss terms, per image, in nats (Kingma & Welling 2014, arXiv:1312.6114, eq. 10 and appendix B).

negative ELBO = reconstruction + KL(q(z|x) || N(0, I)); a beta-VAE weights the KL by beta.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def reconstruction(logits: torch.Tensor, x: torch.Tensor, likelihood: str, sigma: float = 0.1) -> torch.Tensor:
    """-log p(x|z) per image, (N,). Logits in, so BCE is fused with the sigmoid (stable and fast)."""
    if likelihood == "bernoulli":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif likelihood == "gaussian":  # fixed-variance gaussian: MSE / (2 sigma^2) + normaliser
        per_pixel = 0.5 * ((x - torch.sigmoid(logits)) / sigma) ** 2 + math.log(sigma) + 0.5 * math.log(2 * math.pi)
    else:
        raise ValueError(f"unknown likelihood {likelihood!r}")
    return per_pixel.flatten(1).sum(1)


def kl_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form KL(N(mean, exp(logvar)) || N(0, I)) per image, (N,)."""
    return kl_units(mean, logvar).sum(1)


def kl_units(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The KL per image and latent unit, (N, D); summed over units it is :func:`kl_normal`."""
    return -0.5 * (1 + logvar - mean.pow(2) - logvar.exp())


def free_bits_kl(kl: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The KL term of the objective with free bits (Kingma et al. 2016, arXiv:1606.04934): each unit's
    minibatch-mean KL, ``kl`` being (N, D), counts as at least ``free_bits`` nats, so below that it has no
    gradient and the KL never pays to switch a unit off entirely. With 0 it is the plain batch-mean KL."""
    per_unit = kl.mean(0)  # (D,)
    return (per_unit.clamp(min=free_bits) if free_bits > 0 else per_unit).sum()


def log_normal(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, exp(logvar)) summed over the last axis (mean, logvar broadcast against z)."""
    return -0.5 * (((z - mean) ** 2) * torch.exp(-logvar) + logvar + math.log(2 * math.pi)).sum(-1)


def iw_log_weights(recon: torch.Tensor, z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor,
                   kl_scale: float = 1.0) -> torch.Tensor:
    """The log importance weights log p(x|z) + kl_scale * (log p(z) - log q(z|x)) of samples ``z`` (..., D),
    ``recon`` = -log p(x|z) of each (its shape is z's without D). With kl_scale 1, -(logsumexp over k samples
    - log k) is the k-sample importance-weighted bound (Burda et al. 2016, arXiv:1509.00519)."""
    prior = torch.zeros((), dtype=z.dtype, device=z.device)
    return -recon + kl_scale * (log_normal(z, prior, prior) - log_normal(z, mean, logvar))
