"""Label guidance: a conditional model's class dial that works at every z (``--label-guide W``).

A CVAE's decoder may learn to take the class from z rather than from its label, wherever the
training posterior puts one class: there decode(z, c) ignores c. Label guidance adds to the loss,
for each row, the cross-entropy of a frozen classifier on decode(z', c') against c', where z' is a
draw from the prior N(0, I) (the row's reparameterisation noise ``eps``, itself a standard normal
draw independent of the image) and c' is the label of the next row of the shuffled batch (a draw
from the data's label distribution, independent of z'). So the decoder is taught, at z spread over
the whole prior, that the label decides the class -- the same idea as the auxiliary classifier of
AC-GAN (Odena et al. 2017), here with the classifier trained first on the real images and frozen.

The classifier is trained here at the start of training, seeded (``seed + 1``), on the training
images and labels: a small CNN (conv 32, conv 64, dense 128) for 2 epochs; it is not part of the
model and not saved (the checkpoint's ``train`` metadata records the weight). The guidance term
acts in training only; the ELBO the model reports (and ``latent-train eval``) does not include it.
Measured in benchmarks/cvae_dial.py against judges trained separately (a different CNN, and a 5-NN
vote among real images in pixel space, which a decoder cannot fool with adversarial texture).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from training.batches import Streamed, batch_of

GUIDE_EPOCHS = 2


class Guide:
    """A frozen classifier and the guidance weight; kept outside the model's modules (never saved)."""

    def __init__(self, net: nn.Module, weight: float):
        self.net, self.weight = net, weight

    def loss(self, model: Any, eps: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The batch-mean cross-entropy of the classifier on decode(eps, y rolled by one) (a scalar)."""
        c = y.roll(1)
        return F.cross_entropy(self.net(torch.sigmoid(model.decode_logits(eps, c))), c)


def classifier(image_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    c, h, w = image_shape
    return nn.Sequential(nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64 * (h // 4) * (w // 4), 128), nn.ReLU(), nn.Linear(128, num_classes))


def train_guide(x_all: torch.Tensor | Streamed, y_all: torch.Tensor, image_shape: tuple[int, int, int],
                num_classes: int, weight: float, seed: int, batch_size: int = 128) -> Guide:
    """A classifier of the training images fitted for ``GUIDE_EPOCHS`` epochs (Adam 1e-3), seeded, then frozen."""
    device = y_all.device
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        net = classifier(image_shape, num_classes).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n = len(y_all)
    for _ in range(GUIDE_EPOCHS):
        order = torch.randperm(n, generator=gen).to(device)
        for i in range(math.ceil(n / batch_size)):
            idx = order[i * batch_size : (i + 1) * batch_size]
            loss = F.cross_entropy(net(batch_of(x_all, idx)), y_all.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return Guide(net, weight)


def accuracy(guide: Guide, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The classifier's accuracy on ``images`` (N, C, H, W) in [0, 1]."""
    with torch.no_grad():
        return (guide.net(images).argmax(1) == labels).float().mean().item()
