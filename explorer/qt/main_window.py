"""The main window: it builds the state, the model service and the views, and wires them together.

No maths and no torch here. The window owns one :class:`~explorer.core.state.ExplorerState`.
Widgets take that state (and the service) and never this window. The pane controller turns the
state into decode requests. Models are opened by a background worker (explorer.core.session) and
handed to the model service.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import WorkerBase

from explorer.core import latent
from explorer.core.decode_service import DecodeFailure, DecodeResult
from explorer.core.pane import PaneController, Shown
from explorer.core.scene import SceneError, apply_scene, load_scene, save_scene
from explorer.core.session import Session, default_model_path
from explorer.core.state import ExplorerState
from explorer.qt import menus
from explorer.qt.bridge import ServiceBridge
from explorer.qt.compare.compare import CompareRow, Planes, SelectTool
from explorer.qt.compare.comparison import Comparison
from explorer.qt.empty_state import EmptyState
from explorer.qt.opener import ModelOpener
from explorer.qt.pane.class_row import ClassDial, with_class_dial
from explorer.qt.pane.decode_pane import DecodePane
from explorer.qt.panels.bookmarks_panel import BookmarksPanel
from explorer.qt.panels.draw_panel import DrawPanel
from explorer.qt.panels.info_panel import InfoPanel
from explorer.qt.panels.interp_panel import InterpolationPanel
from explorer.qt.panels.snapshot_panel import SnapshotPanel
from explorer.qt.panels.vector_panel import VectorPanel
from explorer.qt.plane.latent_view import LatentView
from explorer.qt.plane.legend import ClassLegend
from explorer.qt.plane.spread import SpreadJobs
from explorer.qt.plane.underlay import Underlay
from explorer.qt.presentation import HelpOverlay, Presentation, PresentationStrip
from explorer.qt.settings import Settings
from explorer.qt.widgets import Caption

CLOSE_WAIT_MS = 3000  # how long closing waits for background writes


class MainWindow(QMainWindow):
    sessionChanged = Signal(object)  # Session
    decodeShown = Signal(object)  # Shown: the pane now displays it
    upgraded = Signal(object)  # Session: its torch model now serves the model service (it opened light, with numpy)
    underlayShown = Signal(object)  # DecodeResult of a manifold grid
    errorShown = Signal(str)

    def __init__(self, model_path: str | Path | None = None, dataset: str | None = None, split: str | None = None,
                 data_dir: str | None = None, open_default: bool = True, state: ExplorerState | None = None,
                 compare: list[str | Path] | None = None, remember: bool = True):
        super().__init__()
        self.setWindowTitle("Latent Explorer")
        self._fit_to_screen()
        self.setAcceptDrops(True)
        self.state = state or ExplorerState()
        self._closed = False
        self.last_error = ""
        self.pending_scene: str | None = None
        self.t_interactive: float | None = None

        self.service = ServiceBridge(self)
        self.pane_ctl = PaneController(self.state, self._submit_pane, settle=self._settle_pane)
        self.service.result.connect(self._on_result)
        self.service.failed.connect(self._on_decode_failed)
        self.pane_ctl.shown.connect(self._on_shown)
        self.opener = ModelOpener(self)
        self.opener.progress.connect(self._on_progress)
        self.opener.opened.connect(self._on_opened)
        self.opener.upgraded.connect(self._on_upgraded)
        self.opener.upgrade_failed.connect(self._on_upgrade_failed)
        self.opener.failed.connect(self._on_open_failed)

        self.view = LatentView(self.state, self.pane_ctl)
        self.planes = Planes(self.state, self.view, self._submit_pane)  # the main plane and the compared ones
        self.compare = Comparison(self)
        self.underlay = Underlay(self.state, self.service, self.view, self)
        self.underlay.shown.connect(self.underlayShown.emit)
        self.pane = DecodePane(self.state, self.pane_ctl)
        self.class_dial = ClassDial(self.state, self.pane_ctl, self.service)  # CVAE: every class at the pane's z
        self.info = InfoPanel()
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("background:#fde2e1; color:#8a1c1c; padding:6px; border-radius:4px;")
        self.error_label.setVisible(False)
        self.error_label.mousePressEvent = lambda ev: self.error_label.setVisible(False)  # click to dismiss

        self.legend = ClassLegend(self.state)
        self.strip = PresentationStrip(self.state)
        self.strip.setVisible(False)
        plane = QWidget()
        pl = QHBoxLayout(plane)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(2)
        pl.addWidget(self.planes, 1)
        pl.addWidget(self.legend)  # beside the data, never on it
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(4, 4, 4, 4)
        cl.addWidget(self.error_label)
        cl.addWidget(plane, 1)
        cl.addWidget(self.strip)
        self.setCentralWidget(central)
        self.empty_state = EmptyState(plane, self.state)  # "No model — open one ..." instead of a fake plane
        self.opener.failed.connect(self.empty_state.failed)

        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)
        # a QLabel whose text changes every frame without laying out the status bar (widgets.Caption)
        self.status_label = Caption("no model yet", wrap=False, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.statusBar().addWidget(self.status_label, 1)
        self.btn_cancel = QPushButton("Cancel")
        self.btn_cancel.setToolTip("Stop opening (or downloading) this model's data; the current model stays")
        self.btn_cancel.setVisible(False)
        self.btn_cancel.clicked.connect(self.cancel_open)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.btn_cancel)
        self.spread = SpreadJobs(self.state, self.statusBar(), parent=self)  # posterior log-variances, off the GUI thread

        self.interp = InterpolationPanel(self.state, self.service)
        self.bookmarks = BookmarksPanel(self.state)
        self.vectors = VectorPanel(self.state, self.view)
        self.draw = DrawPanel(self.state, self.service)
        self.training = SnapshotPanel(self.state)  # Watch it learn: shown for a model with training snapshots
        # right column: the decode pane on top, the panels tabbed below it (the presenter's first)
        pane_box = QWidget()
        self.compare_row = CompareRow(self.state, self.planes, self.pane)  # every model's decode, while comparing
        pb = QVBoxLayout(pane_box)
        pb.setContentsMargins(0, 0, 0, 0)
        pb.addWidget(with_class_dial(self.pane, self.class_dial), 1)
        pb.addWidget(self.compare_row, 1)
        self.pane_dock = self._add_dock("Decoded", pane_box, closable=False)
        self.panel_docks: list[QDockWidget] = []
        for title, panel in (("Interpolation", self.interp), ("Vectors", self.vectors), ("Bookmarks", self.bookmarks),
                             ("Draw", self.draw), ("Model", self.info), ("Training", self.training)):
            dock = self._add_dock(title, panel)
            if self.panel_docks:
                self.tabifyDockWidget(self.panel_docks[0], dock)
            else:
                self.splitDockWidget(self.pane_dock, dock, Qt.Orientation.Vertical)
            self.panel_docks.append(dock)
            setattr(self, f"{'info' if title == 'Model' else title.lower()}_dock", dock)
        self.panels: list[QWidget] = [self.interp, self.bookmarks, self.vectors, self.draw, self.training]
        self.training_dock.setVisible(False)  # until a model with training snapshots opens
        self.training.available.connect(self._show_training)
        self.interpolation_dock.raise_()  # after the hide: hiding a tabbed dock moves the current tab
        self._laid_out = False
        self.select_tool = SelectTool(self.state, self.planes, self)
        self.presentation = Presentation(self)
        self.help_overlay = HelpOverlay(self)
        self._build_actions()

        ev = self.state.events
        ev.hover.connect(lambda on, _o=None: menus.sync_action(self.act_hover, on))
        ev.underlay.connect(lambda on, _o=None: menus.sync_action(self.act_underlay, on))
        ev.density.connect(self._on_density)
        ev.dim.connect(lambda on, _o=None: menus.sync_action(self.act_dim, on))
        ev.link_views.connect(lambda on, _o=None: menus.sync_action(self.act_link, on))
        ev.plot_samples.connect(lambda on, _o=None: menus.sync_action(self.act_samples, on))
        ev.ellipses.connect(lambda on, _o=None: menus.sync_action(self.act_ellipses, on))
        ev.palette.connect(lambda p, _o=None: menus.sync_action(self.act_palette, p != "tab10"))
        ev.point_size.connect(lambda v, _o=None: menus.sync_spin(self.point_size, round(v)))
        ev.opacity.connect(lambda v, _o=None: menus.sync_spin(self.opacity, round(v * 100)))
        ev.presentation.connect(lambda on, _o=None: self.presentation.set(on))
        ev.condition.connect(lambda c, _o=None: setattr(self.service.service, "condition", c))  # CVAE class
        self.state.error.connect(self.show_error)
        self.state.info.connect(lambda msg: self.statusBar().showMessage(msg, 5000))
        # write the settings file (layout on close, recent files); False: read it, keep changes in memory
        self.remember = remember
        self.settings = Settings(write=remember)
        self.settings.restore_window(self)
        self._fill_recent()
        if model_path is not None or open_default:
            self.empty_state.opening(model_path or default_model_path())  # not "No model" until the open fails
            # after the first paint: the open worker imports torch, which would slow building the window
            QTimer.singleShot(0, lambda: self.open_model(model_path or default_model_path(), dataset=dataset,
                                                         split=split, data_dir=data_dir))
        if compare:
            self.compare.add(list(compare), replace=True)  # opened once the main model is

    # ---------------------------------------------------------------- compatibility names

    @property
    def session(self) -> Session | None:
        return self.state.session

    # ---------------------------------------------------------------- layout helpers

    def _add_dock(self, title: str, widget: QWidget, closable: bool = True) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        if closable:  # a panel scrolls rather than forcing the window taller than the screen or --size
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(widget)
            widget = scroll
        dock.setWidget(widget)
        f = QDockWidget.DockWidgetFeature
        dock.setFeatures(f.DockWidgetMovable | f.DockWidgetFloatable | (f.DockWidgetClosable if closable else f(0)))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    PLANE_SHARE = 0.72  # of the window width, for the plane and its class list, in the desktop layout

    def _fit_to_screen(self) -> None:
        """Open sized to the screen it is on (85 % of the available area), not a fixed 1280x800."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 800)
            return
        r = screen.availableGeometry()
        self.resize(max(800, int(r.width() * 0.85)), max(600, int(r.height() * 0.85)))

    def share_screen(self, plane: float) -> None:
        """Give the plane ``plane`` of the window width and the right dock column the rest."""
        self.resizeDocks([self.pane_dock], [max(200, int(self.width() * (1.0 - plane)))], Qt.Orientation.Horizontal)
        self.resizeDocks([self.pane_dock, self.panel_docks[0]], [int(self.height() * 0.45), int(self.height() * 0.55)],
                         Qt.Orientation.Vertical)

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if not self._laid_out:  # dock sizes only take once the window has its real size
            self._laid_out = True
            self.share_screen(self.presentation.PLANE_SHARE if self.state.presentation else self.PLANE_SHARE)

    def keyPressEvent(self, ev) -> None:
        """Bookmark stepping: Right / PageDown, Left / PageUp (a clicker's keys).

        Handled here, after the focused widget: a focused slider keeps its arrow keys, and only keys it
        does not take reach the window. (A QAction shortcut would steal them.)"""
        step = {Qt.Key.Key_Right: 1, Qt.Key.Key_PageDown: 1, Qt.Key.Key_Left: -1, Qt.Key.Key_PageUp: -1}.get(ev.key())
        if step is not None and not ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.bookmarks.step(step)
            ev.accept()
            return
        super().keyPressEvent(ev)

    def _show_training(self, on: bool) -> None:
        if on == self.training_dock.isVisible():
            return
        current = self.interpolation_dock if not on and not self.training_dock.visibleRegion().isEmpty() else None
        self.training_dock.setVisible(on)
        if current is not None:
            current.raise_()

    def _build_actions(self) -> None:
        menus.build(self)

    def _escape(self) -> None:
        if self.help_overlay.isVisible():
            self.help_overlay.setVisible(False)
        elif self.state.presentation:
            self.state.presentation = False

    # ---------------------------------------------------------------- thin wrappers (menus, CLI, older scripts)

    def set_presentation(self, on: bool) -> None:
        self.state.presentation = on

    def set_hover(self, on: bool) -> None:
        self.state.hover = on

    def set_underlay(self, on: bool) -> None:
        self.state.underlay = on

    def show_help(self) -> None:
        self.help_overlay.toggle()

    # ---------------------------------------------------------------- scenes (pure core code does the work)

    def choose_save_scene(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save scene", "scene.json", "Scenes (*.json)")
        if path:
            self.save_scene(path)

    def save_scene(self, path: str) -> bool:
        try:
            save_scene(self.state, path)
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
        """Apply a scene to the open model; a scene for another model or a malformed file changes nothing.

        A scene that compares models opens them first (in the background), then applies itself."""
        try:
            scene = load_scene(path)
            if self.compare.open_for_scene(scene, path, lambda: self.open_scene(path)):
                return True  # applied once its compared models are open
            notes = apply_scene(scene, self.state, str(path))
        except SceneError as e:
            self.show_error(str(e))
            return False
        self.statusBar().showMessage(" ".join(notes) or f"opened scene {path}", 8000)
        self.settings.add_recent(path, "scenes")
        self._fill_recent()
        return True

    # ---------------------------------------------------------------- files

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", "Latent Explorer models (*.safetensors);;All files (*)")
        if path:
            self.open_model(path)

    def choose_dataset(self) -> None:
        if self.state.session is None:
            self.show_error("Open a model first; a dataset is shown through a model.")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open dataset", "", "Datasets (*.npz);;All files (*)")
        if path:
            self.open_model(self.state.session.model_path, dataset=f"npz:{path}")

    def open_model(self, path: str | Path, dataset: str | None = None, split: str | None = None,
                   data_dir: str | None = None) -> None:
        """Open in the background; on failure the current model stays loaded and the reason is shown."""
        if self._closed:
            return
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.btn_cancel.setVisible(True)
        self.status_label.setText(f"opening {Path(path).name} \u2026")
        self.empty_state.opening(path)
        self.opener.open(path, dataset, split, data_dir)

    def cancel_open(self) -> None:
        """Stop the open (and any dataset download) in progress; the current model stays loaded."""
        self.opener.cancel()
        self.progress.setVisible(False)
        self.btn_cancel.setVisible(False)
        self.status_label.setText("opening cancelled; " + ("the current model is still loaded" if self.state.session
                                                          else "no model loaded"))

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        if self._closed:
            return
        self.progress.setVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{stage} %p%")

    def _on_open_failed(self, message: str) -> None:
        if self._closed:
            return
        self.progress.setVisible(False)
        self.btn_cancel.setVisible(False)
        self.show_error(message)
        self.status_label.setText("could not open the file; " + ("the current model is still loaded" if self.state.session
                                                                else "no model loaded"))

    def _on_opened(self, session: Session, decode_fn: Any, encode_fn: Any) -> None:
        if self._closed:
            return
        self.progress.setVisible(False)
        self.btn_cancel.setVisible(False)
        # first: the pane refresh decodes with it. Opened light (encode_fn None): the numpy decoder until
        # the torch model is loaded (_on_upgraded); encodes wait for it in the model service
        if encode_fn is not None:
            self.service.set_model(session.model, decode_fn, encode_fn)
        else:
            self.service.set_model(session.light, decode_fn, None, encoder_pending=True)
        self.t_interactive = time.perf_counter()
        self.state.view = None  # frame the new plane (a scene applied next may set it)
        self.state.reset_for_session(session)
        self.info.set_rows(session.info())
        self.setWindowTitle(f"Latent Explorer \u2014 {session.model_path.name} \u2014 {session.dataset_name}")
        self.status_label.setText(f"{len(session.labels):,} points; click the plane to decode")
        self.error_label.setVisible(False)
        if self.state.point is None:  # a crisp, typical first image: the densest spot of the largest class
            self.state.set_point(latent.typical_point(session.means, session.labels), source="start")
        self.underlay.request()
        self.settings.add_recent(session.model_path)
        self._fill_recent()
        self.sessionChanged.emit(session)
        self.compare.main_opened()
        if self.pending_scene:
            path, self.pending_scene = self.pending_scene, None
            self.open_scene(path)
            if self.presentation.from_command_line:
                self.state.presentation = True

    def _on_upgraded(self, session: Session, decode_fn: Any, encode_fn: Any) -> None:
        """A session opened light: its torch model takes over from the numpy decoder (no visible change)."""
        if self._closed or session is not self.state.session:
            return
        self.service.upgrade(session.model, decode_fn, encode_fn)
        self.upgraded.emit(session)

    def _on_upgrade_failed(self, session: Session, message: str) -> None:
        if self._closed or session is not self.state.session:
            return
        self.service.encoder_failed(message)  # decodes go on with numpy; encodes say why they cannot run
        self.show_error(message)

    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        paths = [u.toLocalFile() for u in ev.mimeData().urls()]
        mods = ev.modifiers()
        add = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
                           | Qt.KeyboardModifier.AltModifier))
        models = [p for p in paths if Path(p).suffix == ".safetensors"]
        if add and models and self.state.session is not None:  # with a modifier: beside the open model
            self.compare.add(models)
        elif paths:
            self.open_path(paths[0])

    def open_path(self, path: str) -> None:
        """A dropped or given file: a model (.safetensors) or a dataset (.npz or a folder of images)."""
        p = Path(path)
        s = self.state.session
        if p.suffix == ".safetensors":
            self.open_model(p)
        elif s is None:
            self.show_error(f"{p}: open a model first; a dataset is shown through a model.")
        elif p.suffix == ".npz":
            self.open_model(s.model_path, dataset=f"npz:{p}")
        elif p.is_dir():
            self.open_model(s.model_path, dataset=f"folder:{p}")
        else:
            self.show_error(f"{p}: not a model (.safetensors) or a dataset (.npz or a folder of class folders).")

    # ---------------------------------------------------------------- results

    def _submit_pane(self, zs, tgt) -> int:
        """One pane's request: that pane's channel, its model (compared, snapshot) and its class."""
        other = tgt.session if tgt.session is not self.state.session else None  # None: the service's own model
        return self.service.request(zs, tgt.channel, meta=tgt, labels=tgt.labels(len(zs)), model=other)

    def _settle_pane(self, request_id: int, tgt) -> None:
        """A click: let an idle worker finish the main pane's decode first (PaneTarget.head_start)."""
        self.service.settle(request_id, tgt.channel, tgt.head_start)

    def _on_result(self, res: DecodeResult) -> None:
        self.compare.accept(res)  # "pane" and "pane:i": each pane's controller

    def _on_shown(self, shown: Shown) -> None:
        self.status_label.setText(shown.status)
        self.opener.shown()  # a model opened light loads its torch model from now on
        self.decodeShown.emit(shown)

    def _on_decode_failed(self, f: DecodeFailure) -> None:
        """A request that raised on a worker: one sentence; the request is dropped and the worker goes on."""
        self.state.error.emit(f"Decoding failed: {f.message}")

    # ---------------------------------------------------------------- underlay

    def _on_density(self, v: int, _old=None) -> None:
        menus.sync_spin(self.density, v)

    def request_underlay(self) -> int | None:
        return self.underlay.request()

    # ---------------------------------------------------------------- messages

    def show_error(self, message: str) -> None:
        """Non-modal: the window stays usable; click the banner to dismiss it."""
        self.last_error = message
        self.error_label.setText(message)
        self.error_label.setVisible(True)
        self.statusBar().showMessage(message, 8000)
        self.errorShown.emit(message)

    # ---------------------------------------------------------------- quit

    def _fill_recent(self) -> None:
        """File > Recent models / Recent scenes: the last ones opened (that still exist)."""
        for menu, kind, open_ in ((self.recent_menu, "models", self.open_model),
                                  (self.recent_scenes_menu, "scenes", self.open_scene)):
            menu.clear()
            for path in self.settings.recent(kind):
                menu.addAction(Path(path).name, lambda p=path, f=open_: f(p)).setToolTip(path)
            menu.setEnabled(not menu.isEmpty())

    def closeEvent(self, ev) -> None:
        if not self._closed and self.remember:
            self.settings.save_window(self)
        self.shutdown()
        super().closeEvent(ev)

    def shutdown(self) -> None:
        """Cancel, stop, join every thread (no 'QThread destroyed while running')."""
        if self._closed:
            return
        self._closed = True
        self.state.interpolation.playing = False
        self.opener.shutdown()
        self.compare.shutdown()
        self.select_tool.shutdown()
        self.spread.shutdown()
        self.underlay.closed = True
        for panel in self.panels:
            if hasattr(panel, "shutdown"):
                panel.shutdown()
        self.service.close()
        # the open worker stops at its next batch; a file write (GIF, MP4) gets a moment to finish. A write
        # that hangs (a stalled network drive) must not freeze the window: its temp file is left to the
        # next save's orphan cleanup, and the thread ends with the process.
        try:
            WorkerBase.await_workers(msecs=CLOSE_WAIT_MS)
        except RuntimeError:
            print("latent-explorer: warning: a file was still being written when the window closed; it was "
                  "not finished.", file=sys.stderr)
