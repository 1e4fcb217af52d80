"""Presentation mode: full screen, plane and pane sharing the screen, everything on the plot scaled
(``state.ui_scale``, which every plane listens to), and a slim control strip.

``PresentationLayout`` is a part of the main window (a mixin: it moves the window's own docks and bars);
the strip takes only the state."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget
from superqt import QElidingLabel

from explorer.core.state import STRENGTH_MAX, STRENGTH_MIN, T_MAX, T_MIN, ExplorerState
from explorer.qt.panels.dims_panel import DimSliders
from explorer.qt.widgets import ValueSlider

SLIDER_ROOM = 140  # pixels a vector's strength slider and its value keep beside the name on the strip
PRESENT_DIMS = 3  # dims sliders on the presentation strip (the directions with the most variance)


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
        # always on the strip: what can be played. Until A and B are set the controls are greyed, with a hint
        self.hint = QLabel("keys A and B set the ends")
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.t_box = QWidget()
        tl = QHBoxLayout(self.t_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.play)
        tl.addWidget(QLabel("t"))
        tl.addWidget(self.t, 1)
        tl.addWidget(self.hint)
        self.vector_box = QWidget()
        self.vector_layout = QHBoxLayout(self.vector_box)
        self.vector_layout.setContentsMargins(0, 0, 0, 0)
        self.vector_layout.setSpacing(12)  # a value never runs into the next vector's name
        self.sliders: list[tuple[object, ValueSlider]] = []
        self.names: list[QElidingLabel] = []  # the sliders' name labels, in the same order
        self.dims = DimSliders(state, PRESENT_DIMS, compact=True)  # a D-dim model: its first directions off the plane
        # the t slider across the strip (0 to 1 is the talk's main gesture); under it the enabled vectors'
        # strengths, on a row of their own only while there are any, so their names read whole from the back
        # of a room; under them a D-dim model's dims sliders
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        lay.setSpacing(2)
        lay.addWidget(self.t_box)
        lay.addWidget(self.vector_box)
        lay.addWidget(self.dims)
        # never wider than the plane above it: a crowded strip squeezes, it does not push the decode pane aside
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum)
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
        ready = self.state.interpolation.ready
        for w in (self.play, self.t):
            w.setEnabled(ready)
        self.hint.setVisible(not ready)

    def _rebuild(self, *args) -> None:
        """One strength slider per enabled vector (rebuilt when the list or a switch changes)."""
        wanted = [v for v in self.state.vectors if v.enabled]
        self.vector_box.setVisible(bool(wanted))  # none on: the t slider takes the strip
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
        self.sliders, self.names = [], []
        for v in wanted:
            name = QElidingLabel(v.name)  # whole while it fits; only a crowded row elides it
            name.setToolTip(v.name)
            self.vector_layout.addWidget(name)
            sl = ValueSlider(STRENGTH_MIN, STRENGTH_MAX, 0.05, value=v.strength, signed=True)
            sl.setToolTip(f"strength of {v.name}")
            sl.valueChanged.connect(lambda x, v=v: setattr(v, "strength", x))
            self.vector_layout.addWidget(sl, 1)
            self.sliders.append((v, sl))
            self.names.append(name)
        self._fit_names()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_names()

    def _fit_names(self) -> None:
        """Each vector's name as wide as its whole text while its share of the row leaves its slider
        ``SLIDER_ROOM`` pixels (an eliding label's own size hint is what it shows, already cut)."""
        if not self.names:
            return
        share = self.width() // len(self.names) - SLIDER_ROOM
        for label in self.names:
            fm = label.fontMetrics()
            whole = fm.horizontalAdvance(label.text()) + 4
            label.setMinimumWidth(max(fm.horizontalAdvance("\u2026") * 4, min(whole, share)))


class PresentationLayout:
    """The main window's half of presentation mode (``state.presentation``); Esc restores the exact layout.

    On: the panel docks, menus, toolbar and status bar hide; the plane and the decode pane share the
    screen; the window's font and ``state.ui_scale`` (every text and marker on the plots) scale by
    SCALE; the control strip appears. Full screen unless ``present_fullscreen`` is False (a
    ``--screenshot`` or ``--size`` asked for a size).
    """

    SCALE = 1.6  # at 720 px high; in proportion on a taller screen (2.4 at 1080: tick labels 20 px high)
    PRESENT_PLANE_SHARE = 0.55  # the plane and the pane share the screen
    presenting = False  # the layout is in presentation mode
    present_fullscreen = True
    present_from_cli = False  # --presentation: a scene opened at start-up does not turn it off
    _present_saved: dict | None = None
    _present_size = None  # QSize: the size presentation mode is laid out for

    def _on_presentation(self, on: bool, _old=None) -> None:
        if on == self.presenting:
            return
        if on:
            self._present_saved = {"geometry": QRect(self.geometry()), "docks": self.saveState(), "font": QFont(self.font()),
                           "maximized": self.isMaximized(), "fullscreen": self.isFullScreen(),
                           "menu": self.menuBar().isVisibleTo(self), "status": self.statusBar().isVisibleTo(self),
                           "sizes": (self.pane_dock.width(), self.pane_dock.height(), self.panel_docks[0].height())}
            for d in self.panel_docks:
                d.setVisible(False)
            self.pane_dock.setVisible(True)
            self.menuBar().setVisible(False)
            self.toolbar.setVisible(False)
            self.statusBar().setVisible(False)
            self.strip.setVisible(True)
            self.pane_column.addWidget(self.legend)  # under the decoded image: the plane keeps its width
            screen = self.screen() or QGuiApplication.primaryScreen()
            full = self.present_fullscreen and screen is not None
            self._present_size = screen.geometry().size() if full else self.size()
            self._apply_present_size()  # before the layout grows: a CVAE's image and class row fit the height
            if self.present_fullscreen:
                self.showFullScreen()
            self.share_screen(self.PRESENT_PLANE_SHARE)
            QTimer.singleShot(0, self.follow_present_size)  # no window manager: full screen may not happen
        else:
            s = self._present_saved or {}
            self.strip.setVisible(False)
            self.legend.set_wide(False)
            self.plane_row.addWidget(self.legend)  # beside the plane again
            if "font" in s:
                self.setFont(s["font"])
            self.state.ui_scale = 1.0
            self.menuBar().setVisible(s.get("menu", True))
            self.statusBar().setVisible(s.get("status", True))
            if self.isFullScreen() and not s.get("fullscreen"):
                self.showMaximized() if s.get("maximized") else self.showNormal()
            if "docks" in s:
                if not (s.get("maximized") or s.get("fullscreen")):
                    self.setGeometry(s["geometry"])  # exactly (restoreGeometry clamps to the screen it guesses)
                self.restoreState(s["docks"])
                # and the dock column's exact width, once the restored fonts and bars have been laid out
                QTimer.singleShot(0, lambda sizes=s["sizes"]: self._restore_dock_sizes(sizes))
        self.presenting = on
        self.fit_column()  # the class row's height: the column holds the class list now, or the panels again

    def _restore_dock_sizes(self, sizes: tuple[int, int, int]) -> None:
        if self.presenting:
            return
        self.resizeDocks([self.pane_dock], [sizes[0]], Qt.Orientation.Horizontal)
        self.fit_column_later()

    def _apply_present_size(self) -> None:
        """Font, plot scale, class list and class row for ``_present_size``: SCALE at 720 px high, in proportion
        on a taller screen (the layout looks the same at 1080)."""
        scale = self.SCALE * min(max(1.0, self.present_height() / 720), 3.0)
        f = QFont(self._present_saved["font"])
        f.setPointSizeF(f.pointSizeF() * scale)
        self.setFont(f)
        self.state.ui_scale = scale  # after the font: the planes' ticks follow the window's font
        self.legend.set_wide(True, self.present_pane_width())
        self.fit_column()

    def follow_present_size(self) -> None:
        """The window's real size, once known, if it is not the one laid out for (full screen refused, or
        the window moved to another screen)."""
        if not self.presenting or self._present_size is None:
            return
        if abs(self.height() - self._present_size.height()) > 0.02 * self.height() or \
                abs(self.width() - self._present_size.width()) > 0.02 * self.width():
            self._present_size = self.size()
            self._apply_present_size()
            self.share_screen(self.PRESENT_PLANE_SHARE)

    def present_pane_width(self) -> int:
        """The decode pane's column in presentation mode (the docks take their share only after a layout pass)."""
        return int((self._present_size or self.size()).width() * (1.0 - self.PRESENT_PLANE_SHARE))

    def present_height(self) -> int:
        """The height presentation mode lays out for: the screen's (full screen), else the window's."""
        return (self._present_size or self.size()).height()
