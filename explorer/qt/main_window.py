"""The main window: it builds the state, the model service and the views, and wires them together.

No maths and no torch here. The window owns one :class:`~explorer.core.state.ExplorerState`.
Widgets take that state (and the service) and never this window. The pane controller turns the
state into decode requests. Models are opened by a background worker (explorer.core.session) and
handed to the model service.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QMainWindow,
    QMenu,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import WorkerBase

from explorer.core.activity import Activity, Job
from explorer.core.decode_service import DecodeFailure
from explorer.core.pane import Shown
from explorer.core.panes import Panes
from explorer.core.session import Session, default_model_path
from explorer.core.state import ExplorerState
from explorer.qt.actions import ActionSet, HelpOverlay
from explorer.qt.activity_bar import ActivityBar
from explorer.qt.bridge import ServiceBridge
from explorer.qt.compare.compare import CompareRow, Planes, SelectTool
from explorer.qt.compare.comparison import Comparison
from explorer.qt.dock_column import DockColumn
from explorer.qt.empty_state import EmptyState
from explorer.qt.live_training import LiveTraining
from explorer.qt.opener import ModelOpener
from explorer.qt.pane.class_row import ClassDial, with_class_dial
from explorer.qt.pane.decode_pane import DecodePane
from explorer.qt.panels.bookmarks_panel import BookmarksPanel
from explorer.qt.panels.dims_panel import DimsPanel
from explorer.qt.panels.draw_panel import DrawPanel
from explorer.qt.panels.info_panel import InfoPanel
from explorer.qt.panels.interp_panel import InterpolationPanel
from explorer.qt.panels.snapshot_panel import SnapshotPanel
from explorer.qt.panels.vector_panel import VectorPanel
from explorer.qt.plane.latent_view import LatentView
from explorer.qt.plane.legend import ClassLegend
from explorer.qt.plane.manifold_layer import ManifoldJobs
from explorer.qt.plane.spread import SpreadJobs
from explorer.qt.plane.underlay import Underlay
from explorer.qt.presentation import PresentationLayout, PresentationStrip
from explorer.qt.settings import Settings
from explorer.qt.tour import TourTitle
from explorer.qt.widgets import Caption
from explorer.qt.window_files import WindowFiles
from explorer.qt.window_messages import WindowMessages

CLOSE_WAIT_MS = 3000  # how long closing waits for background writes
ERROR_STYLE = "background:#fde2e1; color:#8a1c1c; padding:6px; border-radius:4px;"
NOTE_STYLE = "background:#fff4d6; color:#6b4a00; padding:6px; border-radius:4px;"


class MainWindow(WindowFiles, WindowMessages, PresentationLayout, DockColumn, QMainWindow):
    sessionChanged = Signal(object)  # Session
    decodeShown = Signal(object)  # Shown: the pane now displays it
    upgraded = Signal(object)  # Session: its torch model now serves the model service (it opened light, with numpy)
    underlayShown = Signal(object)  # DecodeResult of a manifold grid
    errorShown = Signal(str)

    def __init__(self, model_path: str | Path | None = None, dataset: str | None = None, split: str | None = None,
                 data_dir: str | None = None, open_default: bool = True, state: ExplorerState | None = None,
                 compare: list[str | Path] | None = None, own: tuple | None = None, remember: bool = True):
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
        self.activity = Activity()  # the long jobs running (explorer.core.activity); the status bar renders it
        self._open_job: Job | None = None
        self.panes = Panes(self.state, lambda slot: self.service.channel("pane", slot))  # every pane, Qt-free
        self.pane_ctl = self.panes[0]
        self.service.failed.connect(self._on_decode_failed)
        self.pane_ctl.shown.connect(self._on_shown)
        self.opener = ModelOpener(self)
        self.opener.progress.connect(self._on_progress)
        self.opener.opened.connect(self._on_opened)
        self.opener.upgraded.connect(self._on_upgraded)
        self.opener.upgrade_failed.connect(self._on_upgrade_failed)
        self.opener.failed.connect(self._on_open_failed)

        self.view = LatentView(self.state, self.pane_ctl)
        self.planes = Planes(self.state, self.view, self.panes)  # the main plane and the compared ones
        self.settings = Settings(write=remember)
        self.compare = Comparison(self.state, self.service, self.activity, self.settings, parent=self)
        self.underlay = Underlay(self.state, self.service, self.view, self)
        self.underlay.shown.connect(self.underlayShown.emit)
        self.pane = DecodePane(self.state, self.pane_ctl)
        self.class_dial = ClassDial(self.state, self.pane_ctl, self.service)  # CVAE: every class at the pane's z
        self.info = InfoPanel()
        self.error_label = self._banner(ERROR_STYLE)
        self.note_label = self._banner(NOTE_STYLE)  # a warning about the open model (show_note)

        self.legend = ClassLegend(self.state)
        self.strip = PresentationStrip(self.state)
        self.strip.setVisible(False)
        plane = QWidget()
        pl = QHBoxLayout(plane)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(2)
        pl.addWidget(self.planes, 1)
        pl.addWidget(self.legend)  # beside the data, never on it (in presentation mode: under the decoded image)
        self.plane_row = pl
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(4, 4, 4, 4)
        cl.addWidget(self.error_label)
        cl.addWidget(self.note_label)
        cl.addWidget(plane, 1)
        cl.addWidget(self.strip)
        self.setCentralWidget(central)
        self.empty_state = EmptyState(plane, self.state)  # "No model — open one ..." instead of a fake plane
        self.opener.failed.connect(self.empty_state.failed)

        # a QLabel whose text changes every frame without laying out the status bar (widgets.Caption)
        self.status_label = Caption("no model yet", wrap=False, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.statusBar().addWidget(self.status_label, 1)
        self.activity_bar = ActivityBar(self.activity, self.statusBar())  # the newest job's progress and Cancel
        self.progress, self.btn_cancel = self.activity_bar.progress, self.activity_bar.cancel
        self.spread = SpreadJobs(self.state, self.service, self.activity, parent=self)  # posterior log-variances, bulk lane
        self.live = LiveTraining(self.state, self.activity, self.open_model, parent=self)  # File > Train a model
        self.live.epoch.connect(self.info.set_history)  # the curves grow as each epoch is committed
        self.off_data = ManifoldJobs(self.state, self.spread, parent=self)  # where the model put data (a worker thread)
        self.off_data.ready.connect(self.pane.refresh_badge)  # the pane's "off the data" warning

        self.interp = InterpolationPanel(self.state, self.service)
        self.bookmarks = BookmarksPanel(self.state, self.service, self.activity)  # and the bookmark tour
        self.tour_title = TourTitle(self.view, self.state)  # the held bookmark's name, large on the plane
        self.bookmarks.player.title.connect(self.tour_title.show_name)
        self.vectors = VectorPanel(self.state, self.view)
        self.draw = DrawPanel(self.state, self.service)
        self.training = SnapshotPanel(self.state, self.service, self.activity)  # Watch it learn (training snapshots)
        self.dims = DimsPanel(self.state)  # a D-dim model's slice and its dims sliders
        # right column: the decode pane on top, the panels tabbed below it (the presenter's first)
        pane_box = QWidget()
        self.compare_row = CompareRow(self.state, self.panes, self.pane)  # every model's decode, while comparing
        pb = QVBoxLayout(pane_box)
        pb.setContentsMargins(0, 0, 0, 0)
        pb.addWidget(with_class_dial(self.pane, self.class_dial), 1)
        pb.addWidget(self.compare_row, 1)
        self.pane_column = pb
        self.pane_dock = self._add_dock("Decoded", pane_box, closable=False)
        self.panel_docks: list[QDockWidget] = []
        for title, panel in (("Interpolation", self.interp), ("Vectors", self.vectors), ("Bookmarks", self.bookmarks),
                             ("Draw", self.draw), ("Model", self.info), ("Training", self.training),
                             ("Slice", self.dims)):
            dock = self._add_dock(title, panel)
            if self.panel_docks:
                self.tabifyDockWidget(self.panel_docks[0], dock)
            else:
                self.splitDockWidget(self.pane_dock, dock, Qt.Orientation.Vertical)
            self.panel_docks.append(dock)
            setattr(self, f"{'info' if title == 'Model' else title.lower()}_dock", dock)
        self.panels: list[QWidget] = [self.interp, self.bookmarks, self.vectors, self.draw, self.training]
        self.training_dock.setVisible(False)  # until a model with training snapshots opens
        self.training.available.connect(lambda on: self._show_dock(self.training_dock, on))
        self.slice_dock.setVisible(False)  # until a model with more than two latent dimensions opens
        self.interpolation_dock.raise_()  # after the hide: hiding a tabbed dock moves the current tab
        self._laid_out = False
        self.select_tool = SelectTool(self.state, self.planes, self)
        self.help_overlay = HelpOverlay(self)
        self._build_actions()

        ev = self.state.events
        ev.presentation.connect(self._on_presentation)
        self.state.error.connect(self.show_error)
        self.state.info.connect(lambda msg: self.statusBar().showMessage(msg, 5000))
        # write the settings file (layout on close, recent files); False: read it, keep changes in memory
        self.remember = remember
        self.ask_before_closing = True  # a model training when the window closes: ask (once)
        self.settings.restore_window(self)
        self._fill_recent()
        if own is not None:  # (FILE.py:FUNCTION or a module, weights): a user's own torch module
            module, weights = own
            QTimer.singleShot(0, lambda: self.open_own(module, weights, dataset or "mnist", split, data_dir))
        elif model_path is not None or open_default:
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
            self.share_screen(self.PRESENT_PLANE_SHARE if self.state.presentation else self.PLANE_SHARE)
        self.fit_column()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.fit_column()
        self.follow_present_size()

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

    def _show_dock(self, dock: QDockWidget, on: bool, raise_: bool = False) -> None:
        """Show or hide a panel that only some models have (Training, Slice)."""
        if on == dock.isVisible():
            return
        current = self.interpolation_dock if not on and not dock.visibleRegion().isEmpty() else None
        dock.setVisible(on)
        if current is not None:
            current.raise_()
        if on and raise_:
            dock.raise_()
        self.fit_column_later()  # another tab: do the names still fit?

    def _build_actions(self) -> None:
        """QActions, menus and toolbar from the one table (explorer.core.actions); each owner binds its commands."""
        self.action_set = acts = ActionSet(self.state, self)
        for bind in (self.bookmarks.bind_actions, self.class_dial.bind_actions, self.compare.bind_actions,
                     self.select_tool.bind_actions):
            bind(acts)
        for action_id, fn in (("file.open", self.choose_model), ("file.open_dataset", self.choose_dataset),
                              ("scene.open", self.choose_open_scene), ("scene.save", self.choose_save_scene),
                              ("file.quit", self.close), ("view.reset", self.reset_views),
                              ("window.escape", self._escape), ("help.keys", self.help_overlay.toggle),
                              ("file.train", self.choose_train)):
            acts.bind(action_id, fn)
        menus = acts.fill_menus(self.menuBar())
        file_menu = menus["File"]
        before_quit = file_menu.actions()[-2]  # the separator before Quit
        self.recent_menu = QMenu("Recent &models", file_menu)
        self.recent_scenes_menu = QMenu("Recent s&cenes", file_menu)
        for m in (self.recent_menu, self.recent_scenes_menu):
            file_menu.insertMenu(before_quit, m)
        self.toolbar = acts.toolbar()
        self.addToolBar(self.toolbar)
        self.density, self.point_size, self.opacity = (acts.spins[f] for f in ("density", "point_size", "opacity"))

    def reset_views(self) -> None:
        """View > Reset view: frame the data in every plane shown."""
        for v in self.planes.views:
            if v.isVisible() or v is self.view:
                v.reset_view()

    def _escape(self) -> None:
        if self.bookmarks.stop():
            return
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

    # ---------------------------------------------------------------- results

    def _on_shown(self, shown: Shown) -> None:
        self.status_label.setText(shown.status)
        self.opener.shown()  # a model opened light loads its torch model from now on
        self.decodeShown.emit(shown)

    def _on_decode_failed(self, f: DecodeFailure) -> None:
        """A request that raised on a worker: one sentence; the request is dropped and the worker goes on."""
        self.state.error.emit(f"Decoding failed: {f.message}")

    # ---------------------------------------------------------------- underlay

    def request_underlay(self) -> int | None:
        return self.underlay.request()

    # ---------------------------------------------------------------- quit

    def closeEvent(self, ev) -> None:
        if not self._closed and not self.confirm_close_training():
            ev.ignore()
            return
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
        self.live.wait_stopped()  # a model training: stopped, its last finished epoch kept
        self.bookmarks.shutdown()
        self.off_data.shutdown()
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
