"""One row of the Vectors panel: a vector of the state, with on/off, its name, AUC with a hint, the strength
slider with an explicit sign ("\u22120.72 \u00d7 subtracts"), and remove. Bound to the vector both ways."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from explorer.core import vectors
from explorer.core.state import Vector
from explorer.qt.widgets import ValueSlider

HINT_COLOURS = {"strong": "#1b7f3b", "weak": "#b26b00", "\u2248 noise": "#8a1c1c", "unknown": "#666"}
AUC_HELP = ("AUC = how well the direction separates A from B (projection of each point on the vector; "
            "1.0 = perfectly, 0.5 = chance). \u2265 0.9 strong, 0.7\u20130.9 weak, < 0.7 \u2248 noise.")


def _signed(s: float) -> str:
    sign = "+" if s >= 0 else "\u2212"
    return f"{sign}{abs(s):.2f}"


class VectorRow(QWidget):
    """One vector of the state: on/off, name, AUC with its hint, strength slider with an explicit sign, remove."""

    def __init__(self, vector: Vector, remove):
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
        self.slider = ValueSlider(vectors.STRENGTH_MIN, vectors.STRENGTH_MAX, 0.05, value=vector.strength, signed=True)
        self.slider.setToolTip("Strength: how many times the vector is added; negative subtracts it")
        self.sign = QLabel()
        self._fit_sign()
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
        # user -> the vector in the state
        self.check.toggled.connect(lambda on: setattr(vector, "enabled", on))
        self.name.textEdited.connect(lambda text: setattr(vector, "name", text))
        self.slider.valueChanged.connect(lambda v: setattr(vector, "strength", v))
        self.btn_remove.clicked.connect(lambda: remove(vector))
        # the vector -> widgets (scripts and scenes change it too)
        vector.events.enabled.connect(self._on_enabled)
        vector.events.strength.connect(self._on_strength)
        vector.events.name.connect(self._on_name)
        self._show_sign()

    def _fit_sign(self) -> None:
        """As wide as the widest strength text in bold (the label is bold): never "subtract:"."""
        bold = QFont(self.sign.font())
        bold.setBold(True)
        self.sign.setFixedWidth(QFontMetrics(bold).horizontalAdvance("\u22123.00 \u00d7 subtracts") + 6)

    def changeEvent(self, ev) -> None:  # a new font (presentation mode): the label keeps fitting its text
        super().changeEvent(ev)
        if ev.type() == ev.Type.FontChange:
            self._fit_sign()

    def disconnect_vector(self) -> None:
        self.vector.events.enabled.disconnect(self._on_enabled)
        self.vector.events.strength.disconnect(self._on_strength)
        self.vector.events.name.disconnect(self._on_name)

    def set_strength(self, s: float) -> None:
        self.slider.setValue(vectors.clamp_strength(s))

    def set_enabled(self, on: bool) -> None:
        self.check.setChecked(on)

    def _on_enabled(self, on: bool, _old=None) -> None:
        if self.check.isChecked() != on:
            self.check.blockSignals(True)
            self.check.setChecked(on)
            self.check.blockSignals(False)
        self._show_sign()

    def _on_strength(self, value: float, _old=None) -> None:
        if abs(self.slider.value() - value) > 1e-9:
            self.slider.blockSignals(True)
            self.slider.setValue(value)
            self.slider.blockSignals(False)
        self._show_sign()

    def _on_name(self, text: str, _old=None) -> None:
        if self.name.text() != text:
            self.name.setText(text)

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
