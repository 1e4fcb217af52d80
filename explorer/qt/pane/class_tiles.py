"""The tiles of the CVAE class row: one image per class at one integer scale, its class name under it,
the chosen class framed. Painted in one widget, so every tile has exactly the same size and crisp pixels.
Used by explorer.qt.pane.class_row (the class dial), which decodes the images.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from explorer.qt.pane.image_view import to_qimage

MAX_SCALE = 4  # the tiles grow up to 4x (112 px for 28-pixel images), then stop taking height from the pane
MAX_ROWS = 2  # two rows of five for ten classes; a third would take the panels' height
MARGIN, GAP, FRAME, BAR = 5, 4, 3, 4  # px: inside a cell, between cells, the chosen frame, the class colour bar
TIGHT = 2  # margin and gap of the tight layout: one row, no names under the tiles (their colour bars stay)


class Grid(NamedTuple):
    rows: int
    cols: int
    scale: int  # each image at scale x its pixels
    cell_w: int
    cell_h: int
    margin: int
    gap: int
    names: bool  # the class names under the tiles (the tight layout leaves them to the tooltips and the combo)

    @property
    def height(self) -> int:
        return self.rows * self.cell_h + (self.rows - 1) * self.gap

    @property
    def width(self) -> int:
        return self.cols * self.cell_w + (self.cols - 1) * self.gap


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
        self.max_height: int | None = None  # set_max_height
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

    def _words_fit(self, inner: int) -> bool:
        """Every class name, wrapped where it may break ("T-shirt/ top"), fits ``inner`` pixels: no word is cut."""
        fm = QFontMetrics(self._name_font(True))
        flags = int((Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap).value)
        return all(fm.boundingRect(QRect(0, 0, inner, 1000), flags, n).width() <= inner for n in self.names)

    def _name_font(self, bold: bool = False) -> QFont:
        f = QFont(self.font())
        f.setBold(bold)
        return f

    def grid(self, width: int) -> Grid:
        """The layout for a widget ``width`` pixels wide: of those that fit it and are no taller than
        ``max_height``, the one with the largest tiles, then with the names, then the fewest rows (none fits:
        the narrowest, then the lowest)."""
        options = [self._grid(width, rows, True) for rows in range(1, min(MAX_ROWS, max(1, len(self.names))) + 1)]
        options.append(self._grid(width, 1, False))
        fit = [g for g in options if g.width <= width and (self.max_height is None or g.height <= self.max_height)
               and (not g.names or self._words_fit(g.cell_w - 2 * g.margin))]
        if not fit:
            return min(options, key=lambda g: (max(g.width - width, 0), g.height))
        return max(fit, key=lambda g: (g.scale, g.names, -g.rows))

    def _grid(self, width: int, rows: int, names: bool) -> Grid:
        n = max(1, len(self.names))
        h, w = self.image_size
        margin, gap = (MARGIN, GAP) if names else (TIGHT, TIGHT)
        cols = math.ceil(n / rows)
        cell_w = (width - (cols - 1) * gap) // cols
        k = min(MAX_SCALE, max(1, (cell_w - 2 * margin) // w))
        fm = QFontMetrics(self._name_font(True))
        if names:
            widest = max((fm.horizontalAdvance(name) for name in self.names), default=0)
            cell_w = max(w * k, min(cell_w - 2 * margin, widest)) + 2 * margin  # no wider than its name needs
            text = 2 + self._name_lines(cell_w) * fm.height()
        else:
            cell_w, text = w * k + 2 * margin, 0
        cell_h = margin + h * k + BAR + text + margin + FRAME
        return Grid(rows, cols, k, cell_w, cell_h, margin, gap, names)

    def set_max_height(self, px: int | None) -> None:
        """At most this tall (the window gives the tiles what the pane and the panels leave); None: no limit."""
        if px != self.max_height:
            self.max_height = px
            self._fit_height()
            self.update()

    def hasHeightForWidth(self) -> bool:
        return False  # the minimum height follows the width instead (_fit_height): docks ignore height-for-width

    def heightForWidth(self, width: int) -> int:
        return self.grid(width).height

    def sizeHint(self) -> QSize:
        w = 360
        return QSize(w, self.heightForWidth(w))

    def minimumSizeHint(self) -> QSize:
        return QSize(self.image_size[1] * 3, self.minimumHeight())

    def cell_rect(self, i: int) -> QRect:
        g = self.grid(self.width())
        x0 = max(0, (self.width() - g.width) // 2)
        r, c = divmod(i, g.cols)
        return QRect(x0 + c * (g.cell_w + g.gap), r * (g.cell_h + g.gap), g.cell_w, g.cell_h)

    def tile_rect(self, i: int) -> QRect:
        """Where class i's image is painted (its size is exactly scale x the image)."""
        g = self.grid(self.width())
        cell = self.cell_rect(i)
        h, w = self.image_size
        return QRect(cell.x() + (cell.width() - w * g.scale) // 2, cell.y() + g.margin, w * g.scale, h * g.scale)

    def index_at(self, pos) -> int:
        for i in range(len(self.names)):
            if self.cell_rect(i).contains(pos):
                return i
        return -1

    def scale(self) -> int:
        return self.grid(self.width()).scale

    # ---------------------------------------------------------------- painting and the mouse

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # nearest neighbour: crisp pixels
        pal = self.palette()
        hi = pal.highlight().color()
        g = self.grid(self.width())
        line = QFontMetrics(self._name_font(True)).height()
        lines = self._name_lines(g.cell_w)
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
            if not g.names:
                continue
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
