"""Crisp image display: a numpy image in [0, 1] shown with nearest-neighbour upscaling."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy


def to_qimage(img: np.ndarray) -> QImage:
    """(H, W) grey or (H, W, 3) colour float in [0, 1] -> QImage (a copy; fixed levels 0..1)."""
    a = np.clip(np.round(np.asarray(img, np.float32) * 255.0), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.ascontiguousarray(a)
        q = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_Grayscale8)
    else:
        a = np.ascontiguousarray(a[..., :3])
        q = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_RGB888)
    return q.copy()


class ImageView(QLabel):
    """Shows ``image`` scaled to fit with nearest-neighbour pixels (no blur on a projector).

    It paints its pixmap itself rather than through ``QLabel.setPixmap``: that call asks the parent
    layout to run again, and a layout pass re-measures every word-wrapped caption of the decode pane
    (text shaping), several milliseconds for each decoded frame. The view's size never depends on its
    image (``sizeHint`` and the size policy are fixed), so nothing needs the layout.
    """

    def __init__(self, min_size: int = 96, parent=None, square: bool = False):
        super().__init__(parent)
        self.square = square  # as tall as it is wide (the layout keeps a caption right under it)
        self.image: np.ndarray | None = None  # exactly what is shown, in [0, 1]
        self._qimage: QImage | None = None
        self._pixmap = QPixmap()  # what paintEvent draws: the image scaled to fit
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(min_size, min_size)
        if square:
            policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            policy.setHeightForWidth(True)
            self.setSizePolicy(policy)
        else:
            self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)  # no pixmap-driven growth
        self.setStyleSheet("background: transparent;")

    def set_image(self, img: np.ndarray | None) -> None:
        self.image = None if img is None else np.asarray(img)
        self._qimage = None if img is None else to_qimage(img)
        self._rescale()

    def qimage(self) -> QImage | None:
        return self._qimage

    def pixmap(self) -> QPixmap:
        """The pixmap on screen (null when no image is shown)."""
        return self._pixmap

    def _rescale(self) -> None:
        if self._qimage is None:
            self._pixmap = QPixmap()
            self.update()
            return
        w, h = self._qimage.width(), self._qimage.height()
        fit = min(max(1, self.width()) / w, max(1, self.height()) / h)  # as large as fits, aspect kept
        k = int(fit) if fit >= 1 else fit  # an integer scale when enlarging: every source pixel the same size
        size = QSize(max(1, round(w * k)), max(1, round(h * k)))
        self._pixmap = QPixmap.fromImage(self._qimage).scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                              Qt.TransformationMode.FastTransformation)
        self.update()

    def paintEvent(self, ev) -> None:
        super().paintEvent(ev)  # the frame and the style sheet's background (a QLabel with no contents)
        if not self._pixmap.isNull():
            p = QPainter(self)
            self.style().drawItemPixmap(p, self.contentsRect(), int(self.alignment().value), self._pixmap)
            p.end()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._rescale()

    def hasHeightForWidth(self) -> bool:
        return self.square

    def heightForWidth(self, w: int) -> int:
        return w if self.square else super().heightForWidth(w)

    def sizeHint(self) -> QSize:
        return QSize(280, 280)
