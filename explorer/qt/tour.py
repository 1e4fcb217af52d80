"""The bookmark tour on screen and to a file (the path is explorer/core/tour.py).

- :class:`TourPlayer` plays ``state.tour`` while ``state.tour.playing``: one frame of the tour's path per
  tick of a ``FPS`` timer moves the point (the pane decodes it: latest-only, so a slow machine drops
  frames, never falls behind). :meth:`TourPlayer.glide_to` is the clicker keys' step: one leg from the
  point shown to a bookmark, then its hold. While a bookmark holds, its name is shown large on the plane
  (:class:`TourTitle`). Esc (the window's) stops.
- :class:`TourExport` writes the tour as an MP4 or GIF: every frame of the path decoded on the model
  service's export channel, then written by the format's writer (explorer.core.export) on a worker
  thread, with progress and Cancel in the status bar (explorer.core.activity).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel

from explorer.core import export
from explorer.core.activity import Activity
from explorer.core.encoding import Cancelled
from explorer.core.pane import condition_labels
from explorer.core.tour import FPS, TourError, leg_path, tour_path
from explorer.qt.writing import write_off_thread

TITLE_SCALE = 2.2  # the bookmark's name on the plane: this many times the window's font
EXPORT_SCALE = 10  # a tour's frames are upscaled this many times (28 px -> 280 px)


class TourTitle(QLabel):
    """The held bookmark's name, large, at the top of the plane (a child of the plane widget: no layout)."""

    def __init__(self, plane, state):
        super().__init__("", plane)
        self.state = state
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("background: rgba(255, 255, 255, 215); color: #111; border-radius: 6px; padding: 4px 14px;")
        self.setVisible(False)

    def show_name(self, name: str) -> None:
        if not name:
            self.setVisible(False)
            return
        font = self.parentWidget().font()
        font.setPointSizeF(font.pointSizeF() * TITLE_SCALE)
        font.setBold(True)
        self.setFont(font)
        self.setText(name)
        self.adjustSize()
        plane = self.parentWidget()
        self.setMaximumWidth(plane.width() - 20)
        self.move(max(10, (plane.width() - self.width()) // 2), 12)
        self.setVisible(True)
        self.raise_()


class TourPlayer(QObject):
    """Plays the tour (``state.tour.playing``) and the clicker keys' glides."""

    title = Signal(str)  # the bookmark held ("" while gliding or stopped)

    def __init__(self, state, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.frames: np.ndarray | None = None  # (F, D) the path being played
        self.at: list[int] = []  # per frame: the bookmark held, or -1
        self.frame = 0
        self.looping = False  # a tour loops; a glide stops at its end
        self.timer = QTimer(self, interval=round(1000 / FPS))
        self.timer.timeout.connect(self._tick)
        state.tour.events.playing.connect(self._on_playing)
        for sig in (state.events.session, state.events.snapshot):
            sig.connect(self.stop)

    @property
    def running(self) -> bool:
        return self.timer.isActive()

    def play(self) -> bool:
        """Start the tour from its first bookmark; one sentence on ``state.error`` if it cannot."""
        try:
            self.frames, self.at = self.state.tour.path(self.state.bookmarks)
        except TourError as e:
            self.state.error.emit(str(e))
            self.state.tour.playing = False
            return False
        self.frame, self.looping = 0, True
        self._tick()
        self.timer.start()
        return True

    def glide_to(self, i: int) -> bool:
        """Glide from the z shown to bookmark ``i`` (a leg of the tour's speed and path), then hold there."""
        marks = self.state.bookmarks
        if not len(marks) or self.state.session is None:
            return False
        from explorer.core.pane import pane_target

        tgt = pane_target(self.state)
        mark = marks[i % len(marks)]
        end = np.asarray(mark.z, np.float32)
        if tgt is None or len(tgt.z) != len(end):
            return False
        tour = self.state.tour
        if tour.playing:
            tour.playing = False
        legs = leg_path(np.asarray(tgt.z, np.float32), end, max(1, round(tour.seconds_per_leg * FPS)), tour.method)
        hold = max(1, round(tour.hold_seconds * FPS))
        self.frames = np.concatenate([legs, np.repeat(end[None], hold, axis=0)])
        self.at = [-1] * len(legs) + [i % len(marks)] * hold
        self.frame, self.looping = 0, False
        self._tick()
        self.timer.start()
        return True

    def stop(self, *_a) -> None:
        self.timer.stop()
        self.frames = None
        self.title.emit("")
        if self.state.tour.playing:
            self.state.tour.playing = False

    def _on_playing(self, on: bool, _old=None) -> None:
        if on and not (self.looping and self.running):
            self.play()
        elif not on and self.looping:
            self.stop()

    def _tick(self) -> None:
        if self.frames is None or not len(self.state.bookmarks):
            self.stop()
            return
        if self.frame >= len(self.frames):
            if not self.looping:
                self.timer.stop()
                self.frames = None
                self.title.emit("")
                return
            self.frame = 0
        z, held = self.frames[self.frame], self.at[self.frame]
        prev = self.at[self.frame - 1] if self.frame > 0 else -2
        self.frame += 1
        name = self.state.bookmarks[held].name if 0 <= held < len(self.state.bookmarks) else ""
        st = self.state
        xy = st.slice.contain(z) if st.ndim > 2 else tuple(float(v) for v in z)
        prefix = "tour: " if self.looping else ""  # a clicker's glide ends as a plain bookmark
        st.set_point(xy, source=f"{prefix}bookmark \u201c{name}\u201d" if name else "tour")
        if held != prev:
            self.title.emit(name)


class TourExport(QObject):
    """Writes the tour's decoded frames as an MP4 or GIF, off the GUI thread, with progress and Cancel."""

    written = Signal(str)  # the path, once complete
    failed = Signal(str)  # one sentence
    _progress = Signal(int, int)

    def __init__(self, state, service, activity: Activity, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.activity = activity
        self.channel = service.channel("export", slot=1)  # the bulk lane, beside the interpolation's exports
        self.channel.result.connect(self._decoded)
        self.channel.failed.connect(lambda f: self._fail(f"the tour could not be decoded ({f.message})"))
        self.job = None
        self.worker = None
        self._pending: tuple | None = None  # (path, kind, fps) waiting for its frames
        self._cancelled = False
        self._progress.connect(lambda d, t: self.activity.update(self.job, d, t))

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, path: str | Path, fps: float = FPS, seconds_per_leg: float | None = None,
              hold_seconds: float | None = None, method: str | None = None, scale: int = EXPORT_SCALE) -> bool:
        """Decode and write the tour to ``path`` (.mp4 or .gif; each image upscaled ``scale`` times); False
        (and one sentence on ``state.error``) if it cannot start."""
        path = Path(path)
        tour, st = self.state.tour, self.state
        try:
            if self.busy:
                raise TourError("a tour export is already running.")
            kind = path.suffix.lower().lstrip(".")
            if kind not in ("mp4", "gif"):
                raise TourError(f"{path.name}: a tour is written as .mp4 or .gif.")
            if not path.parent.is_dir():
                raise TourError(f"{path}: no such folder ({path.parent}).")
            if st.session is None:
                raise TourError("open a model first.")
            stops = tour.stops(len(st.bookmarks))
            pts = [np.asarray(st.bookmarks[i].z, np.float32) for i in stops]
            zs = tour_path(np.asarray(pts) if pts else np.zeros((0, 2)), fps,
                           tour.seconds_per_leg if seconds_per_leg is None else seconds_per_leg,
                           tour.hold_seconds if hold_seconds is None else hold_seconds,
                           tour.method if method is None else method)
        except TourError as e:
            self._fail(str(e), started=False)
            return False
        self._cancelled = False
        self._pending = (str(path), kind, float(fps), int(scale))
        self.job = self.activity.start(f"tour: decoding {len(zs)} frames", len(zs), cancel=self.cancel,
                                       tip="Stop exporting the tour (nothing is written)")
        self.channel.request(zs, meta=self._pending, labels=condition_labels(st, len(zs)))
        return True

    def cancel(self) -> None:
        self._cancelled = True
        if self._pending is not None:
            self._pending = None
            self.channel.cancel()
            self._end()
            self.state.info.emit("stopped exporting the tour")

    def _decoded(self, res) -> None:
        if res.meta != self._pending or self._pending is None:
            return
        path, kind, fps, scale = self._pending
        self._pending = None
        self.activity.update(self.job, 0, len(res.images), name=f"tour: writing {Path(path).name}")
        write = export.writer_for(kind, path).write

        def progress(done: int, total: int) -> None:
            if self._cancelled:
                raise Cancelled()
            with contextlib.suppress(RuntimeError):  # the window closed meanwhile
                self._progress.emit(done, total)

        self.worker = write_off_thread(
            path, lambda: write(path, res.images, fps=fps, scale=scale, ping_pong=False, progress=progress),
            written=self._done, failed=self._errored, cancelled=self._stopped)

    def _done(self, path: str) -> None:
        self._end()
        self.state.info.emit(f"wrote {path}")
        self.written.emit(path)

    def _stopped(self) -> None:
        self._end()
        self.state.info.emit("stopped exporting the tour")

    def _errored(self, sentence: str) -> None:
        if self._cancelled:  # the file failed while being stopped: a stop
            self._stopped()
        else:
            self._fail(sentence)

    def _fail(self, sentence: str, started: bool = True) -> None:
        if started:
            self._pending = None
            self._end()
        self.state.error.emit(sentence)
        self.failed.emit(sentence)

    def _end(self) -> None:
        if self.job is not None:
            self.activity.end(self.job)
            self.job = None

    def shutdown(self) -> None:
        self.cancel()
        if self.worker is not None and self.worker.is_running:
            self._cancelled = True
            self.worker.quit()
