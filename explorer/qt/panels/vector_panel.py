"""Attribute vectors: mean(group A) - mean(group B), where a group is a class or a lasso selection.

The panel renders ``state.vectors`` (a row per vector: on/off, name, AUC, strength) and writes the
user's changes back into it. The pane rule adds the enabled vectors to the base point; the plane
draws the arrow. Maths in explorer.core.vectors and explorer.core.state.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from explorer.core import vectors
from explorer.core.palettes import colour
from explorer.core.state import ExplorerState, StateError, Vector
from explorer.qt.panels.vector_row import AUC_HELP, VectorRow
from explorer.qt.plane.selection import LassoSelector
from explorer.qt.widgets import class_swatches, swatch


class VectorPanel(QWidget):
    selectionMade = Signal(str, int)  # tag ("A" / "B"), number of points selected

    def __init__(self, state: ExplorerState, plane):
        super().__init__()
        self.state = state
        self.rows: list[VectorRow] = []
        self._outlines: dict[str, tuple[tuple[int, ...], np.ndarray]] = {}  # tag -> (its indices, the lasso drawn)
        self._name_edited = False

        self.combo_a = QComboBox()
        self.combo_b = QComboBox()
        self.btn_sel_a = QPushButton("Select A\u2026")
        self.btn_sel_b = QPushButton("Select B\u2026")
        for b, tag in ((self.btn_sel_a, "A"), (self.btn_sel_b, "B")):
            b.setCheckable(True)
            b.setToolTip(f"Drag a lasso around points on the plane for group {tag} (hold Shift for a rectangle); Esc cancels")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("vector name")
        self.btn_add = QPushButton("Add vector")
        self.btn_add.setToolTip("Add mean(A) \u2212 mean(B) to the list")
        self.status = QLabel("A vector is mean(A) \u2212 mean(B); it is added to the current point.")
        self.status.setWordWrap(True)
        self.sum_label = QLabel("no vectors")
        self.btn_clear = QPushButton("Remove all")
        self.btn_clear_sel = QPushButton("Clear selections")
        self.btn_clear_sel.setToolTip("Forget the lasso / rectangle groups and take them off the plane")
        self.btn_clear_sel.setEnabled(False)
        legend = QLabel(AUC_HELP)
        legend.setWordWrap(True)
        legend.setStyleSheet("color: #555; font-size: 9pt;")

        grid = QGridLayout()
        grid.addWidget(QLabel("A"), 0, 0)
        grid.addWidget(self.combo_a, 0, 1)
        grid.addWidget(self.btn_sel_a, 0, 2)
        grid.addWidget(QLabel("\u2212 B"), 1, 0)
        grid.addWidget(self.combo_b, 1, 1)
        grid.addWidget(self.btn_sel_b, 1, 2)
        grid.setColumnStretch(1, 1)
        add_row = QHBoxLayout()
        add_row.addWidget(self.name_edit, 1)
        add_row.addWidget(self.btn_add)
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.StyledPanel)
        scroll.setWidget(self.list_widget)
        scroll.setMinimumHeight(64)  # one vector row; the panel fits under a CVAE's class row at 1280x720
        self.sum_label.setWordWrap(True)  # the sum of a D-dim model's vectors is long: it wraps, never widens the panel
        foot = QHBoxLayout()  # the dock column is narrow at 1280x720: the sum above, the buttons on their own row
        foot.addStretch(1)
        foot.addWidget(self.btn_clear_sel)
        foot.addWidget(self.btn_clear)
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addLayout(add_row)
        lay.addWidget(self.status)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.sum_label)
        lay.addLayout(foot)
        lay.addWidget(legend)

        self.selector = LassoSelector(plane, lambda: state.session.index if state.session else None, self)
        self.selector.selected.connect(self._on_selected)
        self.selector.cancelled.connect(self._on_selection_cancelled)
        self.btn_sel_a.clicked.connect(lambda on: self.start_selection("A") if on else self.selector.cancel())
        self.btn_sel_b.clicked.connect(lambda on: self.start_selection("B") if on else self.selector.cancel())
        self.combo_a.currentIndexChanged.connect(lambda _i: self._update_default_name())
        self.combo_b.currentIndexChanged.connect(lambda _i: self._update_default_name())
        self.name_edit.textEdited.connect(self._on_name_edited)
        self.btn_add.clicked.connect(lambda: self.add_from_groups())
        self.btn_clear.clicked.connect(lambda: state.vectors.clear())
        self.btn_clear_sel.clicked.connect(self.clear_selections)
        # the groups chosen with the lasso stay on the plane: a dashed outline and a ring on each point
        self.selection_items = {}
        for tag, col in (("A", "#1b7f3b"), ("B", "#8a1c1c")):
            outline = pg.PlotCurveItem(pen=pg.mkPen(col, width=2, style=Qt.PenStyle.DashLine))
            rings = pg.ScatterPlotItem(size=9, symbol="o", pen=pg.mkPen(col, width=1.5), brush=None, pxMode=True)
            for z, it in ((13, outline), (11, rings)):
                it.setZValue(z)
                it.setVisible(False)
                plane.plot_item.addItem(it, ignoreBounds=True)
            self.selection_items[tag] = (outline, rings)
        ev = state.vectors.events
        for sig in (ev.inserted, ev.removed, ev.changed, ev.reordered):
            sig.connect(self._rebuild_rows)
        ev.child_event.connect(self._update_sum)
        state.events.session.connect(self._on_session)
        state.events.groups.connect(self._on_groups)
        state.style.events.palette.connect(lambda p, _o=None: [class_swatches(c, p) for c in (self.combo_a, self.combo_b)])
        self._set_enabled_controls(False)

    # ---------------------------------------------------------------- groups

    def _on_session(self, session, _old=None) -> None:
        if session is None:
            return
        self.selector.cancel()
        for combo in (self.combo_a, self.combo_b):
            combo.blockSignals(True)
            combo.clear()
            for k, name in enumerate(session.label_names):
                combo.addItem(swatch(colour(self.state.palette, k)), name, f"class:{k}")
            combo.blockSignals(False)
        if len(session.label_names) > 1:
            self.combo_a.setCurrentIndex(1)
            self.combo_b.setCurrentIndex(0)
        self._name_edited = False
        self._on_groups(self.state.groups, {})
        self._set_enabled_controls(True)

    def _set_enabled_controls(self, on: bool) -> None:
        for wdg in (self.combo_a, self.combo_b, self.btn_sel_a, self.btn_sel_b, self.btn_add, self.name_edit):
            wdg.setEnabled(on)

    def group(self, tag: str) -> vectors.Group | None:
        combo = self.combo_a if tag == "A" else self.combo_b
        data = combo.currentData()
        s = self.state.session
        if data is None or s is None:
            return None
        kind, _, value = str(data).partition(":")  # "class:3" or "sel:A"
        if kind == "sel":
            mask = self.state.group_mask(value)
            return None if mask is None else vectors.selection_group(mask, value)
        return vectors.class_group(s.labels, int(value), s.label_names)

    def set_class(self, tag: str, k: int) -> None:
        combo = self.combo_a if tag == "A" else self.combo_b
        i = combo.findData(f"class:{int(k)}")
        if i >= 0:
            combo.setCurrentIndex(i)

    def start_selection(self, tag: str) -> None:
        if self.state.session is None:
            self.state.error.emit("Open a model first: there are no points to select.")
            self._sync_select_buttons()
            return
        self.selector.start(tag)
        self._sync_select_buttons()
        self.status.setText(f"Drag a lasso around the points for group {tag} (hold Shift for a rectangle); Esc cancels.")

    def set_selection(self, tag: str, mask: np.ndarray, polygon: np.ndarray | None = None) -> None:
        """Use the points in ``mask`` as group ``tag`` (what a lasso does): writes ``state.groups[tag]``.

        The group stays visible on the plane (rings on its points, and the lasso's outline) until cleared."""
        idx = tuple(int(i) for i in np.flatnonzero(np.asarray(mask, bool)))
        if polygon is not None and len(polygon) >= 3:
            self._outlines[tag] = (idx, np.asarray(polygon, np.float64))
        self.state.groups = {**self.state.groups, tag: idx}

    def _on_groups(self, groups: dict, old: dict | None = None) -> None:
        """Render ``state.groups``: rings on each group's points, its lasso outline, its entry in the combo."""
        s = self.state.session
        for tag, (outline, rings) in self.selection_items.items():
            idx = groups.get(tag)
            mask = self.state.group_mask(tag)
            pts = s.means[mask] if mask is not None else np.zeros((0, 2), np.float32)
            rings.setData(pos=pts)
            rings.setVisible(len(pts) > 0)
            drawn = self._outlines.get(tag)
            if drawn is not None and drawn[0] != idx:  # the group changed since that lasso (a script, a scene)
                del self._outlines[tag]
                drawn = None
            if drawn is not None:
                closed = np.vstack([drawn[1], drawn[1][:1]])
                outline.setData(closed[:, 0], closed[:, 1])
            outline.setVisible(drawn is not None)
            combo = self.combo_a if tag == "A" else self.combo_b
            i = combo.findData(f"sel:{tag}")
            if mask is None:
                if i >= 0:
                    combo.removeItem(i)
                continue
            name = vectors.selection_group(mask, tag).name
            if i < 0:
                combo.insertItem(0, name, f"sel:{tag}")
                i = 0
            combo.setItemText(i, name)
            if idx != (old or {}).get(tag):  # a new or changed group is the one to use
                combo.setCurrentIndex(i)
        self.btn_clear_sel.setEnabled(bool(groups))
        self._update_default_name()

    def clear_selections(self) -> None:
        """Forget the lasso / rectangle groups and take them off the plane."""
        self._outlines.clear()
        self.state.groups = {}

    def _on_selected(self, mask: np.ndarray, _polygon: np.ndarray) -> None:
        tag = self.selector.tag
        self._sync_select_buttons()
        n = int(np.count_nonzero(mask))
        if n == 0:
            self.status.setText(f"No visible points inside that outline; group {tag} is unchanged. Try again.")
        else:
            self.set_selection(tag, mask, _polygon)
            self.status.setText(f"Group {tag}: {n:,} points selected.")
        self.selectionMade.emit(tag, n)

    def _on_selection_cancelled(self) -> None:
        self._sync_select_buttons()
        self.status.setText("Selection cancelled.")

    def _sync_select_buttons(self) -> None:
        for b, tag in ((self.btn_sel_a, "A"), (self.btn_sel_b, "B")):
            b.blockSignals(True)
            b.setChecked(self.selector.armed and self.selector.tag == tag)
            b.blockSignals(False)

    def _on_name_edited(self, text: str) -> None:
        self._name_edited = bool(text.strip())

    def _update_default_name(self) -> None:
        if self._name_edited:
            return
        a, b = self.group("A"), self.group("B")
        self.name_edit.setText(vectors.default_name(a, b) if a is not None and b is not None else "")

    # ---------------------------------------------------------------- the list

    def add_from_groups(self, name: str | None = None) -> Vector | None:
        """mean(A) - mean(B) of the chosen groups, added to the state's list (enabled, strength 1)."""
        a, b = self.group("A"), self.group("B")
        if self.state.session is None or a is None or b is None:
            self.state.error.emit("Open a model and choose groups A and B first.")
            return None
        try:
            v = self.state.vectors.add_difference(a.mask, b.mask, name=name or self.name_edit.text().strip() or None,
                                                  names=(a.name, b.name))
        except StateError as e:
            self.state.error.emit(str(e))
            return None
        self._name_edited = False
        self._update_default_name()
        self.status.setText(f"Added \u201c{v.name}\u201d: AUC {v.auc:.2f} ({vectors.auc_hint(v.auc)}).")
        return v

    def _rebuild_rows(self, *_a) -> None:
        """One row per vector of the state, in order (rows of removed vectors go)."""
        old = {id(r.vector): r for r in self.rows}
        self.rows = []
        for v in self.state.vectors:
            row = old.pop(id(v), None) or VectorRow(v, self.state.vectors.remove)
            self.rows.append(row)
        for row in old.values():
            row.disconnect_vector()
            row.setParent(None)
            row.deleteLater()
        for i, row in enumerate(self.rows):
            self.list_layout.insertWidget(i, row)
        self._update_sum()

    def _update_sum(self, *_a) -> None:
        vs = self.state.vectors
        tot = vs.total()
        n_on = sum(v.enabled for v in vs)
        self.sum_label.setText("no vectors" if not len(vs) else
                               f"{n_on} of {len(vs)} on; sum = ({tot[0]:+.3f}, {tot[1]:+.3f})")

    def shutdown(self) -> None:
        self.selector.shutdown()
