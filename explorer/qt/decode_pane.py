"""The decode pane: renders what the pane controller says is shown (explorer.core.pane.Shown).

The decoded image is large. With vectors on, the base image sits beside it, so the audience sees
the change. Below: the caption (what is shown and its z), and the nearest real dataset image with its
label. All of them describe the same z.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.pane import PaneController, Shown
from explorer.core.state import ExplorerState
from explorer.qt.image_view import ImageView


class DecodePane(QWidget):
    def __init__(self, state: ExplorerState, controller: PaneController, parent=None):
        super().__init__(parent)
        self.state = state
        self.displayed: Shown | None = None  # exactly what is on screen
        self.decoded = ImageView(min_size=160)
        self.decoded.setToolTip("The decoder's output at the z shown")
        self.base = ImageView(min_size=120)
        self.base.setToolTip("The base point's image, before the vectors are added")
        self.base_label = QLabel("before vectors")
        self.result_label = QLabel("with vectors")
        for lab in (self.base_label, self.result_label):
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.nearest = ImageView(min_size=64)
        self.nearest.setToolTip("The dataset image whose encoded mean is nearest to the z shown")
        self.caption = QLabel("Click the plane to decode a point")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.nearest_caption = QLabel("")
        self.nearest_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.nearest_caption.setWordWrap(True)

        images = QGridLayout()  # labels above their images, so each caption sits on its picture
        images.addWidget(self.base_label, 0, 0)
        images.addWidget(self.result_label, 0, 1)
        images.addWidget(self.base, 1, 0)
        images.addWidget(self.decoded, 1, 1)
        images.setRowStretch(1, 1)
        images.setColumnStretch(1, 1)
        near = QHBoxLayout()
        near.addWidget(QLabel("nearest real image:"), 0, Qt.AlignmentFlag.AlignRight)
        near.addWidget(self.nearest, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(images, 5)
        lay.addWidget(self.caption)
        lay.addLayout(near, 2)
        lay.addWidget(self.nearest_caption)
        self._side_by_side(False)
        controller.shown.connect(self.render_shown)

    @property
    def z(self):
        """The z of the image on screen (None before the first decode)."""
        return None if self.displayed is None else self.displayed.z

    def _side_by_side(self, on: bool) -> None:
        for w in (self.base, self.base_label, self.result_label):
            w.setVisible(on)

    def render_shown(self, shown: Shown) -> None:
        self.displayed = shown
        self.decoded.set_image(shown.image)
        on = shown.base_image is not None
        self._side_by_side(on)
        if on:
            self.base.set_image(shown.base_image)
            b = shown.target.base
            self.base_label.setText(f"before vectors: ({b[0]:+.2f}, {b[1]:+.2f})")
            self.result_label.setText(f"+ {shown.target.n_vectors} vector" + ("s" if shown.target.n_vectors > 1 else ""))
        self.caption.setText(shown.caption)
        s = self.state.session
        if shown.nearest_index is None or s is None:
            self.nearest.set_image(None)
            self.nearest_caption.setText("")
        else:
            self.nearest.set_image(s.display_image(shown.nearest_index))
            self.nearest_caption.setText(f"{shown.nearest_label}  (#{shown.nearest_index}, distance "
                                         f"{shown.nearest_distance:.3f})")
