"""Model metadata and metrics (kind, beta, dataset, test ELBO) as a two-column table.

Values wrap at spaces; a long unbroken one (the SHA-256, a long file name) is a read-only line that
shows its start and scrolls, so the table never makes the dock column wider (it is ~360 px at 1280x720),
and selecting it copies the whole value."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

LONG = 24  # characters: a value with a word this long is a scrolling line, not a label


class InfoPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(6, 6, 6, 6)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.rows: dict[str, str] = {}
        self.set_rows([("model", "none loaded yet")])

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows = dict(rows)
        for key, value in rows:
            self.form.addRow(QLabel(f"<b>{key}</b>"), _value(value))


def _value(text: str) -> QWidget:
    if max(map(len, text.split()), default=0) <= LONG:
        v = QLabel(text)
        v.setWordWrap(True)
        v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return v
    line = QLineEdit(text)
    line.setReadOnly(True)
    line.setFrame(False)
    line.setCursorPosition(0)  # its start shows
    line.setToolTip(text)
    line.setStyleSheet("background: transparent;")
    line.setMinimumWidth(60)
    return line
