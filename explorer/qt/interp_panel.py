"""Interpolation: points A and B, a t slider (with overshoot), the path on the plane, a filmstrip,
Play (back and forth), PNG / GIF export. All maths in explorer.core.latent; decoding via the worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from explorer.core import export, latent
from explorer.core.decode_service import DecodeResult
from explorer.qt.bridge import JobBridge
from explorer.qt.image_view import ImageView

T_MIN, T_MAX = -0.5, 1.5


class InterpolationPanel(QWidget):
    changed = Signal()  # A, B, t or method changed (scenes listen)
    frameShown = Signal(object)  # DecodeResult for the slider position, shown in the decode pane
    filmstripShown = Signal(object)  # DecodeResult of the filmstrip batch
    exported = Signal(str)

    def __init__(self, window):
        super().__init__()
        self.window = window
        self.a: np.ndarray | None = None
        self.b: np.ndarray | None = None
        self.filmstrip_images: np.ndarray | None = None
        self._jobs: list[JobBridge] = []

        self.btn_a = QPushButton("Set A")
        self.btn_a.setToolTip("A := the current point (A key)")
        self.btn_b = QPushButton("Set B")
        self.btn_b.setToolTip("B := the current point (B key)")
        self.btn_swap = QPushButton("Swap")
        self.snap = QCheckBox("snap to nearest data point")
        self.snap.setToolTip("Use the mean of the nearest dataset image instead of the free point")
        self.label_a = QLabel("A: —")
        self.label_b = QLabel("B: —")
        self.method = QComboBox()
        self.method.addItems(["linear", "spherical"])
        self.slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(T_MIN, T_MAX)
        self.slider.setDecimals(2)
        self.slider.setSingleStep(0.01)
        self.slider.setValue(0.0)
        self.slider.setToolTip("t: 0 = A, 1 = B; beyond is overshoot")
        self.frames = QSpinBox()
        self.frames.setRange(2, 32)
        self.frames.setValue(8)
        self.frames.setPrefix("frames ")
        self.btn_play = QPushButton("Play")
        self.btn_play.setCheckable(True)
        self.btn_png = QPushButton("Export PNG…")
        self.btn_gif = QPushButton("Export GIF…")
        self.strip = ImageView(min_size=48)
        self.strip.setFixedHeight(72)
        self.strip.setToolTip("Evenly spaced frames from A (left) to B (right)")

        grid = QGridLayout()
        grid.addWidget(self.btn_a, 0, 0)
        grid.addWidget(self.label_a, 0, 1)
        grid.addWidget(self.btn_b, 1, 0)
        grid.addWidget(self.label_b, 1, 1)
        row = QHBoxLayout()
        row.addWidget(self.btn_swap)
        row.addWidget(self.method)
        row.addWidget(self.snap)
        row2 = QHBoxLayout()
        row2.addWidget(self.btn_play)
        row2.addWidget(self.frames)
        row2.addWidget(self.btn_png)
        row2.addWidget(self.btn_gif)
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addLayout(row)
        lay.addWidget(QLabel("t"))
        lay.addWidget(self.slider)
        lay.addLayout(row2)
        lay.addWidget(self.strip)
        lay.addStretch(1)

        # path on the plane: solid A->B, dashed overshoot, A/B labels, marker at t
        plot = window.view.plot_item
        self.path_item = pg.PlotCurveItem(pen=pg.mkPen("#222", width=2))
        self.over_item = pg.PlotCurveItem(pen=pg.mkPen("#222", width=1, style=Qt.PenStyle.DashLine))
        self.ends_item = pg.ScatterPlotItem(size=12, pen=pg.mkPen("#222", width=2), brush=pg.mkBrush("#fff"))
        self.t_item = pg.ScatterPlotItem(size=14, symbol="d", pen=pg.mkPen("#000", width=1.5), brush=pg.mkBrush("#FFD400"))
        self.text_a = pg.TextItem("A", color="#000", anchor=(1.2, 1.2))
        self.text_b = pg.TextItem("B", color="#000", anchor=(1.2, 1.2))
        for it in (self.path_item, self.over_item, self.ends_item, self.t_item, self.text_a, self.text_b):
            it.setZValue(15)
            it.setVisible(False)
            plot.addItem(it, ignoreBounds=True)

        self._play_timer = QTimer(self, interval=33)
        self._play_timer.timeout.connect(self._tick)
        self._play_dir = 1.0
        self.btn_a.clicked.connect(lambda: self.set_point("a"))
        self.btn_b.clicked.connect(lambda: self.set_point("b"))
        self.btn_swap.clicked.connect(self.swap)
        self.method.currentIndexChanged.connect(lambda _i: self._refresh(filmstrip=True))
        self.frames.valueChanged.connect(lambda _v: self.request_filmstrip())
        self.slider.valueChanged.connect(lambda _v: self._refresh(filmstrip=False))
        self.btn_play.toggled.connect(self.play)
        self.btn_png.clicked.connect(lambda: self.export_png_dialog())
        self.btn_gif.clicked.connect(lambda: self.export_gif_dialog())
        window.decoder.result.connect(self._on_result)
        window.sessionChanged.connect(lambda _s: self.clear())

    # ---------------------------------------------------------------- state

    @property
    def t(self) -> float:
        return float(self.slider.value())

    def set_t(self, t: float) -> None:
        self.slider.setValue(float(np.clip(t, T_MIN, T_MAX)))

    def current_method(self) -> str:
        return self.method.currentText()

    def set_point(self, which: str, z: np.ndarray | None = None) -> None:
        """Set A or B to ``z`` (default: the current point, snapped to the nearest data mean if asked)."""
        w = self.window
        if z is None:
            if w.current_z is None:
                return
            z = w.current_z
            if self.snap.isChecked() and w.session is not None and w.session.index is not None:
                idx = w.session.index.nearest(z)
                if len(idx):
                    z = w.session.means[int(idx[0])]
        z = np.asarray(z, np.float32).copy()
        if which == "a":
            self.a = z
        else:
            self.b = z
        self._refresh(filmstrip=True)

    def set_endpoints(self, a, b, t: float = 0.0, method: str = "linear") -> None:
        self.a = None if a is None else np.asarray(a, np.float32)
        self.b = None if b is None else np.asarray(b, np.float32)
        self.method.blockSignals(True)
        self.method.setCurrentText(method)
        self.method.blockSignals(False)
        self.slider.blockSignals(True)
        self.set_t(t)
        self.slider.blockSignals(False)
        self._refresh(filmstrip=True)

    def swap(self) -> None:
        self.a, self.b = self.b, self.a
        self._refresh(filmstrip=True)

    def clear(self) -> None:
        self.play(False)
        self.a = self.b = None
        self.filmstrip_images = None
        self.strip.set_image(None)
        self._refresh(filmstrip=False)

    def ready(self) -> bool:
        return self.a is not None and self.b is not None and self.window.session is not None

    def z_at(self, t: float) -> np.ndarray:
        return latent.interpolate(self.a, self.b, t, self.current_method())

    # ---------------------------------------------------------------- drawing + decoding

    def _refresh(self, filmstrip: bool) -> None:
        fmt = lambda p: "—" if p is None else f"({p[0]:+.2f}, {p[1]:+.2f})"  # noqa: E731
        self.label_a.setText(f"A: {fmt(self.a)}")
        self.label_b.setText(f"B: {fmt(self.b)}")
        ok = self.ready()
        for it in (self.path_item, self.over_item, self.ends_item, self.t_item):
            it.setVisible(ok)
        self.text_a.setVisible(self.a is not None)
        self.text_b.setVisible(self.b is not None)
        if self.a is not None:
            self.text_a.setPos(float(self.a[0]), float(self.a[1]))
        if self.b is not None:
            self.text_b.setPos(float(self.b[0]), float(self.b[1]))
        if ok:
            inner = self.z_at(np.linspace(0, 1, 101))
            over = self.z_at(np.linspace(T_MIN, T_MAX, 201))
            self.path_item.setData(inner[:, 0], inner[:, 1])
            self.over_item.setData(over[:, 0], over[:, 1])
            self.ends_item.setData(pos=np.stack([self.a, self.b]))
            z = self.z_at(self.t)
            self.t_item.setData(pos=z[None, :])
            self.window.decoder.request(z, channel="interp", meta=self.t)
            if filmstrip:
                self.request_filmstrip()
        self.changed.emit()

    def request_filmstrip(self) -> int | None:
        if not self.ready():
            return None
        ts = np.linspace(0, 1, self.frames.value())
        return self.window.decoder.request(self.z_at(ts), channel="filmstrip", meta=ts)

    def _on_result(self, res: DecodeResult) -> None:
        if res.channel == "interp":
            self.window.pane.show_decoded(res.z[0], res.images[0], title=f"t = {res.meta:+.2f}")
            self.frameShown.emit(res)
        elif res.channel == "filmstrip":
            self.filmstrip_images = res.images
            self.strip.set_image(export.filmstrip(res.images))
            self.filmstripShown.emit(res)

    # ---------------------------------------------------------------- play

    def play(self, on: bool) -> None:
        if self.btn_play.isChecked() != on:
            self.btn_play.setChecked(on)  # re-enters via toggled
            return
        if on and self.ready():
            self._play_timer.start()
            self.btn_play.setText("Stop")
        else:
            self._play_timer.stop()
            self.btn_play.setText("Play")
            if on:
                self.btn_play.setChecked(False)

    def _tick(self) -> None:
        """Back and forth between A and B, about 2 s each way."""
        t = self.t + self._play_dir * 0.0167
        if t >= 1.0 or t <= 0.0:
            self._play_dir = -self._play_dir
            t = float(np.clip(t, 0.0, 1.0))
        self.set_t(t)

    # ---------------------------------------------------------------- export

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export filmstrip", "filmstrip.png", "PNG (*.png)")
        if path:
            self.export_png(path)

    def export_png(self, path: str) -> bool:
        if self.filmstrip_images is None:
            self.window.show_error("Set A and B first: there is no filmstrip to export.")
            return False
        try:
            export.save_png(path, export.filmstrip(self.filmstrip_images))
        except OSError as e:
            self.window.show_error(f"{path}: could not be written ({e.strerror or e}).")
            return False
        self.window.statusBar().showMessage(f"wrote {path}", 5000)
        self.exported.emit(path)
        return True

    def export_gif_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export animation", "interpolation.gif", "GIF (*.gif)")
        if path:
            self.export_gif(path)

    def export_gif(self, path: str, n_frames: int = 30) -> JobBridge | None:
        """Decode ``n_frames`` from A to B and write a ping-pong GIF, all off the GUI thread."""
        if not self.ready():
            self.window.show_error("Set A and B first: there is nothing to animate.")
            return None
        from explorer.core.decode_service import to_display, torch_decoder

        zs = self.z_at(np.linspace(0, 1, n_frames))
        model = self.window.session.model

        def work(progress, cancel):
            progress("decoding", 0, 2)
            frames = to_display(torch_decoder(model)(zs, None))
            progress("writing GIF", 1, 2)
            export.save_gif(path, frames)
            return path

        job = JobBridge(work, self, threads=1, name="job")
        job.done.connect(lambda p: (self.window.statusBar().showMessage(f"wrote {p}", 5000), self.exported.emit(p)))
        job.error.connect(lambda msg: self.window.show_error(f"{Path(path).name}: {msg}"))
        self._jobs.append(job)
        self.window.register_job(job)
        return job.start()

    def shutdown(self) -> None:
        self._play_timer.stop()
        for j in self._jobs:
            j.cancel_and_join()
