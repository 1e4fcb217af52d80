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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from explorer.core.decode_service import DecodeFailure, DecodeResult
from explorer.core.palettes import colour
from explorer.core.pane import PaneController, pane_target, shown_session
from explorer.core.state import ExplorerState
from explorer.qt.bridge import ServiceBridge
from explorer.qt.image_view import to_qimage
from explorer.qt.widgets import swatch

CHANNEL = "classes"
MAX_SCALE = 4  # the tiles grow up to 4x (112 px for 28-pixel images), then stop taking height from the pane
MAX_ROWS = 2  # two rows of five for ten classes; a third would take the panels' height
MARGIN, GAP, FRAME, BAR = 5, 4, 3, 4  # px: inside a cell, between cells, the chosen frame, the class colour bar


def n_classes(session: Any) -> int:
    """How many classes the dial offers: the dataset's classes, at most the model's one-hot size."""
    n = len(session.label_names)
    k = getattr(getattr(session.model, "config", None), "num_classes", None)
    return min(n, int(k)) if isinstance(k, int) and k > 0 else n


@dataclass(frozen=True)
class ClassRequest:
    """What a "classes" request was made for (its ``meta``)."""

    z: tuple[float, float]
    session: Any  # compared by identity


class ClassTiles(QWidget):
    """The images of the class row, each at the same integer scale with its class name under it.

    Lays itself out in 1 to MAX_ROWS rows: those that give the largest tiles (up to MAX_SCALE times the
    image), and of those the fewest rows."""

    clicked = Signal(int)  # a class's tile was clicked

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.images: np.ndarray | None = None  # (C, H, W[, 3]) in [0, 1]: exactly what is painted
        self._qimages: list[QImage] = []
        self.names: list[str] = []
        self.colours: list[str] = []
        self.chosen = 0
        self.image_size = (28, 28)  # (H, W) of one image
        self._hover = -1
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    # ---------------------------------------------------------------- content

    def set_classes(self, names: list[str], colours: list[str], image_size: tuple[int, int]) -> None:
        self.names, self.colours, self.image_size = list(names), list(colours), image_size
        self.set_images(None)
        self._fit_height()

    def set_colours(self, colours: list[str]) -> None:
        self.colours = list(colours)
        self.update()

    def set_images(self, images: np.ndarray | None) -> None:
        self.images = None if images is None else np.asarray(images)
        self._qimages = [] if images is None else [to_qimage(img) for img in self.images]
        if images is not None and self.images.shape[1:3] != self.image_size:
            self.image_size = tuple(self.images.shape[1:3])
            self._fit_height()
        self.update()

    def set_chosen(self, k: int) -> None:
        self.chosen = k
        self.update()

    # ---------------------------------------------------------------- geometry

    def _name_lines(self, cell_w: int) -> int:
        """1 or 2: two when a class name needs them at this width (word-wrapped, then elided)."""
        fm = QFontMetrics(self._name_font(True))
        inner = max(1, cell_w - 2 * MARGIN)
        return 2 if any(fm.horizontalAdvance(n) > inner for n in self.names) else 1

    def _name_font(self, bold: bool = False) -> QFont:
        f = QFont(self.font())
        f.setBold(bold)
        return f

    def grid(self, width: int) -> tuple[int, int, int, int, int]:
        """(rows, cols, scale, cell width, cell height) for a widget ``width`` pixels wide."""
        n = max(1, len(self.names))
        h, w = self.image_size
        options = []
        for rows in range(1, min(MAX_ROWS, n) + 1):
            cols = math.ceil(n / rows)
            cell_w = (width - (cols - 1) * GAP) // cols
            k = min(MAX_SCALE, max(1, (cell_w - 2 * MARGIN) // w))
            options.append((rows, cols, k, cell_w))
        rows, cols, k, cell_w = max(options, key=lambda o: (o[2], -o[0]))  # the largest tiles, then fewest rows
        widest = max((QFontMetrics(self._name_font(True)).horizontalAdvance(n) for n in self.names), default=0)
        cell_w = max(w * k, min(cell_w - 2 * MARGIN, widest)) + 2 * MARGIN  # no wider than its name needs
        line = QFontMetrics(self._name_font(True)).height()
        cell_h = MARGIN + h * k + BAR + 2 + self._name_lines(cell_w) * line + MARGIN + FRAME
        return rows, cols, k, cell_w, cell_h

    def hasHeightForWidth(self) -> bool:
        return False  # the minimum height follows the width instead (_fit_height): docks ignore height-for-width

    def heightForWidth(self, width: int) -> int:
        rows, _, _, _, cell_h = self.grid(width)
        return rows * cell_h + (rows - 1) * GAP

    def sizeHint(self) -> QSize:
        w = 360
        return QSize(w, self.heightForWidth(w))

    def minimumSizeHint(self) -> QSize:
        return QSize(self.image_size[1] * 3, self.minimumHeight())

    def cell_rect(self, i: int) -> QRect:
        rows, cols, _, cell_w, cell_h = self.grid(self.width())
        total = cols * cell_w + (cols - 1) * GAP
        x0 = max(0, (self.width() - total) // 2)
        r, c = divmod(i, cols)
        return QRect(x0 + c * (cell_w + GAP), r * (cell_h + GAP), cell_w, cell_h)

    def tile_rect(self, i: int) -> QRect:
        """Where class i's image is painted (its size is exactly scale x the image)."""
        _, _, k, _, _ = self.grid(self.width())
        cell = self.cell_rect(i)
        h, w = self.image_size
        return QRect(cell.x() + (cell.width() - w * k) // 2, cell.y() + MARGIN, w * k, h * k)

    def index_at(self, pos) -> int:
        for i in range(len(self.names)):
            if self.cell_rect(i).contains(pos):
                return i
        return -1

    def scale(self) -> int:
        return self.grid(self.width())[2]

    # ---------------------------------------------------------------- painting and the mouse

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # nearest neighbour: crisp pixels
        pal = self.palette()
        hi = pal.highlight().color()
        _, _, k, cell_w, _ = self.grid(self.width())
        line = QFontMetrics(self._name_font(True)).height()
        lines = self._name_lines(cell_w)
        for i, name in enumerate(self.names):
            cell = self.cell_rect(i)
            tile = self.tile_rect(i)
            if i == self.chosen:  # the chosen class: a tinted cell in a thick frame
                fill = QColor(hi)
                fill.setAlpha(50)
                p.fillRect(cell, fill)
                p.setPen(QPen(hi, FRAME))
                p.drawRect(cell.adjusted(FRAME // 2, FRAME // 2, -(FRAME - FRAME // 2), -(FRAME - FRAME // 2)))
            elif i == self._hover:
                p.setPen(QPen(pal.mid().color(), 1))
                p.drawRect(cell.adjusted(0, 0, -1, -1))
            if i < len(self._qimages):
                p.drawImage(tile, self._qimages[i])
            else:  # not decoded yet
                p.fillRect(tile, pal.midlight())
            if i < len(self.colours):
                p.fillRect(QRect(tile.x(), tile.bottom() + 1, tile.width(), BAR), QColor(self.colours[i]))
            p.setFont(self._name_font(i == self.chosen))
            p.setPen(pal.text().color())
            text_rect = QRect(cell.x() + 1, tile.bottom() + 1 + BAR + 2, cell.width() - 2, lines * line)
            fm = p.fontMetrics()
            text = name if lines == 2 else fm.elidedText(name, Qt.TextElideMode.ElideRight, text_rect.width())
            flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
            p.drawText(text_rect, flags, text)
        p.end()

    def mousePressEvent(self, ev) -> None:
        i = self.index_at(ev.position().toPoint())
        if i >= 0 and ev.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(i)
            ev.accept()
            return
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:
        i = self.index_at(ev.position().toPoint())
        if i != self._hover:
            self._hover = i
            self.update()
            if i >= 0:
                QToolTip.showText(ev.globalPosition().toPoint(), f"decode the main pane as {self.names[i]}", self)
        super().mouseMoveEvent(ev)

    def leaveEvent(self, ev) -> None:
        self._hover = -1
        self.update()
        super().leaveEvent(ev)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._fit_height()

    def _fit_height(self) -> None:
        """Every row whole: the height follows the width (rows and scale), so the dock makes room."""
        h = self.heightForWidth(self.width())
        if self.minimumHeight() != h:
            self.setFixedHeight(h)


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
        ev.palette.connect(self._on_palette)
        service.result.connect(self._on_result)
        service.failed.connect(self._on_failed)

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
        self.requested_id = self.service.request(zs, CHANNEL, meta=req, labels=np.arange(n, dtype=np.int64),
                                                 model=other)
        return self.requested_id

    def _on_result(self, res: DecodeResult) -> None:
        if res.channel != CHANNEL or res.id <= self.shown_id or self.session is None:
            return
        if res.meta.session is not self.session:  # made for the model shown before
            return
        self.shown_id = res.id
        self.z = np.asarray(res.meta.z, np.float32)
        self.tiles.set_images(res.images)
        self.rowShown.emit(res)

    def _on_failed(self, f: DecodeFailure) -> None:
        if f.channel == CHANNEL and f.id > self.shown_id:  # the window shows the error; the row is not waiting
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
