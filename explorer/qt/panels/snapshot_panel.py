"""Watch it learn: the Training panel, for a model file with training snapshots (``latent-train --snapshots N``).

A slider over the snapshots plus the final weights writes ``state.snapshot`` (None: final); the main
plane and pane then show that snapshot's means and decoder (explorer.core.pane.shown_session). Each
snapshot's session (its means, nearest index and decoder) is computed in the background when the model
opens (loaded and checked by explorer.core.snapshots.snapshot_sessions on a superqt worker, its means
encoded on the model service's bulk lane, explorer.core.means_job), with progress and cancel, and
the slider reaches only the snapshots computed so far. The view follows the snapshot shown: each is framed
as it appears (explorer.core.snapshot_framing), the view gliding there (explorer.qt.view_glide), unless *Frame all*
holds one view of every snapshot. Play steps through them like a movie, looping; Export GIF / MP4 renders the plane from the first snapshot to the final weights (numpy, off the GUI
thread) and writes the file with explorer.core.export.
"""

from __future__ import annotations

import threading
import traceback
from functools import partial

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import create_worker

from explorer.core import snapshot_framing as framing
from explorer.core import snapshots as snaps
from explorer.core.activity import Activity, Job
from explorer.core.means_job import means_job
from explorer.core.pane import shown_session
from explorer.core.session import Cancelled
from explorer.core.state import ExplorerState
from explorer.qt.panels.snapshot_export import MOVIE_FPS, MOVIE_SIZE, MovieExport  # noqa: F401
from explorer.qt.view_glide import ViewGlide
from training.errors import UserError

PLAY_FPS = 6  # snapshots per second while playing


