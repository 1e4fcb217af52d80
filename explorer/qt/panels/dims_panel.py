"""The Slice panel of a D-dim model: how the plane cuts the latent space, and a slider per other direction.

As napari's dims sliders do for an n-D image: the plane shows two directions; every other direction of
the latent space gets a slider whose value is where the plane sits along it (``state.slice.offset(k)``,
measured from the data's centre). Moving one slides the plane along that direction, live: the pane, the
underlay and (with fading on) the scatter follow. The presets choose the two directions: the top two
principal directions of the means (the default), two latent axes, the plane through three bookmarks, or
an attribute vector as the x axis. Renders ``state.slice``; writes it; keeps no copy.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.core.state import ExplorerState
from explorer.core.values import StateError
from explorer.qt.widgets import ValueSlider

MAX_SLIDERS = 16  # sliders shown (the directions with the most variance first); the rest stay at the centre
SLIDER_SIGMAS = 3.0  # a slider spans +-3 standard deviations of the data along its direction


class DimsPanel(QWidget):
    def __init__(self, state: ExplorerState):
        super().__init__()
        self.state = state
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.preset = QComboBox()
        self.preset.addItems(["Principal directions (PCA)", "Two latent axes"])
        self.preset.setToolTip("Which two directions of the latent space the plane shows")
        self.axis_x, self.axis_y = QSpinBox(), QSpinBox()
        for box, name in ((self.axis_x, "x"), (self.axis_y, "y")):
            box.setPrefix(f"{name} = z")
            box.setToolTip(f"the latent axis on the plane's {name} axis")
        self.axes_row = QWidget()
        ar = QHBoxLayout(self.axes_row)
        ar.setContentsMargins(0, 0, 0, 0)
        ar.addWidget(self.axis_x)
        ar.addWidget(self.axis_y)
        self.btn_reset = QPushButton("Reset to the data")
        self.btn_reset.setToolTip("Put the plane back through the data's centre (every slider to 0)")
        self.btn_through = QPushButton("Through 3 bookmarks")
        self.btn_through.setToolTip("The plane through the first three bookmarks (their full z)")
        self.along = QComboBox()
        self.along.setToolTip("Make an attribute vector the plane's x axis")
        self.fade = QCheckBox("Fade points far from the slice")
        self.fade.setToolTip("Points whose z lies far from the plane shown fade, so what is near the slice stands out")
        self.sliders_box = DimSliders(state, MAX_SLIDERS)
        self.more = self.sliders_box.more
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.preset)
        lay.addWidget(self.axes_row)
        row = QHBoxLayout()
        row.addWidget(self.btn_reset)
        row.addWidget(self.btn_through)
        lay.addLayout(row)
        lay.addWidget(self.along)
        lay.addWidget(self.fade)
        lay.addWidget(self.sliders_box)
        lay.addStretch(1)
        self.preset.activated.connect(self._on_preset)
        for box in (self.axis_x, self.axis_y):
            box.valueChanged.connect(lambda _v: self._on_preset(1))
        self.btn_reset.clicked.connect(lambda: self._do(state.slice.reset_origin))
        self.btn_through.clicked.connect(self._through)
        self.along.activated.connect(self._along)
        self.fade.toggled.connect(lambda on: setattr(state, "fade", on))
        state.style.events.fade.connect(lambda on, _o=None: self._sync_fade(on))
        state.slice.events.plane.connect(self._on_plane)
        ev = state.vectors.events
        for sig in (ev.inserted, ev.removed, ev.changed, ev.reordered):
            sig.connect(self._fill_vectors)
        bm = state.bookmarks.events
        for sig in (bm.inserted, bm.removed):
            sig.connect(self._on_bookmarks)
        self._on_plane()
        self._fill_vectors()
        self._on_bookmarks()

    @property
    def sliders(self) -> list[ValueSlider]:
        return self.sliders_box.sliders

    # ---------------------------------------------------------------- state -> widgets

    def _sync_fade(self, on: bool) -> None:
        if self.fade.isChecked() != bool(on):
            self.fade.blockSignals(True)
            self.fade.setChecked(bool(on))
            self.fade.blockSignals(False)

    def _on_plane(self, *_a) -> None:
        sl = self.state.slice
        d = sl.dim
        shows = {"pca": "the top two principal directions of the means", "identity": "two latent axes",
                 "through": "the plane through three points", "scene": "the scene's slice"}.get(sl.preset, sl.preset)
        self.title.setText(f"<b>{d}-D latent space</b>: the plane shows {shows}; "
                           f"a slider per other direction moves the plane along it.")
        axes = sl.preset.startswith("axes")
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(1 if axes else 0)
        self.preset.blockSignals(False)
        self.axes_row.setVisible(axes)
        for box in (self.axis_x, self.axis_y):
            box.blockSignals(True)
            box.setRange(1, max(1, d))  # 1-based, as the axis labels (z1 ...)
            box.blockSignals(False)
        if axes:
            self.axis_x.blockSignals(True)
            self.axis_y.blockSignals(True)
            self.axis_x.setValue(int(np.argmax(np.abs(sl.u))) + 1)
            self.axis_y.setValue(int(np.argmax(np.abs(sl.v))) + 1)
            self.axis_x.blockSignals(False)
            self.axis_y.blockSignals(False)
    def _fill_vectors(self, *_a) -> None:
        self.along.clear()
        self.along.addItem("Along a vector \u2026")
        d = self.state.ndim
        for v in self.state.vectors:
            if len(v.vector) == d:
                self.along.addItem(v.name)
        self.along.setEnabled(self.along.count() > 1)

    def _on_bookmarks(self, *_a) -> None:
        self.btn_through.setEnabled(len(self.state.bookmarks) >= 3)

    # ---------------------------------------------------------------- widgets -> state

    def _do(self, change) -> None:
        try:
            change()
        except StateError as e:
            self.state.error.emit(str(e))

    def _on_preset(self, index: int) -> None:
        sl = self.state.slice
        if index == 0:
            self._do(sl.use_pca)
        else:
            i, j = self.axis_x.value() - 1, self.axis_y.value() - 1
            if i == j:
                j = (i + 1) % sl.dim
            self._do(lambda: sl.use_axes(i, j))

    def _through(self) -> None:
        marks = list(self.state.bookmarks)[:3]
        if len(marks) == 3:
            self._do(lambda: self.state.slice.through(*(m.z for m in marks)))

    def _along(self, index: int) -> None:
        if index <= 0:
            return
        name = self.along.itemText(index)
        vec = next((v for v in self.state.vectors if v.name == name and len(v.vector) == self.state.ndim), None)
        if vec is not None:
            self._do(lambda: self.state.slice.along(vec.vector, vec.name))
        self.along.setCurrentIndex(0)


class DimSliders(QWidget):
    """A slider per direction off the plane (the first ``most`` of ``state.slice.rest``): the Slice panel's,
    and a few on the presentation strip. Renders ``state.slice``; a move is ``slice.set_offset(k, v)``."""

    def __init__(self, state: ExplorerState, most: int = MAX_SLIDERS, compact: bool = False):
        super().__init__()
        self.state, self.most, self.compact = state, most, compact
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.box = QWidget()
        self.grid = QHBoxLayout(self.box) if compact else QGridLayout(self.box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.more = QLabel()
        self.more.setWordWrap(True)
        lay.addWidget(self.box)
        lay.addWidget(self.more)
        self.sliders: list[ValueSlider] = []
        self._rest_key: tuple = ()
        state.slice.events.plane.connect(self._on_plane)
        state.events.session.connect(self._on_session)  # the slice is set just before: its spreads are the new data's
        self._on_plane()

    def _on_session(self, *_a) -> None:
        self._rest_key = ()
        self._on_plane()

    def _on_plane(self, *_a) -> None:
        if self.compact:  # on the presentation strip: after the event, not inside a model's opening (a layout
            QTimer.singleShot(0, self, self._sync)  # change there would resize the plane before it is framed)
        else:
            self._sync()

    def _sync(self) -> None:
        sl = self.state.slice
        self.setVisible(sl.dim > 2 or not self.compact)
        if sl.rest != self._rest_key:
            self._build_sliders()
        for k, s in enumerate(self.sliders):
            v = sl.offset(k)
            if abs(s.slider.value() - v) > 1e-9:
                s.slider.blockSignals(True)
                s.slider.setValue(v)
                s.slider.blockSignals(False)
                s._show(s.slider.value())

    def _spreads(self) -> np.ndarray:
        """The data's standard deviation along each rest direction (the sliders' scale)."""
        sl, s = self.state.slice, self.state.session
        if s is None or s.means is None or not sl.rest:
            return np.ones(len(sl.rest))
        rest = np.asarray(sl.rest[: self.most], np.float32)
        sample = s.means[:: max(1, len(s.means) // 20000)]
        return np.maximum((sample @ rest.T).std(0), 0.05)

    def _build_sliders(self) -> None:
        sl = self.state.slice
        self._rest_key = sl.rest
        for s in self.sliders:
            s.deleteLater()
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.sliders = []
        names = self._direction_names()
        for k, spread in enumerate(self._spreads()):
            span = round(SLIDER_SIGMAS * float(spread), 2)
            s = ValueSlider(-span, span, max(span / 100, 0.001), value=0.0, signed=True)
            s.setToolTip(f"slide the plane along {names[k]} (the data's standard deviation there: {spread:.2f})")
            s.valueChanged.connect(lambda v, k=k: self.state.slice.set_offset(k, v))
            if self.compact:
                s.slider.setMinimumWidth(96)  # visible from the back of the room; three fit under a 1280-px plane
                self.grid.addWidget(QLabel(names[k]))
                self.grid.addWidget(s, 1)
            else:
                self.grid.addWidget(QLabel(names[k]), k, 0)
                self.grid.addWidget(s, k, 1)
            self.sliders.append(s)
        hidden = len(sl.rest) - len(self.sliders)
        self.more.setVisible(hidden > 0 and not self.compact)
        self.more.setText(f"{hidden} more directions stay where the plane is (the ones with the least variance)."
                          if hidden > 0 else "")

    def _direction_names(self) -> list[str]:
        sl = self.state.slice
        if sl.preset == "pca":
            return [f"PC {k + 3}" for k in range(len(sl.rest))]
        out = []
        for r in sl.rest:
            a = np.abs(np.asarray(r))
            k = int(np.argmax(a))
            out.append(f"z{k + 1}" if a[k] > 0.999 else f"direction {len(out) + 1}")
        return out

