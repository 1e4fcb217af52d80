"""Small widgets shared by the panels: a float slider with a fixed-width value label, class swatches,
push buttons only as wide as their text."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget
from superqt import QDoubleSlider

from explorer.core.palettes import colour


class _KeySlider(QDoubleSlider):
    """superqt's float slider, plus the keyboard a QSlider has (superqt's generic slider leaves it out):
    arrows nudge by one step, PageUp / PageDown by a page, Home / End go to the ends."""

    def keyPressEvent(self, ev) -> None:
        k = Qt.Key
        step = {k.Key_Right: self.singleStep(), k.Key_Up: self.singleStep(), k.Key_Left: -self.singleStep(),
                k.Key_Down: -self.singleStep(), k.Key_PageUp: self.pageStep(), k.Key_PageDown: -self.pageStep()}
        if ev.key() in step:
            self.setValue(round(self.value() + step[ev.key()], 9))
        elif ev.key() == k.Key_Home:
            self.setValue(self.minimum())
        elif ev.key() == k.Key_End:
            self.setValue(self.maximum())
        else:
            super().keyPressEvent(ev)
            return
        ev.accept()


class ValueSlider(QWidget):
    """A float slider and its value, in a label as wide as the widest value.

    The track never moves when the value's text changes width: superqt's labelled sliders resize
    their label, so a drag from +1.00 landed on -2.03. Arrow keys nudge by ``step``, PageUp/PageDown by
    ten steps (the slider takes the keys while it has focus).
    """

    valueChanged = Signal(float)

    def __init__(self, lo: float, hi: float, step: float, decimals: int = 2, value: float = 0.0, signed: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.decimals, self.signed = decimals, signed
        self.slider = _KeySlider(Qt.Orientation.Horizontal)
        self.slider.setRange(lo, hi)
        self.slider.setSingleStep(step)
        self.slider.setPageStep(10 * step)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.label = QLabel()
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        self._fit_label()
        self.slider.setValue(value)
        self._show(self.slider.value())
        self.slider.valueChanged.connect(self._changed)

    def _text(self, v: float) -> str:
        return f"{v:+.{self.decimals}f}" if self.signed else f"{v:.{self.decimals}f}"

    def _fit_label(self) -> None:
        fm = self.label.fontMetrics()
        widest = max((self._text(v) for v in (self.slider.minimum(), self.slider.maximum())), key=len)
        self.label.setFixedWidth(fm.horizontalAdvance(widest.replace("1", "8").replace("0", "8")) + 6)

    def changeEvent(self, ev) -> None:  # a font change (presentation mode) keeps the label fixed, just wider
        super().changeEvent(ev)
        if ev.type() == ev.Type.FontChange:
            self._fit_label()

    def _show(self, v: float) -> None:
        self.label.setText(self._text(v))

    def _changed(self, v: float) -> None:
        self._show(v)
        self.valueChanged.emit(float(v))

    def value(self) -> float:
        return float(self.slider.value())

    def setValue(self, v: float) -> None:
        self.slider.setValue(v)
        self._show(self.slider.value())

    def blockSignals(self, b: bool) -> bool:
        self.slider.blockSignals(b)
        return super().blockSignals(b)

    def setToolTip(self, text: str) -> None:
        self.slider.setToolTip(text)
        super().setToolTip(text)


class SnugButton(QPushButton):
    """A push button as narrow as its text allows: the style's minimum (80 px in Fusion) made a row of
    three too wide for the dock column at 1280x720. It still grows when the row has room."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, self.sizePolicy().verticalPolicy())  # may shrink to the hint below

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        snug = self.fontMetrics().horizontalAdvance(self.text()) + 2 * self.fontMetrics().averageCharWidth() + 8
        return QSize(min(hint.width(), snug), hint.height())


def swatch(colour: str | QColor, size: int = 12) -> QIcon:
    """A filled circle in a class colour with a dark outline (visible on light and dark backgrounds)."""
    pm = QPixmap(QSize(size, size))
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(colour))
    p.setPen(QColor("#222"))
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pm)


