"""Plain clicks and marker drags on a LatentView, handled before pyqtgraph's scene sees them.

pyqtgraph's scene dispatch looks for the items under the mouse on every press, release and move
(``GraphicsScene.itemsNearEvent``, which asks every class scatter for its ``boundingRect`` and so for
its ``pixelVectors``): about 120 such calls per click, 10-15 ms of the GUI thread, all before the click
could ask for its decode (benchmarks/README.md, issue 11). A click or a marker drag needs none of it:

- **A left press inside the plot, off the marker, is held back.** If the release comes within
  ``CLICK_SLOP`` pixels it is a click: the view decodes there and the scene never hears of it. If the
  mouse moves farther first, the press is replayed to the scene, where it pans as it always did.
- **A left press on the marker drags the marker here**, as pyqtgraph's ``TargetItem.mouseDragEvent``
  would: it starts once the mouse is ``MOVE_DISTANCE`` pixels away (or after ``MIN_DRAG_TIME`` s), and
  keeps the offset between the marker and the press. Each move sets the marker's position; its
  ``sigPositionChanged`` then writes ``state.point`` (LatentView._on_marker).
- **A move with no button, inside the plot, skips the scene's hover dispatch** (an item search per
  move, like a press). Inside the plot the only item that reacts to hover is the marker, which shows
  its hover pen when the mouse is within ``CLICK_RADIUS`` pixels of its shape: that is done here, as
  pyqtgraph's ``TargetItem.hoverEvent`` would. Moves over the axes and margins go to the scene.
- Everything else (other buttons, presses outside the plot, double clicks, wheel) goes to pyqtgraph
  unchanged. The lasso (explorer/qt/plane/selection.py) filters the viewport's events before any of this.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QMouseEvent

LEFT = Qt.MouseButton.LeftButton
CLICK_SLOP = 4  # px (Manhattan): a press and release closer than this is a click, farther is a pan
MOVE_DISTANCE = 5.0  # px: a marker drag starts this far from the press (pyqtgraph's scene default) ...
MIN_DRAG_TIME = 0.5  # s: ... or, once held this long, at any distance (pyqtgraph's minDragTime)
CLICK_RADIUS = 2  # px: pyqtgraph's scene finds items this close to the mouse (GraphicsScene clickRadius)


class _Press:
    """What a held-back press needs to be replayed later (Qt reuses the event object itself)."""

    def __init__(self, ev) -> None:
        self.pos = QPointF(ev.position())
        self.global_pos = QPointF(ev.globalPosition())
        self.button, self.buttons, self.modifiers = ev.button(), ev.buttons(), ev.modifiers()
        self.time = time.perf_counter()

    def event(self) -> QMouseEvent:
        return QMouseEvent(QEvent.Type.MouseButtonPress, self.pos, self.global_pos, self.button, self.buttons,
                           self.modifiers)

    def slop(self, pos: QPointF) -> float:
        d = pos - self.pos
        return abs(d.x()) + abs(d.y())


class _MarkerDrag:
    def __init__(self, press: _Press, offset: QPointF) -> None:
        self.press = press
        self.offset = offset  # marker position - data position of the press
        self.started = False


class PlaneMouse:
    """The LatentView's mouse handlers call ``press`` / ``move`` / ``release`` first; False means
    "not mine": the view passes the event on to pyqtgraph. ``scene_press(ev)`` is the view's own
    pyqtgraph press handler (for replaying a held-back press)."""

    def __init__(self, view, scene_press) -> None:
        self.view = view
        self._scene_press = scene_press
        self.held: _Press | None = None  # a left press that may be a click; the scene has not seen it
        self.drag: _MarkerDrag | None = None  # the marker is being dragged by this press
        self.clicks = 0  # clicks handled here (tests)

    def _scene_pos(self, pos: QPointF):
        return self.view.mapToScene(pos.toPoint())

    def _data(self, pos: QPointF) -> QPointF:
        return self.view.vb.mapSceneToView(self._scene_pos(pos))

    def replay(self) -> None:
        """The held-back press is not a click after all: the scene gets it now (a pan begins)."""
        held, self.held = self.held, None
        if held is not None:
            self._scene_press(held.event())

    def press(self, ev) -> bool:
        if self.drag is not None:  # another button during a marker drag ends the drag, as in pyqtgraph
            self.drag = None
            return True
        self.replay()  # a second button while a left press is held back: the scene sees both, in order
        if ev.button() != LEFT or ev.buttons() != LEFT:
            return False
        view = self.view
        sp = self._scene_pos(ev.position())
        if view.on_marker(sp):
            if not view.marker.movable:
                return False
            p = _Press(ev)
            self.drag = _MarkerDrag(p, view.marker.pos() - view.vb.mapSceneToView(sp))
            return True
        if view.to_data(sp) is None:  # on an axis or a margin: pyqtgraph's (an axis drag pans one axis)
            return False
        self.held = _Press(ev)
        return True

    def move(self, ev) -> bool:
        if not ev.buttons() and self.drag is None and self.held is None:
            return self._hover(ev.position())
        if self.drag is not None:
            if not ev.buttons() & LEFT:  # the release went elsewhere
                self.drag = None
                return False
            self._drag_to(ev.position())
            return True
        if self.held is not None:
            if not ev.buttons() & LEFT:
                self.held = None
                return False
            if self.held.slop(ev.position()) <= CLICK_SLOP:
                return True  # still a click; the scene does not need this move
            self.replay()
        return False

    def _hover(self, pos: QPointF) -> bool:
        """A move with no button: True if the scene need not see it (inside the plot)."""
        view = self.view
        sp = self._scene_pos(pos)
        m = view.marker
        if view.to_data(sp) is None:  # the axes and margins: pyqtgraph's hover dispatch, which knows nothing
            m.setMouseHover(False)  # of the hover set below (were the mouse near the marker, it sets it again)
            return False
        if m.movable and m.isVisible():  # TargetItem.hoverEvent: the hover pen while the mouse is on it
            # pyqtgraph's own test (GraphicsScene.itemsNearEvent), in the item's coordinates as there: the
            # shape meets a square of CLICK_RADIUS around the mouse, or contains the mouse
            rgn = QRectF(sp.x() - CLICK_RADIUS, sp.y() - CLICK_RADIUS, 2 * CLICK_RADIUS, 2 * CLICK_RADIUS)
            shape = m.shape()
            near = shape.intersects(m.mapFromScene(rgn).boundingRect()) or shape.contains(m.mapFromScene(sp))
            m.setMouseHover(bool(near))
        return True

    def leave(self) -> None:
        """The mouse left the plane: no hover pen (pyqtgraph's exit events cover only what it set)."""
        self.view.marker.setMouseHover(False)

    def release(self, ev) -> bool:
        if self.drag is not None:
            if ev.button() != LEFT:
                return True
            drag, self.drag = self.drag, None
            if drag.started:
                self._drag_to(ev.position(), drag)
            # pyqtgraph re-sends hover events after a release: the marker shows its hover pen again
            self.view.marker.setMouseHover(self.view.on_marker(self._scene_pos(ev.position())))
            return True
        if self.held is not None and ev.button() == LEFT:
            held, self.held = self.held, None
            if held.slop(ev.position()) <= CLICK_SLOP:
                self.clicks += 1
                self.view._on_click(self._scene_pos(ev.position()))
            return True
        return False

    def _drag_to(self, pos: QPointF, drag: _MarkerDrag | None = None) -> None:
        drag = drag or self.drag
        if not drag.started:
            d = pos - drag.press.pos
            dist = (d.x() ** 2 + d.y() ** 2) ** 0.5
            if dist == 0 or (dist < MOVE_DISTANCE and time.perf_counter() - drag.press.time < MIN_DRAG_TIME):
                return
            drag.started = True
            self.view.marker.setMouseHover(False)  # as during pyqtgraph's drag (hover events refused)
        self.view.marker.setPos(drag.offset + self._data(pos))
