"""Off the data: the plane shaded where the model never put an image (the maths is explorer/core/manifold.py).

- :class:`ManifoldJobs` (one per state; the main window makes it): while ``state.off_manifold`` is on,
  builds each shown session's density on one worker thread and sets ``session.manifold`` on the GUI
  thread: the aggregate posterior of a VAE / CVAE (its log-variances come from SpreadJobs, on the model
  service's bulk lane, cached like the means), a kernel density of the means for a deterministic model.
  Turned off, every ``session.manifold`` is dropped. ``ready`` says a session's density changed; the
  pane's warning (``Shown.off_manifold``) and the layers listen.
- :class:`ManifoldLayer` (one per LatentView): one ImageItem under the scatter that shades the cells of
  the view whose q is below the density level. The grid (``GRID`` cells across the longer side) is
  evaluated on the same worker after the view settles (``SETTLE_MS``); a result for a view that has
  since moved is dropped, and the last grid is kept, so panning back costs nothing.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer, Signal

from explorer.core.manifold import build_manifold
from explorer.core.pane import shown_session, slice_of
from explorer.core.spread import deterministic_reason

GRID = 120  # cells across the longer side of the view
SETTLE_MS = 120  # evaluate the grid this long after the last pan / zoom step
SHADE = (40, 40, 48, 120)  # RGBA of a cell off the data: a grey wash the points stay readable on
Z = -3  # above the underlay (-20) and the prior's circles (-5), under the scatter (0)

_jobs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # state -> ManifoldJobs
_layers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # state -> WeakSet of ManifoldLayer


def manifold_jobs_for(state) -> ManifoldJobs | None:
    return _jobs.get(state)


class ManifoldJobs(QObject):
    """Builds the shown sessions' densities off the GUI thread while ``state.off_manifold`` is on."""

    ready = Signal(object)  # the session whose ``manifold`` was just set (or dropped)
    _done = Signal(object, object)  # (callback, result or exception): from the worker to the GUI thread

    def __init__(self, state, spread, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.spread = spread  # SpreadJobs: a VAE's log-variances
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="manifold")
        self.pending = 0
        self.closed = False
        self._keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # session -> key of its manifold
        self._building: set = set()
        self._done.connect(self._deliver)
        self.ready.connect(self._tell_layers)
        _jobs[state] = self
        ev = state.events
        for sig in (ev.off_manifold, ev.session, ev.compared, ev.snapshot):
            sig.connect(self.update)
        spread.computed.connect(self.update)

    @property
    def idle(self) -> bool:
        """Nothing computing, and no view waiting to ask (its settle timer)."""
        return self.pending == 0 and not any(la._timer.isActive() for la in list(_layers.get(self.state, ())))

    def submit(self, fn: Callable[[], Any], callback: Callable[[Any], None]) -> None:
        """Run ``fn`` on the worker; ``callback(result or exception)`` on the GUI thread."""
        if self.closed:
            return
        self.pending += 1

        def run() -> None:
            try:
                out = fn()
            except BaseException as e:  # noqa: BLE001 - delivered as one sentence on state.error
                out = e
            with contextlib.suppress(RuntimeError):  # the window closed meanwhile
                self._done.emit(callback, out)

        self.pool.submit(run)

    def _deliver(self, callback, out) -> None:
        self.pending -= 1
        if not self.closed:
            callback(out)

    def _tell_layers(self, session) -> None:
        for layer in list(_layers.get(self.state, ())):
            if session is layer.view.session:
                layer.request()

    def update(self, *_a) -> None:
        sessions = [s for s in self.state.sessions if s is not None]
        if not self.state.off_manifold:
            for s in sessions:
                if s.manifold is not None:
                    s.manifold = None
                    self.ready.emit(s)
            return
        for s in [shown_session(self.state, i) for i in range(len(sessions))]:
            if s is not None:
                self.want(s)

    def want(self, session) -> None:
        if session.means is None or len(session.means) < 2:
            return
        posterior = deterministic_reason(session) is None
        if posterior and session.logvars is None:
            self.spread.want(session)  # its ``computed`` calls update() again
            return
        logvars = session.logvars if posterior else None
        key = (id(session.means), id(logvars))
        if (session.manifold is not None and self._keys.get(session) == key) or (id(session), key) in self._building:
            return
        self._building.add((id(session), key))
        means = session.means

        def done(out, session=session, key=key) -> None:
            self._building.discard((id(session), key))
            if isinstance(out, BaseException):
                self.state.error.emit(f"{session.model_path.name}: could not compute where its data lies ({out}).")
                return
            if self.state.off_manifold and session.means is means:
                session.manifold = out
                self._keys[session] = key
                self.ready.emit(session)

        self.submit(lambda: build_manifold(means, logvars), done)

    def shutdown(self) -> None:
        self.closed = True
        self.pool.shutdown(wait=False, cancel_futures=True)


class ManifoldLayer(QObject):
    """A LatentView's shading of the cells off the data."""

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.state = view.state
        _layers.setdefault(self.state, weakref.WeakSet()).add(self)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(Z)
        self.image.setVisible(False)
        view.plot_item.addItem(self.image, ignoreBounds=True)
        self.off_share = None  # share of the view's cells shaded, once a grid is shown (tests)
        self._want: tuple | None = None  # the key of the grid asked for last
        self._shown: tuple | None = None  # the key of the grid on screen
        self._timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._timer.timeout.connect(self.request)
        view.vb.sigRangeChanged.connect(self._settle)
        self.state.slice.events.plane.connect(self._settle)
        self.state.events.off_manifold.connect(self.request)

    def _settle(self, *_a) -> None:
        if self.state.off_manifold:
            self._timer.start()

    def request(self, *_a) -> None:
        session = self.view.session
        jobs = manifold_jobs_for(self.state)
        m = None if session is None or jobs is None or not self.state.off_manifold else session.manifold
        if m is None:
            self.image.setVisible(False)
            self._want = self._shown = None
            self.off_share = None
            return
        (x0, x1), (y0, y1) = self.view.vb.viewRange()
        w, h = x1 - x0, y1 - y0
        nx, ny = (GRID, max(1, round(GRID * h / w))) if w >= h else (max(1, round(GRID * w / h)), GRID)
        sl = slice_of(self.state, self.view.slot)
        origin, u, v = (np.array(a, np.float64) for a in sl.arrays())
        key = (id(m), origin.tobytes(), u.tobytes(), v.tobytes(), x0, x1, y0, y1, nx, ny)
        if key in (self._want, self._shown):
            return
        self._want = key

        def grid() -> np.ndarray:
            xs = x0 + (np.arange(nx) + 0.5) * (w / nx)
            ys = y0 + (np.arange(ny) + 0.5) * (h / ny)
            gx, gy = np.meshgrid(xs, ys)
            z = origin + gx.reshape(-1, 1) * u + gy.reshape(-1, 1) * v
            return m.off(z).reshape(ny, nx)

        jobs.submit(grid, lambda out, key=key: self._show(key, out, (x0, y0, w, h)))

    def _show(self, key: tuple, out: Any, rect: tuple) -> None:
        if key != self._want:
            return  # the view moved on: a newer grid is asked for
        if isinstance(out, BaseException):
            self.state.error.emit(f"could not shade the plane off the data ({out}).")
            return
        rgba = np.zeros((*out.shape, 4), np.uint8)
        rgba[out] = SHADE
        self.image.setImage(rgba, autoLevels=False)
        self.image.setRect(QRectF(*rect))
        self.image.setVisible(True)
        self._shown = key
        self.off_share = float(out.mean())
