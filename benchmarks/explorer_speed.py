"""Speed of the explorer as a user feels it, driven through real Qt mouse events.

    QT_QPA_PLATFORM=offscreen python benchmarks/explorer_speed.py                 # the table in benchmarks/README.md
    QT_QPA_PLATFORM=offscreen python benchmarks/explorer_speed.py --model /tmp/syn.safetensors \\
        --dataset synthetic --clicks 30 --drag-seconds 3 --scatter-repeats 3 --pan-repeats 6 \\
        --startup-repeats 1 --grid-repeats 3                                         # a quick smoke test

Every measurement goes through the real window (explorer.qt.main_window.MainWindow, shown on the
offscreen platform). Mouse input is QMouseEvents sent to ``window.view.viewport()`` (never a call
to a click / move slot); results are read from the window's signals while the driver spins
``QApplication.processEvents``. Settings a user makes in a menu (hover preview, underlay, grid
density) are made with the window's own methods. What each row measures is printed in its "how"
column; ``--json FILE`` keeps the raw numbers.

1. click: press + release at a random point of the data; latency = from just before the press
   to ``window.decodeShown`` for that click's request (matched by the request id, recorded by a
   wrapper around ``window.service.request`` on the "pane" channel); and "click to pixels": to the
   decode pane's first paint of the decoded image after that (decodeShown is emitted first).
2. drag: press on the decode marker (pyqtgraph TargetItem), MouseMove at 120 events/s along a
   circle through the data, release (``--drag-mode hover``: moves with hover preview on instead).
   Distinct decoded frames shown per second, and the longest gaps between driver-loop iterations
   (each iteration = deliver one due mouse event + one ``processEvents``), i.e. GUI-thread blocking.
3. scatter: ``view.set_points`` with 70,000 encoded Fashion-MNIST means (train + test) + the first
   synchronous repaint of the plot.
4. pan/zoom: ``vb.setRange`` to a new range + synchronous repaint, 70,000 points shown.
5. startup: the real ``latent-explorer`` command in a subprocess with LATENT_EXPLORER_STARTUP_PROBE=1
   (explorer/qt/app.py prints the wall time when the window is first shown and when the first
   decode is shown), from just before ``Popen``.
6. grid: the manifold underlay at density 30 on a square view (a 30 x 30 grid: 900 centres in one
   "grid" request to ``window.service`` (the model service's bulk lane), 2 torch threads, then ``latent.tile``); from the request
   (``set_underlay(True)``) to ``window.underlayShown``; plus the one-call-per-cell baseline.
7. snapshots: scrubbing a model's training snapshots (Watch it learn) at 10,000 points: a model made
   with ``latent-train --snapshots 8`` (``--snapshot-model``, else a tiny one trained on synthetic data
   first), shown over the bundled Fashion-MNIST test split; once every snapshot's plane is computed and
   framed (the Training panel's "Frame all"), ``state.snapshot = k`` (what the Training panel's slider
   does) + a synchronous repaint, timed, for a random walk over the snapshots and the final weights;
   plus the same split into state change and repaint, without the grid, and with the per-class items
   rebuilt (the path every set_points took before), for comparison.

The counts are options (``--help``); run it on a quiet machine for numbers worth quoting.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy, as latent-explorer sets it (explorer/__main__.py)
import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from explorer.core import latent
from explorer.core.session import default_model_path

BENCHES = ("startup", "click", "drag", "grid", "scatter", "pan", "snapshots")
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


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", help="a .safetensors model (default: the bundled assets/fashion-mnist-vae.safetensors)")
    p.add_argument("--dataset", help="dataset the window shows (default: the model's own)")
    p.add_argument("--split", choices=["train", "test", "all"], help="split the window shows (default: the app's)")
    p.add_argument("--data-dir")
    p.add_argument("--compare", nargs="+", default=[], metavar="MODEL",
                   help="also open these models side by side (issue 10); click latency is then until EVERY pane "
                        "shows the click, and drag frames are counted per pane")
    p.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {','.join(BENCHES)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", default="1280x800", help="window size")
    p.add_argument("--clicks", type=int, default=300)
    p.add_argument("--click-warmup", type=int, default=10, help="clicks before the measured ones (not counted)")
    p.add_argument("--click-gap-ms", type=float, default=20.0, help="event processing between clicks")
    p.add_argument("--drag-seconds", type=float, default=5.0)
    p.add_argument("--drag-rate", type=float, default=120.0, help="mouse-move events per second")
    p.add_argument("--drag-mode", choices=["marker", "hover", "both"], default="marker")
    p.add_argument("--scatter-points", type=int, default=70000)
    p.add_argument("--scatter-data", choices=["auto", "encode", "random"], default="auto",
                   help="encode Fashion-MNIST (train+test) with the model, or random 10-class blobs; auto = encode if found")
    p.add_argument("--scatter-repeats", type=int, default=5)
    p.add_argument("--pan-repeats", type=int, default=20)
    p.add_argument("--startup-repeats", type=int, default=3)
    p.add_argument("--startup-timeout", type=float, default=300.0)
    p.add_argument("--grid-density", type=int, default=30)
    p.add_argument("--grid-repeats", type=int, default=5)
    p.add_argument("--baseline-cells", type=int, default=None, help="one-call-per-cell baseline size (default density^2)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for any one result")
    p.add_argument("--switch-interval", type=float, help="experiment: sys.setswitchinterval(S) in this process "
                   "(Python's default is 0.005; the app does not change it)")
    p.add_argument("--snapshot-model", help="snapshots: a model with training snapshots (default: train a tiny "
                   "one with latent-train --snapshots 8 on synthetic data)")
    p.add_argument("--scrub-repeats", type=int, default=200, help="snapshots: timed scrubs")
    p.add_argument("--json", help="also write the raw results here")
    p.add_argument("--light", action="store_true",
                   help="hold the model in its light phase (issue 11): the numpy decoder serves every request, "
                        "as it does for a click made before torch is loaded (needs cached means); by default the "
                        "benchmarks wait until the torch model has taken over")
    args = p.parse_args(argv)
    args.only = [b.strip() for b in args.only.split(",") if b.strip()]
    bad = [b for b in args.only if b not in BENCHES]
    if bad:
        p.error(f"unknown benchmark(s) {bad}; choose from {BENCHES}")
    if args.model is None:
        if not default_model_path().exists():
            p.error(f"the bundled model {default_model_path()} does not exist yet; give --model FILE")
        args.default_model = True
        args.model = str(default_model_path())
    else:
        args.default_model = False
    args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    return args


class Driver:
    """The shown window, its viewport, and helpers to send mouse events and spin the event loop."""

    def __init__(self, args: argparse.Namespace):
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
        for i in self.slot_ids:
            self.win.planes.controllers[i].shown.connect(lambda shown, i=i: self._on_slot_shown(i, shown))
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

    def data_box(self) -> tuple[np.ndarray, np.ndarray]:
        """1st..99th percentile box of the shown means, clipped to the visible plot."""
        lo, hi = np.percentile(self.win.session.means, [1, 99], axis=0)
        x0, x1, y0, y1 = self.view.view_rect()
        return np.maximum(lo, [x0, y0]), np.minimum(hi, [x1, y1])

    def close(self) -> None:
        self.win.close()
        self.win.deleteLater()
        self.app.processEvents()


# ------------------------------------------------------------------------------------------- 1. click


def bench_click(d: Driver, args, rng) -> dict:
    lo, hi = d.data_box()
    lat, pix, gui, dec, wait, missed = [], [], [], [], [], 0
    total = args.click_warmup + args.clicks
    for i in range(total):
        for _ in range(1000):  # a point of the plot that a click decodes (not the marker, not the legend)
            x, y = lo + rng.random(2) * (hi - lo)
            p = d.pixel(x, y)
            if d.clickable(p):
                break
        n_before = len(d.point_ids)
        t0 = time.perf_counter()
        d.mouse(QEvent.Type.MouseButtonPress, p, LEFT, LEFT)
        d.mouse(QEvent.Type.MouseButtonRelease, p, LEFT, NOBTN)
        t_sent = time.perf_counter()
        if len(d.point_ids) == n_before:
            missed += 1
            if os.environ.get("EXPLORER_SPEED_DEBUG"):
                print(f"click at pixel ({p.x():.0f}, {p.y():.0f}) = z ({x:.3f}, {y:.3f}) made no request", file=sys.stderr)
            d.settle(args.click_gap_ms / 1e3)
            continue
        rid = d.point_ids[-1]
        if not d.wait(lambda rid=rid: rid in d.shown and d.all_shown(), args.timeout):
            raise SystemExit(f"click {i}: no decode shown within {args.timeout} s ({d.errors})")
        t1, res = d.shown[rid]
        t1 = max([t1] + [d.slot_shown[j][ids[-1]] for j, ids in d.slot_ids.items()])  # the last pane to show it
        # the pane paints that image: the first paint of the decoded image after it was shown
        d.wait(lambda t1=t1: bool(PANE_PAINTS) and PANE_PAINTS[-1] >= t1, 1.0)
        tp = min((t for t in PANE_PAINTS if t >= t1), default=float("nan"))
        if i >= args.click_warmup:
            lat.append(t1 - t0)
            pix.append(tp - t0)
            gui.append(t_sent - t0)
            dec.append(res.seconds)
            wait.append(t1 - res.posted - res.seconds)
        d.settle(args.click_gap_ms / 1e3)
    return {"n": len(lat), "missed": missed, "median": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat, default=float("nan")),
            "gui_median": pct(gui, 50), "gui_max": max(gui, default=float("nan")), "decode_median": pct(dec, 50), "wait_median": pct(wait, 50),
            "pixels_median": pct(pix, 50), "pixels_p99": pct(pix, 99), "latencies": lat}


# ------------------------------------------------------------------------------------------- 2. drag


def bench_drag(d: Driver, args, mode: str) -> dict:
    win, view = d.win, d.view
    lo, hi = d.data_box()
    c = (lo + hi) / 2
    r = 0.4 * float((hi - lo).min())
    for th0 in np.linspace(0, 2 * np.pi, 24, endpoint=False):  # start where a click decodes (not on the legend)
        p = d.pixel(c[0] + r * np.cos(th0), c[1] + r * np.sin(th0))
        if d.clickable(p):
            break
    # put the marker at the start of the circle with a click, and wait for its decode
    n0 = len(d.point_ids)
    d.mouse(QEvent.Type.MouseButtonPress, p, LEFT, LEFT)
    d.mouse(QEvent.Type.MouseButtonRelease, p, LEFT, NOBTN)
    if len(d.point_ids) == n0 or not d.wait(lambda: d.point_ids[-1] in d.shown, args.timeout):
        raise SystemExit("drag: could not place the marker with a click")
    d.settle(0.2)
    moved = []
    def on_point(new, _old):
        if win.state.point_source in ("drag", "hover"):
            moved.append(new)

    win.state.events.point.connect(on_point)
    if mode == "hover":
        win.set_hover(True)
    else:
        m = view.marker.pos()
        d.mouse(QEvent.Type.MouseButtonPress, d.pixel(m.x(), m.y()), LEFT, LEFT)
    buttons = NOBTN if mode == "hover" else LEFT
    svc = win.service.service.lane("pane")
    dec0, rep0, req0, fr0 = svc.decoded, svc.replaced, len(d.point_ids), len(d.frames)
    period, dur = 1.0 / args.drag_rate, args.drag_seconds
    iters, sends, pe_times, late = [], [], [], 0
    GUARD.top_up()
    t0 = time.perf_counter()
    next_t, sent, last_pos = t0, 0, p
    while True:
        now = time.perf_counter()
        iters.append(now)
        if now - t0 >= dur:
            break
        if now >= next_t:
            th = th0 + 2 * np.pi * (now - t0) / dur
            last_pos = d.pixel(c[0] + r * np.cos(th), c[1] + r * np.sin(th))
            d.mouse(QEvent.Type.MouseMove, last_pos, NOBTN, buttons)
            sent += 1
            sends.append(time.perf_counter() - now)
            next_t += period
            if next_t < time.perf_counter():  # fell behind by a whole period: skip, as Qt compresses moves
                late += 1
                next_t = t0 + period * (int((time.perf_counter() - t0) / period) + 1)
        a = time.perf_counter()
        d.app.processEvents()
        pe_times.append(time.perf_counter() - a)
    t_end = time.perf_counter()
    if mode == "hover":
        win.set_hover(False)
    else:
        d.mouse(QEvent.Type.MouseButtonRelease, last_pos, LEFT, NOBTN)
    d.wait(lambda: svc.pending() == 0, args.timeout)
    d.settle(0.2)
    win.state.events.point.disconnect(on_point)
    def distinct_frames(shown_frames) -> int:
        n, last_z = 0, None
        for _t, res in shown_frames:
            z = tuple(np.round(res.z, 7))
            if z != last_z:
                n += 1
            last_z = z
        return n

    distinct = distinct_frames([(t, res) for t, res in d.frames[fr0:] if t0 <= t <= t_end])
    per_pane = [distinct] + [distinct_frames([(t, r) for t, r in fr if t0 <= t <= t_end]) for fr in d.slot_frames.values()]
    gaps = np.diff(iters)
    busy = gaps[gaps > 0.001]  # iterations that did work (most spins of an idle loop take microseconds)
    return {"mode": mode, "seconds": t_end - t0, "events_sent": sent, "late_skips": late, "marker_moves": len(moved),
            "requests": len(d.point_ids) - req0, "decoded": svc.decoded - dec0, "replaced": svc.replaced - rep0,
            "frames_per_s": min(per_pane) / (t_end - t0), "distinct_frames": distinct,
            "frames_per_s_per_pane": [n / (t_end - t0) for n in per_pane],
            "gap_max": float(gaps.max()), "gap_p99": pct(busy, 99), "gap_median": pct(busy, 50), "busy_iterations": len(busy),
            "gaps_over_16ms": int((gaps > 0.016).sum()), "time_in_gaps_over_16ms": float(gaps[gaps > 0.016].sum()), "process_events_max": max(pe_times),
            "send_max": max(sends, default=float("nan")), "send_median": pct(sends, 50)}


# ------------------------------------------------------------------------------------------- 6. grid


def bench_grid(d: Driver, args) -> dict:
    import torch

    win, vb = d.win, d.view.vb
    lo, hi = np.percentile(win.session.means, [0.5, 99.5], axis=0)
    cx, cy = (lo + hi) / 2
    half = float((hi - lo).max()) / 2 * 1.1
    vb.setAspectLocked(False)  # a square range on a non-square plot: grid_for_view gives density x density
    vb.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
    win.density.setValue(args.grid_density)
    d.settle(0.3)
    e2e, worker, queue, tile_s, repaint, shape, preview = [], [], [], [], [], None, []
    for i in range(1 + args.grid_repeats):  # one warm-up
        win.set_underlay(False)
        win.underlay.cache.clear()  # a cold render: every cell decoded
        d.settle(0.05)
        n0 = len(d.grid_reqs)
        p0 = len(d.previews)
        t0 = time.perf_counter()
        win.set_underlay(True)
        if len(d.grid_reqs) == n0:
            raise SystemExit("grid: set_underlay(True) made no request")
        rid, (lattice, _keys, *_label) = d.grid_reqs[-1]  # meta: (lattice, keys, class of a conditional model)
        grid = lattice.grid()
        if not d.wait_asleep(lambda rid=rid: rid in d.grids, args.timeout):
            raise SystemExit(f"grid: no underlay within {args.timeout} s ({d.errors})")
        t1, res = d.grids[rid]
        a = time.perf_counter()
        d.vp.repaint()
        rp = time.perf_counter() - a
        shape = (grid.nx, grid.ny)
        a = time.perf_counter()
        latent.tile(res.images, grid)
        ts = time.perf_counter() - a
        if i > 0:
            e2e.append(t1 - t0)
            if len(d.previews) > p0:
                preview.append(d.previews[p0] - t0)
            worker.append(res.seconds)
            queue.append(res.posted - t0)
            tile_s.append(ts)
            repaint.append(rp)
    win.set_underlay(False)
    vb.setAspectLocked(True)
    win.view.reset_view()
    d.settle(0.3)
    # baseline: one model.decode per cell, one z each, on one thread (as a naive worker would)
    n = args.baseline_cells or args.grid_density ** 2
    zs = torch.from_numpy(np.ascontiguousarray(grid.centres()[:n] if n <= grid.nx * grid.ny else
                                               np.resize(grid.centres(), (n, 2)), np.float32))
    model, out = win.session.model, {}

    def baseline():
        torch.set_num_threads(1)
        with torch.inference_mode():
            model.decode(zs[:1])
            a = time.perf_counter()
            for k in range(n):
                model.decode(zs[k : k + 1])
            out["per_cell"] = time.perf_counter() - a
            a = time.perf_counter()
            model.decode(zs)
            out["one_batch_1thread"] = time.perf_counter() - a

    th = threading.Thread(target=baseline, name="baseline")
    th.start()
    th.join()
    return {"grid": shape, "cells": shape[0] * shape[1], "e2e_median": pct(e2e, 50), "e2e_max": max(e2e),
            "preview_median": pct(preview, 50) if preview else None,
            "worker_median": pct(worker, 50), "tile_median": pct(tile_s, 50), "repaint_after_median": pct(repaint, 50),
            "baseline_cells": n, "baseline_per_cell_s": out["per_cell"], "baseline_one_batch_1thread_s": out["one_batch_1thread"]}


# ------------------------------------------------------------------------------------------- 3 + 4. scatter, pan/zoom


def scatter_points(d: Driver, args, rng) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    n = args.scatter_points
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
            means = encode_means(d.win.session.model, ds.images[idx])
            how = (f"Fashion-MNIST train+test ({len(ds.images):,} images) encoded by {Path(args.model).name} "
                   f"in {time.perf_counter() - a:.1f} s")
            return means, ds.labels[idx], list(ds.label_names), how
    centres = rng.normal(0, 1.5, (10, 2))
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
    from explorer.qt.pane.image_view import ImageView

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


def bench_scatter(d: Driver, args, rng, means, labels, names) -> dict:
    view = d.view
    build, paint, total, painted, cpu = [], [], [], [], []
    counter = PAINTS
    for _ in range(args.scatter_repeats):
        view.set_points(np.zeros((0, 2), np.float32), np.zeros(0, np.int64), [])  # start empty (untimed)
        d.settle(0.1)
        counter["n"] = 0
        c0 = time.thread_time()
        t0 = time.perf_counter()
        view.set_points(means, labels, names)
        wait_for_raster(d)  # a raster made off the GUI thread: until it is on screen
        t1 = time.perf_counter()
        d.vp.repaint()
        t2 = time.perf_counter()
        cpu.append(time.thread_time() - c0)
        build.append(t1 - t0)
        paint.append(t2 - t1)
        total.append(t2 - t0)
        painted.append(counter["n"])
        d.settle(0.1)
    return {"points": len(means), "total_median": pct(total, 50), "total_max": max(total), "build_median": pct(build, 50),
            "paint_median": pct(paint, 50), "cpu_median": pct(cpu, 50), "scatter_paint_calls": painted}


def bench_scale(d: Driver, args, rng, means, labels, names) -> dict:
    """The density view at 1,000,000 points (the dataset's means repeated with a little jitter), and
    the old renderer (one ScatterPlotItem per class, all points) at the dataset's size, in this run."""
    out = {}
    reps = max(1, int(np.ceil(1_000_000 / len(means))))
    big = (np.tile(means, (reps, 1))[:1_000_000] + rng.normal(0, 0.01, (1_000_000, 2))).astype(np.float32)
    big_labels = np.tile(labels, reps)[:1_000_000]
    for key, (m, lab, how, goal) in {
        "scatter-1m": (big, big_labels, "density raster", "< 1 s"),
        "scatter-baseline": (means, labels, "one ScatterPlotItem per class", "(baseline)"),
    }.items():
        build = []
        for _ in range(max(1, args.scatter_repeats)):
            d.view.set_points(np.zeros((0, 2), np.float32), np.zeros(0, np.int64), [])
            d.settle(0.1)
            t0 = time.perf_counter()
            if key == "scatter-baseline":  # the renderer as it was: every point as a scatter item
                d.view.points_data = (m, lab, len(names))
                d.view.density.active = False
                d.view.density.image.setVisible(False)
                d.view.build_scatters()
            else:
                d.view.set_points(m, lab, names)
                wait_for_raster(d)
            d.vp.repaint()
            build.append(time.perf_counter() - t0)
        pan = bench_pan(d, argparse.Namespace(**{**vars(args), "pan_repeats": max(3, args.pan_repeats // 2)}), rng)
        out[key] = {"points": len(m), "how": how, "goal": goal, "build": pct(build, 50), "pan": pan["median"],
                    "refresh": pan["refresh_median"]}
    return out


def bench_pan(d: Driver, args, rng) -> dict:
    vb = d.view.vb
    (x0, x1), (y0, y1) = vb.viewRange()
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    times, counter_paints, cpu, refresh = [], [], [], []
    counter = PAINTS
    for i in range(args.pan_repeats + 1):  # one warm-up
        if i % 2:  # zoom in or out around a nearby centre
            s = float(rng.choice([0.6, 0.8, 1.25, 1.6]))
        else:  # pan by up to a fifth of the view
            s = 1.0
        dx, dy = (rng.random(2) - 0.5) * 0.4 * np.array([w, h])
        nx, ny = cx + dx, cy + dy
        counter["n"] = 0
        c0 = time.thread_time()
        t0 = time.perf_counter()
        vb.setRange(xRange=(nx - s * w / 2, nx + s * w / 2), yRange=(ny - s * h / 2, ny + s * h / 2), padding=0)
        d.vp.repaint()
        t = time.perf_counter() - t0
        # the density raster's debounced refresh for the new view (a GUI-thread stall once the pan pauses)
        t1 = time.perf_counter()
        if d.view.density.active:
            if hasattr(d.view.density, "worker"):  # rendered off the GUI thread: from the request to it painted
                n0 = d.view.density.renders
                d.view.density.request()
                while d.view.density.renders == n0 and time.perf_counter() - t1 < args.timeout:
                    d.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            else:
                d.view.density.render()
            d.vp.repaint()
        tr = time.perf_counter() - t1
        if i > 0:
            times.append(t)
            refresh.append(tr)
            cpu.append(time.thread_time() - c0)
            counter_paints.append(counter["n"])
        d.settle(0.05)
    d.win.view.reset_view()
    return {"n": len(times), "median": pct(times, 50), "max": max(times), "p90": pct(times, 90), "cpu_median": pct(cpu, 50),
            "scatter_paint_calls_min": min(counter_paints), "refresh_median": pct(refresh, 50),
            "refresh_max": max(refresh), "raster": d.view.density.active}


# ------------------------------------------------------------------------------------------- 7. snapshots


def snapshot_model(args) -> str:
    if args.snapshot_model:
        return args.snapshot_model
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="bench-snapshots-")) / "snapshots.safetensors"
    exe = shutil.which("latent-train", path=str(Path(sys.executable).parent)) or "latent-train"
    cmd = [exe, "--dataset", "synthetic", "--model", "ae", "--epochs", "2", "--limit", "512", "--batch-size", "32",
           "--lr", "0.005", "--channels", "4,8", "--hidden", "8", "--threads", "1", "--snapshots", "8", "--quiet",
           "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    return str(out)


def bench_snapshots(args, rng) -> dict:
    """Scrub between cached snapshots through the state, as the slider does, with a repaint each time."""
    model = snapshot_model(args)
    assets = Path(__file__).resolve().parents[1] / "assets" / "fashion-mnist"
    d = Driver(argparse.Namespace(**{**vars(args), "model": model, "dataset": "fashion-mnist",
                                     "data_dir": str(assets), "split": "test"}))
    try:
        panel, st = d.win.training, d.win.state
        t0 = time.perf_counter()
        if not d.wait(lambda: not panel.running, args.timeout) or not panel.complete:
            raise SystemExit(f"snapshots: not computed in {args.timeout:.0f} s: {d.errors}")
        computed_s = time.perf_counter() - t0
        panel.frame_all()  # the Training panel's "Frame all": every snapshot's points in view, so each scrub paints
        d.settle(0.3)
        n = panel.count
        positions = [*range(n), None]
        k = None
        fast, slow, cpu, painted = [], [], [], []
        for i in range(args.scrub_repeats + 5):  # 5 warm-up
            k = positions[(positions.index(k) + int(rng.integers(1, len(positions)))) % len(positions)]  # never the same
            PAINTS["n"] = 0
            c0 = time.thread_time()
            t = time.perf_counter()
            st.snapshot = k  # the slider's write: the plane and pane follow the state
            d.vp.repaint()
            dt = time.perf_counter() - t
            if i >= 5:
                fast.append(dt)
                cpu.append(time.thread_time() - c0)
                painted.append(PAINTS["n"])
            d.app.processEvents()  # the pane's decode result, as between two slider steps
        view = d.view
        st.snapshot = None
        d.app.processEvents()
        set_only, paint_only = [], []  # where the time goes: the state change, then the repaint (CPU time)
        for i in range(max(20, args.scrub_repeats // 4)):
            c0 = time.thread_time()
            st.snapshot = positions[i % len(positions)]
            c1 = time.thread_time()
            d.vp.repaint()
            set_only.append(c1 - c0)
            paint_only.append(time.thread_time() - c1)
            d.app.processEvents()
        # baseline: pyqtgraph's translucent grid (what the plane drew before explorer/qt/plane/grid_lines.py)
        for c in view.grid.curves:
            c.setVisible(False)
        view.plot_item.showGrid(x=True, y=True, alpha=0.12)
        d.app.processEvents()
        no_grid = []
        for i in range(max(20, args.scrub_repeats // 4)):
            t = time.perf_counter()
            st.snapshot = positions[i % len(positions)]
            d.vp.repaint()
            no_grid.append(time.perf_counter() - t)
            d.app.processEvents()
        view.plot_item.showGrid(x=False, y=False)
        for c in view.grid.curves:
            c.setVisible(True)
        d.app.processEvents()
        for i in range(max(10, args.scrub_repeats // 10)):  # the old path: every per-class item rebuilt
            s = st.session.snapshot_sessions[i % n]
            t = time.perf_counter()
            view.set_points(s.means, s.labels.copy(), s.label_names)  # another labels array: no fast path
            d.vp.repaint()
            slow.append(time.perf_counter() - t)
            d.app.processEvents()
        st.snapshot = None
        return {"points": len(st.session.labels), "snapshots": n, "model": model, "computed_s": computed_s,
                "median": pct(fast, 50), "p90": pct(fast, 90), "max": max(fast), "cpu_median": pct(cpu, 50),
                "n": len(fast), "paint_calls_min": min(painted), "rebuild_median": pct(slow, 50),
                "set_cpu_median": pct(set_only, 50), "paint_cpu_median": pct(paint_only, 50),
                "no_grid_median": pct(no_grid, 50), "no_grid_p90": pct(no_grid, 90), "split_n": len(set_only),
                "rebuild_n": len(slow), "errors": list(d.errors)}
    finally:
        d.close()


# ------------------------------------------------------------------------------------------- 5. startup


def startup_command(args) -> list[str]:
    exe = shutil.which("latent-explorer", path=str(Path(sys.executable).parent)) or shutil.which("latent-explorer")
    cmd = [exe] if exe else [sys.executable, "-m", "explorer"]
    if not args.default_model:
        cmd.append(args.model)
    for opt, val in (("--dataset", args.dataset), ("--split", args.split), ("--data-dir", args.data_dir)):
        if val:
            cmd += [opt, val]
    return cmd


def bench_startup(args) -> dict:
    cmd = startup_command(args)
    env = dict(os.environ, LATENT_EXPLORER_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen")
    shown, inter, exited = [], [], []
    for _ in range(args.startup_repeats):
        t0 = time.time()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        try:
            _out, err = p.communicate(timeout=args.startup_timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise SystemExit(f"startup: {shlex.join(cmd)} did not finish in {args.startup_timeout} s") from None
        exited.append(time.time() - t0)
        got = {}
        for line in err.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "startup-probe":
                got[parts[1]] = float(parts[2])
        if p.returncode != 0 or "interactive" not in got or "shown" not in got:
            raise SystemExit(f"startup: {shlex.join(cmd)} exited {p.returncode} without the probe lines:\n{err[-2000:]}")
        shown.append(got["shown"] - t0)
        inter.append(got["interactive"] - t0)
    return {"command": "LATENT_EXPLORER_STARTUP_PROBE=1 QT_QPA_PLATFORM=offscreen " + shlex.join(cmd),
            "shown_median": statistics.median(shown), "interactive_median": statistics.median(inter),
            "exit_median": statistics.median(exited), "shown": shown, "interactive": inter}


# ------------------------------------------------------------------------------------------- report


def report(args, env: dict, r: dict) -> str:
    rows = []
    if "click" in r:
        c = r["click"]
        how = (f"{c['n']} clicks (press+release QMouseEvents on the viewport) at random points of the data, after "
               f"{args.click_warmup} warm-up; from before the press to window.decodeShown for that click's request id; "
               f"GUI part (press+release handling) median {ms(c['gui_median'])}, max {ms(c['gui_max'])}; "
               f"worker decode (DecodeResult.seconds) median {ms(c['decode_median'])}; waiting for the worker + delivery "
               f"to the GUI median {ms(c['wait_median'])}; max {ms(c['max'])}"
               + (f"; {c['missed']} clicks made no request" if c["missed"] else ""))
        if args.compare:
            how = (f"{len(args.compare) + 1} planes side by side (--compare); until EVERY pane shows the click; " + how)
        rows += [("click-to-image latency, median", "< 5 ms", ms(c["median"]), how),
                 ("click-to-image latency, p99", "< 16 ms", ms(c["p99"]), "same clicks")]
        if c.get("pixels_median") is not None:
            rows.append(("click to pixels (decoded image painted), median / p99", "",
                         f"{ms(c['pixels_median'])} / {ms(c['pixels_p99'])}",
                         "same clicks, from before the press to the decode pane's first paint of the decoded image "
                         "after decodeShown (decodeShown comes before the pane has set the image)"))
    for key in ("drag-marker", "drag-hover"):
        if key in r:
            g = r[key]
            what = ("press on the decode marker (TargetItem), MouseMove" if g["mode"] == "marker"
                    else "hover preview on, MouseMove (no button)")
            how = (f"{what} at {args.drag_rate:g}/s along a circle for {g['seconds']:.1f} s "
                   f"({g['events_sent']} moves sent, {g['late_skips']} late; {g['requests']} requests, "
                   f"{g['decoded']} decoded, {g['replaced']} replaced in the pending slot); frames = decodeShown with a new z"
                   + (f"; the slowest of {len(g['frames_per_s_per_pane'])} panes (per pane: "
                      + ", ".join(f"{f:.1f}" for f in g['frames_per_s_per_pane']) + "/s)" if args.compare else ""))
            rows.append((f"drag ({g['mode']}): distinct frames shown per s", ">= 55/s", f"{g['frames_per_s']:.1f}/s", how))
            how = (f"gaps between driver-loop iterations (each: the due MouseMove if any + one processEvents); "
                   f"p99 and median ({ms(g['gap_median'])}) over the {g['busy_iterations']} iterations longer than 1 ms; "
                   f"{g['gaps_over_16ms']} gaps over 16 ms, {g['time_in_gaps_over_16ms']:.2f} s in all; longest processEvents "
                   f"{ms(g['process_events_max'])}; MouseMove handling median {ms(g['send_median'])}, max {ms(g['send_max'])}")
            rows.append((f"drag ({g['mode']}): GUI-thread blocking, max / p99", "never > 16 ms",
                         f"{ms(g['gap_max'])} / {ms(g['gap_p99'])}", how))
    if "scatter" in r:
        s = r["scatter"]
        how = (f"view.set_points(means, labels, names) + view.viewport().repaint(), median of {args.scatter_repeats} "
               f"(from an empty plot); build {ms(s['build_median'])} + paint {ms(s['paint_median'])}; GUI-thread CPU time "
               f"{ms(s['cpu_median'])}; "
               f"points: {env['scatter_source']}")
        rows.append((f"scatter build + first paint, {s['points']:,} points", "< 0.3 s", f"{s['total_median']:.3f} s", how))
    if "pan" in r:
        p = r["pan"]
        how = (f"vb.setRange (alternately a pan by up to 20 % and a zoom x0.6..1.6) + view.viewport().repaint(), "
               f"median of {p['n']} after 1 warm-up; p90 {ms(p['p90'])}, max {ms(p['max'])}; GUI-thread CPU time median {ms(p['cpu_median'])}; points: {env['scatter_source']}")
        rows.append((f"pan/zoom repaint, {env['scatter_points']:,} points", "< 16 ms (no goal set; one 60 Hz frame)",
                     ms(p["median"]), how))
        if p.get("raster"):
            rows.append((f"density raster refresh after a pan/zoom, {env['scatter_points']:,} points", "< 33 ms",
                         ms(p["refresh_median"]), "the new view's raster, from view.density.request() (off the GUI "
                         "thread; before issue 11: view.density.render() on it) until it is painted, without the "
                         f"debounce; max {ms(p['refresh_max'])}; benchmarks/raster_refresh.py times the GUI stall"))
    for key, label in (("scatter-1m", "1,000,000"), ("scatter-baseline", "baseline")):
        if key in r:
            b = r[key]
            rows.append((f"{label}: build + first paint ({b['points']:,} points, {b['how']})", b["goal"],
                         f"{b['build']:.3f} s", "set_points + repaint, median"))
            rows.append((f"{label}: pan/zoom repaint ({b['points']:,} points)", "",
                         ms(b["pan"]), f"setRange + repaint; raster refresh {ms(b['refresh'])}"))
    if "startup" in r:
        s = r["startup"]
        how = (f"`{s['command']}` from just before Popen to the probe's 'shown' line (QTimer 0 after win.show()), "
               f"median of {args.startup_repeats}: " + ", ".join(f"{v:.2f}" for v in s["shown"]) + " s")
        rows.append(("time to first window", "(no goal set)", f"{s['shown_median']:.2f} s", how))
        how = ("same runs, to the first window.decodeShown after the model opened: "
               + ", ".join(f"{v:.2f}" for v in s["interactive"]) + f" s; process exit after {s['exit_median']:.2f} s")
        rows.append(("time to interactive", "(no goal set)", f"{s['interactive_median']:.2f} s", how))
    if "grid" in r:
        g = r["grid"]
        how = (f"set_underlay(True) at density {args.grid_density} on a square view -> grid {g['grid'][0]}x{g['grid'][1]} = "
               f"{g['cells']} centres in one request to the model service's bulk lane (2 threads) -> latent.tile -> underlayShown; "
               f"median of {args.grid_repeats} after 1 warm-up; max {ms(g['e2e_max'])}; tile {ms(g['tile_median'])}; "
               f"repaint after {ms(g['repaint_after_median'])} (not included)")
        rows.append((f"manifold grid {g['grid'][0]}x{g['grid'][1]}, end-to-end", "< 0.2 s", f"{g['e2e_median']:.3f} s", how))
        rows.append(("manifold grid, worker decode", "", f"{g['worker_median']:.3f} s", "DecodeResult.seconds (one batched model.decode, 2 torch threads)"))
        if g.get("preview_median") is not None:
            rows.append(("manifold grid, coarse first pass on screen", "< 50 ms", ms(g["preview_median"]),
                         "from set_underlay(True) to Underlay.preview_shown (cells 4x larger, 1/16 of the decodes)"))
        rows.append((f"one call per cell ({g['baseline_cells']} x model.decode of 1 z, 1 thread)", "(baseline)",
                     f"{g['baseline_per_cell_s']:.3f} s",
                     f"for comparison; the same {g['baseline_cells']} z in one call on 1 thread: {g['baseline_one_batch_1thread_s']:.3f} s"))
    if "snapshots" in r:
        s = r["snapshots"]
        how = (f"state.snapshot = k (the Training slider's write) + view.viewport().repaint(), {s['n']} scrubs in a "
               f"random walk over {s['snapshots']} cached snapshots and the final weights, after 5 warm-up; p90 "
               f"{ms(s['p90'])}, max {ms(s['max'])}; GUI-thread CPU time median {ms(s['cpu_median'])}; the "
               f"snapshots' planes were computed in {s['computed_s']:.1f} s after the window opened; Fashion-MNIST "
               f"test split shown; model {Path(s['model']).name}")
        rows.append((f"snapshot scrub redraw, {s['points']:,} points, median / p90", "< 16 ms",
                     f"{ms(s['median'])} / {ms(s['p90'])}", how))
        rows.append((f"snapshot scrub: state change / repaint, CPU time, {s['points']:,} points", "",
                     f"{ms(s['set_cpu_median'])} / {ms(s['paint_cpu_median'])}",
                     f"the same scrubs split, GUI-thread CPU time (time.thread_time), median of {s['split_n']}: "
                     f"state.snapshot = k (scatter positions, pane request, caption, title), then the repaint"))
        rows.append((f"snapshot scrub redraw with pyqtgraph's translucent grid, {s['points']:,} points, median / p90",
                     "(baseline)", f"{ms(s['no_grid_median'])} / {ms(s['no_grid_p90'])}",
                     f"the same scrubs with plot_item.showGrid(alpha=0.12) instead of the app's opaque GridLines "
                     f"({s['split_n']} scrubs): translucent lines are slow on Qt's raster engine"))
        rows.append((f"snapshot scrub, per-class items rebuilt, {s['points']:,} points", "(baseline)",
                     ms(s["rebuild_median"]), f"view.set_points with a copy of the labels (no fast path) + repaint, "
                     f"median of {s['rebuild_n']}"))
        if s["paint_calls_min"] == 0:
            rows.append(("WARNING", "", "", "a timed scrub repaint did not call ScatterPlotItem.paint"))
    if ("scatter" in r and min(r["scatter"]["scatter_paint_calls"]) == 0 or "pan" in r and r["pan"]["scatter_paint_calls_min"] == 0) \
            and not r.get("pan", {}).get("raster"):
        rows.append(("WARNING", "", "", "a timed repaint did not call ScatterPlotItem.paint: the paint times are not valid"))
    out = ["| metric | goal | measured | how |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(out)


def model_meta(path: str) -> dict:
    try:
        from training.checkpoint import load

        md = load(path).metadata
        return {"epochs": md.get("metrics", {}).get("epochs"), "dataset": md.get("dataset", {}).get("name")}
    except Exception:  # noqa: BLE001 - the header line only
        return {}


def main(argv=None) -> int:
    args = parse_args(argv)
    GUARD.top_up()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    rng = np.random.default_rng(args.seed)
    cmdline = f"QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']} python " + shlex.join(sys.argv)
    load0 = os.getloadavg()
    meta = model_meta(args.model)
    results: dict = {}
    env: dict = {}

    def done(*keys: str) -> None:
        """Print each benchmark's rows as it finishes (a crash later loses only what is running)."""
        print(report(args, env, {k: results[k] for k in keys}).split("\n", 2)[2], file=sys.stderr, flush=True)
        if args.json:
            raw = {k: {kk: vv for kk, vv in v.items() if kk != "latencies"} for k, v in results.items()}
            Path(args.json).write_text(json.dumps({"command": cmdline, "model": args.model, "model_meta": meta,
                                                   "results": raw, "env": env}, indent=1, default=str))

    if "startup" in args.only:
        print("startup ...", file=sys.stderr, flush=True)
        results["startup"] = bench_startup(args)
        done("startup")
    d = None
    if "snapshots" in args.only:
        print("snapshots ...", file=sys.stderr, flush=True)
        results["snapshots"] = bench_snapshots(args, rng)
        done("snapshots")
    if set(args.only) - {"startup", "snapshots"}:
        d = Driver(args)
        s = d.win.session
        env["shown"] = f"{s.dataset_name}/{s.split}, {len(s.labels):,} points, decoded with {d.decoder}"
        for name in ("click", "drag", "grid"):
            if name not in args.only:
                continue
            print(f"{name} ...", file=sys.stderr, flush=True)
            if name == "click":
                results["click"] = bench_click(d, args, rng)
                done("click")
            elif name == "drag":
                for mode in (("marker", "hover") if args.drag_mode == "both" else (args.drag_mode,)):
                    results[f"drag-{mode}"] = bench_drag(d, args, mode)
                    done(f"drag-{mode}")
            else:
                results["grid"] = bench_grid(d, args)
                done("grid")
        if "scatter" in args.only or "pan" in args.only:
            print("scatter points ...", file=sys.stderr, flush=True)
            means, labels, names, env["scatter_source"] = scatter_points(d, args, rng)
            env["scatter_points"] = len(means)
            if "scatter" in args.only:
                print("scatter ...", file=sys.stderr, flush=True)
                results["scatter"] = bench_scatter(d, args, rng, means, labels, names)
                done("scatter")
            else:
                d.view.set_points(means, labels, names)
                d.settle(0.2)
            if "pan" in args.only:
                print("pan ...", file=sys.stderr, flush=True)
                results["pan"] = bench_pan(d, args, rng)
                done("pan")
                print("scatter at 1,000,000 points and the per-class-items baseline ...", file=sys.stderr, flush=True)
                results.update(bench_scale(d, args, rng, means, labels, names))
            d.view.set_points(s.means, s.labels, s.label_names)
        if d.errors:
            print(f"errors shown by the window: {d.errors}", file=sys.stderr)
    import pyqtgraph
    import PySide6
    import torch

    if "snapshots" in results:
        sm = results["snapshots"]
        print(f"\nSnapshots: {sm['model']} ({sm['snapshots']} training snapshots), shown over {sm['points']:,} "
              "Fashion-MNIST test images", end="")
    print(f"\nModel: {args.model} (trained on {meta.get('dataset')}, {meta.get('epochs')} epochs); window shows "
          f"{env.get('shown', '-')}; {os.cpu_count()} CPUs, load average {load0[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
          f"Python {sys.version.split()[0]}, torch {torch.__version__}, PySide6 {PySide6.__version__}, "
          f"pyqtgraph {pyqtgraph.__version__}, QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}\n")
    print(report(args, env, results))
    print(f"\nCommand: `{cmdline}`")
    sys.stdout.flush()
    sys.stderr.flush()
    if d is not None:
        d.close()
    # Leave without the interpreter's final garbage collection: tearing a pyqtgraph window down at
    # exit has aborted with PySide6 (DESIGN.md; "none_dealloc" with 6.12.0, see RefGuard).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
