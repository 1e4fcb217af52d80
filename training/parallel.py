"""One training step's loss and gradients, computed by W threads on W slices of the batch.

Why: this model's convolutions are small (32-64 channels, 7x7 to 28x28). With the batch on one
thread and OpenMP spreading every op over both cores, the cores spend much of each op waiting for
each other; on a busy machine, far more. Here each worker thread runs single-threaded ops on its own
slice of the batch, all at once (torch releases the GIL inside ops), with ``torch.autograd.grad``
(no shared ``.grad`` accumulation), and the main thread sums the slices' gradients in a fixed order
— so a seeded run gives the same weights every time. Measured in benchmarks/README.md.

The maths is unchanged: the gradient of the batch mean is the size-weighted sum of the slices'
gradients, and the noise for the reparameterisation is drawn for the whole batch up front.
"""

from __future__ import annotations

import threading
from typing import Any

import torch


class ThreadedStep:
    def __init__(self, model: torch.nn.Module, workers: int):
        self.model = model
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.workers = workers
        self._jobs: list[Any] = [None] * workers
        self._results: list[Any] = [None] * workers
        self._go = [threading.Event() for _ in range(workers)]
        self._done = [threading.Event() for _ in range(workers)]
        self._stop = False
        self._threads = [threading.Thread(target=self._run, args=(k,), name=f"train-worker-{k}", daemon=True)
                         for k in range(workers)]
        for t in self._threads:
            t.start()

    def _run(self, k: int) -> None:
        torch.set_num_threads(1)  # this worker's own OpenMP team: one thread
        while True:
            self._go[k].wait()
            self._go[k].clear()
            if self._stop:
                return
            x, eps, weight = self._jobs[k]
            try:
                out = self.model(x, eps=eps)
                grads = torch.autograd.grad(out["loss"] * weight, self.params, allow_unused=True)
                stats = torch.stack([out["loss"].detach(), out["recon"].detach(), out["kl"].detach()]) * weight
                self._results[k] = (grads, stats)
            except BaseException as e:  # noqa: BLE001 - re-raised on the main thread
                self._results[k] = e
            self._done[k].set()

    def __call__(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Set ``p.grad`` for the batch mean loss; return the batch means (loss, recon, kl)."""
        n = len(x)
        bounds = [round(n * k / self.workers) for k in range(self.workers + 1)]
        active = [k for k in range(self.workers) if bounds[k + 1] > bounds[k]]
        for k in active:
            a, b = bounds[k], bounds[k + 1]
            self._jobs[k] = (x[a:b], eps[a:b], (b - a) / n)
            self._done[k].clear()
            self._go[k].set()
        for k in active:
            self._done[k].wait()
        results = [self._results[k] for k in active]
        for r in results:
            if isinstance(r, BaseException):
                raise r
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
        self._stop = True
        for e in self._go:
            e.set()
        for t in self._threads:
            t.join()
