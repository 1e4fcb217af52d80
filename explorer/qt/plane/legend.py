"""The class legend, beside the plane (never on the data): one row per class, with its colour swatch
and name. Clicking anywhere on a row hides or shows that class (``state.hidden_classes``). The
header collapses the list to give the plane more room. ``set_wide(True)`` lays the rows out in as many
columns as its width holds (presentation mode puts the list under the decoded image, off the plane's width)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QToolButton, QVBoxLayout, QWidget

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
        self.body_layout = QGridLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.body_layout.setSpacing(0)
        self.wide = False  # the rows in columns (set_wide)
        self._width_hint = 0
        self.columns = 1
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
            self.rows.append(b)
        self.columns = 0
        self._place()
        self._sync(self.state.hidden_classes)

    def set_wide(self, on: bool, width: int = 0) -> None:
        """True: the rows in as many columns as the width holds (``width``: the width it is about to get, before
        the layout has given it that; a first pass in one column would be ten rows high and make the window
        grow); False: one column beside the plane."""
        self.wide = on
        self._width_hint = width
        pol = QSizePolicy.Policy
        self.setSizePolicy(pol.Preferred, pol.Maximum) if on else self.setSizePolicy(pol.Maximum, pol.Preferred)
        self._place()

    def _place(self) -> None:
        widest = max((b.sizeHint().width() for b in self.rows), default=1)
        width = self._width_hint or self.width()
        cols = max(1, min(len(self.rows), (width - 4) // max(1, widest))) if self.wide else 1
        if cols == self.columns:
            return
        self.columns = cols
        for b in self.rows:
            self.body_layout.removeWidget(b)
        rows = -(-len(self.rows) // cols)
        for k, b in enumerate(self.rows):  # down the columns: the classes in reading order
            self.body_layout.addWidget(b, k % rows, k // rows)
        self.body_layout.invalidate()  # the new size now, not after the next event loop pass
        self.body.updateGeometry()  # (the layouts above cache the body's old size until told)
        self.layout().invalidate()
        self.updateGeometry()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if self.wide and self.width() > 1:
            self._width_hint = 0  # laid out: its own width from now on
            self._place()

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
