"""The decode pane: the decoded image, large, and the nearest real dataset image with its label."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from explorer.qt.image_view import ImageView


class DecodePane(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.decoded = ImageView(min_size=160)
        self.decoded.setToolTip("The decoder's output at the marked z")
        self.nearest = ImageView(min_size=64)
        self.nearest.setToolTip("The dataset image whose encoded mean is nearest to z")
        self.caption = QLabel("Click the plane to decode a point")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.nearest_caption = QLabel("")
        self.nearest_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.nearest_caption.setWordWrap(True)
        self.z: np.ndarray | None = None  # the z of the image shown
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.decoded, 5)
        lay.addWidget(self.caption)
        row = QGridLayout()
        row.addWidget(QLabel("nearest real image:"), 0, 0, Qt.AlignmentFlag.AlignRight)
        row.addWidget(self.nearest, 0, 1)
        row.addWidget(self.nearest_caption, 1, 1)
        row.setColumnStretch(1, 1)
        lay.addLayout(row, 2)

    def show_decoded(self, z: np.ndarray, image: np.ndarray, title: str = "") -> None:
        self.z = np.asarray(z, np.float32)
        self.decoded.set_image(image)
        head = f"{title}  " if title else ""
        self.caption.setText(f"{head}z = ({self.z[0]:+.3f}, {self.z[1]:+.3f})")

    def show_nearest(self, image: np.ndarray | None, label: str, distance: float) -> None:
        self.nearest.set_image(image)
        self.nearest_caption.setText("" if image is None else f"{label}  (distance {distance:.3f})")
