"""Bookmarks: the list of ``state.bookmarks`` (named z positions). Clicking one, or stepping with the
arrow keys, moves the current point there; double-click renames. The plane draws the stars."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from explorer.core.state import ExplorerState


class BookmarksPanel(QWidget):
    def __init__(self, state: ExplorerState):
        super().__init__()
        self.state = state
        self.index = -1
        self.list = QListWidget()
        self.list.setEditTriggers(QListWidget.EditTrigger.DoubleClicked | QListWidget.EditTrigger.EditKeyPressed)
        self.btn_add = QPushButton("Add current point")
        self.btn_add.setToolTip("Bookmark the point the pane shows (Ctrl+D)")
        self.btn_remove = QPushButton("Remove")
        row = QHBoxLayout()
        row.addWidget(self.btn_add)
        row.addWidget(self.btn_remove)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.list, 1)
        self.btn_add.clicked.connect(lambda: state.add_bookmark())
        self.btn_remove.clicked.connect(self.remove_selected)
        self.list.itemActivated.connect(lambda it: self.go(self.list.row(it)))
        self.list.itemClicked.connect(lambda it: self.go(self.list.row(it)))
        self.list.itemChanged.connect(self._renamed)
        ev = state.bookmarks.events
        for sig in (ev.inserted, ev.removed, ev.changed, ev.reordered, ev.child_event):
            sig.connect(self._rebuild)

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.state.bookmarks):
            del self.state.bookmarks[row]

    def go(self, i: int) -> None:
        mark = self.state.go_to_bookmark(i)
        if mark is not None:
            self.index = i % len(self.state.bookmarks)
            self.list.setCurrentRow(self.index)

    def bind_actions(self, actions) -> None:
        """Next / previous bookmark (the View menu; the clicker keys come through the window)."""
        actions.bind("bookmark.next", lambda: self.step(+1))
        actions.bind("bookmark.prev", lambda: self.step(-1))

    def step(self, delta: int) -> None:
        """Next / previous bookmark (arrow keys)."""
        if len(self.state.bookmarks):
            self.go((self.index + delta) if self.index >= 0 else (0 if delta > 0 else -1))

    def _renamed(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        if 0 <= row < len(self.state.bookmarks) and item.text().strip():
            self.state.bookmarks[row].name = item.text().strip()

    def _rebuild(self, *_a) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for m in self.state.bookmarks:
            it = QListWidgetItem(m.name)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsEditable)
            it.setToolTip(f"z = ({m.z[0]:+.3f}, {m.z[1]:+.3f})")
            self.list.addItem(it)
        self.list.blockSignals(False)
        if self.index >= len(self.state.bookmarks):
            self.index = -1
