"""Models side by side: each compared model gets a plane and a decoded image (its pane controller is
made by the core :class:`~explorer.core.panes.Panes`).

The compared models are ``state.compared`` (sessions over the main model's dataset arrays, opened
by :class:`explorer.qt.compare.comparison.ComparedOpener` off the GUI thread). Every plane shares the state: a click or a drag in
any of them sets the one ``state.point``, and each model's pane decodes that z with its own decoder
(plus its own attribute vectors, from its own means). The views pan and zoom together while
``state.link_views`` is on. A lasso in any plane (:class:`SelectTool`) sets ``state.selection``, which
every plane rings at its own positions of those images.

The planes are made once per slot and kept (hidden when unused): the state's psygnal connections
hold only weak references, and a slot's widgets never outlive the window.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from explorer.core.pane import PaneController, Shown
from explorer.core.panes import Panes
from explorer.core.state import ExplorerState
from explorer.qt.pane.image_view import ImageView
from explorer.qt.plane.latent_view import LatentView
from explorer.qt.plane.selection import LassoSelector

TITLE_STYLE = "font-weight: 600; padding: 2px 4px;"


class Planes(QWidget):
    """The main plane and up to MAX_COMPARED compared ones, each under a title naming its model.

    One plane fills the widget; two sit side by side; three or four make a 2 x 2 grid."""

    def __init__(self, state: ExplorerState, main_view: LatentView, panes: Panes, parent=None):
        super().__init__(parent)
        self.state = state
        self.panes = panes
        self.views: list[LatentView] = [main_view]
        self.titles: list[QLabel] = []
        self.cells: list[QWidget] = []
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self._add_cell(main_view)
        self.grid.addWidget(self.cells[0], 0, 0)
        panes.added.connect(self._add_view)  # a compared slot's controller: its plane
        state.events.compared.connect(self._on_compared)
        state.events.session.connect(self._on_compared)
        state.events.snapshot.connect(self._retitle)

    def _add_cell(self, view: LatentView) -> None:
        cell = QWidget(self)  # parented at once: a parentless widget made visible would be a window of its own
        lay = QVBoxLayout(cell)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        title = QLabel()
        title.setStyleSheet(TITLE_STYLE)
        title.setVisible(False)
        lay.addWidget(title)
        lay.addWidget(view, 1)
        self.titles.append(title)
        self.cells.append(cell)

    def _add_view(self, ctl: PaneController) -> None:
        """A plane for a new pane slot (explorer.core.panes.Panes made its controller), made once and kept."""
        view = LatentView(self.state, ctl, slot=ctl.slot)  # scaled by state.ui_scale, as every view
        self.views.append(view)
        self._add_cell(view)

    @property
    def count(self) -> int:
        """Planes in use: 1 + the compared models."""
        return len(self.state.sessions) or 1

    def _on_compared(self, *_a) -> None:
        n = self.count
        cols = 1 if n == 1 else 2
        for i, cell in enumerate(self.cells):
            self.grid.removeWidget(cell)
            if i < n:
                self.grid.addWidget(cell, i // cols, i % cols)
            cell.setVisible(i < n)
        for i in range(1, len(self.views)):
            if i < n:
                self.views[i].refresh_points()
        if n > 1 and self.state.link_views:  # frame every model's points (the same region in each plane)
            self.views[0].reset_view()
        self._retitle()

    def _retitle(self, *_a) -> None:
        sessions = self.state.sessions
        comparing = len(sessions) > 1
        for i, title in enumerate(self.titles):
            title.setVisible(comparing and i < len(sessions))
            if comparing and i < len(sessions):
                view_session = self.views[i].session
                title.setText(f"<b>{chr(ord('A') + i)}</b> {html.escape(view_session.title)}")
                title.setToolTip(str(sessions[i].model_path))


class CompareRow(QWidget):
    """While comparing: each model's decode of the shared z, in place of the single main pane.

    One caption says what is shown (the same z for all); under each image, which model made it.
    Two models sit side by side, three or four in a 2 x 2 grid, so each image stays large."""

    def __init__(self, state: ExplorerState, panes: Panes, main_pane: QWidget | None = None, parent=None):
        super().__init__(parent)
        self.state = state
        self.panes = panes
        self.main_pane = main_pane  # hidden while comparing: this widget shows pane 0 as well
        self.images: list[ImageView] = []
        self.captions: list[QLabel] = []
        self.cols: list[QWidget] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        self.grid = QGridLayout()
        self.grid.setSpacing(8)
        lay.addWidget(self.caption)
        lay.addLayout(self.grid, 1)
        self.setVisible(False)
        state.events.compared.connect(self._on_compared)
        state.events.session.connect(self._on_compared)
        self._hooked = 0
        self._comparing = False
        self._on_compared()

    def _column(self) -> None:
        col = QWidget(self)
        v = QVBoxLayout(col)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(2)
        img = ImageView(min_size=72, square=True)
        cap = QLabel()
        cap.setAlignment(Qt.AlignmentFlag.AlignCenter)
        v.addWidget(img, 1)
        v.addWidget(cap)
        self.images.append(img)
        self.captions.append(cap)
        self.cols.append(col)

    def _on_compared(self, *_a) -> None:
        n = len(self.state.sessions)
        while len(self.images) < max(n, 1):
            self._column()
        while self._hooked < len(self.panes.controllers):  # one connection per pane controller, ever
            i = self._hooked
            self.panes[i].shown.connect(lambda shown, i=i: self._on_shown(i, shown))
            self._hooked += 1
        cols = 2
        for i, col in enumerate(self.cols):
            self.grid.removeWidget(col)
            col.setVisible(i < n)
            if i < n:
                self.grid.addWidget(col, i // cols, i % cols)
        comparing = n > 1
        if comparing != self._comparing:  # only on a change: never show a widget that has no parent yet
            self._comparing = comparing
            self.setVisible(comparing)
            if self.main_pane is not None:
                self.main_pane.setVisible(not comparing)
        for i in range(n):  # what each pane already shows (a model that just opened may have shown it)
            last = self.panes.shown(i)
            if last is not None:
                self._on_shown(i, last)

    def _on_shown(self, i: int, shown: Shown) -> None:
        if i >= len(self.images) or i >= len(self.state.sessions):
            return
        if not self._comparing:  # hidden (one model): rendered from self.panes' records once comparing
            return
        self.images[i].set_image(shown.image)
        s = shown.target.session or self.state.sessions[i]
        self.captions[i].setText(f"<b>{chr(ord('A') + i)}</b> ({html.escape(s.kind_words)})")
        self.captions[i].setToolTip(f"{s.model_path.name}: {shown.caption}")
        if i == 0:
            self.caption.setText(html.escape(shown.caption))


class SelectTool(QObject):
    """A lasso (Shift: rectangle) on any plane picks dataset images: ``state.selection``."""

    def __init__(self, state: ExplorerState, planes: Planes, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.planes = planes
        self.selectors: list[LassoSelector] = []

    def _sync(self) -> None:
        while len(self.selectors) < len(self.planes.views):
            view = self.planes.views[len(self.selectors)]
            sel = LassoSelector(view, lambda v=view: v.session.index if v.session is not None else None, self)
            sel.selected.connect(lambda mask, _poly: self._on_selected(mask))
            sel.cancelled.connect(self.cancel)
            self.selectors.append(sel)

    def bind_actions(self, actions) -> None:
        actions.bind("select.start", self.start)

    def start(self) -> None:
        """Arm every visible plane: the next drag in any of them draws the lasso."""
        if self.state.session is None:
            self.state.error.emit("Open a model first: there are no points to select.")
            return
        self._sync()
        for sel, view in zip(self.selectors, self.planes.views, strict=False):
            if view.isVisible() or view is self.planes.views[0]:
                sel.start("select")
        self.state.info.emit("Drag a lasso around points in any plane (Shift: a rectangle); Esc cancels.")

    def cancel(self) -> None:
        for sel in self.selectors:
            sel.cancel()  # no-op unless armed

    def _on_selected(self, mask: np.ndarray) -> None:
        self.cancel()
        picked = np.flatnonzero(np.asarray(mask, bool))
        self.state.selection = picked
        self.state.info.emit(f"{len(picked):,} images selected; they are ringed in every plane.")

    def shutdown(self) -> None:
        self.cancel()
