"""The main window's messages: the red error banner and the amber note over the plane (a mixin of
explorer.qt.main_window.MainWindow, which makes ``error_label``, ``note_label`` and ``errorShown``)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel


class WindowMessages:
    def show_error(self, message: str) -> None:
        """Non-modal: the window stays usable; click the banner to dismiss it."""
        self.last_error = message
        self.error_label.setText(message)
        self.error_label.setVisible(True)
        self.statusBar().showMessage(message, 8000)
        self.errorShown.emit(message)

    def show_note(self, message: str | None) -> None:
        """A warning about the open model (a collapsed posterior: training/verdict.py) in an amber banner over
        the plane, until it is clicked or another model opens (None hides it); the Model panel keeps it."""
        self.note_label.setText(message or "")
        self.note_label.setVisible(bool(message))
        if message:
            self.statusBar().showMessage(message, 8000)

    @staticmethod
    def _banner(style: str) -> QLabel:
        """A message line over the plane, hidden until it has something to say; a click dismisses it."""
        label = QLabel()
        label.setWordWrap(True)
        label.setStyleSheet(style)
        label.setVisible(False)
        label.mousePressEvent = lambda ev: label.setVisible(False)
        return label
