"""A small VAE written the plain PyTorch way (as pytorch/examples' vae), to open in Latent Explorer.

Nothing here uses the project's classes: the explorer needs only ``encode(x) -> (mean, logvar)`` and
``decode(z) -> images in [0, 1]``.

Train it for a minute on Fashion-MNIST and save the weights as safetensors:

    python examples/own_model.py --steps 600 --out my_vae.safetensors

then explore it (its 8-D latent space through 2-D slices):

    latent-explorer --module examples/own_model.py:build --weights my_vae.safetensors --dataset fashion-mnist
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from torch import nn

LATENT = 8


class VAE(nn.Module):
    def __init__(self, latent: int = LATENT):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, latent)
        self.fc22 = nn.Linear(400, latent)
        self.fc3 = nn.Linear(latent, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x.view(-1, 784)))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3)).view(-1, 1, 28, 28)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    """Reconstruction + KL divergence losses summed over all elements and batch (Kingma & Welling, appendix B)."""
    bce = F.binary_cross_entropy(recon_x.view(-1, 784), x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def build() -> VAE:
    """What ``--module examples/own_model.py:build`` calls."""
    return VAE()


def train(images: torch.Tensor, steps: int, batch: int = 128, lr: float = 1e-3, seed: int = 0) -> VAE:
    """``images`` (N, 1, 28, 28) float in [0, 1]."""
    torch.manual_seed(seed)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        x = images[torch.randint(0, len(images), (batch,))]
        opt.zero_grad()
        recon, mu, logvar = model(x)
        loss = loss_function(recon, x, mu, logvar)
        loss.backward()
        opt.step()
    return model.eval()


def main() -> None:
    from safetensors.torch import save_file

    from training.data import load_dataset

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--out", default="my_vae.safetensors")
    a = p.parse_args()
    ds = load_dataset(a.dataset, "train")
    model = train(torch.from_numpy(ds.images), a.steps)
    save_file(model.state_dict(), a.out)
    print(f"saved {a.out}")


if __name__ == "__main__":
    main()
