"""The adversarial autoencoder (Makhzani et al. 2015, arXiv:1511.05644): a discriminator replaces the KL.

A deterministic autoencoder (``encode`` returns the code and ``None``) whose codes are pushed towards
the prior N(0, I) by a small discriminator on z, trained in alternation on every minibatch:

1. ``phase="disc"``: the discriminator learns to tell prior samples (label 1) from the encoder's codes
   (label 0, detached: only the discriminator learns here);
2. ``phase="ae"``: encoder and decoder learn to reconstruct and, through the just-updated but frozen
   discriminator, to make the codes look like prior samples: loss = recon + adv_weight * BCE(D(z), 1).

Each phase touches a disjoint set of weights (the others get no gradient, which Adam skips), so one
optimizer over all weights behaves as the paper's two.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training import losses
from training.models import Autoencoder, ModelConfig, _mlp


class AdversarialAutoencoder(Autoencoder):
    phases = ("disc", "ae")  # the fit loop runs one optimizer step per phase, in this order

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.discriminator = _mlp([cfg.latent_dim, *cfg.disc_hidden, 1], final_act=False)  # z (N, D) -> logit (N, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, eps: torch.Tensor | None = None,
                noise: torch.Tensor | None = None, phase: str = "ae") -> dict[str, torch.Tensor]:
        """The batch-mean loss of one phase; ``eps`` (N, D) are the prior samples the discriminator sees."""
        x_in = self.corrupt(x, noise)
        if phase == "disc":
            with torch.no_grad():
                z = self.encode(x_in, y)[0]  # (N, D), codes as the encoder makes them now
            prior = torch.randn_like(z) if eps is None else eps
            real, fake = self.discriminator(prior), self.discriminator(z)  # (N, 1) logits each
            loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                    + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
            zero = torch.zeros((), device=x.device)
            return {"loss": loss, "recon": zero, "kl": zero, "adv": loss.detach()}
        if phase != "ae":
            raise ValueError(f"unknown phase {phase!r}")
        z = self.encode(x_in, y)[0]
        recon = losses.reconstruction(self.decode_logits(z, y), x, self.config.likelihood, self.config.gaussian_sigma)
        judged = self._frozen_discriminator(z)  # gradients reach the encoder only
        fool = F.binary_cross_entropy_with_logits(judged, torch.ones_like(judged), reduction="none").squeeze(1)  # (N,)
        loss = recon + self.config.adv_weight * fool
        return {"loss": loss.mean(), "recon": recon.mean(), "kl": torch.zeros((), device=x.device),
                "adv": fool.mean().detach()}

    def _frozen_discriminator(self, z: torch.Tensor) -> torch.Tensor:
        """The discriminator with its weights detached, computed layer by layer (no module state is
        swapped, unlike torch.func.functional_call, so worker threads may run it at the same time)."""
        h = z
        for layer in self.discriminator:
            h = F.linear(h, layer.weight.detach(), layer.bias.detach()) if isinstance(layer, nn.Linear) else layer(h)
        return h  # (N, 1)
