"""A big decode (a manifold grid's 484-900 z) split into chunks over W single-threaded workers. Qt-free.

Why: the conv decoder's intermediates for 900 z are some 45-90 MB, far larger than the cache, and with
one call on two OpenMP threads the two cores mostly wait for memory and for each other (2 threads
barely beat 1). Chunks of at most ``GRID_CHUNK`` z keep each layer's activations nearer the cache, and
two Python threads with one torch thread each run their chunks side by side (torch releases the GIL
inside ops), as training/parallel.py does for training. Chosen by measurement
(benchmarks/grid_decode.py; the table in benchmarks/README.md, "Raster off the GUI thread and the grid").

The images are the decode function's for each z (a decode is per sample: the same numbers whatever
the chunk), in the order of z. W threads in all, the caller's included: the bulk lane's thread and
W - 1 helpers each take the next chunk when free (so a thread that other processes hold back does
fewer chunks and nobody waits for it), and the lane never runs more than W threads, as it did with W
OpenMP threads before. (A lower OS priority for these threads was tried and dropped: with
other processes busy on the machine, the grid then took 1.6 s instead of 0.3 s.)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from explorer.core import torch_gate

GRID_CHUNK = 128  # at most this many z per chunk
GRID_WORKERS = 2  # threads per big decode, the lane's own included (the machine has 2 cores)
CHUNKED_FROM = 2 * GRID_WORKERS  # smaller batches: one call on the lane's thread

_prepared = threading.local()


def single_threaded_bulk() -> None:
    """Run on a thread that decodes bulk work: one torch thread. Once per thread, once torch is loaded:
    a numpy decoder (a model opened light, explorer.core.light_open) must not import torch here."""
    if getattr(_prepared, "done", False):
        return
    torch = torch_gate.loaded()  # never one another thread is still importing
    if torch is None:
        return
    _prepared.done = True
    torch.set_num_threads(1)


def spans(n: int, workers: int, chunk: int = GRID_CHUNK) -> list[tuple[int, int]]:
    """[a, b) chunks of at most ``chunk``, as equal as can be, a multiple of ``workers`` of them."""
    count = workers * max(1, math.ceil(n / (workers * chunk)))
    bounds = [round(n * k / count) for k in range(count + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


class ChunkedDecoder:
    """``decoder(fn, z, labels)``: ``fn(z, labels) -> (N, ...) array`` in chunks over ``workers`` threads."""

    def __init__(self, workers: int = GRID_WORKERS, chunk: int = GRID_CHUNK, name: str = "model-bulk-helper"):
        self.workers, self.chunk = max(1, int(workers)), max(1, int(chunk))
        self._pool = ThreadPoolExecutor(self.workers - 1, thread_name_prefix=name, initializer=single_threaded_bulk) \
            if self.workers > 1 else None
        self._lock = threading.Lock()

    def __call__(self, fn: Callable[[np.ndarray, Any], np.ndarray], z: np.ndarray, labels: Any = None) -> np.ndarray:
        single_threaded_bulk()
        n = len(z)
        if n < CHUNKED_FROM:
            return fn(z, labels)
        parts = spans(n, self.workers, self.chunk)
        if self._pool is None:  # one worker: the chunks one after another, on the caller's thread
            return np.concatenate([fn(z[a:b], None if labels is None else labels[a:b]) for a, b in parts])
        out: list = [None] * len(parts)
        order = iter(range(len(parts)))  # each thread takes the next chunk when it is free: a thread that
        take = threading.Lock()  # the machine's other work holds back does fewer, and none waits for it

        def run() -> None:
            while True:
                with take:
                    k = next(order, None)
                if k is None:
                    return
                a, b = parts[k]
                out[k] = fn(z[a:b], None if labels is None else labels[a:b])

        with self._lock:  # one big decode at a time on the helpers
            futures = [self._pool.submit(run) for _ in range(1, self.workers)]
            try:
                run()  # on the caller's thread
            finally:
                for f in futures:
                    f.result()  # (re-raises a helper's error; always waits for them)
        return np.concatenate(out)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def decode_chunks(fn: Callable[..., Any], z: Any, chunk: int, workers: int) -> Any:
    """One-off, for benchmarks: torch ``fn(z)`` in chunks of ``chunk`` on ``workers`` threads (1 torch thread each)."""
    import torch

    dec = ChunkedDecoder(workers, chunk, name="chunked-decode")
    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with torch.inference_mode():
            return torch.from_numpy(dec(lambda a, _y: _decode_np(fn, a), z.numpy()))
    finally:
        torch.set_num_threads(prev)
        dec.close()


def _decode_np(fn: Callable[..., Any], z: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return fn(torch.from_numpy(z)).numpy()
