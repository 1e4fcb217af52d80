"""Bookmarks: named z positions, drawn on the plane, stepped through with the arrow keys."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from explorer.core.scene import Bookmark


class BookmarksPanel(QWidget):
    changed = Signal()

    def __init__(self, window):
        super().__init__()
        self.window = window
        self.marks: list[Bookmark] = []
        self.index = -1
        self.list = QListWidget()
        self.list.setEditTriggers(QListWidget.EditTrigger.DoubleClicked | QListWidget.EditTrigger.EditKeyPressed)
        self.btn_add = QPushButton("Add current point")
        self.btn_add.setToolTip("Bookmark the current point (Ctrl+D)")
        self.btn_remove = QPushButton("Remove")
        row = QHBoxLayout()
        row.addWidget(self.btn_add)
        row.addWidget(self.btn_remove)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.list, 1)
        self.items = pg.ScatterPlotItem(size=13, symbol="star", pen=pg.mkPen("#000", width=1), brush=pg.mkBrush("#ffffffcc"))
        self.items.setZValue(12)
        window.view.plot_item.addItem(self.items, ignoreBounds=True)
        self.btn_add.clicked.connect(lambda: self.add())
        self.btn_remove.clicked.connect(self.remove_selected)
        self.list.itemActivated.connect(lambda it: self.go(self.list.row(it)))
        self.list.itemClicked.connect(lambda it: self.go(self.list.row(it)))
        self.list.itemChanged.connect(self._renamed)

    def add(self, name: str | None = None, z=None) -> Bookmark | None:
        w = self.window
        z = w.current_z if z is None else np.asarray(z, np.float32)
        if z is None:
            return None
        if name is None:
            near = ""
            if w.session is not None and w.session.index is not None:
                idx = w.session.index.nearest(z)
                if len(idx):
                    near = f" near {w.session.label_name(int(idx[0]))}"
            name = f"{len(self.marks) + 1}{near}"
        mark = Bookmark(name, [float(z[0]), float(z[1])])
        self.marks.append(mark)
        self._rebuild()
        self.changed.emit()
        return mark

    def set_bookmarks(self, marks: list[Bookmark]) -> None:
        self.marks = [Bookmark(m.name, list(m.z)) for m in marks]
        self.index = -1
        self._rebuild()
        self.changed.emit()

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.marks):
            del self.marks[row]
            self._rebuild()
            self.changed.emit()

    def go(self, i: int) -> None:
        if not self.marks:
            return
        self.index = i % len(self.marks)
        self.list.setCurrentRow(self.index)
        z = self.marks[self.index].z
        self.window.decode_at(z[0], z[1], move_marker=True)

    def step(self, delta: int) -> None:
        """Next / previous bookmark (arrow keys)."""
        if self.marks:
            self.go((self.index + delta) if self.index >= 0 else (0 if delta > 0 else -1))

    def _renamed(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        if 0 <= row < len(self.marks) and item.text().strip():
            self.marks[row].name = item.text().strip()
            self.changed.emit()

    def _rebuild(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for m in self.marks:
            it = QListWidgetItem(f"{m.name}")
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsEditable)
            it.setToolTip(f"z = ({m.z[0]:+.3f}, {m.z[1]:+.3f})")
            self.list.addItem(it)
        self.list.blockSignals(False)
        pts = np.array([m.z for m in self.marks], np.float32).reshape(-1, 2)
        self.items.setData(pos=pts)
