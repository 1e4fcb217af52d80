"""Bookmarks: the list of ``state.bookmarks`` (named z positions) and the bookmark tour.

Clicking one, or stepping with the clicker keys, glides the point there (explorer.qt.tour.TourPlayer: one
leg of the tour's speed and path, then its hold); double-click renames. Below: the tour's settings
(``state.tour``: seconds per leg, hold, linear or spherical), Play tour (Esc stops) and Export tour (MP4
or GIF, explorer.qt.tour.TourExport). The plane draws the stars and the held bookmark's name.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import signals_blocked

from explorer.core.state import ExplorerState
from explorer.core.tour import METHODS, TOUR_FIELDS
from explorer.qt.tour import TourExport, TourPlayer


class BookmarksPanel(QWidget):
    def __init__(self, state: ExplorerState, service=None, activity=None):
        super().__init__()
        self.state = state
        self.index = -1
        self.player = TourPlayer(state, self)  # the tour and the clicker keys' glides
        self.tour_export = TourExport(state, service, activity, self) if service is not None else None
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
        lay.addLayout(self._tour_controls())
        self.btn_add.clicked.connect(lambda: state.add_bookmark())
        self.btn_remove.clicked.connect(self.remove_selected)
        self.list.itemActivated.connect(lambda it: self.go(self.list.row(it)))
        self.list.itemClicked.connect(lambda it: self.go(self.list.row(it)))
        self.list.itemChanged.connect(self._renamed)
        ev = state.bookmarks.events
        for sig in (ev.inserted, ev.removed, ev.changed, ev.reordered, ev.child_event):
            sig.connect(self._rebuild)

    def _tour_controls(self) -> QVBoxLayout:
        tour = self.state.tour
        self.leg = QDoubleSpinBox(suffix=" s", decimals=1, singleStep=0.5, value=tour.seconds_per_leg)
        self.hold = QDoubleSpinBox(suffix=" s", decimals=1, singleStep=0.5, value=tour.hold_seconds)
        for box, name in ((self.leg, "seconds_per_leg"), (self.hold, "hold_seconds")):
            box.setRange(TOUR_FIELDS[name].lo, TOUR_FIELDS[name].hi)
            box.valueChanged.connect(lambda v, name=name: setattr(self.state.tour, name, v))
            getattr(tour.events, name).connect(lambda v, _old=None, box=box: self._show(box, v))
        self.leg.setToolTip("Seconds to glide from one bookmark to the next")
        self.hold.setToolTip("Seconds to hold at each bookmark, its name shown large on the plane")
        self.path = QComboBox()
        self.path.addItems(METHODS)
        self.path.setCurrentText(tour.method)
        self.path.setToolTip("The glide's path in latent space: a straight line, or slerp (the norm changes smoothly)")
        self.path.currentTextChanged.connect(lambda m: setattr(self.state.tour, "method", m))
        tour.events.method.connect(lambda m, _old=None: self._show(self.path, m))
        self.btn_play = QPushButton("Play tour")
        self.btn_play.setCheckable(True)
        self.btn_play.setToolTip("Glide from bookmark to bookmark, holding at each; Esc stops")
        self.btn_play.toggled.connect(lambda on: setattr(self.state.tour, "playing", on))
        tour.events.playing.connect(self._on_playing)
        self.btn_export = QPushButton("Export tour\u2026")
        self.btn_export.setToolTip("Write the tour as an MP4 or GIF: one decoded frame per step of the glide")
        self.btn_export.clicked.connect(self.export_dialog)
        self.btn_export.setEnabled(self.tour_export is not None)
        form = QFormLayout()
        form.addRow("glide", self.leg)
        form.addRow("hold", self.hold)
        form.addRow("path", self.path)
        buttons = QHBoxLayout()
        buttons.addWidget(self.btn_play)
        buttons.addWidget(self.btn_export)
        box = QVBoxLayout()
        box.addLayout(form)
        box.addLayout(buttons)
        return box

    @staticmethod
    def _show(widget, value) -> None:
        with signals_blocked(widget):
            if isinstance(widget, QComboBox):
                widget.setCurrentText(value)
            else:
                widget.setValue(value)

    def _on_playing(self, on: bool, _old=None) -> None:
        with signals_blocked(self.btn_play):
            self.btn_play.setChecked(on)
        self.btn_play.setText("Stop tour" if on else "Play tour")

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export tour", "tour.mp4", "MP4 video (*.mp4);;GIF (*.gif)")
        if path and self.tour_export is not None:
            self.tour_export.start(path)

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.state.bookmarks):
            del self.state.bookmarks[row]

    def go(self, i: int) -> None:
        """Glide to bookmark ``i`` (jump there if there is nothing shown to glide from)."""
        if not len(self.state.bookmarks):
            return
        if not self.player.glide_to(i) and self.state.go_to_bookmark(i) is None:
            return
        self.index = i % len(self.state.bookmarks)
        self.list.setCurrentRow(self.index)

    def bind_actions(self, actions) -> None:
        """Next / previous bookmark (the View menu; the clicker keys come through the window)."""
        actions.bind("bookmark.next", lambda: self.step(+1))
        actions.bind("bookmark.prev", lambda: self.step(-1))
        actions.bind("tour.play", lambda: setattr(self.state.tour, "playing", not self.state.tour.playing))
        actions.bind("tour.export", self.export_dialog)

    def step(self, delta: int) -> None:
        """Next / previous bookmark (arrow keys)."""
        if len(self.state.bookmarks):
            self.go((self.index + delta) if self.index >= 0 else (0 if delta > 0 else -1))

    def stop(self) -> bool:
        """Esc: stop the tour or a glide; True if one was running."""
        running = self.player.running
        self.player.stop()
        return running

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

    def shutdown(self) -> None:
        self.player.stop()
        if self.tour_export is not None:
            self.tour_export.shutdown()
