"""Draw to encode: a small canvas (white strokes on black) or a dropped image file is encoded by the
model service (never on the GUI thread). Its mean becomes ``state.drawn`` (the star on the plane)
and the current point (the pane shows "drawn image"); its reconstruction appears next to the canvas.
The conversion canvas -> model input is explorer.core.drawing.to_model_input (pure, tested).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QFileDialog, QGridLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from explorer.core import drawing
from explorer.core.decode_service import DecodeResult
from explorer.core.state import ExplorerState
from explorer.qt.bridge import ServiceBridge
from explorer.qt.pane.image_view import ImageView
from explorer.qt.widgets import SnugButton

CANVAS_PX = 224  # on screen


class DrawCanvas(QWidget):
    """A black QImage at k x the model's resolution, shown at CANVAS_PX; the mouse draws white strokes.

    ``strokeFinished`` fires on mouse release; ``fileDropped(path)`` when a file is dropped on it.
    """

    strokeFinished = Signal()
    fileDropped = Signal(str)

    def __init__(self, image_shape=(1, 28, 28)):
        super().__init__()
        self.setFixedSize(CANVAS_PX, CANVAS_PX)
        self.setAcceptDrops(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw with the left mouse button (white on black), or drop an image file here")
        self.brush = 2  # stroke width in model pixels
        self._last: QPointF | None = None
        self.scale = 1
        self.image = QImage()
        self.set_shape(image_shape)

    def set_shape(self, image_shape) -> None:
        """A blank canvas for a model with image_shape (C, H, W)."""
        self.scale = drawing.canvas_scale(image_shape, CANVAS_PX)
        h, w = int(image_shape[1]), int(image_shape[2])
        self.image = QImage(w * self.scale, h * self.scale, QImage.Format.Format_RGB888)
        self.clear()

    def clear(self) -> None:
        self.image.fill(QColor(0, 0, 0))
        self.update()

    def is_blank(self) -> bool:
        return not self.array().any()

    def array(self) -> np.ndarray:
        """The canvas as an RGB uint8 array (H, W, 3) (a copy)."""
        img = self.image
        h, w, bpl = img.height(), img.width(), img.bytesPerLine()
        buf = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(h, bpl)
        return buf[:, : w * 3].reshape(h, w, 3).copy()

    def set_array(self, rgb: np.ndarray) -> None:
        """Replace the canvas with an RGB uint8 array of the canvas's size."""
        a = np.ascontiguousarray(rgb, np.uint8)
        if a.shape != (self.image.height(), self.image.width(), 3):
            raise ValueError(f"canvas is {self.image.height()}x{self.image.width()}, not {a.shape[:2]}")
        self.image = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_RGB888).copy()
        self.update()

    # ---------------------------------------------------------------- painting

    def _target(self) -> QRectF:
        """Where the image is drawn in the widget: as large as fits, aspect kept, centred."""
        iw, ih = self.image.width(), self.image.height()
        k = min(self.width() / iw, self.height() / ih)
        w, h = iw * k, ih * k
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def to_image(self, pos: QPointF) -> QPointF:
        t = self._target()
        return QPointF((pos.x() - t.x()) * self.image.width() / t.width(),
                       (pos.y() - t.y()) * self.image.height() / t.height())

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#333"))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(self._target(), self.image)
        p.end()

    def _stroke(self, a: QPointF, b: QPointF | None) -> None:
        p = QPainter(self.image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(255, 255, 255), self.brush * self.scale, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                      Qt.PenJoinStyle.RoundJoin))
        if b is None:
            p.drawPoint(a)
        else:
            p.drawLine(a, b)
        p.end()
        self.update()

    def mousePressEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            self._last = self.to_image(ev.position())
            self._stroke(self._last, None)

    def mouseMoveEvent(self, ev) -> None:
        if self._last is not None and ev.buttons() & Qt.MouseButton.LeftButton:
            cur = self.to_image(ev.position())
            self._stroke(self._last, cur)
            self._last = cur

    def mouseReleaseEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and self._last is not None:
            self._last = None
            self.strokeFinished.emit()

    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        urls = ev.mimeData().urls()
        if urls:
            ev.acceptProposedAction()  # consumed here: the window must not try to open it as a model
            self.fileDropped.emit(urls[0].toLocalFile())

    def sizeHint(self) -> QSize:
        return QSize(CANVAS_PX, CANVAS_PX)


