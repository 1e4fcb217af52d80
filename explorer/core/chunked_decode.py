"""A big decode (the manifold grid's 484-900 z) split into chunks over W single-threaded workers. Qt-free.

Why: the conv decoder's intermediates for 900 z are some 45-90 MB, far larger than the cache, and with
one call on two OpenMP threads the two cores mostly wait for memory and for each other (2 threads
barely beat 1). Chunks of a few dozen z keep each layer's activations in cache, and two Python
threads with one torch thread each run their chunks side by side (torch releases the GIL inside
ops), as training/parallel.py does for training. The choice was made by measurement
(benchmarks/grid_decode.py, benchmarks/README.md).

The images are model.decode's for each z (a decode is per sample: the same numbers up to float
rounding, whatever the chunk), in the order of z. W threads in all, the caller's included: the bulk
lane's thread decodes every W-th chunk itself and W - 1 helpers the others, so the lane never uses
more than W cores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

GRID_CHUNK = 64  # z per chunk (benchmarks/README.md, "Raster off the GUI thread and the grid")
GRID_WORKERS = 2  # threads per big decode, the lane's own included (the machine has 2 cores)
CHUNKED_FROM = 2 * GRID_CHUNK  # smaller batches: one call


def _single_threaded() -> None:
    import torch

    torch.set_num_threads(1)


class ChunkedDecoder:
    """``decode(z, y)`` of ``fn`` (torch tensors in, one tensor out) in chunks over ``workers`` threads."""

    def __init__(self, workers: int = GRID_WORKERS, chunk: int = GRID_CHUNK, name: str = "model-bulk-helper"):
        self.workers, self.chunk = max(1, int(workers)), max(1, int(chunk))
        self._pool = ThreadPoolExecutor(self.workers - 1, thread_name_prefix=name, initializer=_single_threaded) \
            if self.workers > 1 else None
        self._lock = threading.Lock()

    def __call__(self, fn: Callable[..., Any], z: Any, y: Any = None) -> Any:
        import torch

        n = len(z)
        if n < CHUNKED_FROM or self._pool is None:
            return fn(z, y)
        spans = [(i, min(i + self.chunk, n)) for i in range(0, n, self.chunk)]

        def run(k: int) -> list:
            with torch.inference_mode():
                return [fn(z[a:b], None if y is None else y[a:b]) for a, b in spans[k :: self.workers]]

        with self._lock:  # one big decode at a time on the helpers
            futures = [self._pool.submit(run, k) for k in range(1, self.workers)]
            mine = run(0)  # on the caller's thread (the lane's own, one torch thread)
            theirs = [f.result() for f in futures]
        parts: list = [None] * len(spans)
        for k, outs in enumerate([mine, *theirs]):
            parts[k :: self.workers] = outs
        return torch.cat(parts)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def decode_chunks(fn: Callable[..., Any], z: Any, chunk: int, workers: int, y: Any = None) -> Any:
    """One-off: ``fn(z, y)`` in chunks of ``chunk`` over ``workers`` single-threaded threads (benchmarks)."""
    dec = ChunkedDecoder(workers, chunk, name="chunked-decode")
    try:
        prev = None
        import torch

        prev = torch.get_num_threads()
        torch.set_num_threads(1)
        return dec(lambda a, b: fn(a) if b is None else fn(a, b), z, y)
    finally:
        if prev is not None:
            torch.set_num_threads(prev)
        dec.close()
