"""Means being encoded, kept on disk as they come, so a stopped encoding resumes where it stopped. Qt-free.

Encoding 10,000,000 images takes a while; cancelling it, closing the app or a crash must not throw the
finished part away. :class:`PartialMeans` is an (n, d) float32 ``.npy`` in the means cache's folder,
``<key>.partial.npy``, memory-mapped and filled in order, with ``<key>.partial.json`` saying how many rows
are done. The rows are flushed to disk before the count that covers them is written (atomically), so the
count never claims rows that are not there. Once every row is in, the file is renamed to ``<key>.npy``:
the finished means, which :class:`explorer.core.means_cache.MeansCache` reads like any other.

Like the cache it belongs to, this is an optimisation and never a source of errors: a folder that cannot
be written gives ``None`` (the caller encodes in memory), and a partial file that does not match (shape,
dtype, count, non-finite or huge values among the done rows) is started again from row 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core.encoding import SessionError, encode_batches, encode_means
from explorer.core.means_cache import MAX_ABS, MeansCache, means_hold
from training.fileio import SaveError, atomic_write

COMMIT_SECONDS = 2.0  # how often the done count is written while rows come in


class PartialMeans:
    """``array`` (n, d) float32, memory-mapped; rows ``[0, done)`` are encoded. ``advance(stop)`` after each
    batch, ``commit()`` when stopping, ``finish()`` once ``done == n``."""

    def __init__(self, path: Path, array: np.memmap, done: int):
        self.path, self.array, self.done = path, array, done
        self.count_path = path.with_suffix(".json")
        self._committed_at = time.monotonic()

    @classmethod
    def open(cls, cache: MeansCache, key: str, n: int, d: int) -> PartialMeans | None:
        """The partial means of ``key`` (resumed if a matching file is there, else new), or None if the
        cache folder cannot hold them."""
        path = cache.folder / f"{key}.partial.npy"
        resumed = _resume(path, n, d)
        if resumed is not None:
            return resumed
        try:
            cache.folder.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                path.with_suffix(".json").unlink()  # the count goes first: it must never outlive its rows
            array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
        except (OSError, ValueError):
            return None
        return cls(path, array, 0)

    def advance(self, stop: int) -> None:
        """Rows up to ``stop`` are in ``array``; the count is written every COMMIT_SECONDS."""
        self.done = max(self.done, min(stop, len(self.array)))
        if time.monotonic() - self._committed_at >= COMMIT_SECONDS:
            self.commit()

    def commit(self) -> None:
        """Flush the rows, then write how many are done (a failed write keeps the older, smaller count)."""
        self._committed_at = time.monotonic()
        try:
            self.array.flush()
            atomic_write(self.count_path, json.dumps({"done": self.done, "shape": list(self.array.shape)}).encode())
        except (OSError, SaveError, ValueError):
            pass

    def restart(self) -> None:
        """Forget the done rows (they did not match the model)."""
        self.done = 0
        self.commit()

    def finish(self, cache: MeansCache, key: str) -> np.ndarray:
        """All rows done: the means as an in-memory array, and the file becomes the cache's ``<key>.npy``."""
        means = np.array(self.array)  # a copy: the map is closed below
        try:
            self.array.flush()
            del self.array
            os.replace(self.path, cache.path(key))
            cache.writes += 1
        except OSError:
            cache.store(key, means)
        with contextlib.suppress(OSError):
            self.count_path.unlink()
        return means


def _resume(path: Path, n: int, d: int) -> PartialMeans | None:
    count_path = path.with_suffix(".json")
    try:
        info = json.loads(count_path.read_text()[:1000])
        done = int(info["done"])
        if list(info["shape"]) != [n, d] or not 0 < done <= n:
            return None
        array = np.load(path, mmap_mode="r+", allow_pickle=False)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if array.dtype != np.float32 or array.shape != (n, d):
        return None
    head = array[:done]
    step = max(1, done // 1_000_000)  # checking every row of 10M costs ~0.1 s; a sample is enough beyond that
    sample = head[::step]
    if not np.isfinite(sample).all() or np.abs(sample).max(initial=0) > MAX_ABS:
        return None
    return PartialMeans(path, array, done)


def encode_resumable(s: Any, model: Any, cache: MeansCache, key: str,
                     progress: Callable[[int, int], None] | None, cancel: threading.Event | None,
                     batch_size: int) -> np.ndarray:
    """``s``'s means encoded by ``model`` into the cache's partial file (explorer.core.means_partial) and
    stored under ``key``: a cancelled or killed encoding resumes where it stopped (once a few of the done
    rows are checked against the model). In memory if the cache folder cannot take them."""
    n, d = len(s.labels), int(model.config.latent_dim)
    part = PartialMeans.open(cache, key, n, d)
    if part is None:
        means = encode_means(model, s.images, progress, cancel, batch_size, labels=s.labels)
        cache.store(key, means)
        return means
    if part.done and not means_hold(part.array[: part.done],
                                    lambda idx: encode_means(model, s.images[idx], labels=s.labels[idx])):
        part.restart()
    try:
        for i, mean, _ in encode_batches(model, s.images, progress, cancel, batch_size, s.labels, start=part.done):
            if not np.isfinite(mean).all():
                raise SessionError("the model encodes some images to non-finite points; it cannot be shown.")
            part.array[i : i + len(mean)] = mean
            part.advance(i + len(mean))
    finally:
        part.commit()
    return part.finish(cache, key)
