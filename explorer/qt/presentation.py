"""Presentation mode (full screen, big pane, big fonts and markers) and the keyboard help overlay."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import QLabel, QWidget

MOUSE_HELP = [
    ("Click", "decode the point under the mouse"),
    ("Drag the marker", "decode continuously"),
    ("Legend click", "hide / show a class"),
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


class Presentation:
    """Switches a MainWindow into and out of presentation mode, restoring what it changed."""

    SCALE = 1.6

    def __init__(self, window):
        self.w = window
        self.on = False
        self._saved: dict = {}

    def set(self, on: bool) -> None:
        if on == self.on:
            return
        w = self.w
        if on:
            self._saved = {
                "docks": [d for d in w.findChildren(type(w.info_dock)) if d.isVisible()],
                "font": QFont(w.font()),
                "sizes": w.splitter.sizes(),
                "maximized": w.isMaximized(),
            }
            for d in self._saved["docks"]:
                d.setVisible(False)
            w.menuBar().setVisible(False)
            w.toolbar.setVisible(False)
            w.statusBar().setVisible(False)
            f = QFont(w.font())
            f.setPointSizeF(f.pointSizeF() * self.SCALE)
            w.setFont(f)
            w.view.set_point_size(8)
            w.view.set_marker_size(30)
            total = sum(w.splitter.sizes())
            w.splitter.setSizes([total // 2, total - total // 2])
            w.showFullScreen()
        else:
            s = self._saved
            for d in s.get("docks", []):
                d.setVisible(True)
            w.menuBar().setVisible(True)
            w.toolbar.setVisible(True)
            w.statusBar().setVisible(True)
            if "font" in s:
                w.setFont(s["font"])
            w.view.set_point_size(4)
            w.view.set_marker_size(16)
            if s.get("sizes"):
                w.splitter.setSizes(s["sizes"])
            if s.get("maximized"):
                w.showMaximized()
            else:
                w.showNormal()
        self.on = on
