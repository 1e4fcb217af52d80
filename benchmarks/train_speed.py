"""Training throughput and test ELBO: latent-train's fit loop vs a straightforward PyTorch transcription.

Both train the classic Keras 2-D conv VAE (Conv 32 s2, Conv 64 s2, Dense 16 -> 2; Dense 7x7x64,
ConvT 64 s2, ConvT 32 s2, ConvT 1) on Fashion-MNIST, batch 128, Adam, float32, for the same number
of steps, in one process, interleaved A B A B (this machine's speed drifts by up to 2x between runs).

    python benchmarks/train_speed.py --steps 469 --rounds 2          # the table in benchmarks/README.md
    python benchmarks/train_speed.py --steps 150 --rounds 1 --ablation   # each optimisation alone

"A" (straightforward) is what the pytorch/examples VAE does: a DataLoader over a TensorDataset,
sigmoid + F.binary_cross_entropy(reduction="sum"), contiguous NCHW, torch.optim.Adam defaults.
"B" is ``training.train.fit``: data pre-laid out as one tensor batched with index_select,
BCE fused with the sigmoid (binary_cross_entropy_with_logits), channels_last convolutions, fused
Adam, a cosine learning-rate schedule, and one worker thread per core each computing the gradient of
a slice of the batch with single-threaded ops (training/parallel.py). The ablation adds the first four
to A one at a time, and runs B without the worker threads.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training import losses
from training.data import load_dataset
from training.models import ModelConfig, build_model
from training.train import TrainConfig, fit


class PlainVAE(nn.Module):
    """The straightforward transcription (pytorch/examples style)."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                                 nn.Flatten(), nn.Linear(64 * 7 * 7, 16), nn.ReLU())
        self.mu = nn.Linear(16, 2)
        self.logvar = nn.Linear(16, 2)
        self.dec_fc = nn.Sequential(nn.Linear(2, 64 * 7 * 7), nn.ReLU())
        self.dec = nn.Sequential(nn.ConvTranspose2d(64, 64, 3, 2, 1, output_padding=1), nn.ReLU(),
                                 nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1), nn.ReLU(),
                                 nn.ConvTranspose2d(32, 1, 3, 1, 1))

    def encode(self, x):
        h = self.enc(x)
        return self.mu(h), self.logvar(h)

    def decode_logits(self, z):
        return self.dec(self.dec_fc(z).view(-1, 64, 7, 7))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.decode_logits(z)), mu, logvar


def plain_loss(recon, x, mu, logvar):
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + kld) / len(x)


def run_plain(train_x: torch.Tensor, steps: int, seed: int, *, loader: bool = True, fused_loss: bool = False,
              channels_last: bool = False, fused_adam: bool = False) -> tuple[PlainVAE, float]:
    torch.manual_seed(seed)
    model = PlainVAE()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused_adam or None)
    data = train_x[: steps * 128]
    if loader:
        batches = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=128, shuffle=True)
        it = (b[0] for b in batches)
    else:
        data = data.contiguous(memory_format=fmt)
        order = torch.randperm(len(data))
        it = (data.index_select(0, order[i : i + 128]) for i in range(0, len(data), 128))
    t0 = time.perf_counter()
    n = 0
    for x in it:
        if loader and channels_last:
            x = x.contiguous(memory_format=fmt)
        if fused_loss:
            mu, logvar = model.encode(x)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            loss = (losses.reconstruction(model.decode_logits(z), x, "bernoulli") + losses.kl_normal(mu, logvar)).mean()
        else:
            recon, mu, logvar = model(x)
            loss = plain_loss(recon, x, mu, logvar)
        opt.zero_grad()
        loss.backward()
        opt.step()
        n += len(x)
    return model.eval(), n / (time.perf_counter() - t0)


def run_fit(train_x: torch.Tensor, steps: int, seed: int, workers: int = 0):
    torch.manual_seed(seed)
    model = build_model(ModelConfig())  # the classic config: channels (32, 64), hidden (16,)
    tc = TrainConfig(epochs=1, batch_size=128, lr=1e-3, seed=seed, workers=workers, schedule="constant")  # as A
    t0 = time.perf_counter()
    res = fit(model, train_x[: steps * 128], tc, progress=False)
    return res.model, (steps * 128) / (time.perf_counter() - t0)


@torch.inference_mode()
def neg_elbo(model, test_x: torch.Tensor, seed: int = 0) -> float:
    """Same estimator for both: one z sample per image, Bernoulli likelihood, nats per image."""
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for i in range(0, len(test_x), 1000):
        x = test_x[i : i + 1000]
        mu, logvar = model.encode(x)
        z = mu + torch.randn(mu.shape, generator=gen) * torch.exp(0.5 * logvar)
        total += float((losses.reconstruction(model.decode_logits(z), x, "bernoulli") + losses.kl_normal(mu, logvar)).sum())
    return total / len(test_x)


def train_flops_per_image() -> float:
    from torch.utils.flop_counter import FlopCounterMode

    model = PlainVAE()
    x = torch.rand(128, 1, 28, 28)
    with FlopCounterMode(display=False) as fc:
        recon, mu, logvar = model(x)
        plain_loss(recon, x, mu, logvar).backward()
    return fc.get_total_flops() / 128


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=469, help="optimizer steps per run (469 = one epoch)")
    p.add_argument("--rounds", type=int, default=2, help="A B rounds, interleaved")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--ablation", action="store_true", help="also time each optimisation added to A alone")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    train_x = torch.from_numpy(load_dataset("fashion-mnist", "train", data_dir=a.data_dir, download=False).images)
    test_x = torch.from_numpy(load_dataset("fashion-mnist", "test", data_dir=a.data_dir, download=False).images)
    flops = train_flops_per_image()
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, {a.steps} steps x batch 128, "
          f"{flops / 1e6:.1f} MFLOP per training image (forward + backward, FlopCounterMode)")
    variants = {"A straightforward": lambda s: run_plain(train_x, a.steps, s),
                "B latent-train fit": lambda s: run_fit(train_x, a.steps, s)}
    if a.ablation:
        variants.update({
            "A + tensor batches (no DataLoader)": lambda s: run_plain(train_x, a.steps, s, loader=False),
            "A + fused BCE-with-logits": lambda s: run_plain(train_x, a.steps, s, fused_loss=True),
            "A + channels_last": lambda s: run_plain(train_x, a.steps, s, channels_last=True),
            "A + fused Adam": lambda s: run_plain(train_x, a.steps, s, fused_adam=True),
            "B without worker threads (1 OpenMP team)": lambda s: run_fit(train_x, a.steps, s, workers=1),
        })
    speeds: dict[str, list[float]] = {k: [] for k in variants}
    elbos: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(a.rounds):
        for name, run in variants.items():  # interleaved: A B (A+x ...) A B ...
            model, ips = run(r)
            speeds[name].append(ips)
            elbos[name].append(neg_elbo(model, test_x))
            print(f"round {r + 1} {name:38s} {ips:7.0f} img/s  test -ELBO {elbos[name][-1]:.2f}", flush=True)
    base = statistics.median(speeds["A straightforward"])
    print()
    print("| variant | images/s (median) | speed-up vs A | GFLOP/s | test -ELBO (nats, mean) |")
    print("|---|---:|---:|---:|---:|")
    for name in variants:
        s = statistics.median(speeds[name])
        print(f"| {name} | {s:.0f} | {s / base:.2f}x | {s * flops / 1e9:.1f} | {np.mean(elbos[name]):.2f} |")


if __name__ == "__main__":
    main()
