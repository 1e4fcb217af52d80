"""A smooth move of ``state.view`` to a new view: a few frames over a quarter of a second, on the GUI thread.

Each frame is a state assignment (explorer.core.snapshot_framing.glide: the centre in a line, the size geometric), so
``state.view`` is what is visible all the way; the last frame writes the target itself. A view written by
anyone else meanwhile (a pan, a zoom, Reset view, a scene) stops the move: theirs stays. A plane resized on the
way (its axis numbers grow wider) only widens the frame asked for (explorer.core.snapshot_framing.is_widened): the move
goes on.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractAnimation, QObject, QVariantAnimation

from explorer.core.snapshot_framing import View, glide, is_widened
from explorer.core.state import ExplorerState

GLIDE_MS = 250


class ViewGlide(QObject):
    def __init__(self, state: ExplorerState, ms: int = GLIDE_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._from: View | None = None
        self._to: View | None = None
        self._writing = False
        self._asked: View | None = None  # the last frame written
        self.anim = QVariantAnimation(self)
        self.anim.setStartValue(0.0)
        self.anim.setEndValue(1.0)
        self.anim.setDuration(ms)
        self.anim.valueChanged.connect(self._step)
        self.anim.finished.connect(self._done)
        state.camera.events.view.connect(self._on_view)

    @property
    def idle(self) -> bool:
        """No move under way."""
        return self.anim.state() != QAbstractAnimation.State.Running

    def to(self, view: View | None) -> None:
        """Move the view to ``view``: smoothly from the one shown, at once if none is."""
        if view is None:
            return
        self.anim.stop()
        start = self.state.view
        if start is None or self.anim.duration() <= 0:
            self._write(view)
            return
        self._from, self._to = tuple(start), tuple(view)
        self.anim.start()

    def stop(self) -> None:
        self.anim.stop()

    def _step(self, t) -> None:
        if self._to is not None and not self.idle:
            self._write(glide(self._from, self._to, float(t)))

    def _done(self) -> None:
        if self._to is not None:
            self._write(self._to)  # exactly the target, whatever the last frame's rounding
        self._from = self._to = None

    def _write(self, view: View) -> None:
        self._writing, self._asked = True, tuple(view)
        try:
            self.state.view = view
        finally:
            self._writing = False

    def _on_view(self, view, _old=None) -> None:
        if self._writing or self.idle or view is None or (self._asked is not None and is_widened(view, self._asked)):
            return  # our own frame, or it widened by a resize
        self.anim.stop()  # someone else moved the view: theirs stays
        self._from = self._to = None
