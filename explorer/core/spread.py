"""Posterior spread: the dataset's posterior log-variances, samples from the posterior, and the
geometry of its 1- and 2-sigma ellipses. Qt-free.

A VAE's encoder gives each image a diagonal Gaussian q(z|x) = N(mean, diag(exp(logvar))). The plane
normally plots the means; these functions let it plot one sample per image instead, or draw the
ellipses ``(z - mean)_i / sigma_i`` of radius k (k = 1, 2) around chosen points, with
``sigma = exp(logvar / 2)`` per axis. That shows why a VAE's plane has no gaps: each posterior
covers a patch, and the patches overlap.

- :func:`compute_logvars` encodes the dataset in batches (a conditional model with the true labels),
  with progress and cancel, on a background thread. The result is cached like the means
  (explorer/core/means_cache.py) under its own key, :func:`logvar_key`.
- :func:`posterior_samples` draws ``z = mean + exp(logvar / 2) * eps`` with
  ``eps = np.random.default_rng(SAMPLE_SEED).standard_normal((N, 2))`` (float64; the sum is rounded
  to float32 once). The seed is the same for every session, so the picture is stable: toggling,
  reopening or comparing models shows the same draw, and a script can reproduce it exactly.
- :func:`ellipse_geometry` / :func:`ellipse_curve` give the ellipses' centres and radii and one
  NaN-separated polyline per k, ready to plot.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.core.encoding import batch_steps
from explorer.core.means_cache import MeansCache, cache_key
from explorer.core.session import Cancelled, SessionError, encode_batches
from training.kinds import KIND_SPECS

SAMPLE_SEED = 20240610  # the posterior samples' seed: eps = default_rng(SAMPLE_SEED).standard_normal((N, 2))
MAX_ELLIPSES = 300  # selection ellipses drawn at most (the first ones in dataset order)
ELLIPSE_SEGMENTS = 48  # line segments per ellipse
DETERMINISTIC_KINDS = tuple(k for k, spec in KIND_SPECS.items() if not spec.beta_kl)  # ae, aae, pca
READY_POLL = 0.05  # s a step of logvar_job waits for a session opened light to load its torch model

__all__ = ["DETERMINISTIC_KINDS", "ELLIPSE_SEGMENTS", "MAX_ELLIPSES", "SAMPLE_SEED", "Deterministic", "Ellipse",
           "compute_logvars", "logvar_job", "deterministic_reason", "ellipse_curve", "ellipse_geometry", "encode_logvars",
           "logvar_key", "posterior_samples"]


class Deterministic(SessionError):
    """The model has no posterior spread (its encoder gives no log-variance); one sentence naming the file."""


def deterministic_reason(session: Any) -> str | None:
    """The one sentence saying ``session``'s model has no posterior spread, or None if it may have one.

    From the config (kind ae / aae / pca, or a VAE / CVAE with beta = 0); :func:`encode_logvars` also
    refuses any model whose encoder returns no log-variance."""
    c = session.config
    kind, beta = c.get("kind", "?"), c.get("beta")
    spec = KIND_SPECS.get(kind)
    if spec is None:
        return None  # not a kind of this family: encode_logvars finds out from the encoder
    if not spec.beta_kl:
        return _sentence(session, kind)
    if beta is not None and not spec.stochastic(beta):
        return _sentence(session, f"{kind} with beta = 0")
    return None


def _sentence(session: Any, kind: str) -> str:
    return f"{session.model_path.name}: is deterministic (kind {kind}): it has no posterior spread."


def logvar_key(session: Any) -> str:
    """The cache key of ``session``'s log-variances: its means key (model file, snapshot, dataset,
    split, exact pixels and labels) with ``"logvar"`` appended, hashed."""
    model_id = session.sha256 if session.snapshot is None else f"{session.sha256}-snapshot{session.snapshot}"
    means = cache_key(model_id, session.dataset_name, session.split, session.images, session.labels)
    return hashlib.sha256((means + "logvar").encode()).hexdigest()


def encode_logvars(model: Any, images: np.ndarray, progress: Callable[[int, int], None] | None = None,
                   cancel: threading.Event | None = None, batch_size: int = 2000,
                   labels: np.ndarray | None = None, name: str = "the model") -> np.ndarray:
    """Posterior log-variances (N, D) float32 of images (N, C, H, W), in batches, as
    :func:`explorer.core.session.encode_means` does (a conditional model with the true ``labels``).

    ``Deterministic`` if the encoder returns no log-variance; ``Cancelled`` once ``cancel`` is set."""
    out = np.zeros((len(images), int(model.config.latent_dim)), np.float32)
    for i, _, logvar in encode_batches(model, images, progress, cancel, batch_size, labels):
        if logvar is None:
            kind = getattr(getattr(model, "config", None), "kind", "?")
            raise Deterministic(f"{name}: is deterministic (kind {kind}): it has no posterior spread.")
        out[i : i + len(logvar)] = logvar
    if not np.isfinite(out).all():
        raise SessionError(f"{name}: its encoder gives some images a non-finite log-variance; "
                           "their spread cannot be shown.")
    return out


def compute_logvars(session: Any, cache: MeansCache | None = None,
                    progress: Callable[[int, int], None] | None = None, cancel: threading.Event | None = None,
                    batch_size: int = 2000, threads: int | None = None) -> tuple[np.ndarray, bool]:
    """``session``'s log-variances and whether they came from the cache, on the calling thread
    (:func:`logvar_job` run to its end; ``Cancelled`` once ``cancel`` is set, checked between batches)."""
    job = logvar_job(session, cache, progress, batch_size, threads)
    while True:
        if cancel is not None and cancel.is_set():
            job.close()
            raise Cancelled()
        try:
            next(job)
        except StopIteration as done:
            return done.value


def logvar_job(session: Any, cache: MeansCache | None = None, progress: Callable[[int, int], None] | None = None,
               batch_size: int = 2000, threads: int | None = None) -> Generator[None, None, tuple[np.ndarray, bool]]:
    """:func:`compute_logvars` as steps: a generator that yields after each batch (and while a session
    opened light is still loading its torch model) and returns ``(logvars, cached)``. The app runs it on
    the model service's bulk lane (explorer.core.channel.Channel.run), where a filmstrip or grid goes
    first between two batches and a cancel stops it at the next one.

    Looks in ``cache`` first (default: the per-user means cache folder) and stores what it computes
    there. It does not set ``session.logvars``: the caller does, on its own thread. ``threads``:
    OpenMP threads for each batch (the thread's own count is restored after it)."""
    reason = deterministic_reason(session)
    if reason is not None:
        raise Deterministic(reason)
    cache = cache if cache is not None else MeansCache()
    key = logvar_key(session)
    d = int(session.means.shape[1]) if session.means is not None else int(session.config.get("latent_dim", 2))
    found = cache.load(key, len(session.labels), d)
    if found is not None:
        return found, True
    while not session.ready.wait(READY_POLL):  # opened light: its torch model is still loading
        yield
    model = session.wait_model()
    images, labels, n = session.images, session.labels, len(session.images)

    def encode(start: int, stop: int) -> np.ndarray:
        return encode_logvars(model, images[start:stop], batch_size=batch_size,
                              labels=None if labels is None else labels[start:stop], name=session.model_path.name)

    out = yield from batch_steps(n, d, encode, batch_size, threads, progress)
    cache.store(key, out)
    return out, False


def posterior_samples(means: np.ndarray, logvars: np.ndarray, seed: int = SAMPLE_SEED) -> np.ndarray:
    """One sample per point, ``z = mean + exp(logvar / 2) * eps``, (N, D) float32 (a plane plots their projections).

    ``eps = np.random.default_rng(seed).standard_normal((N, D))`` (float64); the sum is computed in
    float64 and rounded to float32 once."""
    means = np.asarray(means, np.float64)
    logvars = np.asarray(logvars, np.float64)
    if means.shape != logvars.shape or means.ndim != 2 or means.shape[1] < 2:
        raise ValueError(f"means {means.shape} and logvars {logvars.shape} must both be (N, D)")
    eps = np.random.default_rng(seed).standard_normal(means.shape)
    return (means + np.exp(logvars / 2) * eps).astype(np.float32)


@dataclass(frozen=True)
class Ellipse:
    """The 1-sigma ellipse of point ``index``'s posterior: centre (its mean) and radii sigma per axis."""

    index: int
    centre: np.ndarray  # (2,) float64, on the plane
    radii: np.ndarray  # (2,) float64: the standard deviations along the plane's x and y
    axes: np.ndarray | None = None  # (2, 2): x = centre + axes @ (cos, sin) for a projected (tilted) ellipse


def ellipse_geometry(means: np.ndarray, logvars: np.ndarray, indices: Iterable[int],
                     plane: Any = None) -> list[Ellipse]:
    """The 1-sigma ellipses of the points ``indices`` (in that order; out-of-range ones skipped).

    ``plane`` (a D-dim model's slice, with ``project`` and ``u``, ``v``): the ellipse of the posterior's
    projection on it, N(P mean, P diag(sigma^2) P^T) with P = [u; v], drawn tilted; None: the 2-D posterior."""
    n = len(means)
    out = []
    p = None if plane is None or getattr(plane, "is_identity", True) else np.stack([plane.u, plane.v])
    for i in indices:
        i = int(i)
        if not 0 <= i < n:
            continue
        sigma = np.exp(np.asarray(logvars[i], np.float64) / 2)
        if p is None:
            out.append(Ellipse(i, np.asarray(means[i], np.float64).copy(), sigma))
            continue
        cov = (p * sigma**2) @ p.T  # (2, 2)
        w, v = np.linalg.eigh(cov)
        axes = v * np.sqrt(np.maximum(w, 0.0))  # columns: the principal semi-axes
        out.append(Ellipse(i, np.asarray(plane.project(np.asarray(means[i], np.float64)), np.float64),
                           np.sqrt(np.diag(cov)), axes))
    return out


def ellipse_curve(ellipses: list[Ellipse], k: float = 1.0,
                  segments: int = ELLIPSE_SEGMENTS) -> tuple[np.ndarray, np.ndarray]:
    """x, y of every k-sigma ellipse as one polyline: ``segments + 1`` points each (closed), followed
    by a NaN that separates it from the next (plot with ``connect="finite"``)."""
    if not ellipses:
        return np.zeros(0), np.zeros(0)
    t = np.linspace(0.0, 2 * np.pi, segments + 1)
    ring = np.stack([np.cos(t), np.sin(t)], 1)  # (S+1, 2)
    centres = np.array([e.centre for e in ellipses])  # (E, 2)
    axes = k * np.array([np.diag(e.radii) if e.axes is None else e.axes for e in ellipses])  # (E, 2, 2)
    pts = centres[:, None, :] + np.einsum("eij,sj->esi", axes, ring)  # (E, S+1, 2)
    pts = np.concatenate([pts, np.full((len(ellipses), 1, 2), np.nan)], 1).reshape(-1, 2)
    return pts[:, 0], pts[:, 1]
