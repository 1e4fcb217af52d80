"""The CVAE class dial: decode(z, y = c) for every class c at the z the main pane shows, and the class
the main pane decodes with.

Only for a conditional model (``session.conditional``); for any other model the dial is hidden and
sends nothing. It sits under the decoded image, in the "Decoded" dock:

- a class selector (a combo box with the plane's class colours) that sets ``state.condition``;
- the class row: one small image per class, painted at an integer scale (crisp on a projector), its
  class name under it, the chosen class framed. Clicking an image chooses that class.

The row follows the main pane: each time the pane controller requests a new z (click, drag, hover,
interpolation t, vectors, another model or snapshot), the dial sends ONE request of n_classes points
on the model service's "classes" channel (interactive lane, after "pane"), and shows only results newer
than the one on screen. Choosing a class does not decode the row again: the z did not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QSize, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer.core.decode_service import DecodeFailure, DecodeResult
from explorer.core.palettes import colour
from explorer.core.pane import PaneController, pane_target, shown_session
from explorer.core.state import ExplorerState
from explorer.qt.bridge import ServiceBridge
from explorer.qt.pane.class_tiles import ClassTiles
from explorer.qt.widgets import swatch


def n_classes(session: Any) -> int:
    """How many classes the dial offers: the dataset's classes, at most the model's one-hot size."""
    n = len(session.label_names)
    k = session.config.get("num_classes")  # from the config: the torch model may still be loading
    return min(n, int(k)) if isinstance(k, int) and k > 0 else n


@dataclass(frozen=True)
class ClassRequest:
    """What a "classes" request was made for (its ``meta``)."""

    z: tuple[float, float]
    session: Any  # compared by identity


class ClassDial(QWidget):
    """The class selector and the class row for a conditional main model; hidden for any other model."""

    rowShown = Signal(object)  # DecodeResult: the class row now shows these images

    def __init__(self, state: ExplorerState, controller: PaneController, service: ServiceBridge,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.service = service
        self.session: Any = None  # the session the row decodes with (the main pane's)
        self.z: np.ndarray | None = None  # (2,) the z the images on screen were decoded at
        self.requested: ClassRequest | None = None
        self.requested_id = 0
        self.shown_id = 0
        self.requests = 0  # requests sent (tests: one per change)

        self.combo = QComboBox()
        self.combo.setToolTip("The class the main pane, the interpolation and the underlay decode with "
                              "([ and ] step through the classes)")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.hint = QLabel("click an image to choose")
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # grey, and it keeps the window's font
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # the combo keeps its width
        self.tiles = ClassTiles()
        self.tiles.setToolTip("decode(z, class) for every class at the z the pane shows; click one to decode "
                              "the main pane as that class")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Decode as"))
        top.addWidget(self.combo)
        top.addWidget(self.hint, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(4)
        lay.addLayout(top)
        lay.addWidget(self.tiles)
        self.setVisible(False)

        # user -> state
        self.combo.currentIndexChanged.connect(self._chosen)
        self.tiles.clicked.connect(self._chosen)
        # state -> widgets and requests
        controller.requested_target.connect(self._on_target)
        ev = state.events
        for sig in (ev.session, ev.snapshot, ev.point, ev.base):
            sig.connect(self.update_row)
        ev.condition.connect(self._on_condition)
        state.style.events.palette.connect(self._on_palette)
        self.channel = service.channel("classes")
        self.channel.result.connect(self._on_result)
        self.channel.failed.connect(self._on_failed)

    # ---------------------------------------------------------------- requests

    @property
    def active(self) -> bool:
        return self.session is not None

    @property
    def idle(self) -> bool:
        """Nothing requested that is not on screen yet (or failed)."""
        return self.requested_id <= self.shown_id

    def _on_target(self, tgt: Any) -> None:
        if tgt.slot == 0:
            self.update_row()

    def update_row(self, *_a: Any) -> int | None:
        """Request the row for the z the main pane shows, if that z (or its model) changed."""
        session = shown_session(self.state, 0)
        if session is not self.session:
            self._set_session(session if session is not None and session.conditional else None)
        if self.session is None:
            return None
        tgt = pane_target(self.state, 0)
        if tgt is None:
            return None
        req = ClassRequest(tgt.z, session)
        if self.requested is not None and req.z == self.requested.z and req.session is self.requested.session:
            return None
        self.requested = req
        n = n_classes(session)
        other = session if session is not self.state.session else None  # None: the service's own model
        zs = np.repeat(np.asarray([tgt.z], np.float32), n, axis=0)
        self.requests += 1
        self.requested_id = self.channel.request(zs, meta=req, labels=np.arange(n, dtype=np.int64), model=other)
        return self.requested_id

    def _on_result(self, res: DecodeResult) -> None:
        if res.id <= self.shown_id or self.session is None:
            return
        if res.meta.session is not self.session:  # made for the model shown before
            return
        self.shown_id = res.id
        self.z = np.asarray(res.meta.z, np.float32)
        self.tiles.set_images(res.images)
        self.rowShown.emit(res)

    def _on_failed(self, f: DecodeFailure) -> None:
        if f.id > self.shown_id:  # the window shows the error; the row is not waiting
            self.shown_id = f.id

    # ---------------------------------------------------------------- the classes

    def _set_session(self, session: Any) -> None:
        self.session = session
        self.requested, self.z = None, None
        self.shown_id = self.requested_id  # nothing of the old model's is awaited
        self.setVisible(session is not None)
        if session is None:
            self.tiles.set_images(None)
            return
        n = n_classes(session)
        names = list(session.label_names[:n])
        _, h, w = session.image_shape
        self.tiles.set_classes(names, self._colours(n), (h, w))
        self.combo.blockSignals(True)
        self.combo.clear()
        for k, name in enumerate(names):
            self.combo.addItem(swatch(colour(self.state.palette, k), 14), name)
        self.combo.setCurrentIndex(min(self.state.condition, n - 1))
        self.combo.blockSignals(False)
        self.tiles.set_chosen(self.state.condition)

    def _colours(self, n: int) -> list[str]:
        return [colour(self.state.palette, k) for k in range(n)]

    def _on_palette(self, *_a: Any) -> None:
        if self.session is None:
            return
        n = self.combo.count()
        for k in range(n):
            self.combo.setItemIcon(k, swatch(colour(self.state.palette, k), 14))
        self.tiles.set_colours(self._colours(n))

    def _chosen(self, k: int) -> None:
        if k >= 0 and k != self.state.condition:
            self.state.condition = k  # the user's choice: the pane, filmstrip and underlay follow

    def _on_condition(self, k: int, _old: Any = None) -> None:
        if self.session is None:
            return
        if self.combo.currentIndex() != k and k < self.combo.count():
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(k)
            self.combo.blockSignals(False)
        self.tiles.set_chosen(k)

    def bind_actions(self, actions) -> None:
        """] and [: decode as the next / previous class, anywhere in the window."""
        actions.bind("class.next", lambda: self.step(+1))
        actions.bind("class.prev", lambda: self.step(-1))

    def step(self, delta: int) -> None:
        """The next (+1) or previous (-1) class, wrapping around (keys ] and [)."""
        if self.session is None:
            return
        self.state.condition = (self.state.condition + delta) % n_classes(self.session)


class _Host(QWidget):
    """Holds the decode pane with its height-for-width turned into a minimum height at the current width.

    A dock sums minimum heights and ignores height-for-width; without this, the class row under the pane
    would squeeze the decoded image under its own caption."""

    def __init__(self, child: QWidget, dial: QWidget):
        super().__init__()
        self.child, self.dial = child, dial
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(child)
        self._width = -1
        dial.installEventFilter(self)  # the class row shown or hidden: another minimum height

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.dial and ev.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            self.updateGeometry()
        return False

    def hasHeightForWidth(self) -> bool:
        return self.child.hasHeightForWidth() and self.dial.isHidden()  # no class row: as if the pane were alone

    def heightForWidth(self, w: int) -> int:
        return self.child.heightForWidth(w)

    def minimumSizeHint(self) -> QSize:
        hint = self.child.minimumSizeHint()
        if self.dial.isHidden():
            return hint
        need = self.child.heightForWidth(self.width()) if self.child.hasHeightForWidth() else -1
        return QSize(hint.width(), max(hint.height(), need))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if self.width() != self._width:  # the minimum height follows the width
            self._width = self.width()
            self.updateGeometry()


def with_class_dial(pane: QWidget, dial: ClassDial) -> QWidget:
    """The "Decoded" dock's content: the decode pane, and the class dial under it."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(0)
    host = _Host(pane, dial)
    lay.addWidget(host, 1)
    lay.addWidget(dial)
    return box
