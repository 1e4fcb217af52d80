"""Model metadata and metrics (kind, beta, dataset, test ELBO) as a two-column table, under the model's
warning when ``latent-train`` judged it not useful (explorer.core.session.Session.warning)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

WARNING_STYLE = "background:#fff4d6; color:#6b4a00; padding:6px; border-radius:4px;"


class InfoPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(6, 6, 6, 6)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning.setVisible(False)
        box.addWidget(self.warning)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        box.addLayout(self.form)
        box.addStretch(1)
        self.rows: dict[str, str] = {}
        self.set_rows([("model", "none loaded yet")])

    def set_rows(self, rows: list[tuple[str, str]], warning: str | None = None) -> None:
        """The table's rows, and the model's warning above them (hidden when None)."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows = dict(rows)
        for key, value in rows:
            v = QLabel(value)
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.form.addRow(QLabel(f"<b>{key}</b>"), v)
        self.warning.setText(f"\u26a0 {warning}" if warning else "")
        self.warning.setVisible(bool(warning))
