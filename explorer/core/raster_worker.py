"""The density raster, rendered off the GUI thread, latest-only. Qt-free.

``RasterWorker.request(job)`` returns at once. One plain worker thread renders (``rasterize``: numpy
releases the GIL in its array passes, so the GUI thread keeps running); it exists only while there is
work and ends when there is none. At most one job runs and at most one waits: a newer request
replaces a waiting one, so a pan that keeps going never builds a queue. ``on_done(job, raster)`` is
called on the worker thread; the caller judges there whether the job is still the one it wants (a job
whose view has since changed is stale and must not be shown).

The per-dataset work (explorer.core.density.DensityPoints: a spatial order of the points and their
colour weights) is cached in ``points`` and made on the worker the first time, never on the caller.
From ``PREVIEW_FROM`` points (2 s of that work and the first raster at 10,000,000), the first job for new
points is first answered with a preview: the raster of a seeded sample of ``PREVIEW_POINTS`` of them
(``Raster.preview``; its ``points`` scaled up to all of them), then with the full raster -- unless a newer
job is waiting by then, which is taken next (with its own preview, while the points are not prepared).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from explorer.core.density import DensityPoints, PointsCache, Raster, rasterize

PREVIEW_FROM = 2_000_000  # points: from here, new points are first drawn from a sample
PREVIEW_POINTS = 500_000  # the sample (0.1 s to draw at 10,000,000 points)


@dataclass(frozen=True)
class RasterJob:
    id: int  # increasing; the caller's judge of staleness
    means: np.ndarray
    labels: np.ndarray
    view: tuple[float, float, float, float]  # x0, x1, y0, y1
    size_px: tuple[int, int]
    colours: np.ndarray  # (K, 3) float32 in [0, 255]
    hidden: tuple[int, ...] = ()
    point_px: float = 4.0
    opacity: float = 0.85
    meta: dict = field(default_factory=dict)  # the caller's own notes (e.g. when it asked)


def render(job: RasterJob, prepared: DensityPoints | None = None) -> Raster:
    return rasterize(job.means, job.labels, job.view, job.size_px, job.colours, hidden=job.hidden,
                     point_px=job.point_px, opacity=job.opacity, prepared=prepared)


def preview(job: RasterJob) -> Raster:
    """The job's raster drawn from a seeded sample of ``PREVIEW_POINTS`` points (with replacement)."""
    n = len(job.means)
    rows = np.random.default_rng(0).integers(0, n, PREVIEW_POINTS)
    r = rasterize(job.means[rows], np.asarray(job.labels)[rows], job.view, job.size_px, job.colours,
                  hidden=job.hidden, point_px=job.point_px, opacity=job.opacity)
    return dataclasses.replace(r, points=round(r.points * n / PREVIEW_POINTS), preview=True)


class RasterWorker:
    """Latest-only background rendering of :class:`RasterJob` s (see the module docstring)."""

    THREAD_NAME = "raster"

    def __init__(self, on_done: Callable[[RasterJob, Raster], None],
                 on_error: Callable[[RasterJob, BaseException], None] | None = None):
        self.on_done = on_done
        self.on_error = on_error
        self.points = PointsCache()
        self._lock = threading.Lock()
        self._pending: RasterJob | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.rendered = 0  # jobs rendered (tests, benchmarks)
        self.replaced = 0  # waiting jobs replaced by a newer one before they started

    def request(self, job: RasterJob) -> None:
        with self._lock:
            if self._pending is not None:
                self.replaced += 1
            self._pending = job
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.THREAD_NAME, daemon=True)
                self._thread.start()

    def compute(self, job: RasterJob) -> Raster:
        """Render one job on the worker thread (tests may wrap this to hold the worker)."""
        return render(job, self.points.get(job.means, job.labels, len(job.colours)))

    def render_now(self, job: RasterJob) -> Raster:
        """The same raster, on the calling thread; uses the prepared points only if they are ready."""
        return render(job, self.points.peek(job.means, job.labels, len(job.colours)))

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing runs or waits (tests, benchmarks)."""
        return self._idle.wait(timeout)

    @property
    def idle(self) -> bool:
        return self._idle.is_set()

    def cancel(self) -> None:
        """Drop the waiting job (a running one finishes; its result goes to on_done as usual)."""
        with self._lock:
            self._pending = None

    def _run(self) -> None:
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                if job is None:
                    self._thread = None
                    self._idle.set()
                    return
            try:
                if len(job.means) >= PREVIEW_FROM and self.points.peek(job.means, job.labels, len(job.colours)) is None:
                    self.on_done(job, preview(job))
                    if self._pending is not None:
                        continue  # a newer job came meanwhile: its preview first, not seconds of this one
                raster = self.compute(job)
                self.rendered += 1
                self.on_done(job, raster)
            except BaseException as e:  # noqa: BLE001 - reported, and the worker keeps serving
                if self.on_error is not None:
                    with contextlib.suppress(BaseException):  # the receiver is gone (the window closed)
                        self.on_error(job, e)
