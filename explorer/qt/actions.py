"""The QActions, menus, toolbar and F1 help, all made from the one table in explorer.core.actions.

A field action writes its state field when toggled and is checked when the field changes (both
directions of the sync, from the table's ``field``); a ``run`` action calls its function of the state;
a command action calls what its owner bound with ``actions.bind(id, fn)``. The toolbar's spin boxes
(underlay density, point size, opacity) are declared here the same way: a state field and a range.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QFont, QKeySequence, QTextDocument
from PySide6.QtWidgets import QLabel, QMenuBar, QScrollArea, QSpinBox, QToolBar, QWidget

from explorer.core.actions import ACTIONS, BY_ID, MENUS, Action, Commands, UnknownAction, help_rows
from explorer.core.state import DENSITY_MAX, DENSITY_MIN, POINT_SIZE_MAX, POINT_SIZE_MIN


def key_sequence(key: str) -> QKeySequence:
    """A key of the table: a standard key's name ("Open") or a portable sequence ("Ctrl+S")."""
    std = getattr(QKeySequence.StandardKey, key, None)
    return QKeySequence(std) if std is not None else QKeySequence(key)


def key_text(key: str) -> str:
    return key_sequence(key).toString(QKeySequence.SequenceFormat.NativeText)


@dataclass(frozen=True)
class Spin:
    """A toolbar spin box bound to a numeric state field (shown as ``round(value * scale)``)."""

    field: str
    low: int
    high: int
    prefix: str
    suffix: str
    tip: str
    after: str  # the toolbar action it follows
    scale: float = 1.0


SPINS = (
    Spin("density", DENSITY_MIN, DENSITY_MAX, "grid ", " cells",
         "Manifold underlay density: cells across the longer side of the view", "view.underlay"),
    Spin("point_size", int(POINT_SIZE_MIN), int(POINT_SIZE_MAX), "points ", " px", "Scatter point size", "view.dim"),
    Spin("opacity", 5, 100, "opacity ", " %", "Scatter point opacity", "view.dim", scale=100.0),
)


def set_quietly(widget: QAction | QSpinBox, value) -> None:
    """Show ``value`` without emitting the widget's own change signal (the state already has it)."""
    current = widget.isChecked() if isinstance(widget, QAction) else widget.value()
    if current != value:
        widget.blockSignals(True)
        (widget.setChecked if isinstance(widget, QAction) else widget.setValue)(value)
        widget.blockSignals(False)


class ActionSet(QObject):
    """Every action of the table as a QAction on ``host`` (so its keys work with the menus hidden)."""

    def __init__(self, state, host: QWidget):
        super().__init__(host)
        self.state = state
        self.commands = Commands(state)
        self.qactions: dict[str, QAction] = {}
        self.spins: dict[str, QSpinBox] = {}
        for a in ACTIONS:
            self.qactions[a.id] = self._make(a, host)

    def __getitem__(self, action_id: str) -> QAction:
        try:
            return self.qactions[action_id]
        except KeyError:
            raise UnknownAction(action_id) from None

    def bind(self, action_id: str, fn: Callable[[], object]) -> None:
        """The one call a panel or the window makes to own a command action."""
        self.commands.bind(action_id, fn)

    def _make(self, a: Action, host: QWidget) -> QAction:
        q = QAction(a.title, host)
        if a.keys:
            q.setShortcuts([key_sequence(k) for k in a.keys])
        q.setToolTip(a.tip or a.plain_title)
        host.addAction(q)  # shortcuts work even when the menu bar is hidden (presentation mode)
        if a.field is not None:
            q.setCheckable(True)
            q.setChecked(a.checked(self.state))
            q.toggled.connect(lambda on, a=a: a.set(self.state, on))
            self.state.signal(a.field).connect(
                lambda _v, _o=None, a=a, q=q: set_quietly(q, a.checked(self.state)))
        else:
            q.triggered.connect(lambda _c=False, i=a.id: self.commands.trigger(i))
        if a.needs is not None:  # disabled (and unchecked) while the field it needs is empty
            q.setEnabled(a.available(self.state))
            self.state.signal(a.needs).connect(lambda _v, _o=None, a=a, q=q: self._sync_available(a, q))
        return q

    def _sync_available(self, a: Action, q: QAction) -> None:
        q.setEnabled(a.available(self.state))
        if a.field is not None:
            set_quietly(q, a.checked(self.state))

    def fill_menus(self, bar: QMenuBar) -> dict[str, object]:
        """The menu bar's menus from the table, in table order, a separator between sections."""
        menus = {}
        for name in MENUS:
            menu = bar.addMenu(f"&{name}")
            section = None
            for a in ACTIONS:
                if a.menu != name:
                    continue
                if section is not None and a.section != section:
                    menu.addSeparator()
                section = a.section
                menu.addAction(self.qactions[a.id])
            menus[name] = menu
        return menus

    def toolbar(self) -> QToolBar:
        """The toolbar: the table's toolbar actions, each followed by the spin boxes declared after it."""
        tb = QToolBar("Main")
        tb.setObjectName("main-toolbar")
        for a in ACTIONS:
            if not a.toolbar:
                continue
            tb.addAction(self.qactions[a.id])
            if a.id == "file.open":
                tb.addSeparator()
            for spin in SPINS:
                if spin.after == a.id:
                    tb.addWidget(self._spin(spin))
        return tb

    def _spin(self, s: Spin) -> QSpinBox:
        box = QSpinBox()
        box.setRange(s.low, s.high)
        box.setValue(round(getattr(self.state, s.field) * s.scale))
        box.setPrefix(s.prefix)
        box.setSuffix(s.suffix)
        box.setToolTip(s.tip)
        box.valueChanged.connect(lambda v, s=s: setattr(self.state, s.field, v / s.scale if s.scale != 1 else v))
        self.state.signal(s.field).connect(lambda v, _o=None, b=box, s=s: set_quietly(b, round(v * s.scale)))
        self.spins[s.field] = box
        return box


