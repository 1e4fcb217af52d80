"""Encoding a session's means on the model service's bulk lane, one batch a step. Qt-free.

A compared model and each training snapshot are loaded and checked on an opening worker
(:func:`explorer.core.session.open_session` with ``encode=False``); the encoding of the dataset is
:func:`means_job`, a generator the model service runs with ``Channel.run`` (explorer.core.channel):
between two batches the filmstrip, the grid and the exports go first, and ``Channel.cancel`` stops it;
the rows done so far stay in the cache's partial file (explorer.core.means_partial), so the next run
resumes there.
Its progress is the caller's (``progress(done, total)``, on the lane's thread).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from explorer.core.encoding import batch_steps
from explorer.core.latent import NearestIndex
from explorer.core.means_cache import MeansCache, means_hold
from explorer.core.means_partial import PartialMeans
from explorer.core.session import Session, SessionError, encode_means, look_up_means


def means_job(session: Session, cache: MeansCache | None = None, progress: Callable[[int, int], None] | None = None,
              batch_size: int = 2000, threads: int | None = None) -> Generator[None, None, Session]:
    """Give ``session`` its means (from the means cache, else encoded a batch per step and stored there)
    and its nearest-point index; returns the session. ``threads``: OpenMP threads for each batch (the
    lane's own count is restored after it). ``session.model`` must be loaded (the opening worker did)."""
    cache, key = look_up_means(session, cache)  # sets session.means when cached
    n = len(session.labels)
    if session.means is None:
        def encode(start: int, stop: int) -> np.ndarray:
            try:
                return encode_means(session.model, session.images[start:stop], batch_size=batch_size,
                                    labels=session.labels[start:stop])
            except SessionError as e:
                raise SessionError(f"{session.model_path}: {e}") from None

        d = int(session.config.get("latent_dim", 2))
        part = PartialMeans.open(cache, key, n, d)  # resumes a stopped encoding of the same model and data
        if part is None:  # the cache folder cannot hold it: in memory
            out = yield from batch_steps(n, d, encode, batch_size, threads, progress)  # (N, D)
            cache.store(key, out)
            session.means = out
        else:
            if part.done and not means_hold(part.array[: part.done], lambda idx: encode_means(
                    session.model, session.images[idx], labels=session.labels[idx])):
                part.restart()
            try:
                yield from batch_steps(n, d, encode, batch_size, threads, progress, out=part.array, start=part.done,
                                       advance=part.advance)
            finally:  # cancelled (the generator closed) or failed: keep what is done
                part.commit()
            session.means = part.finish(cache, key)
    session.index = NearestIndex(session.means, session.labels)
    return session


def run_to_end(job: Generator[None, None, Any]) -> Any:
    """Run a job on the calling thread (tests, scripts): its return value."""
    while True:
        try:
            next(job)
        except StopIteration as done:
            return done.value
