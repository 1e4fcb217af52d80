"""Presentation mode (full screen, plane and pane sharing the screen, everything on the plot scaled,
a slim control strip) and the keyboard help overlay."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from explorer.core.state import STRENGTH_MAX, STRENGTH_MIN, T_MAX, T_MIN, ExplorerState
from explorer.qt.widgets import ValueSlider

MOUSE_HELP = [
    ("Right · PageDown", "next bookmark (a presentation clicker's keys; not while a slider has focus)"),
    ("Left · PageUp", "previous bookmark"),
    ("Click", "decode the point under the mouse"),
    ("Drag the marker", "decode continuously"),
    ("Class list click", "hide / show a class"),
    ("Class row click", "decode the pane as that class (conditional models)"),
    ("Wheel · left-drag", "zoom · pan"),
]


class HelpOverlay(QLabel):
    """A translucent card over the window listing every shortcut (made from the window's actions)."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window_ = window
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setStyleSheet("background: rgba(20, 20, 24, 225); color: #f4f4f4; border-radius: 14px; padding: 24px;")
        self.setVisible(False)
        window.installEventFilter(self)

    def rows(self) -> list[tuple[str, str]]:
        out = []
        for a in self.window_.actions():
            seq = a.shortcut()
            if not seq.isEmpty():
                out.append((seq.toString(QKeySequence.SequenceFormat.NativeText), a.text().replace("&", "").rstrip("…")))
        return out + MOUSE_HELP

    def toggle(self) -> None:
        self.setVisible(not self.isVisible())
        if self.isVisible():
            self.refresh()
            self.raise_()

    def refresh(self) -> None:
        body = "".join(f"<tr><td align=right style='padding:3px 14px'><b>{html.escape(k)}</b></td>"
                       f"<td style='padding:3px'>{html.escape(v)}</td></tr>" for k, v in self.rows())
        self.setText(f"<h2>Keys</h2><table>{body}</table><p style='color:#bbb'>F1 or Esc closes this</p>")
        w, h = self.window_.width(), self.window_.height()
        self.setGeometry(int(w * 0.2), int(h * 0.08), int(w * 0.6), int(h * 0.84))

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Resize and self.isVisible():
            self.refresh()
        return False

    def mousePressEvent(self, ev) -> None:
        self.setVisible(False)


class PresentationStrip(QWidget):
    """The slim control strip shown in presentation mode: t, Play, and the enabled vectors' strengths,
    so a presenter reaches them with every dock hidden. Bound to the state both ways."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        ip = state.interpolation
        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.play.toggled.connect(lambda on: setattr(ip, "playing", on and ip.ready))
        self.t = ValueSlider(T_MIN, T_MAX, 0.01, value=ip.t)
        self.t.setToolTip("interpolation t: 0 = A, 1 = B")
        self.t.valueChanged.connect(lambda v: setattr(ip, "t", v))
        self.t_box = QWidget()
        tl = QHBoxLayout(self.t_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.play)
        tl.addWidget(QLabel("t"))
        tl.addWidget(self.t, 1)
        self.vector_box = QWidget()
        self.vector_layout = QHBoxLayout(self.vector_box)
        self.vector_layout.setContentsMargins(0, 0, 0, 0)
        self.sliders: list[tuple[object, ValueSlider]] = []
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        lay.addWidget(self.t_box, 2)
        lay.addWidget(self.vector_box, 3)
        ip.events.t.connect(self._on_t)
        ip.events.playing.connect(self._on_playing)
        for name in ("a", "b"):
            getattr(ip.events, name).connect(self._on_ready)
        ev = state.vectors.events
        for sig in (ev.inserted, ev.removed, ev.changed, ev.reordered, ev.child_event):
            sig.connect(self._rebuild)
        self._on_ready()
        self._rebuild()

    def _on_t(self, t: float, _old=None) -> None:
        if abs(self.t.value() - t) > 1e-9:
            self.t.blockSignals(True)
            self.t.setValue(t)
            self.t.blockSignals(False)

    def _on_playing(self, on: bool, _old=None) -> None:
        self.play.blockSignals(True)
        self.play.setChecked(on)
        self.play.blockSignals(False)
        self.play.setText("Stop" if on else "Play")

    def _on_ready(self, *_a) -> None:
        self.t_box.setVisible(self.state.interpolation.ready)

    def _rebuild(self, *args) -> None:
        """One strength slider per enabled vector (rebuilt when the list or a switch changes)."""
        wanted = [v for v in self.state.vectors if v.enabled]
        if [v for v, _ in self.sliders] == wanted:
            for v, sl in self.sliders:
                if abs(sl.value() - v.strength) > 1e-9:
                    sl.blockSignals(True)
                    sl.setValue(v.strength)
                    sl.blockSignals(False)
            return
        while self.vector_layout.count():
            item = self.vector_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.sliders = []
        for v in wanted:
            self.vector_layout.addWidget(QLabel(v.name))
            sl = ValueSlider(STRENGTH_MIN, STRENGTH_MAX, 0.05, value=v.strength, signed=True)
            sl.setToolTip(f"strength of {v.name}")
            sl.valueChanged.connect(lambda x, v=v: setattr(v, "strength", x))
            self.vector_layout.addWidget(sl, 1)
            self.sliders.append((v, sl))


class Presentation:
    """Switches a MainWindow into and out of presentation mode; Esc restores the exact previous layout.

    On: the panel docks, menus, toolbar and status bar hide; the plane and the decode pane share the
    screen; every text and marker on the plot scales by SCALE; the control strip appears. Full screen
    unless ``fullscreen`` is False (a ``--screenshot`` or ``--size`` asked for a size).
    """

    SCALE = 1.6
    PLANE_SHARE = 0.55  # the plane and the pane share the screen

    def __init__(self, window):
        self.w = window
        self.on = False
        self.fullscreen = True
        self.from_command_line = False
        self._saved: dict = {}

    def set(self, on: bool) -> None:
        if on == self.on:
            return
        w = self.w
        if on:
            self._saved = {"geometry": QRect(w.geometry()), "docks": w.saveState(), "font": QFont(w.font()),
                           "maximized": w.isMaximized(), "fullscreen": w.isFullScreen(),
                           "menu": w.menuBar().isVisibleTo(w), "status": w.statusBar().isVisibleTo(w),
                           "sizes": (w.pane_dock.width(), w.pane_dock.height(), w.panel_docks[0].height())}
            for d in w.panel_docks:
                d.setVisible(False)
            w.pane_dock.setVisible(True)
            w.menuBar().setVisible(False)
            w.toolbar.setVisible(False)
            w.statusBar().setVisible(False)
            f = QFont(w.font())
            f.setPointSizeF(f.pointSizeF() * self.SCALE)
            w.setFont(f)
            w.view.set_scale(self.SCALE)
            w.planes.set_scale(self.SCALE)
            w.strip.setVisible(True)
            if self.fullscreen:
                w.showFullScreen()
            w.share_screen(self.PLANE_SHARE)
        else:
            s = self._saved
            w.strip.setVisible(False)
            if "font" in s:
                w.setFont(s["font"])
            w.view.set_scale(1.0)
            w.planes.set_scale(1.0)
            w.menuBar().setVisible(s.get("menu", True))
            w.statusBar().setVisible(s.get("status", True))
            if w.isFullScreen() and not s.get("fullscreen"):
                w.showMaximized() if s.get("maximized") else w.showNormal()
            if "docks" in s:
                if not (s.get("maximized") or s.get("fullscreen")):
                    w.setGeometry(s["geometry"])  # exactly (restoreGeometry clamps to the screen it guesses)
                w.restoreState(s["docks"])
                # and the dock column's exact width, once the restored fonts and bars have been laid out
                QTimer.singleShot(0, lambda sizes=s["sizes"]: self._restore_sizes(sizes))
        self.on = on

    def _restore_sizes(self, sizes: tuple[int, int, int]) -> None:
        if self.on:
            return
        w = self.w
        w.resizeDocks([w.pane_dock], [sizes[0]], Qt.Orientation.Horizontal)