class HelpOverlay(QScrollArea):
    """A translucent card over its parent listing every key (from the action table) and mouse gesture.

    The rows go in as many columns side by side (1..MAX_COLUMNS) as make the card fit in the parent
    (at most WIDTH x HEIGHT of it, centred in height, towards the right); if even the most columns do not fit (a tiny window, the
    presentation font), the card scrolls, so every row can be reached. A click on the card closes it."""

    WIDTH, HEIGHT = 0.7, 0.92  # of the parent, at most (the plane, on the left, stays clickable beside it)
    MAX_COLUMNS = 3
    MIN_POINTS = 9.0  # the card's font is never made smaller than this to fit
    PAD = 18
    STYLE = f"background: rgba(20, 20, 24, 225); color: #f4f4f4; border-radius: 14px; padding: {PAD}px;"

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.card = QLabel()
        self.card.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.card.setWordWrap(True)
        self.card.setStyleSheet(self.STYLE)
        self.card.mousePressEvent = lambda ev: self.setVisible(False)
        self.columns = 1
        self.setWidget(self.card)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setStyleSheet("QScrollArea { background: transparent; }")
        self.viewport().setAutoFillBackground(False)
        self.setVisible(False)
        parent.installEventFilter(self)

    @staticmethod
    def rows() -> list[tuple[str, str]]:
        return help_rows(key_text)

    def text(self) -> str:
        return self.card.text()

    def toggle(self) -> None:
        self.setVisible(not self.isVisible())
        if self.isVisible():
            self.refresh()
            self.raise_()

    @staticmethod
    def _html(rows: list[tuple[str, str]], columns: int) -> str:
        per = -(-len(rows) // columns)
        cells = []
        for c in range(columns):
            body = "".join(f"<tr><td align=right style='padding:2px 10px'><b>{html.escape(k)}</b></td>"
                           f"<td style='padding:2px'>{html.escape(v)}</td></tr>" for k, v in rows[c * per:(c + 1) * per])
            cells.append(f"<td valign=top style='padding:0 12px'><table>{body}</table></td>")
        return (f"<h2>Keys</h2><table><tr>{''.join(cells)}</tr></table>"
                "<p style='color:#bbb'>F1 or Esc closes this</p>")

    def refresh(self) -> None:
        """Lay the rows out in the fewest columns that fit the parent, in the window's font (presentation mode
        scales it) or, if they cannot fit in it, a smaller one down to MIN_POINTS; size and centre the card."""
        p = self.parentWidget()
        max_w, max_h = int(p.width() * self.WIDTH), int(p.height() * self.HEIGHT)
        big = p.font().pointSizeF()
        sizes = [big * 0.85 ** i for i in range(8) if big * 0.85 ** i >= min(big, self.MIN_POINTS)]
        for size, columns in ((pt, c) for pt in sizes for c in range(1, self.MAX_COLUMNS + 1)):
            w, h = self._layout(columns, size, max_w)
            if h <= max_h:
                break
        self.columns = columns
        bar = self.verticalScrollBar().sizeHint().width() if h > max_h else 0
        w, h = min(max_w, w + bar), min(max_h, h)
        # towards the right (over the pane and the panels), so the plane on the left keeps taking clicks
        self.setGeometry(max(0, p.width() - w - int(p.width() * 0.04)), (p.height() - h) // 2, w, h)

    def _layout(self, columns: int, points: float, max_w: int) -> tuple[int, int]:
        """Put the rows on the card in ``columns`` at ``points``; the card's (width, height) then."""
        font = QFont(self.parentWidget().font())  # set here: a style sheet stops the window's font reaching it
        font.setPointSizeF(points)
        self.card.setFont(font)
        text = self._html(self.rows(), columns)
        self.card.setText(text)
        doc = QTextDocument()
        doc.setDefaultFont(font)
        doc.setHtml(text)
        w = min(max_w, int(doc.idealWidth()) + 2 * self.PAD + 4)  # unwrapped if it fits
        # measured as narrow as with a scroll bar: the scroll area asks for that height before it knows it has none
        return w, self.card.heightForWidth(w - self.verticalScrollBar().sizeHint().width()) + 2

    def fits(self) -> bool:
        """Every row is on the card without scrolling."""
        return self.card.heightForWidth(self.viewport().width()) <= self.viewport().height()

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Resize and self.isVisible():
            self.refresh()
        return False


__all__ = ["BY_ID", "SPINS", "ActionSet", "HelpOverlay", "key_text", "set_quietly"]
