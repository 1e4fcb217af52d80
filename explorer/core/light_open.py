"""Opening a model before torch is imported (issue 11, "Start"). Qt-free; runs on the open worker.

``import torch`` alone costs 2-3 s of CPU. With the means cached (the bundled model's ship in
assets/means), :func:`open_light` does everything that needs no torch -- read and check the file with
numpy (training/checkpoint_read.py, the same checks as ``checkpoint.load``), load the dataset and the
means, build the nearest index and the numpy decoder (training/numpy_decode.py), and decode the first
point ahead (:func:`primed`) -- and returns a *light* session: ``model`` None, ``ready`` not set.
:meth:`explorer.core.session.Session.finish_loading` (phase two, on the same worker) then imports
torch and builds the model from the same arrays. Without cached means it imports torch at once and
returns the session complete, as before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core.framing import frame_box
from explorer.core.latent import NearestIndex, typical_point
from explorer.core.means_cache import MeansCache
from explorer.core.session import (
    Session,
    cached_means_hold,
    checked_read,
    encode_missing_means,
    file_sha256,
    load_data_for,
    look_up_means,
)


def read_light_model(path: str | os.PathLike) -> Any:
    """The file read and checked with numpy only (training.numpy_decode.NumpyModel): no torch import."""
    from training.numpy_decode import read_model

    return checked_read(path, lambda: read_model(path))


def primed(decode: Callable, z: np.ndarray) -> Callable:
    """``decode`` with its result for the points ``z`` computed now (on the open worker).

    The window's first request is the typical point (explorer.core.latent.typical_point, where
    MainWindow._on_opened puts a new model's first point); answered from here, it needs no numpy work on
    the model service's worker while the GUI thread paints the new plane -- work that, sharing the GIL
    with that painting, took 40-90 ms instead of 1 ms (issue 11). Any other request decodes as usual."""
    z = np.array(z, np.float32, ndmin=2)
    first = decode(z)

    def run(zs: np.ndarray, labels: Any = None) -> np.ndarray:
        zs = np.asarray(zs)
        if labels is None and zs.dtype == z.dtype and zs.shape == z.shape and np.array_equal(zs, z):
            return first.copy()
        return decode(zs, labels)

    run.backend = getattr(decode, "backend", None)  # type: ignore[attr-defined]
    return run


def _frame_beside(s: Session) -> threading.Thread:
    """Work out ``s.frame`` (the first view's box of 2-D means) on a thread of its own: numpy releases the GIL,
    so at millions of points it runs beside the typical point instead of after it, on the GUI thread."""
    def run() -> None:
        with contextlib.suppress(Exception):  # the window frames the points itself then
            s.frame = frame_box(s.means, s.labels)

    t = threading.Thread(target=run, name="frame-box")
    t.start()
    return t


def open_light(
    path: str | os.PathLike,
    dataset: str | None = None,
    split: str | None = None,
    data_dir: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    cancel: threading.Event | None = None,
    batch_size: int = 2000,
    threads: int | None = None,
    cache: MeansCache | None = None,
) -> Session:
    """Open ``path`` as the app's open worker does: before torch is imported, when it can (issue 11).

    If the means are cached and numpy can decode the model (training.numpy_decode), the session is
    *light*: ``model`` None, ``fns`` = (the numpy decoder, None), ``ready`` not set, and no torch
    imported; call :meth:`Session.finish_loading` next, on the same thread. Otherwise torch is
    imported here (the means must be encoded) and the session comes back complete, prepared and
    ready, as ``open_session(..., prepare=True)`` makes it. The file is read once either way."""
    path = Path(path)
    say = progress or (lambda stage, done, total: None)
    say("loading model", 0, 1)
    light = read_light_model(path)
    say("loading data", 0, 1)
    ds = load_data_for(light, dataset, split, data_dir, progress=say, cancel=cancel)
    s = Session(path, None, light.metadata, light.config.to_dict(), ds.name, ds.images, ds.labels,
                list(ds.label_names), file_sha256(path), split=ds.split,
                snapshots=list(light.metadata.get("snapshots") or []), ready=threading.Event(), light=light)
    cache, key = look_up_means(s, cache)
    if s.means is not None and light.decode is not None:
        s.index = NearestIndex(s.means, s.labels, defer=True)  # built from the first query or the window's call
        framer = _frame_beside(s) if s.means.shape[1] == 2 else None  # the first view's box, on another core
        decode = light.decode
        if not s.conditional:  # (a conditional model's first request names the chosen class)
            typical = typical_point(s.means, s.labels)
            s.typical = typical if s.means.shape[1] == 2 else None  # a D-dim window finds it on its plane
            decode = primed(decode, typical[None])
        if framer is not None:
            framer.join()
        s.fns = (decode, None)
        return s
    try:  # torch now, as before issue 11: the means must be encoded, or numpy cannot decode this model
        model = s._torch_model(threads)
        encode_missing_means(s, model, cache, key, say, cancel, batch_size)
        s.model, s.light = model, None
        s.prepare()
    finally:
        s.ready.set()
    return s


def recheck_means(s: Session, cache: MeansCache | None = None, progress: Callable[[str, int, int], None] | None = None,
                  cancel: threading.Event | None = None, batch_size: int = 2000) -> Session | None:
    """After :meth:`Session.finish_loading` (torch is loaded): check the cached means a light session shows
    against the model (:func:`explorer.core.session.cached_means_hold`). If they do not hold, encode them
    all, rewrite the cache file, and return a new session with those means (the window shows it as a new
    open); None if they hold."""
    if s.model is None or cached_means_hold(s, s.model):
        return None
    fresh = dataclasses.replace(s, means=None, index=None, means_cached=False, typical=None, frame=None)
    cache, key = look_up_means(fresh, cache)
    fresh.means, fresh.means_cached = None, False
    say = progress or (lambda stage, done, total: None)
    encode_missing_means(fresh, s.model, cache, key, say, cancel, batch_size)
    return fresh
