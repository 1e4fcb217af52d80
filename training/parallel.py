"""One training step's loss and gradients, computed by W threads on W slices of the batch.

Why: this model's convolutions are small (32-64 channels, 7x7 to 28x28). With the batch on one
thread and OpenMP spreading every op over both cores, the cores spend much of each op waiting for
each other; on a busy machine, far more. Here each worker thread runs single-threaded ops on its own
slice of the batch, all at once (torch releases the GIL inside ops), with ``torch.autograd.grad``
(no shared ``.grad`` accumulation), and the main thread sums the slices' gradients in a fixed order
— so a seeded run gives the same weights every time. Measured in benchmarks/README.md.

The maths is unchanged: the gradient of the batch mean is the size-weighted sum of the slices'
gradients, and the noise for the reparameterisation (and for denoising) is drawn for the whole batch
up front. Labels (conditional kinds) and the training phase (aae: "disc", "ae") go to every slice.
Dropout draws its masks in each worker thread, so a run with dropout is not bit-reproducible.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

Job = tuple[torch.Tensor, Any, torch.Tensor, Any, str, float]  # x, y, eps, noise, phase, weight


class ThreadedStep:
    """``step(x, eps, y, noise, phase)`` sets ``p.grad`` from W slices computed on a pool of W single-threaded workers."""

    def __init__(self, model: torch.nn.Module, workers: int,
                 autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext):
        self.model = model
        self.autocast = autocast  # --amp: autocast is per thread, so each worker enters it (training/precision.py)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.workers = workers
        # each worker sets its own OpenMP team to one thread once, when it starts
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="train-worker", initializer=torch.set_num_threads,
                                        initargs=(1,))

    def _slice(self, job: Job) -> tuple[Any, torch.Tensor]:
        x, y, eps, noise, phase, weight = job
        with self.autocast():
            out = self.model(x, y, eps=eps, noise=noise, phase=phase)
        grads = torch.autograd.grad(out["loss"] * weight, self.params, allow_unused=True)
        stats = torch.stack([out["loss"].detach(), out["recon"].detach(), out["kl"].detach()]).float() * weight
        return grads, stats

    def __call__(self, x: torch.Tensor, eps: torch.Tensor, y: torch.Tensor | None = None,
                 noise: torch.Tensor | None = None, phase: str = "train") -> torch.Tensor:
        """Set ``p.grad`` for the batch mean loss; return the batch means (loss, recon, kl)."""

        def part(t: torch.Tensor | None, a: int, b: int) -> torch.Tensor | None:
            return None if t is None else t[a:b]

        n = len(x)
        bounds = [round(n * k / self.workers) for k in range(self.workers + 1)]
        jobs = [(x[a:b], part(y, a, b), eps[a:b], part(noise, a, b), phase, (b - a) / n)
                for a, b in zip(bounds, bounds[1:]) if b > a]
        results = list(self._pool.map(self._slice, jobs))  # in slice order; an exception is re-raised here
        stats = results[0][1]
        for r in results[1:]:  # fixed order: deterministic
            stats = stats + r[1]
        for i, p in enumerate(self.params):
            g = [r[0][i] for r in results if r[0][i] is not None]
            total = g[0] if g else None
            for more in g[1:]:  # fixed order: deterministic
                total = total + more
            p.grad = total
        return stats

    def close(self) -> None:
        self._pool.shutdown(wait=True)
