"""The importance-weighted bound on -log p(x) (Burda, Grosse & Salakhutdinov 2016, arXiv:1509.00519).

    -log p(x) <= -log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x),   z_i ~ q(z | x)

With k = 1 it is the negative ELBO (one z sample); it tightens as k grows, and k = 5,000 is what papers
quote as "log-likelihood" (Burda et al.; k >= 100 is common). Conditional kinds give the bound on
-log p(x | y) with the true labels, as their ELBO does. Only stochastic kinds have one (a posterior
variance): ``latent-train eval --iw K`` prints it (training/cli_inspect.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from training import losses
from training.models import LatentModel


@torch.inference_mode()
def iw_bound(model: LatentModel, images: Any, labels: Any = None, k: int = 100, batch_size: int = 100,
             seed: int = 0) -> float:
    """The mean over ``images`` of the k-sample importance-weighted bound on -log p(x), in nats per image.

    ``images`` (N, C, H, W) float in [0, 1]; the k samples of an image are decoded in one batch of
    ``batch_size * k`` rows, so memory is about batch_size * k images. Seeded: the same call gives the
    same number.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    was_training = model.training
    model.eval()
    cfg = model.config
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x_all = torch.as_tensor(images)
    total, n = 0.0, len(x_all)
    for start in range(0, n, batch_size):
        x = x_all[start : start + batch_size].to(device)
        b = len(x)
        y = None
        if labels is not None and getattr(model, "conditional", False):
            y = torch.as_tensor(np.asarray(labels[start : start + b], np.int64)).to(device)
        mean, logvar = model.encode(x, y)
        if logvar is None:
            model.train(was_training)
            raise ValueError(f"a {cfg.kind} model has no posterior variance, so no importance-weighted bound")
        eps = torch.randn((k, *mean.shape), generator=gen).to(device)  # (k, B, D)
        z = mean + torch.exp(0.5 * logvar) * eps
        flat_z = z.reshape(k * b, -1)
        flat_y = None if y is None else y.repeat(k)
        x_rep = x.unsqueeze(0).expand(k, *x.shape).reshape(k * b, *x.shape[1:])
        recon = losses.reconstruction(model.decode_logits(flat_z, flat_y), x_rep, cfg.likelihood,
                                      cfg.gaussian_sigma).reshape(k, b)
        log_w = losses.iw_log_weights(recon, z, mean, logvar)  # (k, B)
        total += float((torch.logsumexp(log_w, 0) - math.log(k)).sum())
    model.train(was_training)
    return -total / max(n, 1)
