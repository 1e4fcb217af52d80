"""Attribute vectors: mean(group A) - mean(group B), where a group is a class or a lasso selection;
a list of named vectors with strengths (negative = subtract) applied to the current point and
decoded live; an arrow on the plane from the point to the result. Maths in explorer.core.vectors.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
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
from superqt import QLabeledDoubleSlider

from explorer.core import vectors
from explorer.core.decode_service import DecodeResult
from explorer.core.scene import Vector
from explorer.qt.selection import LassoSelector

ARROW_COLOUR = "#D55E00"
HINT_COLOURS = {"strong": "#1b7f3b", "weak": "#b26b00", "\u2248 noise": "#8a1c1c", "unknown": "#666"}
AUC_HELP = ("AUC = how well the direction separates A from B (projection of each point on the vector; "
            "1.0 = perfectly, 0.5 = chance). \u2265 0.9 strong, 0.7\u20130.9 weak, < 0.7 \u2248 noise.")


def _signed(s: float) -> str:
    sign = "+" if s >= 0 else "\u2212"
    return f"{sign}{abs(s):.2f}"


class VectorRow(QWidget):
    """One vector: on/off, name, AUC with its hint, strength slider with an explicit sign, remove."""

    changed = Signal()
    removeRequested = Signal(object)  # self

    def __init__(self, vector: Vector):
        super().__init__()
        self.vector = vector
        self.check = QCheckBox()
        self.check.setChecked(vector.enabled)
        self.check.setToolTip("Add this vector to the point (on) or leave it out (off)")
        self.name = QLineEdit(vector.name)
        self.name.setToolTip("The vector's name (editable)")
        hint = vectors.auc_hint(vector.auc)
        auc_text = "AUC \u2014" if vector.auc is None else f"AUC {vector.auc:.2f} {hint}"
        self.auc = QLabel(auc_text)
        self.auc.setStyleSheet(f"color: {HINT_COLOURS[hint]}; font-weight: bold;")
        self.auc.setToolTip(AUC_HELP)
        self.slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(vectors.STRENGTH_MIN, vectors.STRENGTH_MAX)
        self.slider.setDecimals(2)
        self.slider.setSingleStep(0.05)
        self.slider.setValue(vector.strength)
        self.slider.setToolTip("Strength: how many times the vector is added; negative subtracts it")
        self.sign = QLabel()
        self.sign.setMinimumWidth(92)
        self.btn_remove = QPushButton("\u2715")
        self.btn_remove.setFixedWidth(28)
        self.btn_remove.setToolTip("Remove this vector")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.check)
        top.addWidget(self.name, 1)
        top.addWidget(self.auc)
        top.addWidget(self.btn_remove)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(22, 0, 0, 0)
        bottom.addWidget(self.sign)
        bottom.addWidget(self.slider, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 4)
        lay.setSpacing(1)
        lay.addLayout(top)
        lay.addLayout(bottom)
        self.check.toggled.connect(self._on_enabled)
        self.name.textEdited.connect(self._on_name)
        self.slider.valueChanged.connect(self._on_strength)
        self.btn_remove.clicked.connect(lambda: self.removeRequested.emit(self))
        self._show_sign()

    def set_strength(self, s: float) -> None:
        self.slider.setValue(vectors.clamp_strength(s))

    def set_enabled(self, on: bool) -> None:
        self.check.setChecked(on)

    def _on_enabled(self, on: bool) -> None:
        self.vector.enabled = bool(on)
        self._show_sign()
        self.changed.emit()

    def _on_name(self, text: str) -> None:
        self.vector.name = text
        self.changed.emit()

    def _on_strength(self, value: float) -> None:
        self.vector.strength = float(value)
        self._show_sign()
        self.changed.emit()

    def _show_sign(self) -> None:
        s = self.vector.strength
        if not self.vector.enabled:
            text, colour = "off", "#888"
        elif s > 0:
            text, colour = f"{_signed(s)} \u00d7 adds", "#1b7f3b"
        elif s < 0:
            text, colour = f"{_signed(s)} \u00d7 subtracts", "#8a1c1c"
        else:
            text, colour = "0 \u00d7 (no effect)", "#888"
        self.sign.setText(text)
        self.sign.setStyleSheet(f"color: {colour}; font-weight: bold;")


class VectorPanel(QWidget):
    changed = Signal()  # the list, a strength, a switch or a name changed (scenes listen)
    resultShown = Signal(object)  # DecodeResult of point + vectors, shown in the decode pane
    selectionMade = Signal(str, int)  # tag ("A" / "B"), number of points selected

    def __init__(self, window):
        super().__init__()
        self.window = window
        self._vectors: list[Vector] = []
        self.rows: list[VectorRow] = []
        self._selections: dict[str, vectors.Group] = {}
        self._name_edited = False
        self._showing = False  # the pane shows point + vectors (so it must go back to the point when none is on)
        self._model_sha: str | None = None
        self.last_result: DecodeResult | None = None

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
        scroll.setMinimumHeight(90)
        foot = QHBoxLayout()
        foot.addWidget(self.sum_label, 1)
        foot.addWidget(self.btn_clear)
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addLayout(add_row)
        lay.addWidget(self.status)
        lay.addWidget(scroll, 1)
        lay.addLayout(foot)
        lay.addWidget(legend)

        # the vector on the plane: a line from the point to point + vectors, with an arrow head
        plot = window.view.plot_item
        self.arrow_line = pg.PlotCurveItem(pen=pg.mkPen(ARROW_COLOUR, width=3))
        self.arrow_head = pg.ArrowItem(angle=180, headLen=16, tipAngle=32, tailLen=0, pen=pg.mkPen("#000", width=1),
                                       brush=pg.mkBrush(ARROW_COLOUR))
        for it in (self.arrow_line, self.arrow_head):
            it.setZValue(16)  # above the scatter (0), below the decode marker (20)
            it.setVisible(False)
            plot.addItem(it, ignoreBounds=True)

        self.selector = LassoSelector(window.view, lambda: window.session.index if window.session else None, self)
        self.selector.selected.connect(self._on_selected)
        self.selector.cancelled.connect(self._on_selection_cancelled)
        self.btn_sel_a.clicked.connect(lambda on: self.start_selection("A") if on else self.selector.cancel())
        self.btn_sel_b.clicked.connect(lambda on: self.start_selection("B") if on else self.selector.cancel())
        self.combo_a.currentIndexChanged.connect(lambda _i: self._update_default_name())
        self.combo_b.currentIndexChanged.connect(lambda _i: self._update_default_name())
        self.name_edit.textEdited.connect(self._on_name_edited)
        self.btn_add.clicked.connect(lambda: self.add_from_groups())
        self.btn_clear.clicked.connect(lambda: self.set_vectors([]))
        window.decoder.result.connect(self._on_result)
        window.decodeShown.connect(self._on_point_shown)
        window.sessionChanged.connect(self._on_session)
        self._set_enabled_controls(False)

    # ---------------------------------------------------------------- groups

    def _on_session(self, session) -> None:
        self.selector.cancel()
        self._selections.clear()
        for combo in (self.combo_a, self.combo_b):
            combo.blockSignals(True)
            combo.clear()
            for k, name in enumerate(session.label_names):
                combo.addItem(name, f"class:{k}")
            combo.blockSignals(False)
        if len(session.label_names) > 1:
            self.combo_a.setCurrentIndex(1)
            self.combo_b.setCurrentIndex(0)
        if self._model_sha is not None and session.sha256 != self._model_sha:
            self.set_vectors([])  # directions of another model's plane mean nothing here
        self._model_sha = session.sha256
        self._name_edited = False
        self._update_default_name()
        self._set_enabled_controls(True)
        self.refresh()

    def _set_enabled_controls(self, on: bool) -> None:
        for wdg in (self.combo_a, self.combo_b, self.btn_sel_a, self.btn_sel_b, self.btn_add, self.name_edit):
            wdg.setEnabled(on)

    def group(self, tag: str) -> vectors.Group | None:
        combo = self.combo_a if tag == "A" else self.combo_b
        data = combo.currentData()
        s = self.window.session
        if data is None or s is None:
            return None
        kind, _, value = str(data).partition(":")  # "class:3" or "sel:A"
        if kind == "sel":
            return self._selections.get(value)
        return vectors.class_group(s.labels, int(value), s.label_names)

    def set_class(self, tag: str, k: int) -> None:
        combo = self.combo_a if tag == "A" else self.combo_b
        i = combo.findData(f"class:{int(k)}")
        if i >= 0:
            combo.setCurrentIndex(i)

    def start_selection(self, tag: str) -> None:
        if self.window.session is None:
            self.window.show_error("Open a model first: there are no points to select.")
            self._sync_select_buttons()
            return
        self.selector.start(tag)
        self._sync_select_buttons()
        self.status.setText(f"Drag a lasso around the points for group {tag} (hold Shift for a rectangle); Esc cancels.")

    def set_selection(self, tag: str, mask: np.ndarray) -> None:
        """Use the points in ``mask`` as group ``tag`` (what a lasso does; also for scripts)."""
        g = vectors.selection_group(mask, tag)
        self._selections[tag] = g
        combo = self.combo_a if tag == "A" else self.combo_b
        i = combo.findData(f"sel:{tag}")
        if i < 0:
            combo.insertItem(0, g.name, f"sel:{tag}")
            i = 0
        combo.setItemText(i, g.name)
        combo.setCurrentIndex(i)
        self._update_default_name()

    def _on_selected(self, mask: np.ndarray, _polygon: np.ndarray) -> None:
        tag = self.selector.tag
        self._sync_select_buttons()
        n = int(np.count_nonzero(mask))
        if n == 0:
            self.status.setText(f"No visible points inside that outline; group {tag} is unchanged. Try again.")
        else:
            self.set_selection(tag, mask)
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
        """mean(A) - mean(B) of the chosen groups, added to the list (enabled, strength 1)."""
        s = self.window.session
        a, b = self.group("A"), self.group("B")
        if s is None or a is None or b is None:
            self.window.show_error("Open a model and choose groups A and B first.")
            return None
        try:
            v = vectors.make_vector(s.means, a, b, name=name or self.name_edit.text().strip() or None)
        except ValueError as e:
            self.window.show_error(str(e))
            return None
        self._add_row(v)
        self._name_edited = False
        self._update_default_name()
        self.status.setText(f"Added \u201c{v.name}\u201d: AUC {v.auc:.2f} ({vectors.auc_hint(v.auc)}).")
        self.refresh()
        return v

    def _add_row(self, v: Vector) -> VectorRow:
        self._vectors.append(v)
        row = VectorRow(v)
        row.changed.connect(self.refresh)
        row.removeRequested.connect(self.remove_row)
        self.rows.append(row)
        self.list_layout.insertWidget(self.list_layout.count() - 1, row)
        return row

    def remove_row(self, row: VectorRow) -> None:
        if row not in self.rows:
            return
        i = self.rows.index(row)
        self.rows.pop(i)
        self._vectors.pop(i)
        row.setParent(None)
        row.deleteLater()
        self.refresh()

    def vectors(self) -> list[Vector]:
        """Copies of the vectors, in list order (what a scene stores)."""
        return [Vector(v.name, list(v.vector), float(v.strength), bool(v.enabled), v.auc) for v in self._vectors]

    def set_vectors(self, vs: list[Vector]) -> None:
        """Replace the list (scene load). Strengths are clamped to the slider range."""
        checked = [vectors.check_vector(v) for v in vs]
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows.clear()
        self._vectors.clear()
        for v in checked:
            self._add_row(v)
        self.refresh()

    def total(self) -> np.ndarray:
        return vectors.total(self._vectors)

    # ---------------------------------------------------------------- applying + decoding

    def refresh(self) -> None:
        self._update()
        self.changed.emit()

    def _on_point_shown(self, res: DecodeResult) -> None:
        if res.channel == "point":
            self._update()  # the base point moved (click, drag, hover, scene, draw panel...)

    def target(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(base point, base point + enabled vectors), or None if nothing is to be applied."""
        w = self.window
        if w.session is None or w.current_z is None or not vectors.active(self._vectors):
            return None
        z0 = np.asarray(w.current_z, np.float32).copy()
        return z0, vectors.apply(z0, self._vectors)

    def _update(self) -> None:
        tot = self.total()
        n_on = len(vectors.active(self._vectors))
        self.sum_label.setText("no vectors" if not self._vectors else
                               f"{n_on} of {len(self._vectors)} on; sum = ({tot[0]:+.3f}, {tot[1]:+.3f})")
        tz = self.target()
        if tz is None:
            self.arrow_line.setVisible(False)
            self.arrow_head.setVisible(False)
            if self._showing and self.window.current_z is not None and self.window.session is not None:
                self.window.decoder.request(self.window.current_z, channel="point")  # back to the plain point
            self._showing = False
            return
        z0, z1 = tz
        self._draw_arrow(z0, z1)
        self._showing = True
        self.window.decoder.request(z1, channel="vector", meta=z0)

    def _draw_arrow(self, z0: np.ndarray, z1: np.ndarray) -> None:
        d = np.asarray(z1, np.float64) - np.asarray(z0, np.float64)
        visible = bool(np.hypot(*d) > 0)
        self.arrow_line.setData([float(z0[0]), float(z1[0])], [float(z0[1]), float(z1[1])])
        if visible:
            # ArrowItem angles are in screen coordinates (y down) and 0 points left
            self.arrow_head.setStyle(angle=180.0 - math.degrees(math.atan2(d[1], d[0])))
            self.arrow_head.setPos(float(z1[0]), float(z1[1]))
        self.arrow_line.setVisible(visible)
        self.arrow_head.setVisible(visible)

    def arrow(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(start, end) of the arrow drawn on the plane, or None when hidden."""
        if not self.arrow_line.isVisible():
            return None
        x, y = self.arrow_line.getData()
        return np.array([x[0], y[0]], np.float32), np.array([x[1], y[1]], np.float32)

    def _on_result(self, res: DecodeResult) -> None:
        if res.channel != "vector" or not self._showing:
            return  # a late result after the last vector was switched off
        self.last_result = res
        self.window.pane.show_decoded(res.z[0], res.images[0], title="point + vectors")
        self.resultShown.emit(res)

    def shutdown(self) -> None:
        self.selector.shutdown()