def class_swatches(combo, palette: str, size: int = 12) -> None:
    """Recolour a combo box's class entries (item data ``"class:K"``) in ``palette``."""
    for i in range(combo.count()):
        kind, _, k = str(combo.itemData(i)).partition(":")
        if kind == "class":
            combo.setItemIcon(i, swatch(colour(palette, int(k)), size))


class Caption(QWidget):
    """A plain-text QLabel (centred and word-wrapped by default) whose text can change every frame
    without a layout pass.

    ``QLabel.setText`` always calls ``updateGeometry``, so each new caption made the decode pane, its
    dock and the window lay themselves out again, measuring every word-wrapped caption (text shaping):
    2-3 ms per decoded frame while dragging (benchmarks/README.md, issue 11). Here the label fills this
    box, which has no layout of its own, so the label's request stops here. The box takes the width its
    layout gives it (horizontal policy ``Ignored``: a longer class name never re-lays out the window;
    its minimum width is a fixed number of digits) and asks for a new layout only when the height the text needs at that width changes (another
    line). The text is plain (``rich=True`` for HTML): rich text rebuilds a QTextDocument on each
    change, about 1 ms.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None, wrap: bool = True,
                 align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter, rich: bool = False) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        self.label.setText(text)
        self.label.setAlignment(align)
        self.label.setWordWrap(wrap)
        policy = self.label.sizePolicy()
        policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
        self.setSizePolicy(policy)
        self.setMinimumWidth(self._min_width())  # an Ignored policy ignores minimumSizeHint, not this

    def text(self) -> str:
        return self.label.text()

    def _hints(self) -> tuple:
        """What the parent layout uses: the height at the current width (one line when not wrapped)."""
        lab = self.label
        return (lab.heightForWidth(self.width()),) if lab.wordWrap() else (lab.fontMetrics().height(),)

    def setText(self, text: str) -> None:
        old = self.label.text()
        if text == old:
            return
        if self._digits_only(old, text):  # a new z or distance: the same hints, no need to measure them
            self.label.setText(text)
            return
        before = self._hints()
        self.label.setText(text)
        if self._hints() != before:
            self.updateGeometry()

    def _digits_only(self, old: str, new: str) -> bool:
        """True if ``new`` lays out exactly like ``old``: the same length, digits replaced by digits only,
        in a font whose digits all have one width (tabular figures) and the same total advance. Measuring
        the label's hints costs ~0.2 ms each (a text layout); this test a fraction of it."""
        if len(old) != len(new) or any(a != b and not (a.isdigit() and b.isdigit()) for a, b in zip(old, new)):
            return False
        fm = self.label.fontMetrics()
        key = self.label.font().key()
        if self._tabular.get(key) is None:
            self._tabular[key] = len({fm.horizontalAdvance(c) for c in "0123456789"}) == 1
        return self._tabular[key] and fm.horizontalAdvance(old) == fm.horizontalAdvance(new)

    _tabular: dict = {}  # font key -> its digits all have one width

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self.label.setGeometry(self.rect())

    def changeEvent(self, ev) -> None:  # a new font (presentation mode) or style: new hints
        super().changeEvent(ev)
        if ev.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.setMinimumWidth(self._min_width())
            self.updateGeometry()

    def hasHeightForWidth(self) -> bool:
        return self.label.hasHeightForWidth()

    def heightForWidth(self, w: int) -> int:
        return self.label.heightForWidth(w)

    def sizeHint(self) -> QSize:
        return self.label.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return QSize(self._min_width(), self.label.minimumSizeHint().height())

    MIN_CHARS = 10  # never narrower than this many digits, whatever the text (a narrow column stays readable)

    def _min_width(self) -> int:
        return self.label.fontMetrics().horizontalAdvance("0" * self.MIN_CHARS)
