"""Posterior spread on the planes: plot posterior samples instead of the means, and draw 1- and
2-sigma ellipses (the maths is explorer/core/spread.py).

- :class:`SpreadJobs` (one per state; the main window makes it) computes each shown session's
  log-variances on the model service's bulk lane (its "spread" channel; explorer.core.spread.logvar_job, one
  batch a turn), one session at a time, with progress and cancel through the activity model
  (explorer.core.activity: the status bar's progress bar and Cancel button); they are cached like the means, so the second time is instant. A deterministic model
  (AE, AAE, PCA, beta = 0) gets one sentence on ``state.error`` and its plane keeps its means.
- :class:`SpreadLayer` (one per LatentView, made by the view) gives the view the points to plot
  (``state.plot_samples``: one posterior sample per image, else the means) and draws the ellipses
  (``state.ellipses``) around the data point nearest the z its pane shows and around the selected
  points (at most ``MAX_ELLIPSES``): one PlotCurveItem per style, NaN-separated, ``connect="finite"``.
  Nearest-image lookups stay on the means.
"""

from __future__ import annotations

import traceback
import weakref
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from explorer.core.activity import Activity, Job
from explorer.core.means_cache import MeansCache
from explorer.core.pane import pane_target, slice_of
from explorer.core.session import Cancelled
from explorer.core.spread import (
    ELLIPSE_SEGMENTS,
    MAX_ELLIPSES,
    Deterministic,
    Ellipse,
    deterministic_reason,
    ellipse_curve,
    ellipse_geometry,
    logvar_job,
    posterior_samples,
)
from training.errors import UserError

LINE = "#111"
HALO = (255, 255, 255, 200)
HALO_MAX = 40  # ellipses drawn with a light halo under the line (the nearest point's first); wide pens are slow
Z = 11  # above the scatter (0), below bookmarks (12), the path (15) and the marker (20)

_jobs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # state -> SpreadJobs
_layers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # state -> WeakSet of SpreadLayer


def jobs_for(state) -> SpreadJobs | None:
    return _jobs.get(state)


