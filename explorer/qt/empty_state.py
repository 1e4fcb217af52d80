"""The empty state: a card over the plane while no model is open.

Without it a window with no model shows an empty, oddly zoomed plane that still says "Click the
plane to decode a point". The card says what is going on instead: "Opening m.safetensors …" while
the first model loads, and, when no model could be opened, "No model" with how to open one. It
follows ``state.session`` (hidden as soon as a model is open) and lets mouse events and drops
through to the window, so dropping a file on it opens that file.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

from explorer.core.state import ExplorerState

NO_MODEL = "No model \u2014 open one with Ctrl+O or drop a file"
NO_MODEL_DETAIL = "a .safetensors file made by latent-train"


class EmptyState(QLabel):
    """Covers ``target`` (moved and resized with it) while ``state.session`` is None.

    It is a sibling of ``target``, not a child: a QSplitter would take a child widget as a new pane."""

    def __init__(self, target: QWidget, state: ExplorerState):
        super().__init__(target.parentWidget())
        self.target, self.state = target, state
        self.setObjectName("empty-state")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # clicks and drops reach the window
        self.setStyleSheet("QLabel#empty-state { background: rgba(250, 250, 250, 248); color: #3c3c3c; }")
        self.opening_path: Path | None = None
        target.installEventFilter(self)
        state.events.session.connect(self._update)
        self._update()

    @property
    def message(self) -> str:
        """The headline shown (plain text), or "" when hidden."""
        if self.state.session is not None:
            return ""
        return f"Opening {self.opening_path.name} \u2026" if self.opening_path is not None else NO_MODEL

    def opening(self, path: str | Path) -> None:
        """A model is being opened: say so (the card stays until it is open or the open failed)."""
        self.opening_path = Path(path)
        self._update()

    def failed(self, _message: str = "") -> None:
        """The open failed: with no model loaded, show how to open one (the reason is in the error banner)."""
        self.opening_path = None
        self._update()

    def _update(self, *_args) -> None:
        headline = self.message
        self.setVisible(bool(headline))
        if not headline:
            self.opening_path = None
            return
        detail = "" if self.opening_path is not None else f"<br><span style='font-size:11pt'>{NO_MODEL_DETAIL}</span>"
        self.setText(f"<span style='font-size:17pt'>{headline}</span>{detail}")
        self.setGeometry(self.target.geometry())
        self.raise_()

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if obj is self.target and ev.type() in (QEvent.Type.Resize, QEvent.Type.Move):
            self.setGeometry(self.target.geometry())
        return False
