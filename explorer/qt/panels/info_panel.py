"""Model metadata and metrics (kind, beta, dataset, test ELBO) as a two-column table; above it the model's
warning when ``latent-train`` judged it not useful (explorer.core.session.Session.warning) and the training
curves (training.curves.series: loss, reconstruction and test -ELBO; the KL below on its own scale;
snapshots as dotted lines), redrawn whenever a history arrives (a model opened, or live training)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from training.curves import CURVES, series, snapshot_epochs

LONG = 24  # characters: a value with a word this long (the SHA-256) is a scrolling line, not a label
WARNING_STYLE = "background:#fff4d6; color:#6b4a00; padding:6px; border-radius:4px;"


class InfoPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning.setVisible(False)
        self.form = QFormLayout()
        self.form.setContentsMargins(6, 6, 6, 6)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.rows: dict[str, str] = {}
        self.curves = pg.GraphicsLayoutWidget()
        self.curves.setBackground("w")
        self.curves.setMinimumHeight(220)
        self.plots = [self.curves.addPlot(row=0, col=0), self.curves.addPlot(row=1, col=0)]
        self.curves.ci.layout.setRowStretchFactor(0, 2)
        for p, label in zip(self.plots, ("nats / image", "KL"), strict=True):
            p.showGrid(x=True, y=True, alpha=0.25)
            p.setLabel("left", label)
            p.setMenuEnabled(False)
            p.addLegend(offset=(-4, 4), labelTextSize="8pt")
        self.plots[1].setXLink(self.plots[0])
        self.plots[1].setLabel("bottom", "epoch")
        self.shown_series: dict[str, tuple[list[float], list[float]]] = {}  # what the curves draw (tests)
        self.shown_snapshots: list[float] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.warning)
        lay.addWidget(self.curves, 1)  # where people look (live training draws here)
        lay.addLayout(self.form)
        self.set_rows([("model", "none loaded yet")])
        self.set_history(None)

    def set_rows(self, rows: list[tuple[str, str]], warning: str | None = None) -> None:
        """The table's rows, and the model's warning above them (hidden when None)."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows = dict(rows)
        for key, value in rows:
            self.form.addRow(QLabel(f"<b>{key}</b>"), _value(value))
        self.warning.setText(f"\u26a0 {warning}" if warning else "")
        self.warning.setVisible(bool(warning))

    def set_history(self, history: list[dict] | None, snapshots: list[dict] | None = None) -> None:
        """Draw the per-epoch curves of ``history`` (a checkpoint's) and mark ``snapshots``."""
        self.shown_series = series(history)
        self.shown_snapshots = snapshot_epochs(snapshots, history)
        for p in self.plots:
            p.clear()
        for key, _, label, panel, colour in CURVES:
            if key in self.shown_series:
                xs, ys = self.shown_series[key]
                self.plots[panel].plot(xs, ys, pen=pg.mkPen(colour, width=2), name=label,
                                       symbol="o" if len(xs) < 40 else None, symbolSize=5,
                                       symbolBrush=colour, symbolPen=None)
        for x in self.shown_snapshots:
            for p in self.plots:
                p.addItem(pg.InfiniteLine(x, angle=90, pen=pg.mkPen(QColor(90, 90, 90), style=Qt.PenStyle.DotLine)))
        self.curves.setVisible(bool(self.shown_series))


def _value(text: str) -> QWidget:
    """A label that wraps at spaces; a long unbroken value is a read-only line that shows its start and
    scrolls, so the table never makes the dock column (~360 px at 1280x720) wider; selecting copies it whole."""
    if max(map(len, text.split()), default=0) <= LONG:
        v = QLabel(text)
        v.setWordWrap(True)
        v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return v
    line = QLineEdit(text)
    line.setReadOnly(True)
    line.setFrame(False)
    line.setCursorPosition(0)
    line.setToolTip(text)
    line.setStyleSheet("background: transparent;")
    line.setMinimumWidth(60)
    return line