class SpreadJobs(QObject):
    """Computes log-variances for the sessions the planes show, off the GUI thread, one at a time."""

    progress = Signal(str, int, int)  # stage, done, total
    computed = Signal(object)  # the Session whose logvars were just set

    def __init__(self, state, service, activity: Activity | None = None, cache: MeansCache | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.channel = service.channel("spread")  # the model service's bulk lane, after the grid and exports
        self.channel.result.connect(self._on_returned)
        self.channel.failed.connect(self._on_error)
        self.cache = cache if cache is not None else MeansCache()
        self._queue: list[Any] = []
        self._running: tuple[Any, object] | None = None  # (session, its job's token)
        self._told: weakref.WeakSet = weakref.WeakSet()  # deterministic sessions already reported
        self._samples: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # session -> (key, samples)
        self.computed_count = 0  # sessions encoded (not from the cache)
        self.closed = False
        _jobs[state] = self
        self.activity = activity  # the status bar's progress and Cancel (explorer.core.activity)
        self.job: Job | None = None  # this job's entry there while one runs
        self.progress.connect(self._show_progress)
        ev = state.events
        ev.plot_samples.connect(self._on_toggle)
        ev.ellipses.connect(self._on_toggle)
        ev.off_manifold.connect(self._on_toggle)  # the off-the-data density of a VAE needs its log-variances
        for sig in (ev.session, ev.compared, ev.snapshot):
            sig.connect(self._on_sessions)

    # ---------------------------------------------------------------- what the layers ask

    @property
    def idle(self) -> bool:
        return self._running is None and not self._queue

    @property
    def on(self) -> bool:
        return self.state.plot_samples or self.state.ellipses or self.state.off_manifold

    def want(self, session) -> None:
        """Compute ``session``'s log-variances (once), or say once that it has none."""
        if self.closed or session is None or session.logvars is not None or not self.on:
            return
        running = self._running is not None and self._running[0] is session
        if running or session in self._queue:
            return
        reason = deterministic_reason(session)
        if reason is not None:
            if self.state.plot_samples or self.state.ellipses:  # off the data needs no spread: a kernel density
                self._tell(session, reason)
            return
        self._queue.append(session)
        self._next()

    def samples(self, session) -> np.ndarray:
        """One posterior sample per image of ``session`` (explorer.core.spread.posterior_samples), cached."""
        key = (id(session.means), id(session.logvars))
        got = self._samples.get(session)
        if got is None or got[0] != key:
            got = (key, posterior_samples(session.means, session.logvars))
            self._samples[session] = got
        return got[1]

    def stop(self) -> None:
        """The Cancel button: stop the job and turn both spread toggles off."""
        self._cancel_all()
        self.state.plot_samples = False
        self.state.ellipses = False
        self.state.off_manifold = False
        self.state.info.emit("stopped computing the posterior spread")

    def shutdown(self) -> None:
        self.closed = True
        self._cancel_all()

    # ---------------------------------------------------------------- state

    def _on_toggle(self, *_a) -> None:
        if not self.on:
            self._cancel_all()
            self._told = weakref.WeakSet()  # the next toggle-on reports a deterministic model again
            return
        for s in self._shown():
            self.want(s)

    def _on_sessions(self, *_a) -> None:
        shown = self._shown()
        self._queue = [s for s in self._queue if any(s is t for t in shown)]
        if self._running is not None and not any(self._running[0] is t for t in shown):
            self._stop_running()  # a model no longer shown: stop encoding it
        if self.on:
            for s in shown:
                self.want(s)

    def _shown(self) -> list:
        from explorer.core.pane import shown_session

        out = [shown_session(self.state, i) for i in range(len(self.state.sessions))]
        for layer in list(_layers.get(self.state, ())):
            out.append(layer.view.session)
        return [s for s in out if s is not None]

    def _tell(self, session, sentence: str) -> None:
        if session not in self._told:
            self._told.add(session)
            # next turn of the event loop: a model just opened clears the error banner after its listeners ran
            QTimer.singleShot(0, self, lambda: None if self.closed else self.state.error.emit(sentence))

    def _cancel_all(self) -> None:
        self._queue.clear()
        self._stop_running()

    def _stop_running(self) -> None:
        """Cancel the job running (it stops at its next batch; its result, if any, is ignored)."""
        if self._running is not None:
            self.channel.cancel()
            self._running = None
            self._show_idle()
            QTimer.singleShot(0, self._next)

    # ---------------------------------------------------------------- the worker

    def _next(self) -> None:
        if self._running is not None or not self._queue or self.closed:
            self._show_idle()
            return
        session = self._queue.pop(0)
        token = object()
        self._running = (session, token)
        name = session.model_path.name
        if session.ready.is_set():
            self.progress.emit(f"spread of {name}", 0, len(session.labels))
        else:  # opened light: the encoder (torch) is still loading; logvar_job waits for it
            self.progress.emit("loading the encoder\u2026", 0, 0)

        job = logvar_job(session, self.cache, threads=2,
                         progress=lambda d, t: self.progress.emit(f"spread of {name}", d, t))
        self.channel.run(job, meta=token)  # the bulk lane, one batch a turn (explorer.core.channel.Channel.run)

    def _current(self, token: object) -> Any:
        """The session of the job ``token`` names if it is the one running (then it is done), else None."""
        if self._running is None or self._running[1] is not token:
            return None  # cancelled, or for a model no longer shown
        session = self._running[0]
        self._running = None
        self._show_idle()
        QTimer.singleShot(0, self._next)
        return session

    def _on_returned(self, res) -> None:
        session = self._current(res.meta)
        if session is None or self.closed:
            return
        values, cached = res.value
        session.logvars = values
        self.computed_count += not cached
        for layer in list(_layers.get(self.state, ())):
            layer.logvars_ready(session)
        self.computed.emit(session)

    def _on_error(self, failure) -> None:
        session = self._current(failure.meta)
        error = failure.error
        if session is None or self.closed or isinstance(error, Cancelled):
            return
        if isinstance(error, Deterministic):
            self._tell(session, str(error))
            return
        if not isinstance(error, UserError):
            traceback.print_exception(error)
        self.state.error.emit(str(error) or type(error).__name__)

    def _show_progress(self, stage: str, done: int, total: int) -> None:
        if self.activity is None or self.closed or self._running is None:
            return
        if self.job is None:
            self.job = self.activity.start(stage, total, cancel=self.stop,
                                           tip="Stop computing the posterior spread (both spread toggles go off)")
        self.activity.update(self.job, done, total, stage)  # total 0: busy (waiting for the encoder)

    def _show_idle(self) -> None:
        if self.activity is not None and self.idle:
            job, self.job = self.job, None
            self.activity.end(job)


class SpreadLayer:
    """A LatentView's posterior spread: its plotted points and its ellipses."""

    def __init__(self, view):
        self.view = view
        self.state = state = view.state
        _layers.setdefault(state, weakref.WeakSet()).add(self)
        self.drawn: list[Ellipse] = []  # what the plane draws now, the nearest point's first
        self.nearest: int | None = None  # the dataset index of the point nearest the shown z
        self.note = ""  # how many selection ellipses are drawn, when capped
        self._sel: tuple | None = None  # (key, selection ellipses, their curves for k = 1, 2)
        self._scale = 1.0  # the pen widths' scale (presentation mode)
        self.items = []
        for width, halo, style in ((2.0, 5.0, Qt.PenStyle.SolidLine), (1.5, 4.0, Qt.PenStyle.DashLine)):
            h = pg.PlotCurveItem(pen=pg.mkPen(HALO, width=halo), connect="finite")
            c = pg.PlotCurveItem(pen=pg.mkPen(LINE, width=width, style=style), connect="finite")
            for it, z in ((h, Z), (c, Z + 0.1)):
                it.setZValue(z)
                it.setVisible(False)
                view.plot_item.addItem(it, ignoreBounds=True)
            self.items.append((h, c, width, halo, style))
        ev = state.events
        ev.plot_samples.connect(self._on_samples)
        for sig in (ev.ellipses, ev.selection, ev.hidden_classes, ev.session, ev.compared, ev.snapshot):
            sig.connect(self.redraw)
        state.style.events.ui_scale.connect(self._later)
        state.slice.events.plane.connect(self.redraw)  # the ellipses are the posteriors' projections
        view.pane.shown.connect(self.redraw)  # around the pane's nearest real image

    def _later(self, *_a) -> None:
        QTimer.singleShot(0, self.redraw)  # presentation mode: after the view's set_scale

    # ---------------------------------------------------------------- points

    def points(self, session) -> np.ndarray:
        """What the view plots for ``session``: posterior samples while ``plot_samples`` is on and the
        log-variances are known (asked for if not), else the means."""
        jobs = jobs_for(self.state)
        if not self.state.plot_samples or jobs is None:
            return session.means
        if session.logvars is None:
            jobs.want(session)
            return session.means
        return jobs.samples(session)

    def _on_samples(self, *_a) -> None:
        session = self.view.session
        if session is not None and self.points(session) is not self.view.source_points:
            self.view.refresh_points(force=True)

    def logvars_ready(self, session) -> None:
        if session is self.view.session:
            self._on_samples()
            self.redraw()

    # ---------------------------------------------------------------- ellipses

    def redraw(self, *_a) -> None:
        """Draw the ellipses of the nearest data point and of the selection (hide them if off)."""
        session = self.view.session
        jobs = jobs_for(self.state)
        if not self.state.ellipses or session is None or jobs is None or session.means is None:
            return self._show([], [])
        if session.logvars is None:
            jobs.want(session)
            return self._show([], [])
        near = self.nearest = self._nearest(session)
        sel, curves, indices = self._selection(session)
        if near is None:
            return self._show(sel, curves)
        plane = slice_of(self.state, self.view.slot)
        mine = ellipse_geometry(session.means, session.logvars, [near], plane)
        others = [e for e in sel if e.index != near] if near in indices else sel
        if near in indices:  # already among the selection's curves
            return self._show(mine + others, curves)
        rings = (ellipse_curve(mine, 1.0), ellipse_curve(mine, 2.0))
        return self._show(mine + others, [(np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]]))
                                          for a, b in zip(rings, curves)])

    def _nearest(self, session) -> int | None:
        """The pane's nearest real image (Shown.nearest_index, on the means), else the point nearest its target."""
        pane = self.view.pane
        last = pane.last
        if last is not None and last.target.slot == self.view.slot and pane.idle and (
                last.target.session is session or (last.target.session is None and session is self.state.session)):
            return last.nearest_index
        tgt = pane.requested if pane.requested is not None and pane.requested.slot == self.view.slot else None
        tgt = tgt or pane_target(self.state, self.view.slot)
        if tgt is None or session.index is None:
            return None
        idx = session.index.nearest(np.asarray(tgt.z, np.float32))
        return int(idx[0]) if len(idx) else None

    def _selection(self, session) -> tuple[list[Ellipse], list, set]:
        """The selection's ellipses, their curves for k = 1, 2 and their indices, cached."""
        st = self.state
        key = (id(session), id(session.logvars), st.selection, st.hidden_classes, slice_of(st, self.view.slot).plane)
        if self._sel is None or self._sel[0] != key:
            n, hidden = len(session.labels), set(st.hidden_classes)
            chosen = [i for i in st.selection if i < n and int(session.labels[i]) not in hidden]
            note = ""
            if len(chosen) > MAX_ELLIPSES:
                note = (f"posterior ellipses: drawn for {MAX_ELLIPSES} of the {len(chosen):,} selected points "
                        f"(the first {MAX_ELLIPSES} in dataset order)")
            if note and note != self.note:
                st.info.emit(note)
            self.note = note
            ells = ellipse_geometry(session.means, session.logvars, chosen[:MAX_ELLIPSES], slice_of(st, self.view.slot))
            self._sel = (key, ells, [ellipse_curve(ells, float(k)) for k in (1, 2)], {e.index for e in ells})
        return self._sel[1], self._sel[2], self._sel[3]

    def _show(self, ells: list[Ellipse], curves: list) -> None:
        """Draw ``ells`` (kept for the API) as the (x, y) ``curves`` for k = 1, 2."""
        self.drawn = ells
        on = bool(ells)
        scale = getattr(self.view, "scale", 1.0)
        restyle, self._scale = scale != self._scale, scale
        for (halo, line, width, halo_w, style), (x, y) in zip(self.items, curves if on else [(None, None)] * 2):
            if on:
                if restyle:
                    halo.setPen(pg.mkPen(HALO, width=halo_w * scale))
                    line.setPen(pg.mkPen(LINE, width=width * scale, style=style))
                m = HALO_MAX * (ELLIPSE_SEGMENTS + 2)  # a wide pen costs: halos for the first ones only
                halo.setData(x[:m], y[:m], connect="finite")
                line.setData(x, y, connect="finite")
            for it in (halo, line):
                if it.isVisible() != on:
                    it.setVisible(on)
