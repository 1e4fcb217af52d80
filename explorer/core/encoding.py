"""Encoding a dataset with a model, batch by batch, numpy in and out; and the errors of opening. Qt-free.

Only one batch is ever converted to floats (8-bit images stay uint8: a quarter of float32's memory). A
conditional model encodes with the data's true labels. Used by the session's open, the means job on the
bulk lane and the posterior spread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from training.errors import UserError


class SessionError(UserError):
    """A model or dataset cannot be opened; one sentence naming the file and the problem."""


class Cancelled(Exception):
    """A background job was cancelled."""


def unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [0, 1], exactly as training.data.to_unit_float; floats as they are."""
    if images.dtype != np.uint8:
        return images
    out = images.astype(np.float32)
    out /= 255
    return out


def encode_batches(model: Any, images: np.ndarray, progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None, batch_size: int = 2000,
                   labels: np.ndarray | None = None, start: int = 0):
    """Encode images (N, C, H, W), uint8 0..255 or float32 in [0, 1], in batches from row ``start`` on:
    yields (start index, mean, logvar or None) per batch, as numpy, reporting ``progress(done, n)``.

    A conditional model (``model.conditional``) encodes with the data's true ``labels``; ``Cancelled``
    once ``cancel`` is set. Only one batch is ever converted to floats."""
    import torch

    from explorer.core.torch_fns import model_device

    conditional = bool(getattr(model, "conditional", False)) and labels is not None
    n, device = len(images), model_device(model)
    with torch.inference_mode():
        for i in range(start, n, batch_size):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            x = torch.from_numpy(unit_float(images[i : i + batch_size])).to(device)
            y = torch.from_numpy(np.asarray(labels[i : i + batch_size], np.int64)).to(device) if conditional else None
            try:
                mean, logvar = model.encode(x, y)
            except ValueError as e:
                if not conditional:
                    raise
                raise SessionError(f"the dataset's labels do not fit this conditional model ({e}).") from None
            yield i, mean.float().cpu().numpy(), None if logvar is None else logvar.float().cpu().numpy()
            if progress:
                progress(min(i + batch_size, n), n)


def encode_means(model: Any, images: np.ndarray, progress: Callable[[int, int], None] | None = None,
                 cancel: threading.Event | None = None, batch_size: int = 2000,
                 labels: np.ndarray | None = None) -> np.ndarray:
    """Means (N, D) of images (N, C, H, W), uint8 0..255 or float32 in [0, 1], in batches.

    A conditional model (``model.conditional``) encodes with the data's true ``labels``."""
    out = np.zeros((len(images), int(model.config.latent_dim)), np.float32)
    for i, mean, _ in encode_batches(model, images, progress, cancel, batch_size, labels):
        out[i : i + len(mean)] = mean
    if not np.isfinite(out).all():
        raise SessionError("the model encodes some images to non-finite points; it cannot be shown.")
    return out


def batch_steps(n: int, d: int, encode: Callable[[int, int], np.ndarray], batch_size: int = 2000,
                threads: int | None = None, progress: Callable[[int, int], None] | None = None,
                out: np.ndarray | None = None, start: int = 0,
                advance: Callable[[int], None] | None = None) -> Generator[None, None, np.ndarray]:
    """An (n, d) float32 array filled by ``encode(start, stop)`` one batch per step (a generator job for the
    model service's bulk lane: it yields after each batch and returns the array). ``threads``: OpenMP threads
    for each batch, the thread's own count restored after it; ``progress(done, n)`` after each batch.
    ``out`` / ``start``: fill this array from row ``start`` on (the rows before are done), calling
    ``advance(stop)`` once rows up to ``stop`` are in (explorer.core.means_partial)."""
    import torch

    out = np.zeros((n, d), np.float32) if out is None else out
    for i in range(start, n, batch_size):
        own = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            part = encode(i, i + batch_size)
        finally:
            torch.set_num_threads(own)
        out[i : i + len(part)] = part
        if advance is not None:
            advance(i + len(part))
        if progress is not None:
            progress(min(i + batch_size, n), n)
        yield
    return out