class DrawPanel(QWidget):
    encoded = Signal(object)  # (mean (2,), reconstruction (H, W[, 3])) of the drawing just encoded

    def __init__(self, state: ExplorerState, service: ServiceBridge):
        super().__init__()
        self.state = state
        self.service = service
        self.mean: np.ndarray | None = None
        self.reconstruction: np.ndarray | None = None  # as displayed: (H, W) or (H, W, 3)
        self.last_input: np.ndarray | None = None  # (C, H, W) that was encoded last
        self._seq = 0  # the newest encode request; older results are dropped

        self.canvas = DrawCanvas()
        self.recon_view = ImageView(min_size=84)  # the canvas and it side by side in the 1280x720 dock column
        self.recon_view.setToolTip("The model's reconstruction of the drawing: decode(encode(drawing))")
        self.brush = QSpinBox()
        self.brush.setRange(1, 8)
        self.brush.setValue(self.canvas.brush)
        self.brush.setPrefix("brush ")
        self.brush.setSuffix(" px")
        self.brush.setToolTip("Stroke width in the model's pixels")
        self.btn_clear = SnugButton("Clear")
        self.btn_open = SnugButton("Open\u2026")
        self.btn_open.setToolTip("Open an image file and encode it (or drop one on the canvas)")
        self.status = QLabel("Draw (white on black) or drop an image; it is encoded when you let go.")
        self.status.setWordWrap(True)

        # the controls under the reconstruction, beside the canvas: on screen within the canvas's height, which
        # is all the room the panel has under a CVAE's class row at 1280x720
        controls = QVBoxLayout()
        for w in (self.brush, self.btn_clear, self.btn_open):
            controls.addWidget(w)
        controls.addStretch(1)
        grid = QGridLayout()
        grid.addWidget(QLabel("drawing"), 0, 0, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(QLabel("reconstruction"), 0, 1, Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(self.canvas, 1, 0, 2, 1)
        grid.addWidget(self.recon_view, 1, 1)
        grid.addLayout(controls, 2, 1)
        grid.setColumnStretch(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(grid)
        lay.addWidget(self.status)
        lay.addStretch(1)

        self.brush.valueChanged.connect(self._on_brush)
        self.btn_clear.clicked.connect(self.clear)
        self.btn_open.clicked.connect(self.open_dialog)
        self.canvas.strokeFinished.connect(lambda: self.encode())
        self.canvas.fileDropped.connect(self.load_image)
        state.events.session.connect(self._on_session)
        self.channel = service.channel("encode")
        self.channel.result.connect(self._on_result)

    # ---------------------------------------------------------------- input

    def _on_brush(self, v: int) -> None:
        self.canvas.brush = int(v)

    def _on_session(self, session, _old=None) -> None:
        if session is not None:
            self.canvas.set_shape(session.image_shape)
        self.clear()

    def clear(self) -> None:
        self._seq += 1  # a result still on its way is for a drawing that is gone
        self.canvas.clear()
        self.mean = self.reconstruction = self.last_input = None
        self.recon_view.set_image(None)
        self.state.drawn = None

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)")
        if path:
            self.load_image(path)

    def load_image(self, path: str) -> bool:
        """Put an image file on the canvas (resized to the model's size) and encode it.

        An unreadable file shows one sentence and leaves the canvas as it was."""
        s = self.state.session
        if s is None:
            self.state.error.emit("Open a model first: a drawing is encoded by a model.")
            return False
        try:
            img = drawing.load_image(path)
            x = drawing.to_model_input(img, s.image_shape)
        except drawing.ImageFileError as e:  # one sentence naming the file
            self.state.error.emit(str(e))
            return False
        self.canvas.set_array(drawing.to_canvas(x, self.canvas.scale))
        self.encode(f"{Path(path).name} (resized to {s.image_shape[2]}x{s.image_shape[1]})")
        return True

    # ---------------------------------------------------------------- encoding

    def model_input(self) -> np.ndarray | None:
        s = self.state.session
        if s is None:
            return None
        return drawing.to_model_input(self.canvas.array(), s.image_shape)

    def encode(self, source: str = "the drawing") -> int | None:
        """Encode the canvas through the model service (the GUI thread never runs torch)."""
        x = self.model_input()
        if x is None:
            self.state.error.emit("Open a model first: a drawing is encoded by a model.")
            return None
        self._seq += 1
        if not self.state.session.ready.is_set():  # opened light: the model service runs it once torch is loaded
            self.status.setText("loading the encoder\u2026 the drawing is encoded as soon as it is ready.")
        return self.channel.encode(x[None], meta=(self._seq, self.state.session, source, x))

    def _on_result(self, res: DecodeResult) -> None:
        seq, session, source, x = res.meta
        if session is not self.state.session or seq != self._seq:
            return  # for another model, or superseded by a newer stroke / a Clear
        self.last_input = x
        self.mean = np.asarray(res.z[0], np.float32)
        self.reconstruction = res.images[0]
        self.recon_view.set_image(self.reconstruction)
        self.state.drawn = self.mean
        self.state.set_point(self.mean, source="drawing")
        self.status.setText(f"{source}: encoded at z = ({self.mean[0]:+.3f}, {self.mean[1]:+.3f}), the star on the plane.")
        self.encoded.emit((self.mean, self.reconstruction))
