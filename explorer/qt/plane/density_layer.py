"""The scatter at any size: real points when few enough are in view, one density raster otherwise.

With at least ``RASTER_FROM`` points, the plane draws one ImageItem: per-class counts at the view's
pixel size, composited in explorer.core.density. That costs O(points + pixels) however many points
overlap, and repaints in a frame at any size. Zoomed in until at most ``POINTS_UP_TO`` points are in
view, it switches to real points: the per-class ScatterPlotItems, built on first need. Class
colours, point size, opacity, dim and hidden classes apply to both. Picking and the nearest lookup
never depend on this: they use the means themselves.

The raster is rendered off the GUI thread (explorer.core.raster_worker, latest-only). A pan or zoom
bumps the layer's generation at once and asks for a new raster ``REFRESH_MS`` after the last step;
meanwhile the old raster, placed in data coordinates, moves with the view. A result is shown only if
nothing has changed since it was asked for (its job id is the current generation); any other is
stale and dropped. A change of style (hidden classes, palette, point size, opacity, dim) asks at once.
``render()`` renders synchronously (tests, benchmarks, scrubbing training snapshots). From 2,000,000 points
the first raster of new points is a preview drawn from a sample, then the full one follows for the same job
(explorer.core.raster_worker.PREVIEW_FROM).
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer, Signal

from explorer.core.density import Raster, hex_rgb
from explorer.core.raster_worker import RasterJob, RasterWorker

RASTER_FROM = 50_000  # points in the dataset: below this, always real points
POINTS_UP_TO = 20_000  # points in view: at or below this, real points even for a big dataset
REFRESH_MS = 8  # ask for the new view's raster this soon after the last pan / zoom step


class DensityLayer(QObject):
    shown = Signal(object)  # the RasterJob whose raster (or switch to real points) was just put on screen
    _finished = Signal(object, object)  # (RasterJob, Raster): emitted on the worker, delivered on the GUI thread
    _failed = Signal(object, object)  # (RasterJob, exception)

    def __init__(self, view, dim_factor: float):
        super().__init__(view)
        self.view = view
        self.dim_factor = dim_factor
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(0)
        self.image.setVisible(False)
        view.plot_item.addItem(self.image, ignoreBounds=True)
        self.active = False  # the dataset is big enough for the raster
        self.showing_points = False
        self.renders = 0  # rasters put on screen (tests, benchmarks)
        self.preview_shown = False  # the raster on screen is a preview (drawn from a sample, the full one to come)
        self.dropped = 0  # stale results dropped
        self.generation = 0  # bumped by every change that makes the raster on screen out of date
        self.worker = RasterWorker(self._finished.emit, self._failed.emit)
        self._finished.connect(self._on_finished)
        self._failed.connect(self._on_failed)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.request)
        view.vb.sigResized.connect(self.view_changed)  # the plot's pixel size changed: new bins

    def set_data(self, n_points: int) -> None:
        self.active = n_points >= RASTER_FROM
        self.showing_points = not self.active
        self.image.setVisible(False)
        self.generation += 1
        self._data_gen = self.generation  # jobs from here on draw these points
        if self.active:
            self.request()

    def view_changed(self) -> None:
        if self.active:
            self.generation += 1  # whatever is being rendered now is for an old view
            self._timer.start()

    def restyle(self) -> None:
        """Hidden classes, palette, point size, opacity or dim changed: a new raster for the same view."""
        if self.active:
            self.generation += 1
            self.request()

    @property
    def idle(self) -> bool:
        """No raster is due, rendering, or on its way to the screen."""
        return not self.active or (not self._timer.isActive() and self.worker.idle and self._shown_gen == self.generation)

    _shown_gen = 0  # the generation of the raster on screen
    _data_gen = 0  # the generation at which the points shown were set

    def job(self) -> RasterJob | None:
        """The raster job for the current view and style (None when there is nothing to render)."""
        v, st = self.view, self.view.state
        means, labels, n_classes = v.points_data
        if not self.active or not len(means):
            return None
        vb = v.vb.sceneBoundingRect()
        alpha = st.opacity * (self.dim_factor if st.dim or st.selection else 1.0)
        colours = hex_rgb([v.class_hex(k) for k in range(n_classes)])
        return RasterJob(self.generation, means, labels, v.view_rect(), (int(vb.width()), int(vb.height())), colours,
                         hidden=tuple(st.hidden_classes), point_px=st.point_size * v.scale, opacity=alpha,
                         meta={"asked": time.perf_counter()})

    def request(self) -> None:
        """Ask the worker for the current view's raster (it replaces any request still waiting)."""
        self._timer.stop()
        job = self.job()
        if job is None:
            self._shown_gen = self.generation
            return
        self.worker.request(job)

    def render(self) -> None:
        """The raster for the current view, or real points when few enough are in it, now (synchronously)."""
        self._timer.stop()
        self.worker.cancel()
        self.generation += 1  # a result still on its way is older than this one
        job = self.job()
        if job is None:
            self._shown_gen = self.generation
            return
        self._show(job, self.worker.render_now(job))

    def _on_finished(self, job: RasterJob, raster: Raster) -> None:
        if job.id != self.generation or not self.active:
            if self.active and job.id >= self._data_gen and not self.image.isVisible() and not self.showing_points:
                self._show(job, raster, current=False)  # nothing of these points on screen yet: better than nothing
                return
            self.dropped += 1  # the view, the style or the data changed since it was asked for
            return
        self._show(job, raster)

    def _on_failed(self, job: RasterJob, err: BaseException) -> None:
        if job.id == self.generation:
            self._shown_gen = self.generation
            self.view.state.error.emit(f"The density view could not be drawn: {err}")

    def _show(self, job: RasterJob, r: Raster, current: bool = True) -> None:
        """Put a raster on screen; ``current`` False: one for an earlier view or style of the same points (the
        first raster of new points, shown while the current one is made), which leaves the layer not idle."""
        v, st = self.view, self.view.state
        self.renders += 1
        self.preview_shown = r.preview or not current
        if current:
            self._shown_gen = job.id
        few = r.points <= POINTS_UP_TO
        if few and not v.scatters:
            v.build_scatters()
        self.showing_points = few
        for k, sc in enumerate(v.scatters):
            sc.setVisible(few and k not in st.hidden_classes)
        self.image.setVisible(not few)
        if not few:
            self.image.setImage(r.rgba, autoLevels=False, levels=(0, 255))
            self.image.setRect(QRectF(*r.rect))
        self.shown.emit(job)
