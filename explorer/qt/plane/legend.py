"""The class legend, beside the plane (never on the data): one row per class, with its colour swatch
and name. Clicking anywhere on a row hides or shows that class (``state.hidden_classes``). The
header collapses the list to give the plane more room."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QSizePolicy, QToolButton, QVBoxLayout, QWidget

from explorer.core.palettes import colour
from explorer.core.state import ExplorerState
from explorer.qt.widgets import swatch


class ClassLegend(QWidget):
    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.rows: list[QToolButton] = []
        self.header = QToolButton()
        self.header.setText("Classes \u25be")
        self.header.setCheckable(True)
        self.header.setChecked(True)
        self.header.setToolTip("Show or collapse the class list")
        self.header.setAutoRaise(True)
        self.header.toggled.connect(self._expand)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.setSpacing(0)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addWidget(self.header)
        lay.addWidget(self.body)
        lay.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        state.events.session.connect(self._rebuild)
        state.style.events.palette.connect(self._rebuild)
        state.events.hidden_classes.connect(self._sync)

    def _expand(self, on: bool) -> None:
        self.body.setVisible(on)
        self.header.setText("Classes \u25be" if on else "Classes \u25b8")

    def _rebuild(self, *_a) -> None:
        for b in self.rows:
            b.setParent(None)
            b.deleteLater()
        self.rows = []
        s = self.state.session
        if s is None:
            return
        for k, name in enumerate(s.label_names):
            b = QToolButton()
            b.setText(name)
            b.setIcon(swatch(colour(self.state.palette, k), 14))
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setCheckable(True)
            b.setAutoRaise(True)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setToolTip(f"Hide or show {name}")
            b.toggled.connect(lambda on, k=k: self.state.set_class_hidden(k, not on))
            self.body_layout.addWidget(b)
            self.rows.append(b)
        self._sync(self.state.hidden_classes)

    def _sync(self, hidden, _old=None) -> None:
        for k, b in enumerate(self.rows):
            on = k not in hidden
            if b.isChecked() != on:
                b.blockSignals(True)
                b.setChecked(on)
                b.blockSignals(False)
            # struck through when hidden: a font that sets only that, so size still follows the window's font
            f = QFont()
            f.setStrikeOut(not on)
            b.setFont(f)
