"""The main window: wiring between the latent view, the decode pane, the workers and the files.

No maths and no torch here: positions go to the decode worker (explorer.core.decode_service)
through a Qt bridge; models are opened by a background job (explorer.core.session).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from explorer.core import latent
from explorer.core.decode_service import DecodeFailure, DecodeResult
from explorer.core.session import Session, default_model_path, open_session
from explorer.qt.bridge import DecodeBridge, JobBridge
from explorer.qt.decode_pane import DecodePane
from explorer.qt.info_panel import InfoPanel
from explorer.qt.latent_view import LatentView


class MainWindow(QMainWindow):
    sessionChanged = Signal(object)  # Session
    decodeShown = Signal(object)  # DecodeResult shown in the decode pane
    underlayShown = Signal(object)  # DecodeResult of a manifold grid
    errorShown = Signal(str)

    def __init__(self, model_path: str | Path | None = None, dataset: str | None = None, split: str | None = None,
                 data_dir: str | None = None, open_default: bool = True):
        super().__init__()
        self.setWindowTitle("Latent Explorer")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.session: Session | None = None
        self._open_job: JobBridge | None = None
        self._jobs: list[JobBridge] = []
        self.decoder = DecodeBridge(self, threads=1, name="decode-worker")
        self.grid_decoder = DecodeBridge(self, threads=2, name="grid-worker")
        self.decoder.result.connect(self._on_decoded)
        self.decoder.failed.connect(self._on_decode_failed)
        self.grid_decoder.result.connect(self._on_grid)
        self.grid_decoder.failed.connect(self._on_decode_failed)
        self.last_error = ""
        self._closed = False
        self.current_z: np.ndarray | None = None

        self.view = LatentView()
        self.pane = DecodePane()
        self.info = InfoPanel()
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("background:#fde2e1; color:#8a1c1c; padding:6px; border-radius:4px;")
        self.error_label.setVisible(False)
        self.error_label.mousePressEvent = lambda ev: self.error_label.setVisible(False)  # click to dismiss

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.pane, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([620, 330])
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(4, 4, 4, 4)
        cl.addWidget(self.error_label)
        cl.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.info_dock = self.add_dock("Model", self.info, Qt.DockWidgetArea.RightDockWidgetArea)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)
        self.status_label = QLabel("no model yet")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

        self._grid_timer = QTimer(self, singleShot=True, interval=120)
        self._grid_timer.timeout.connect(self.request_underlay)
        self.view.clicked.connect(lambda x, y: self.decode_at(x, y, move_marker=True))
        self.view.markerMoved.connect(lambda x, y: self.decode_at(x, y, move_marker=False))
        self.view.hovered.connect(self._on_hover)
        self.view.viewChanged.connect(self._on_view_changed)
        self.view.classVisibilityChanged.connect(self._on_classes_changed)
        self._build_actions()
        self._install_panels()
        if model_path is not None or open_default:
            # after the first paint: the open job imports torch, which would slow building the window
            QTimer.singleShot(0, lambda: self.open_model(model_path or default_model_path(), dataset=dataset,
                                                         split=split, data_dir=data_dir))

    # ---------------------------------------------------------------- layout helpers

    def add_dock(self, title: str, widget: QWidget, area=Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut=None, checkable=False, checked=False, tip="") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setCheckable(checkable)
        if checkable:
            a.setChecked(checked)
            a.toggled.connect(slot)
        else:
            a.triggered.connect(slot)
        a.setToolTip(tip or text)
        self.addAction(a)  # shortcuts work even when the menu bar is hidden (presentation mode)
        return a

    def _build_actions(self) -> None:
        m = self.menuBar()
        f = m.addMenu("&File")
        self.act_open = self._action("&Open model…", self.choose_model, QKeySequence.StandardKey.Open)
        self.act_open_data = self._action("Open &dataset…", self.choose_dataset)
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.act_quit.setShortcut(QKeySequence("Ctrl+Q"))
        for a in (self.act_open, self.act_open_data):
            f.addAction(a)
        self.file_menu = f
        f.addSeparator()
        f.addAction(self.act_quit)
        v = m.addMenu("&View")
        self.act_hover = self._action("&Hover preview", self.set_hover, "H", checkable=True,
                                      tip="Decode while the mouse moves over the plane")
        self.act_underlay = self._action("&Manifold underlay", self.set_underlay, "M", checkable=True,
                                         tip="Tile decoded images under the scatter")
        self.act_reset = self._action("&Reset view", self.reset_view, "R")
        for a in (self.act_hover, self.act_underlay, self.act_reset):
            v.addAction(a)
        self.view_menu = v
        h = m.addMenu("&Help")
        self.act_help = self._action("&Keys and help", lambda: self.show_help(), "F1")
        h.addAction(self.act_help)
        tb = QToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.addAction(self.act_open)
        tb.addSeparator()
        tb.addAction(self.act_hover)
        tb.addAction(self.act_underlay)
        self.density = QSpinBox()
        self.density.setRange(4, 60)
        self.density.setValue(20)
        self.density.setPrefix("grid ")
        self.density.setSuffix(" cells")
        self.density.setToolTip("Manifold underlay density: cells across the longer side of the view")
        self.density.valueChanged.connect(lambda _v: self._on_view_changed())
        tb.addWidget(self.density)
        tb.addAction(self.act_reset)
        self.toolbar = tb
        self.addToolBar(tb)

    def _install_panels(self) -> None:
        """The feature panels (issue 4): each is a QWidget that wires itself to this window."""
        from explorer.qt.bookmarks_panel import BookmarksPanel
        from explorer.qt.interp_panel import InterpolationPanel
        from explorer.qt.presentation import HelpOverlay, Presentation

        self.interp = InterpolationPanel(self)
        self.interp_dock = self.add_dock("Interpolation", self.interp)
        self.tabifyDockWidget(self.info_dock, self.interp_dock)
        self.bookmarks = BookmarksPanel(self)
        self.bookmarks_dock = self.add_dock("Bookmarks", self.bookmarks)
        self.tabifyDockWidget(self.info_dock, self.bookmarks_dock)
        self.act_set_a = self._action("Set interpolation A to the current point", lambda: self.interp.set_point("a"), "A")
        self.act_set_b = self._action("Set interpolation B to the current point", lambda: self.interp.set_point("b"), "B")
        self.act_play = self._action("Play / stop the interpolation", lambda: self.interp.play(not self.interp.btn_play.isChecked()), "Space")
        self.act_bookmark = self._action("Bookmark the current point", lambda: self.bookmarks.add(), "Ctrl+D")
        self.act_next = self._action("Next bookmark", lambda: self.bookmarks.step(+1), "Right")
        self.act_prev = self._action("Previous bookmark", lambda: self.bookmarks.step(-1), "Left")
        self.presentation = Presentation(self)
        self.help_overlay = HelpOverlay(self)
        self.act_present = self._action("Presentation mode", lambda: self.set_presentation(not self.presentation.on), "F11")
        self.act_escape = self._action("Leave presentation mode / close help", self._escape, "Esc")
        self.act_save_scene = self._action("&Save scene…", self.choose_save_scene, "Ctrl+S")
        self.act_open_scene = self._action("Open &scene…", self.choose_open_scene, "Ctrl+Shift+O")
        self.file_menu.insertAction(self.act_quit, self.act_open_scene)
        self.file_menu.insertAction(self.act_quit, self.act_save_scene)
        self.file_menu.insertSeparator(self.act_quit)
        for a in (self.act_bookmark, self.act_next, self.act_prev, self.act_present):
            self.view_menu.addAction(a)
        from explorer.qt.draw_panel import DrawPanel
        from explorer.qt.vector_panel import VectorPanel

        self.vectors = VectorPanel(self)
        self.vectors_dock = self.add_dock("Vectors", self.vectors)
        self.tabifyDockWidget(self.info_dock, self.vectors_dock)
        self.draw = DrawPanel(self)
        self.draw_dock = self.add_dock("Draw", self.draw)
        self.tabifyDockWidget(self.info_dock, self.draw_dock)
        self.info_dock.raise_()
        self.resizeDocks([self.info_dock], [330], Qt.Orientation.Horizontal)  # most of the width for the plane
        self.panels: list[QWidget] = [self.interp, self.bookmarks]
        self.panels += [self.vectors, self.draw]
        self.pending_scene: str | None = None
        self.sessionChanged.connect(self._apply_pending_scene)

    def set_presentation(self, on: bool) -> None:
        self.presentation.set(on)

    def _escape(self) -> None:
        if self.help_overlay.isVisible():
            self.help_overlay.setVisible(False)
        elif self.presentation.on:
            self.set_presentation(False)

    # ---------------------------------------------------------------- scenes

    def choose_save_scene(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save scene", "scene.json", "Scenes (*.json)")
        if path:
            self.save_scene(path)

    def save_scene(self, path: str) -> bool:
        from explorer.core.scene import SceneError, save_scene
        from explorer.qt import scene_io

        try:
            save_scene(scene_io.capture(self, path), path)
        except SceneError as e:
            self.show_error(str(e))
            return False
        except OSError as e:
            self.show_error(f"{path}: could not be written ({e.strerror or e}).")
            return False
        self.statusBar().showMessage(f"saved scene {path}", 5000)
        return True

    def choose_open_scene(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scene", "", "Scenes (*.json);;All files (*)")
        if path:
            self.open_scene(path)

    def open_scene(self, path: str) -> bool:
        """Apply a scene to the open model; a scene for another model or a malformed file changes nothing."""
        from explorer.core.scene import SceneError, load_scene
        from explorer.qt import scene_io

        try:
            scene_io.apply(self, load_scene(path), str(path))
        except SceneError as e:
            self.show_error(str(e))
            return False
        self.statusBar().showMessage(f"opened scene {path}", 5000)
        return True

    def _apply_pending_scene(self, _session) -> None:
        if self.pending_scene:
            path, self.pending_scene = self.pending_scene, None
            self.open_scene(path)

    def register_job(self, job: JobBridge) -> None:
        """Background jobs started by panels; cancelled and joined on quit."""
        for done in [j for j in self._jobs if j.finished]:
            self._jobs.remove(done)  # finished long ago: let Qt free it once its last signal is delivered
            done.deleteLater()
        self._jobs.append(job)

    # ---------------------------------------------------------------- files

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", "Latent Explorer models (*.safetensors);;All files (*)")
        if path:
            self.open_model(path)

    def choose_dataset(self) -> None:
        if self.session is None:
            self.show_error("Open a model first; a dataset is shown through a model.")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open dataset", "", "Datasets (*.npz);;All files (*)")
        if path:
            self.open_model(self.session.model_path, dataset=f"npz:{path}")

    def open_model(self, path: str | Path, dataset: str | None = None, split: str | None = None,
                   data_dir: str | None = None) -> None:
        """Open in the background; on failure the current model stays loaded and the reason is shown."""
        if self._closed:
            return
        if self._open_job is not None and self._open_job.running:
            self._open_job.cancel_and_join()
        path = Path(path)

        def work(progress, cancel):
            s = open_session(path, dataset, split, data_dir, progress=progress, cancel=cancel)
            from explorer.core.decode_service import torch_decoder

            return s, torch_decoder(s.model)

        job = JobBridge(work, self, threads=2, name="open-session")
        job.progress.connect(self._on_progress)
        job.done.connect(self._on_session)
        job.error.connect(self._on_open_failed)
        self._open_job = job
        self.register_job(job)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status_label.setText(f"opening {path.name} …")
        job.start()

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{stage} %p%")

    def _on_open_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.show_error(message)
        self.status_label.setText("could not open the file; " + ("the current model is still loaded" if self.session else "no model loaded"))

    def _on_session(self, result: tuple[Session, Any]) -> None:
        session, decode_fn = result
        self.progress.setVisible(False)
        self.session = session
        self.decoder.set_decoder(decode_fn)
        self.grid_decoder.set_decoder(decode_fn)
        self.t_interactive = time.perf_counter()
        self.view.set_points(session.means, session.labels, session.label_names)
        self.info.set_rows(session.info())
        self.setWindowTitle(f"Latent Explorer — {session.model_path.name} — {session.dataset_name}")
        self.status_label.setText(f"{len(session.labels):,} points; click the plane to decode")
        self.error_label.setVisible(False)
        centre = np.median(session.means, axis=0)
        self.decode_at(float(centre[0]), float(centre[1]), move_marker=True)
        if self.act_underlay.isChecked():
            self.request_underlay()
        self.sessionChanged.emit(session)

    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        for url in ev.mimeData().urls():
            self.open_path(url.toLocalFile())
            break

    def open_path(self, path: str) -> None:
        """A dropped or given file: a model (.safetensors) or a dataset (.npz or a folder of images)."""
        p = Path(path)
        if p.suffix == ".safetensors":
            self.open_model(p)
        elif self.session is None:
            self.show_error(f"{p}: open a model first; a dataset is shown through a model.")
        elif p.suffix == ".npz":
            self.open_model(self.session.model_path, dataset=f"npz:{p}")
        elif p.is_dir():
            self.open_model(self.session.model_path, dataset=f"folder:{p}")
        else:
            self.show_error(f"{p}: not a model (.safetensors) or a dataset (.npz or a folder of class folders).")

    # ---------------------------------------------------------------- decoding

    def decode_at(self, x: float, y: float, move_marker: bool = True, channel: str = "point") -> int | None:
        if self.session is None:
            return None
        z = np.array([x, y], np.float32)
        self.current_z = z
        req = self.decoder.request(z, channel=channel)  # first: the worker starts while the GUI updates
        if move_marker:
            self.view.set_marker(x, y)
        self._update_nearest(z)
        return req

    def _update_nearest(self, z: np.ndarray) -> None:
        s = self.session
        idx = s.index.nearest(z) if s and s.index is not None else np.zeros(0, np.int64)
        if len(idx) == 0:
            self.pane.show_nearest(None, "", 0.0)
            self.status_label.setText(f"z = ({z[0]:+.3f}, {z[1]:+.3f})")
            return
        i = int(idx[0])
        d = float(np.linalg.norm(s.means[i] - z))
        label = s.label_name(i)
        self.pane.show_nearest(s.display_image(i), label, d)
        self.status_label.setText(f"z = ({z[0]:+.3f}, {z[1]:+.3f})    nearest: {label} (#{i}, distance {d:.3f})")

    def _on_hover(self, x: float, y: float) -> None:
        if self.act_hover.isChecked():
            self.decode_at(x, y, move_marker=True)

    def _on_decoded(self, res: DecodeResult) -> None:
        if res.channel != "point":
            self.on_channel_result(res)
            return
        self.pane.show_decoded(res.z[0], res.images[0])
        self.decodeShown.emit(res)

    def on_channel_result(self, res: DecodeResult) -> None:
        """Results of other panels' channels (interpolation, vectors); panels override via signals."""
        self.decodeShown.emit(res)

    def _on_decode_failed(self, f: DecodeFailure) -> None:
        self.show_error(f"Decoding failed: {f.message}")

    # ---------------------------------------------------------------- underlay

    def set_hover(self, on: bool) -> None:
        self.act_hover.setChecked(on)

    def set_underlay(self, on: bool) -> None:
        if self.act_underlay.isChecked() != on:
            self.act_underlay.setChecked(on)  # toggled -> set_underlay(on) again, which does the work once
            return
        if on:
            self.request_underlay()
        else:
            self.grid_decoder.service.cancel("grid")
            self.view.set_underlay(None)

    def _on_view_changed(self) -> None:
        if self.act_underlay.isChecked():
            self._grid_timer.start()  # re-render shortly after pan / zoom stops changing

    def request_underlay(self) -> int | None:
        if self.session is None or not self.act_underlay.isChecked():
            return None
        x0, x1, y0, y1 = self.view.view_rect()
        grid = latent.grid_for_view(x0, x1, y0, y1, self.density.value())
        return self.grid_decoder.request(grid.centres(), channel="grid", meta=grid)

    def _on_grid(self, res: DecodeResult) -> None:
        if not self.act_underlay.isChecked():
            return
        g: latent.Grid = res.meta
        self.view.set_underlay(latent.tile(res.images, g), (g.x0, g.y0, g.x1 - g.x0, g.y1 - g.y0))
        self.underlayShown.emit(res)

    def _on_classes_changed(self) -> None:
        if self.session is not None and self.session.index is not None:
            self.session.index.set_visible_labels(self.view.visible_classes())

    def reset_view(self) -> None:
        if self.session is not None:
            self.view.reset_view(self.session.means)

    # ---------------------------------------------------------------- messages

    def show_error(self, message: str) -> None:
        """Non-modal: the window stays usable; click the banner to dismiss it."""
        self.last_error = message
        self.error_label.setText(message)
        self.error_label.setVisible(True)
        self.statusBar().showMessage(message, 8000)
        self.errorShown.emit(message)

    def show_help(self) -> None:
        """F1: the shortcut overlay (also readable on a projector)."""
        self.help_overlay.toggle()

    # ---------------------------------------------------------------- quit

    def closeEvent(self, ev) -> None:
        self.shutdown()
        super().closeEvent(ev)

    def shutdown(self) -> None:
        """Cancel, stop, join every thread (no 'QThread destroyed while running')."""
        self._closed = True
        self._grid_timer.stop()
        for panel in getattr(self, "panels", []):
            if hasattr(panel, "shutdown"):
                panel.shutdown()
        for job in self._jobs:
            job.cancel_and_join()
        self._jobs.clear()
        self.decoder.close()
        self.grid_decoder.close()
