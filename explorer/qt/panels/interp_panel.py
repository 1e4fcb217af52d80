"""Interpolation controls: A and B, the t slider (with overshoot), method, filmstrip, Play, PNG / GIF / MP4 export.

The panel renders ``state.interpolation`` and writes the user's changes back into it; the pane and
the path on the plane follow the state. The filmstrip and the GIF frames are decoded by the model
service (bulk lane); only the GIF or MP4 file is written on a background worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.core import export
from explorer.core.decode_service import DecodeResult
from explorer.core.pane import condition_labels
from explorer.core.state import FRAMES_MAX, FRAMES_MIN, METHODS, T_MAX, T_MIN, ExplorerState
from explorer.qt.bridge import ServiceBridge
from explorer.qt.pane.image_view import ImageView
from explorer.qt.widgets import SnugButton, ValueSlider
from explorer.qt.writing import write_off_thread

GIF_FRAMES = 30
MP4_FRAMES, MP4_FPS = 60, 24.0  # the same 5-second back-and-forth as the GIF, twice as smooth
ANIMATION_FPS = {"gif": 12.0, "mp4": MP4_FPS}
STRIP_PAD = 2  # image pixels between the filmstrip's frames


class InterpolationPanel(QWidget):
    filmstripShown = Signal(object)  # DecodeResult of the filmstrip batch
    exported = Signal(str)  # a PNG, GIF or MP4 file was written
    mp4Progress = Signal(str, int, int)  # path, frames written, total (emitted on the writing worker)

    def __init__(self, state: ExplorerState, service: ServiceBridge):
        super().__init__()
        self.state = state
        self.ip = state.interpolation
        self.service = service
        self.filmstrip_images: np.ndarray | None = None
        self._strip_cols = 0  # frames per row of the filmstrip on screen
        self._filmstrip_key: tuple | None = None
        self._export_pending: tuple[str, str] | None = None  # (path, "gif" or "mp4") being decoded
        self.workers: list = []

        self.btn_a = SnugButton("Set A")
        self.btn_a.setToolTip("A := the point the pane shows (A key)")
        self.btn_b = SnugButton("Set B")
        self.btn_b.setToolTip("B := the point the pane shows (B key)")
        self.btn_swap = SnugButton("Swap")
        self.btn_swap.setToolTip("Swap A and B")
        self.snap = QCheckBox("snap to nearest data point")
        self.snap.setToolTip("Use the mean of the nearest dataset image instead of the free point")
        self.label_a = QLabel("A: \u2014")
        self.label_b = QLabel("B: \u2014")
        self.method = QComboBox()
        self.method.addItems(list(METHODS))
        self.slider = ValueSlider(T_MIN, T_MAX, 0.01, value=self.ip.t)
        self.slider.setToolTip("t: 0 = A, 1 = B; beyond is overshoot (arrow keys nudge it by 0.01)")
        self.frames = QSpinBox()
        self.frames.setRange(FRAMES_MIN, FRAMES_MAX)
        self.frames.setValue(self.ip.frames)
        self.frames.setPrefix("frames ")
        self.btn_play = SnugButton("Play")
        self.btn_play.setCheckable(True)
        self.btn_png = SnugButton("PNG\u2026")
        self.btn_png.setToolTip("Export the filmstrip as a PNG image")
        self.btn_gif = SnugButton("GIF\u2026")
        self.btn_gif.setToolTip("Export an animated GIF of the interpolation, back and forth")
        self.btn_mp4 = SnugButton("MP4\u2026")
        self.btn_mp4.setToolTip("An H.264 video of the interpolation, back and forth, for slides")
        self.strip = ImageView(min_size=48)
        self.strip.setFixedHeight(56)
        self.strip.setToolTip("Evenly spaced frames from A (left) to B (right)")

        # five short rows: the dock column is ~360 px wide at 1280x720, and on a CVAE the class dial above
        # leaves it little height, so Play and the exports stay on screen without scrolling
        ends = QHBoxLayout()
        for w in (self.btn_a, self.btn_b, self.btn_swap):
            ends.addWidget(w)
        ends.addWidget(self.method, 1)
        labels = QHBoxLayout()
        labels.addWidget(self.label_a, 1)
        labels.addWidget(self.label_b, 1)
        play = QHBoxLayout()
        play.addWidget(self.btn_play)
        play.addWidget(QLabel("t"))
        play.addWidget(self.slider, 1)
        snap = QHBoxLayout()
        snap.addWidget(self.snap)
        snap.addStretch(1)
        snap.addWidget(self.frames)
        self.export_row = QHBoxLayout()
        self.export_row.addWidget(QLabel("Export"))
        self.export_row.addStretch(1)
        self.export_row.addWidget(self.btn_png)
        self.export_row.addWidget(self.btn_gif)
        self.export_row.addWidget(self.btn_mp4)
        lay = QVBoxLayout(self)
        for row in (ends, labels, snap, play, self.export_row):
            lay.addLayout(row)
        lay.addWidget(self.strip)
        lay.addStretch(1)

        self._play_timer = QTimer(self, interval=33)
        self._play_timer.timeout.connect(self._tick)
        self._play_dir = 1.0
        # user -> state
        self.btn_a.clicked.connect(lambda: state.set_endpoint("a"))
        self.btn_b.clicked.connect(lambda: state.set_endpoint("b"))
        self.btn_swap.clicked.connect(self.swap)
        self.snap.toggled.connect(lambda on: setattr(state, "snap", on))
        self.method.currentTextChanged.connect(lambda m: setattr(self.ip, "method", m))
        self.frames.valueChanged.connect(lambda v: setattr(self.ip, "frames", v))
        self.slider.valueChanged.connect(lambda v: setattr(self.ip, "t", v))
        self.btn_play.toggled.connect(lambda on: setattr(self.ip, "playing", on and self.ip.ready))
        self.btn_png.clicked.connect(lambda: self.export_png_dialog())
        self.btn_gif.clicked.connect(lambda: self.export_gif_dialog())
        self.btn_mp4.clicked.connect(lambda: self.export_mp4_dialog())
        self.mp4Progress.connect(self._mp4_progress)
        # state -> widgets
        ev = self.ip.events
        ev.a.connect(self._on_ends)
        ev.b.connect(self._on_ends)
        ev.method.connect(self._on_method)
        ev.t.connect(self._on_t)
        ev.frames.connect(self._on_frames)
        ev.playing.connect(self._on_playing)
        state.events.snap.connect(self._on_snap)
        state.events.session.connect(self._on_session)
        state.events.condition.connect(lambda *_a: self.request_filmstrip())  # a CVAE's class: decode again
        self.filmstrip_channel = service.channel("filmstrip")
        self.filmstrip_channel.result.connect(self._on_filmstrip)
        self.export_channel = service.channel("export")
        self.export_channel.result.connect(self._on_frames_decoded)

    # ---------------------------------------------------------------- state -> widgets

    def _set(self, widget, setter, value) -> None:
        widget.blockSignals(True)
        try:
            setter(value)
        finally:
            widget.blockSignals(False)

    def _on_ends(self, *_a) -> None:
        fmt = lambda p: "\u2014" if p is None else f"({p[0]:+.2f}, {p[1]:+.2f})"  # noqa: E731
        self.label_a.setText(f"A: {fmt(self.ip.a)}")
        self.label_b.setText(f"B: {fmt(self.ip.b)}")
        self.request_filmstrip()
        if not self.ip.ready:
            self.ip.playing = False

    def _on_method(self, m: str, _old=None) -> None:
        self._set(self.method, self.method.setCurrentText, m)
        self.request_filmstrip()

    def _on_t(self, t: float, _old=None) -> None:
        if abs(self.slider.value() - t) > 1e-9:
            self._set(self.slider, self.slider.setValue, t)

    def _on_frames(self, n: int, _old=None) -> None:
        self._set(self.frames, self.frames.setValue, n)
        self.request_filmstrip()

    def _on_snap(self, on: bool, _old=None) -> None:
        self._set(self.snap, self.snap.setChecked, on)

    def _on_playing(self, on: bool, _old=None) -> None:
        self._set(self.btn_play, self.btn_play.setChecked, on)
        self.btn_play.setText("Stop" if on else "Play")
        if on:
            self._play_timer.start()
        else:
            self._play_timer.stop()

    def _on_session(self, *_a) -> None:
        self.filmstrip_images = None
        self._filmstrip_key = None
        self.strip.set_image(None)
        self._on_ends()

    # ---------------------------------------------------------------- actions

    def swap(self) -> None:
        a, b = self.ip.a, self.ip.b
        self.ip.a, self.ip.b = b, a

    def play(self, on: bool) -> None:
        self.ip.playing = bool(on) and self.ip.ready

    def _tick(self) -> None:
        """Back and forth between A and B, about 2 s each way."""
        t = self.ip.t + self._play_dir * 0.0167
        if t >= 1.0 or t <= 0.0:
            self._play_dir = -self._play_dir
            t = float(np.clip(t, 0.0, 1.0))
        self.ip.t = t

    def request_filmstrip(self) -> int | None:
        if not self.ip.ready or self.state.session is None:
            return None
        labels = condition_labels(self.state, self.ip.frames)  # a conditional model: the chosen class
        key = (self.ip.a, self.ip.b, self.ip.method, self.ip.frames, None if labels is None else labels[0])
        if key == self._filmstrip_key:
            return None
        self._filmstrip_key = key
        ts = self.ip.frame_ts()
        return self.filmstrip_channel.request(self.ip.z_at(ts), meta=key, labels=labels)

    def _on_filmstrip(self, res: DecodeResult) -> None:
        if res.meta == self._filmstrip_key:
            self.filmstrip_images = res.images
            self._strip_cols = 0  # new frames: lay them out again
            self._fit_strip()
            self.filmstripShown.emit(res)

    def _on_frames_decoded(self, res: DecodeResult) -> None:
        if res.meta == self._export_pending:
            self._write_animation(*res.meta, res.images)

    def _fit_strip(self) -> None:
        """The filmstrip as large as the panel allows: at one integer pixel scale (crisp frames, no squeeze),
        in the rows of frames that give the largest one across the panel's width and in the height left
        under the controls (several rows when the panel is tall: 56-pixel frames rather than 28 at 1280x720)."""
        imgs = self.filmstrip_images
        if imgs is None:
            return
        n, h, w = imgs.shape[:3]
        pad = STRIP_PAD
        width = max(w, self.width() - 24)
        room = max(h, self.height() - self.strip.geometry().top() - 12)  # the panel's height under the controls
        best = (0, 0)  # (scale, -rows)
        for cols in range(n, 0, -1):
            rows = -(-n // cols)
            k = min(width // (cols * w + (cols - 1) * pad), room // (rows * h + (rows - 1) * pad))
            best = max(best, (max(k, 1) if cols == n else k, -rows))
        k, rows = best[0], -best[1]
        cols = -(-n // rows)
        if self.strip.image is None or self._strip_cols != cols:
            self._strip_cols = cols
            self.strip.set_image(export.filmstrip(imgs, pad=pad, columns=cols))
        self.strip.setFixedHeight((rows * h + (rows - 1) * pad) * k)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fit_strip()

    # ---------------------------------------------------------------- export

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export filmstrip", "filmstrip.png", "PNG (*.png)")
        if path:
            self.export_png(path)

    def export_png(self, path: str) -> bool:
        if self.filmstrip_images is None:
            self.state.error.emit("Set A and B first: there is no filmstrip to export.")
            return False
        try:
            export.save_png(path, export.filmstrip(self.filmstrip_images))
        except OSError as e:
            self.state.error.emit(f"{path}: could not be written ({e.strerror or e}).")
            return False
        self.state.info.emit(f"wrote {path}")
        self.exported.emit(path)
        return True

    def export_gif_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export animation", "interpolation.gif", "GIF (*.gif)")
        if path:
            self.export_gif(path)

    def export_gif(self, path: str, n_frames: int = GIF_FRAMES) -> int | None:
        """A ping-pong GIF from A to B (see _export_animation)."""
        return self._export_animation(path, "gif", n_frames)

    def export_mp4_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export video", "interpolation.mp4", "MP4 video (*.mp4)")
        if path:
            self.export_mp4(path)

    def export_mp4(self, path: str, n_frames: int = MP4_FRAMES) -> int | None:
        """A ping-pong H.264 MP4 from A to B (see _export_animation)."""
        return self._export_animation(path, "mp4", n_frames)

    def _export_animation(self, path: str, kind: str, n_frames: int) -> int | None:
        """Frames from A to B, decoded by the model service (export priority); the file is written off the
        GUI thread when they arrive (_write_animation)."""
        if not self.ip.ready or self.state.session is None:
            self.state.error.emit("Set A and B first: there is nothing to animate.")
            return None
        self._export_pending = (str(path), kind)
        return self.export_channel.request(self.ip.z_at(np.linspace(0, 1, n_frames)), meta=self._export_pending,
                                           labels=condition_labels(self.state, n_frames))

    def _write_animation(self, path: str, kind: str, frames: np.ndarray) -> None:
        self._export_pending = None
        write = export.writer_for(kind, path).write
        progress = lambda done, total: self.mp4Progress.emit(path, done, total)  # noqa: E731
        worker = write_off_thread(path, lambda: write(path, frames, fps=ANIMATION_FPS.get(kind, 12.0), progress=progress),
                                  written=self._written, failed=self.state.error.emit)
        self.workers = [w for w in self.workers if w.is_running] + [worker]

    def _written(self, path: str) -> None:
        self.state.info.emit(f"wrote {path}")
        self.exported.emit(path)

    def _mp4_progress(self, path: str, done: int, total: int) -> None:
        self.state.info.emit(f"writing {Path(path).name}: frame {done} of {total}")

    def shutdown(self) -> None:
        self._play_timer.stop()
