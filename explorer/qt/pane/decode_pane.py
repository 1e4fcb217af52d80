"""The decode pane: renders what the pane controller says is shown (explorer.core.pane.Shown).

The decoded image is large. With vectors on, the base image sits beside it, so the audience sees
the change. Below: the caption (what is shown and its z), and the nearest real dataset image with its
label. All of them describe the same z.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.pane import PaneController, Shown, format_z
from explorer.core.state import ExplorerState
from explorer.qt.pane.image_view import ImageView
from explorer.qt.widgets import Caption

OFF_DATA = "off the data: the model never put an image here"


class DecodePane(QWidget):
    def __init__(self, state: ExplorerState, controller: PaneController, parent=None):
        super().__init__(parent)
        self.state = state
        self.controller = controller
        self._nearest_key: tuple | None = None  # (session, dataset index) of the nearest image shown
        self.decoded = ImageView(min_size=112, square=True)
        self.decoded.setToolTip("The decoder's output at the z shown")
        self.base = ImageView(min_size=64, square=True)
        self.base.setToolTip("The base point's image, before the vectors are added")
        self.nearest = ImageView(min_size=56, square=True)
        self.nearest.setToolTip("The dataset image whose encoded mean is nearest to the z shown")
        # captions: centred, word-wrapped plain-text labels that change every frame without a layout
        # pass; the side images' bold titles are fixed labels of their own (rich text costs ~1 ms a change)
        self.caption = Caption("No model yet")
        # "off the data": over the top of the decoded image, not in the layout (showing it moves nothing)
        self.badge = QLabel(OFF_DATA, self.decoded)
        self.badge.setWordWrap(True)
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setStyleSheet("background: rgba(190, 40, 20, 225); color: white; font-weight: bold; padding: 4px;")
        self.badge.setToolTip("The density of the data's codes here is below what 99 % of the images reach "
                              "(View \u25b8 Shade off the data): the decoder is guessing.")
        self.badge.setVisible(False)
        self.decoded.installEventFilter(self)
        self.nearest_title = _title("nearest real image")
        self.nearest_title.setVisible(False)  # until there is a nearest image
        self.nearest_caption = Caption("")
        self.base_title = _title("before vectors")
        self.base_caption = Caption("")
        # three columns, each an image and its caption right under it:
        # [before vectors (only with vectors on)] [the decoded image, largest] [the nearest real image]
        self.row = row = QHBoxLayout()
        for stretch, widgets in zip(self.STRETCH[False], ((self.base, self.base_title, self.base_caption),
                                                          (self.decoded, self.caption),
                                                          (self.nearest, self.nearest_title, self.nearest_caption))):
            col = QVBoxLayout()
            col.setSpacing(2)
            col.addStretch(1)
            for w in widgets:  # the picture (square) with its caption right under it
                col.addWidget(w)
            col.addStretch(1)
            row.addLayout(col, stretch)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row, 1)
        self._side: bool | None = None  # the "before vectors" column is shown
        self._side_by_side(False)
        controller.shown.connect(self.render_shown)
        state.events.session.connect(self._on_session)
        state.events.presentation.connect(self._on_presentation)

    STRETCH = {False: (2, 3, 2), True: (2, 6, 2)}  # the row's columns (before, decoded, nearest), by presentation

    def _on_presentation(self, *_a) -> None:
        """In presentation mode the decoded image is the large one (at least 40 % of the screen's height), and
        the hidden "before vectors" column leaves it its share."""
        on = bool(self.state.presentation)
        for i, stretch in enumerate(self.STRETCH[on]):
            self.row.setStretch(i, 0 if on and i == 0 and not self._side else stretch)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.decoded and event.type() == QEvent.Type.Resize and self.badge.isVisible():
            self._place_badge()
        return False

    def _place_badge(self) -> None:
        font = self.caption.font()  # as large as the caption (presentation mode scales it), a little more
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.badge.setFont(font)
        w = self.decoded.width()
        self.badge.setFixedWidth(w)
        self.badge.move(0, 0)
        self.badge.setFixedHeight(self.badge.heightForWidth(w))

    def refresh_badge(self, *_a) -> None:
        """Show the "off the data" warning when the z on screen lies where the model put no data."""
        shown = self.displayed
        off = shown is not None and shown.off_manifold
        if off and not self.badge.isVisible():
            self.badge.setVisible(True)
            self._place_badge()
            self.badge.raise_()
        elif not off:
            self.badge.setVisible(False)

    def _on_session(self, session, _old=None) -> None:
        if self.displayed is None:
            self.caption.setText("No model yet" if session is None else "Click the plane to decode a point")

    @property
    def displayed(self) -> Shown | None:
        """What is on screen: the pane's one record (its controller's ``last``, rendered when it changes)."""
        return self.controller.last

    @property
    def z(self):
        """The z of the image on screen (None before the first decode)."""
        return None if self.displayed is None else self.displayed.z

    def _side_by_side(self, on: bool) -> None:
        if on == self._side:
            return
        self._side = on
        for w in (self.base, self.base_title, self.base_caption):
            w.setVisible(on)
        self._on_presentation()

    def render_shown(self, shown: Shown) -> None:
        self.decoded.set_image(shown.image)
        on = shown.base_image is not None
        self._side_by_side(on)
        if on:
            self.base.set_image(shown.base_image)
            b = shown.target.base
            self.base_caption.setText(f"z = {format_z(b, 4)}")  # a narrow column: it may break anywhere
        self.caption.setText(shown.caption)
        self.refresh_badge()
        s = self.state.session
        if shown.nearest_index is None or s is None:
            self.nearest.set_image(None)
            self._nearest_key = None
            self.nearest_title.setVisible(False)
            self.nearest_caption.setText("")
        else:
            key = (s, shown.nearest_index)
            if self._nearest_key is None or self._nearest_key[0] is not s or self._nearest_key[1] != key[1]:
                self._nearest_key = key  # a drag often stays near one image: set it only when it changes
                self.nearest.set_image(s.display_image(shown.nearest_index))
            self.nearest_title.setVisible(True)
            of_class = " (the class decoded)" if shown.nearest_of_class else ""  # a conditional model's
            self.nearest_caption.setText(f"{shown.nearest_label}{of_class}\n#{shown.nearest_index}, "
                                         f"distance {shown.nearest_distance:.3f}")  # a narrow column


def _title(text: str) -> QLabel:
    """A bold, centred title over a side image of the pane (fixed text)."""
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label
