"""The window driver of benchmarks/explorer_speed.py: the real MainWindow opened on the offscreen
platform, real QMouseEvents sent to its viewport, the event loop spun (or slept in) until a signal
came; the timing helpers, the paint probes, and the 70,000 points of the scatter and pan rows."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy, as latent-explorer sets it (explorer/__main__.py)
import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

LEFT, NOBTN = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton


class RefGuard:
    """Keep this process alive with PySide6 6.12.0 on Python < 3.12 (pyproject excludes that version).

    There every void PySide6 call (``processEvents()``, ``repaint()``, each QPainter call in a paint...)
    returns None without a new reference, so ``sys.getrefcount(None)`` falls by one per call until
    Python aborts with "Fatal Python error: none_dealloc" (True / False likewise). If that leak is
    present, holding a few million extra references, topped up between (never during) measurements,
    keeps the benchmark running; the app itself aborted after ~300 drag moves.
    """

    def __init__(self, floor: int = 5_000_000):
        from PySide6.QtCore import QPointF

        p, n0 = QPointF(), sys.getrefcount(None)
        for _ in range(100):
            p.setX(1.0)  # a void call
        self.active = sys.getrefcount(None) < n0 - 50
        self.floor = floor
        self.keep: list[list] = []

    def top_up(self) -> None:
        if self.active:
            for obj in (None, True, False):
                if sys.getrefcount(obj) < self.floor:
                    self.keep.append([obj] * self.floor)


GUARD = RefGuard()


def ms(s: float) -> str:
    return f"{s * 1e3:.1f} ms"


def pct(xs, q: float) -> float:
    return float(np.percentile(np.asarray(xs, float), q)) if len(xs) else float("nan")


class Driver:
    """The shown window, its viewport, and helpers to send mouse events and spin the event loop."""

    def __init__(self, args: argparse.Namespace, wait_open: bool = True):
        """Open the window; with ``wait_open`` (every row but "load") wait until the model has opened and
        (unless ``--light``) its torch model serves; without it, return as soon as the window is shown."""
        from explorer.qt.app import make_app

        self.args = args
        self.app = make_app()
        from explorer.qt import opener
        from explorer.qt.main_window import MainWindow

        if args.light:  # the torch phase never starts while the benchmark runs (closing stops it)
            opener.GO_DELAY_MS, opener.GO_AFTER = 2**30, float(2**30)

        self.win = MainWindow(args.model, dataset=args.dataset, split=args.split, data_dir=args.data_dir,
                              compare=args.compare)
        self.win.resize(args.width, args.height)
        self.win.show()
        self.view, self.vp = self.win.view, self.win.view.viewport()
        self.win.pane.decoded._probe = True  # its paints end "click to pixels" (PANE_PAINTS)
        self.shown: dict[int, tuple[float, object]] = {}  # request id -> (perf_counter when shown, result)
        self.frames: list[tuple[float, object]] = []  # every "point" result shown, in order
        self.grids: dict[int, tuple[float, object]] = {}
        self.win.decodeShown.connect(self._on_shown)
        self.win.underlayShown.connect(lambda r: self.grids.__setitem__(r.id, (time.perf_counter(), r)) if r else None)
        self.previews: list[float] = []  # when a coarse underlay pass went on screen
        self.win.underlay.preview_shown.connect(lambda _r: self.previews.append(time.perf_counter()))
        self.errors: list[str] = []
        self.win.errorShown.connect(self.errors.append)
        # record the ids of requests the window makes (the click path does not return them)
        self.point_ids: list[int] = []
        self.grid_reqs: list[tuple[int, object]] = []
        # compared panes (--compare): request ids per slot, and when each was shown
        self.slot_ids: dict[int, list[int]] = {i: [] for i in range(1, 1 + len(args.compare))}
        self.slot_shown: dict[int, dict[int, float]] = {i: {} for i in self.slot_ids}
        self.slot_frames: dict[int, list[tuple[float, object]]] = {i: [] for i in self.slot_ids}
        logs = {("pane", 0): (self.point_ids, lambda rid, a, k: rid),
                ("grid", 0): (self.grid_reqs, lambda rid, a, k: (rid, k.get("meta")))}
        for i in self.slot_ids:
            logs[("pane", i)] = (self.slot_ids[i], lambda rid, a, k: rid)
        self._wrap(self.win.service, logs)
        if wait_open:
            self._wait_open(args)

    def _wait_open(self, args: argparse.Namespace) -> None:
        if not self.wait(lambda: self.win.session is not None and self.frames
                         and len(self.win.state.compared) == len(args.compare), args.timeout):
            raise SystemExit(f"the model did not open in {args.timeout:.0f} s: {self.errors}")
        s, svc = self.win.session, self.win.service.service
        if args.light:
            if s.ready.is_set():
                raise SystemExit("--light: the model did not open light (its means are not cached); run once without it")
        elif not self.wait(lambda: s.ready.is_set() and svc.model is s.model, args.timeout):  # the torch model serves
            raise SystemExit(f"the torch model did not take over in {args.timeout:.0f} s: {self.errors}")
        self.decoder = getattr(svc.lane("pane")._decode_fn, "backend", None) or "torch"
        if getattr(args, "wait_index", False) and s.index is not None:
            t0 = time.perf_counter()
            s.index.wait_tree(args.timeout)
            self.index_wait = time.perf_counter() - t0  # after the torch model took over
        for i in self.slot_ids:
            self.win.panes[i].shown.connect(lambda shown, i=i: self._on_slot_shown(i, shown))
        if self.slot_ids:
            print(f"comparing {len(self.win.state.sessions)} planes of {len(self.win.session.labels):,} points",
                  file=sys.stderr)
        self.settle(0.3)

    @staticmethod
    def _wrap(bridge, logs: dict) -> None:
        """Record the ids of the requests made on the channels ``logs`` names ((kind, slot) -> (log, entry))."""
        for (kind, slot), (log, entry) in logs.items():
            ch = bridge.channel(kind, slot)
            orig = ch.request

            def request(*a, _orig=orig, _log=log, _entry=entry, **k):
                rid = _orig(*a, **k)
                _log.append(_entry(rid, a, k))
                return rid

            ch.request = request  # instance attribute: the consumer's calls go through it

    def _on_shown(self, shown) -> None:
        """explorer.core.pane.Shown: what the pane now displays (id, z, posted, seconds)."""
        t = time.perf_counter()
        self.shown[shown.id] = (t, shown)
        self.frames.append((t, shown))

    def _on_slot_shown(self, i: int, shown) -> None:
        t = time.perf_counter()
        self.slot_shown[i][shown.id] = t
        self.slot_frames[i].append((t, shown))

    def all_shown(self) -> bool:
        """Every compared pane shows its newest request (True without --compare)."""
        return all(not ids or ids[-1] in self.slot_shown[i] for i, ids in self.slot_ids.items())

    def wait(self, pred, timeout: float) -> bool:
        end = time.perf_counter() + timeout
        k = 0
        while not pred():
            if time.perf_counter() > end:
                return False
            self.app.processEvents()
            k += 1
            if k % 10000 == 0 and GUARD.active and sys.getrefcount(None) < 1_000_000:
                GUARD.top_up()  # only in long waits (opening a model); never reached within one click
        return True

    def wait_asleep(self, pred, timeout: float) -> bool:
        """``wait``, but asleep between events as the app's event loop is (``WaitForMoreEvents``, the GIL
        released), not spinning: a spinning driver takes the GIL from the workers' Python steps and
        made the grid's decode 2-3x slower than in the app (benchmarks/README.md, issue 11)."""
        from PySide6.QtCore import QTimer

        tick = QTimer()
        tick.start(5)  # wake at least every 5 ms, to check the time
        end = time.perf_counter() + timeout
        try:
            while not pred():
                if time.perf_counter() > end:
                    return False
                self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        finally:
            tick.stop()
        return True

    def settle(self, seconds: float) -> None:
        GUARD.top_up()  # untimed: between measurements only
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.app.processEvents()
            time.sleep(0.001)

    def pixel(self, x: float, y: float) -> QPointF:
        """Viewport pixel of a data point (integer, as a real mouse reports it).

        ``data_to_widget`` is QGraphicsView.mapFromScene, which gives viewport coordinates."""
        return QPointF(self.view.data_to_widget(x, y))

    def clickable(self, p: QPointF) -> bool:
        """A plain click here decodes: on the plot, not on the marker (a drag) or the legend (toggles a class)."""
        sp = self.view.mapToScene(p.toPoint())
        if self.view.to_data(sp) is None:
            return False
        if hasattr(self.view, "on_marker"):
            on_marker = self.view.on_marker(sp)
        else:
            m = self.view.marker.pos()
            mp = self.pixel(m.x(), m.y())
            on_marker = self.view.marker.isVisible() and np.hypot(p.x() - mp.x(), p.y() - mp.y()) < 40
        legend = getattr(self.view, "legend", None)  # older versions drew the legend on the plot
        on_legend = legend is not None and legend.isVisible() and legend.sceneBoundingRect().contains(sp)
        return not on_marker and not on_legend

    def mouse(self, kind: QEvent.Type, pos: QPointF, button, buttons) -> None:
        ev = QMouseEvent(kind, pos, QPointF(self.vp.mapToGlobal(pos.toPoint())), button, buttons,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(self.vp, ev)

    def plane_points(self) -> np.ndarray:
        """(N, 2): the points the main plane plots, in plane coordinates: a 2-D model's means, a D-dim
        model's projections on the slice (``view.points_data[0]``; ``session.means`` is (N, D) there)."""
        pts = np.asarray(self.view.points_data[0])
        return pts if len(pts) else np.asarray(self.win.session.means)

    def data_box(self) -> tuple[np.ndarray, np.ndarray]:
        """1st..99th percentile box of the plotted points (plane coordinates), clipped to the visible plot."""
        lo, hi = np.percentile(self.plane_points(), [1, 99], axis=0)
        x0, x1, y0, y1 = self.view.view_rect()
        return np.maximum(lo, [x0, y0]), np.minimum(hi, [x1, y1])

    def close(self) -> None:
        self.win.close()
        self.win.deleteLater()
        self.app.processEvents()


def scatter_points(d: Driver, args, rng) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    n = args.scatter_points
    if args.scatter_data == "session":
        s = d.win.session
        return (d.win.state.slice.project(s.means), s.labels, list(s.label_names),
                f"the window's own {len(s.labels):,} points ({s.dataset_name}, split {s.split})")
    if args.scatter_data in ("auto", "encode"):
        from training.data import DatasetError, load_dataset

        try:
            ds = load_dataset("fashion-mnist", "all", data_dir=args.data_dir, download=False)
        except DatasetError as e:
            if args.scatter_data == "encode":
                raise SystemExit(f"scatter: {e}") from None
            ds = None
        if ds is not None and tuple(ds.image_shape) == tuple(d.win.session.image_shape):
            from explorer.core.session import encode_means

            idx = np.arange(n) % len(ds.images)
            a = time.perf_counter()
            means = d.win.state.slice.project(encode_means(d.win.session.model, ds.images[idx]))  # (N, 2)
            how = (f"Fashion-MNIST train+test ({len(ds.images):,} images) encoded by {Path(args.model).name} "
                   f"in {time.perf_counter() - a:.1f} s")
            return means, ds.labels[idx], list(ds.label_names), how
    centres = rng.normal(0, 1.5, (10, 2))  # plane coordinates already
    labels = rng.integers(0, 10, n)
    means = (centres[labels] + rng.normal(0, 0.5, (n, 2))).astype(np.float32)
    return means, labels, [f"class {k}" for k in range(10)], "random: 10 Gaussian blobs (Fashion-MNIST not used)"


def _install_paint_counter() -> dict:
    """Count ScatterPlotItem.paint calls, to check that a timed repaint really painted the points.

    Installed once, before any item exists, and never removed: PySide6 caches a Python override of
    a C++ virtual, so restoring the original later leaves it calling a freed function (a segfault).
    """
    import pyqtgraph as pg

    counter = {"n": 0}
    orig = pg.ScatterPlotItem.paint

    def paint(self, *a, **k):
        counter["n"] += 1
        return orig(self, *a, **k)

    pg.ScatterPlotItem.paint = paint
    return counter


PAINTS = _install_paint_counter()


def _install_pane_paint_probe() -> list[float]:
    """perf_counter of every paint of the decode pane's main image (``DecodePane.decoded``, an ImageView
    marked ``_probe``): "click to pixels" ends at the first one after the click's image was shown.

    Installed once, before the window exists, and never removed (see _install_paint_counter)."""
    try:
        from explorer.qt.pane.image_view import ImageView
    except ImportError:  # a tree from before explorer/qt was grouped into sub-packages (af5f5cf)
        from explorer.qt.image_view import ImageView

    times: list[float] = []
    orig = ImageView.paintEvent

    def paintEvent(self, ev):
        orig(self, ev)
        if getattr(self, "_probe", False):
            times.append(time.perf_counter())

    ImageView.paintEvent = paintEvent
    return times


PANE_PAINTS = _install_pane_paint_probe()


def wait_for_raster(d: Driver) -> None:
    """Spin the event loop until the density layer's raster for the current view is on screen (a layer
    that renders off the GUI thread, issue 11; the older synchronous one is done already)."""
    layer = d.view.density
    while hasattr(layer, "worker") and layer.active and not layer.idle:
        d.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)