class SnapshotPanel(MovieExport, QWidget):
    available = Signal(bool)  # the open model has training snapshots (the window shows or hides this panel's dock)
    computed = Signal(int)  # snapshot k's session is ready (on the GUI thread)
    finished = Signal()  # the background job ended (all computed, failed or cancelled)
    exported = Signal(str)  # a GIF or MP4 file was written
    exportProgress = Signal(str, int, int)  # stage, done, total (emitted on the export worker)

    def __init__(self, state: ExplorerState, service, activity: Activity | None = None):
        super().__init__()
        self.state = state
        self.channel = service.channel("snapshots")  # the means are encoded on the model service's bulk lane
        self.channel.result.connect(self._on_encoded)
        self.channel.failed.connect(self._on_encode_failed)
        self.activity = activity  # the status bar's progress and Cancel (explorer.core.activity)
        self.job: Job | None = None
        self.workers: list = []
        self._cancel: threading.Event | None = None  # the running job's
        self._todo: list = []  # snapshot sessions loaded, waiting for their means
        self._encoding = False  # one of them is on the lane
        self._loading = False  # the worker still loads snapshots
        self.running = False  # computing snapshot sessions
        self.error = ""  # why the last job stopped, if it failed
        self.glide = ViewGlide(state, parent=self)  # the view follows the snapshot shown, smoothly
        self._shown = None  # the session the view was last framed for (explorer.core.pane.shown_session)
        self._asked_view = None  # the view when a snapshot not computed yet was asked for

        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Training snapshots, oldest on the left; the right end is the final model")
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.btn_play = QPushButton("Play")
        self.btn_play.setCheckable(True)
        self.btn_play.setToolTip(f"Step through the snapshots, {PLAY_FPS} a second, looping")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.btn_job = QPushButton("Cancel")
        self.btn_job.setToolTip("Stop computing the snapshots' planes (the ones done stay)")
        self.btn_job.setVisible(False)
        self.btn_frame = QPushButton("Frame all")
        self.btn_frame.setCheckable(True)
        self.btn_frame.setToolTip("On: one view holds every snapshot's points, so the spread's growth shows. "
                                  "Off: the view frames each snapshot as it is shown")
        self.btn_gif = QPushButton("Export GIF\u2026")
        self.btn_mp4 = QPushButton("Export MP4\u2026")
        for b in (self.btn_gif, self.btn_mp4):
            b.setToolTip("The plane from the first snapshot to the final weights, one frame each")

        row = QHBoxLayout()  # two short rows: the dock column is narrow
        row.addWidget(self.btn_play)
        row.addWidget(self.btn_frame)
        row2 = QHBoxLayout()
        row2.addWidget(self.btn_gif)
        row2.addWidget(self.btn_mp4)
        job = QHBoxLayout()
        job.addWidget(self.progress, 1)
        job.addWidget(self.btn_job)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.slider)
        lay.addWidget(self.label)
        lay.addLayout(row)
        lay.addLayout(row2)
        lay.addLayout(job)
        lay.addStretch(1)

        self._timer = QTimer(self, interval=round(1000 / PLAY_FPS))
        self._timer.timeout.connect(self.step)
        self.slider.valueChanged.connect(self._on_slider)
        self.btn_play.toggled.connect(self.play)
        self.btn_job.clicked.connect(self._on_job_button)
        self.btn_frame.toggled.connect(self.frame_all)
        self.btn_gif.clicked.connect(lambda: self._export_dialog("gif"))
        self.btn_mp4.clicked.connect(lambda: self._export_dialog("mp4"))
        self.exportProgress.connect(self._on_export_progress)
        state.events.session.connect(self._on_session)
        state.events.snapshot.connect(self._on_snapshot)
        state.events.hidden_classes.connect(lambda *_a: self._sync_hidden())
        self._on_session(state.session)

    # ---------------------------------------------------------------- what there is

    @property
    def count(self) -> int:
        """Snapshots in the open model's file."""
        s = self.state.session
        return len(s.snapshots) if s is not None else 0

    def ready(self) -> list[int]:
        """The snapshots whose sessions are computed, in order."""
        s = self.state.session
        return sorted(s.snapshot_sessions) if s is not None else []

    @property
    def complete(self) -> bool:
        return self.count > 0 and len(self.ready()) == self.count

    # ---------------------------------------------------------------- the background job

    def _on_session(self, session, _old=None) -> None:
        self.play(False)
        self.cancel()
        self._shown = shown_session(self.state, 0)  # another model: the window frames it, not _follow
        n = self.count
        self.available.emit(n > 0)
        self.slider.blockSignals(True)
        self.slider.setRange(0, n)
        self.slider.setValue(n)
        self.slider.blockSignals(False)
        self.title.setText(f"<b>{n} training snapshots</b> and the final weights" if n else "")
        self._show_label()
        if n:
            self.compute()

    def compute(self) -> bool:
        """Start computing the snapshots not computed yet (False if there is nothing to do)."""
        main = self.state.session
        if main is None or not main.snapshots or self.complete or self.running:
            return False
        cancel = self._cancel = threading.Event()
        skip = set(main.snapshot_sessions)

        def work():  # load and check each snapshot; the lane encodes its means (_encode_next)
            for s in snaps.snapshot_sessions(main, skip=skip, cancel=cancel, threads=1, encode=False):
                yield cancel, main, s

        self.running, self.error = True, ""
        self._todo, self._encoding, self._loading = [], False, True
        if self.activity is not None:
            self.activity.end(self.job)
            self.job = self.activity.start("training snapshots", self.count, cancel=self.cancel,
                                           tip="Stop computing the snapshots' planes (the ones done stay)")
        self._show_progress()
        worker = create_worker(work, _start_thread=False,
                               _connect={"yielded": self._on_loaded, "errored": partial(self._on_job_error, cancel),
                                         "finished": partial(self._on_job_finished, cancel)})
        self.workers = [w for w in self.workers if w.is_running] + [worker]
        worker.start()
        return True

    def cancel(self) -> None:
        """Stop the job (the snapshots done stay); it ends at its next batch."""
        if self._cancel is not None:
            self._cancel.set()
            self.channel.cancel()
        self._cancel = None
        self._todo, self._encoding = [], False
        self._end_activity()
        if self.running:
            self.running = False
            self._show_progress()
            self.finished.emit()

    def _on_loaded(self, item) -> None:
        cancel, main, s = item
        if cancel is self._cancel and main is self.state.session:  # else an old job's
            self._todo.append(item)
            self._encode_next()

    def _encode_next(self) -> None:
        """The next loaded snapshot's means, on the model service's bulk lane (one batch a turn)."""
        if self._encoding or not self._todo:
            return
        cancel, main, s = item = self._todo.pop(0)
        self._encoding = True
        self.channel.run(means_job(s, threads=1), meta=item)

    def _on_encoded(self, res) -> None:
        cancel, main, s = res.meta
        if cancel is not self._cancel:
            return  # cancelled, or an old job's
        self._encoding = False
        if main is self.state.session:
            self._on_computed(s)
        self._encode_next()
        self._maybe_finished()

    def _on_encode_failed(self, failure) -> None:
        cancel = failure.meta[0]
        if cancel is not self._cancel:
            return
        self._on_job_error(cancel, failure.error)
        self.cancel()

    def _on_computed(self, s) -> None:
        main = self.state.session
        main.snapshot_sessions[s.snapshot] = s
        if self.activity is not None:
            self.activity.update(self.job, len(self.ready()), self.count,
                                 f"training snapshots: {len(self.ready())} of {self.count}")
        self._sync_hidden()
        self._show_progress()
        self._show_label()
        self.computed.emit(s.snapshot)
        if self.state.snapshot == s.snapshot:  # asked for before it was ready: the plane and pane show it now
            self.state.events.snapshot.emit(s.snapshot, s.snapshot)

    def _on_job_error(self, cancel: threading.Event, e: Exception) -> None:
        if isinstance(e, Cancelled) or cancel is not self._cancel:
            return  # cancelled, or an old job's
        if not isinstance(e, UserError):
            traceback.print_exception(e)
        self.error = str(e) or type(e).__name__
        self.state.error.emit(f"Training snapshots: {self.error}" if isinstance(e, UserError) else
                              f"Training snapshots could not be computed: {self.error}")

    def _on_job_finished(self, cancel: threading.Event) -> None:
        if cancel is not self._cancel:
            return  # an old job's end (cancel() has reported it)
        self._loading = False
        self._maybe_finished()

    def _end_activity(self) -> None:
        if self.activity is not None:
            job, self.job = self.job, None
            self.activity.end(job)

    def _maybe_finished(self) -> None:
        """Every snapshot loaded and encoded: the job is over."""
        if self._loading or self._encoding or self._todo or not self.running:
            return
        self._end_activity()
        self.running = False
        self._show_progress()
        self._show_label()
        self.finished.emit()

    def _on_job_button(self) -> None:
        if self.running:
            self.cancel()
        else:
            self.compute()

    def _sync_hidden(self) -> None:
        """Nearest-image lookups in the snapshots skip hidden classes, as the main plane's do."""
        s = self.state.session
        if s is None:
            return
        visible = {k for k in range(len(s.label_names)) if k not in self.state.hidden_classes}
        for snap in s.snapshot_sessions.values():
            if snap.index is not None:
                snap.index.set_visible_labels(visible)

    def _show_progress(self) -> None:
        n, done = self.count, len(self.ready())
        self.progress.setVisible(self.running or 0 < done < n)
        self.progress.setRange(0, max(n, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"computing snapshot {min(done + 1, n)} of {n}" if self.running
                                else f"{done} of {n} snapshots computed")
        self.btn_job.setVisible(self.running or 0 < n != done)
        self.btn_job.setText("Cancel" if self.running else "Compute the rest")
        for b in (self.btn_play, self.btn_frame, self.btn_gif, self.btn_mp4):
            b.setEnabled(done > 0)

    # ---------------------------------------------------------------- slider <-> state

    def position(self, k: int | None) -> int:
        return self.count if k is None else k

    def nearest_ready(self, v: int) -> int | None:
        """The computed snapshot nearest slider position ``v`` (the final weights at the right end: None)."""
        if v >= self.count:
            return None
        options = [*self.ready(), self.count]
        best = min(options, key=lambda p: (abs(p - v), p))
        return None if best == self.count else best

    def _on_slider(self, v: int) -> None:
        k = self.nearest_ready(v)
        if self.position(k) != v:  # not computed yet: the slider stays on what can be shown
            self.slider.blockSignals(True)
            self.slider.setValue(self.position(k))
            self.slider.blockSignals(False)
        self.state.snapshot = k

    def _on_snapshot(self, k, _old=None) -> None:
        if self.slider.value() != self.position(k):
            self.slider.blockSignals(True)
            self.slider.setValue(self.position(k))
            self.slider.blockSignals(False)
        self._show_label()
        self._follow()

    def _follow(self) -> None:
        """Frame the snapshot now shown (explorer.core.snapshot_framing.snapshot_view), gliding there; not while Frame all
        holds the view. One asked for before it was computed is framed when it is, unless the view was set
        meanwhile (a scene's, a pan)."""
        shown = shown_session(self.state, 0)
        if shown is self._shown:
            if self.state.snapshot is not None:  # not computed yet: the final weights stay
                self._asked_view = self.state.view
            return
        self._shown, asked, self._asked_view = shown, self._asked_view, None
        if not self.btn_frame.isChecked() and (asked is None or self.state.view == asked):
            self.glide.to(framing.snapshot_view(self.state, shown))

    def _show_label(self) -> None:
        s, k = self.state.session, self.state.snapshot
        if s is None or not s.snapshots:
            self.label.setText("")
            return
        if k is not None and not 0 <= k < len(s.snapshots):  # another model's, until the state resets it
            k = None
        entry = None if k is None else s.snapshots[k]
        text = snaps.describe(entry, len(s.snapshots))
        if entry is None and isinstance(s.metadata.get("metrics", {}).get("epochs"), int):
            text += f" \u00b7 epoch {s.metadata['metrics']['epochs']}"
        metrics = snaps.metrics_words(entry, s.metadata.get("metrics"))
        if metrics:
            text += f"<br>{metrics}"
        if k is not None and k not in s.snapshot_sessions:
            text += "<br><i>computing; the final weights are shown until it is ready</i>"
        self.label.setText(text)

    # ---------------------------------------------------------------- play

    def play(self, on: bool) -> None:
        on = bool(on) and bool(self.ready())
        if self.btn_play.isChecked() != on:
            self.btn_play.blockSignals(True)
            self.btn_play.setChecked(on)
            self.btn_play.blockSignals(False)
        self.btn_play.setText("Pause" if on else "Play")
        self._timer.start() if on else self._timer.stop()

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def step(self) -> None:
        """The next frame of the movie: each computed snapshot in order, the final weights, then the first again."""
        order = [*self.ready(), None]
        k = self.state.snapshot
        self.state.snapshot = order[(order.index(k) + 1) % len(order)] if k in order else order[0]

    def frame_all(self, on: bool = True) -> None:
        """On: the view that holds the bulk of every computed snapshot's points and the final ones, kept while
        scrubbing. Off: the view frames the snapshot shown again."""
        if bool(on) != self.btn_frame.isChecked():
            self.btn_frame.setChecked(bool(on))  # toggled: back here
            return
        self.glide.to(framing.all_snapshots_view(self.state) if on else framing.snapshot_view(self.state, shown_session(self.state)))

    def shutdown(self) -> None:
        self.play(False)
        self.cancel()
