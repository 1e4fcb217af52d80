"""How long and how hard training pushes: the defaults sized to the data, and the per-step schedules.

Torch-free: ``latent-train --help`` states these rules, and the fit loop (training/train.py) asks them
at every step. Why they exist (assets/README.md, "Small datasets"): with a fixed 20 epochs at batch
128, 1,500 images give 12 optimizer steps an epoch, 240 in all, and a 2-D VAE's posterior collapses
(the decoder learns the mean image and ignores z). So training is sized in optimizer steps as well as
epochs, and the first steps are gentle:

- the model: the conv pair with one dense layer of 256 between its features and the latent heads (with
  the classic 16, most of those ReLU units die early on a small set, leaving one or two: the means then
  lie on a line, or the posterior collapses), trained by Adam at a learning rate of 2e-3;
- batch size: 128 from 8,192 training images up, else the power of two nearest N / 64, at least 32;
- length: ``--steps N`` exactly N steps, ``--epochs E`` E epochs; neither: 20 epochs, or more epochs
  if that is fewer than MIN_STEPS steps (1,500 images at batch 32: 63 epochs, 3,000 steps);
- learning rate: a linear warm-up over the first ``lr_warmup`` of the steps, then the cosine decay;
- KL warm-up (Bowman et al. 2016): the KL's weight rises linearly from 0 to beta over the first
  ``kl_warmup`` of the steps, so the decoder learns to use z before the KL pulls codes to the prior;
- free bits (Kingma et al. 2016): each latent unit's KL (its minibatch mean) costs nothing below
  ``free_bits`` nats, so the KL never pays the model to switch a unit off entirely.
"""

from __future__ import annotations

import math
from typing import Any

DEFAULT_HIDDEN = (256,)  # latent-train --hidden
DEFAULT_LR = 2e-3
DEFAULT_EPOCHS = 20
MIN_STEPS = 3000  # the least a first model trains with the defaults (see the module doc)
FULL_BATCH = 128
FULL_BATCH_FROM = 8192  # training images; below this the batch shrinks with the data
MIN_BATCH = 32
LR_WARMUP = 0.02  # of the steps
KL_WARMUP = 0.2  # of the steps
FREE_BITS = 0.5  # nats per latent unit

HELP = {
    "epochs": f"train this many epochs (default: {DEFAULT_EPOCHS}, or as many as make {MIN_STEPS} optimizer steps "
              "if that is more: a small dataset trains longer)",
    "steps": "train exactly this many optimizer steps instead of whole epochs (the last epoch may be partial)",
    "batch_size": f"images per step (default: {FULL_BATCH} from {FULL_BATCH_FROM:,} training images up, else the "
                  f"power of two nearest N/64, at least {MIN_BATCH})",
    "lr_warmup": f"fraction of the steps over which the learning rate rises linearly to --lr (default {LR_WARMUP})",
    "kl_warmup": "fraction of the steps over which the KL weight rises linearly from 0 to --beta "
                 f"(default {KL_WARMUP}; 0 = off)",
    "free_bits": f"nats of KL per latent unit that cost nothing, against posterior collapse (default {FREE_BITS}; "
                 "0 = off)",
}


def default_batch_size(n_train: int) -> int:
    """The batch size for ``n_train`` training images (module doc)."""
    if n_train >= FULL_BATCH_FROM:
        return FULL_BATCH
    nearest = 2 ** round(math.log2(max(n_train, 1) / 64)) if n_train >= 64 else 1
    return int(min(max(nearest, MIN_BATCH), FULL_BATCH))


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return max(math.ceil(n_train / batch_size), 1)


def default_epochs(n_train: int, batch_size: int) -> int:
    """20 epochs, or as many as make MIN_STEPS steps when that is more."""
    return max(DEFAULT_EPOCHS, math.ceil(MIN_STEPS / steps_per_epoch(n_train, batch_size)))


def total_steps(tc: Any, n_train: int) -> int:
    """The optimizer steps a run of ``tc`` (a TrainConfig) makes: ``tc.steps`` if set, else its epochs'."""
    return tc.steps if tc.steps else steps_per_epoch(n_train, tc.batch_size) * tc.epochs


def lr_at(tc: Any, step: int, total: int) -> float:
    """The learning rate at ``step`` of ``total``: the warm-up, then constant or a cosine from ``tc.lr`` down
    to ``tc.lr * tc.min_lr_frac`` over the remaining steps."""
    warm = round(tc.lr_warmup * total)
    if step < warm:
        return tc.lr * (step + 1) / warm
    if tc.schedule == "constant":
        return tc.lr
    frac = min((step - warm) / max(total - warm, 1), 1.0)
    return tc.lr * (tc.min_lr_frac + (1 - tc.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * frac)))


def kl_weight_at(tc: Any, step: int, total: int) -> float:
    """The KL term's weight (times beta) at ``step`` of ``total``: 0 -> 1 over the KL warm-up, then 1."""
    warm = round(tc.kl_warmup * total)
    return min((step + 1) / warm, 1.0) if warm > 0 else 1.0
