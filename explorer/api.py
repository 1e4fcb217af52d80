"""The public scripting API: drive the explorer from a script, a notebook (``%gui qt``) or a test.

    from explorer.api import Explorer
    ex = Explorer()                      # the bundled model; or Explorer("m.safetensors", dataset=..., size=(w, h))
    ex.wait_idle(timeout=10)             # True once every pending decode / encode is shown
    ex.state.point = (0.4, -1.2)         # exactly what a click there does
    ip = ex.state.interpolation
    ip.a, ip.b, ip.method, ip.t = (-1.5, 0.3), (1.2, 0.8), "linear", 0.35
    v = ex.state.vectors.add_class_difference("Ankle boot", "Sneaker"); v.strength, v.enabled = 1.5, True
    ex.wait_idle()
    s = ex.shown()                       # what the pane displays: .z, .image, .nearest_index, .caption
    ex.screenshot("out.png"); ex.close()

Setting a field of ``ex.state`` does exactly what the matching user action does. ``shown()``
reports what the pane displays, not what was requested. ``Explorer`` creates the QApplication if
there is none; with no display it renders offscreen.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = ["ClassRowView", "Explorer", "PaneView"]


@dataclass(frozen=True)
class PaneView:
    """What a pane displays right now; every field describes the same z."""

    z: np.ndarray  # (D,) the z decoded (the full latent vector)
    image: np.ndarray  # (H, W) or (H, W, 3) floats in [0, 1], exactly the pixels' source
    base_z: np.ndarray  # (D,) before the vectors (equal to z when none is on)
    base_image: np.ndarray | None  # decode(base_z) beside the result when vectors are on
    source: str  # click, drag, hover, bookmark “name”, drawing, interpolation, scene, start
    caption: str  # the caption under the image, as on screen (its non-breaking spaces as plain ones)
    nearest_index: int | None  # the dataset image shown as "nearest real image"
    nearest_label: str
    status: str  # the status bar text
    density: float | None = None  # q(z) of the model's data codes, while "Shade off the data" is on (else None)
    off_manifold: bool = False  # z lies where the model never put an image (the pane's warning shows)


class ClassRowView(NamedTuple):
    """What the CVAE class row displays: decode(z, c) for every class c, at one z."""

    images: np.ndarray  # (C, H, W) or (C, H, W, 3) floats in [0, 1]: the tiles' pixels, class 0 first
    z: np.ndarray  # (2,) the z they were decoded at


class Explorer:
    """The app, opened on ``models`` (a path; default: the bundled model) and a dataset to show."""

    def __init__(self, models: str | os.PathLike | None = None, dataset: str | None = None, split: str | None = None,
                 size: tuple[int, int] | None = None, *, data_dir: str | None = None, show: bool = True,
                 timeout: float = 120.0, model: Any = None, weights: str | os.PathLike | None = None,
                 remember: bool = False):
        """``model``: instead of a checkpoint, your own torch module (any ``nn.Module`` with ``encode(x) -> mean``
        or ``(mean, logvar)`` and ``decode(z) -> images in [0, 1]`` of the dataset's shape), or a
        ``"FILE.py:FUNCTION"`` that builds one (then ``weights``: a .safetensors file of its tensors); give
        ``dataset``. Its code runs in this process, by your choice; a scene never names code."""
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from explorer.qt.app import make_app
        from explorer.qt.main_window import MainWindow

        self.app = make_app()
        compare: list = []
        if isinstance(models, (list, tuple)):
            if not 1 <= len(models) <= 4:
                raise ValueError(f"give one to four models to compare side by side, not {len(models)}")
            models, compare = models[0], list(models[1:])
        if model is not None and dataset is None:
            raise ValueError("give the dataset to show your own model with: Explorer(model=..., dataset=...)")
        own = None if model is None else (model, None if weights is None else str(weights))
        self.window = MainWindow(models, dataset=dataset, split=split, data_dir=data_dir, compare=compare, own=own,
                                 remember=remember)  # True: write the user's settings file as the app does; by default a script writes nothing
        self.window.ask_before_closing = False  # a script's close() stops a training run without a question
        if size is not None:
            self.window.resize(*size)
        if show:
            self.window.show()
        self._closed = False
        w = self.window
        if not self._wait(lambda: (w.state.session is not None and len(w.state.compared) == len(compare))
                          or w.last_error, timeout):
            self.close()  # nothing is left running for a model that did not open
            raise TimeoutError(f"the model{'s' if compare else ''} did not open within {timeout:g} s")
        if w.state.session is None or len(w.state.compared) != len(compare):
            message = w.last_error
            self.close()
            raise ValueError(message)
        self.wait_idle(timeout)

    # ---------------------------------------------------------------- state and what is shown

    @property
    def state(self):
        """The evented explorer state (explorer.core.state.ExplorerState)."""
        return self.window.state

    def shown(self, i: int = 0) -> PaneView | None:
        """What pane ``i`` displays (None before the first decode): 0 is the main model's, 1.. the
        compared models' (``state.sessions[i]``), as the compare row under the main pane shows them."""
        n = len(self.state.sessions)
        if not 0 <= i < max(n, 1):
            raise IndexError(f"there is no pane {i}: {n} model{'s are' if n != 1 else ' is'} open")
        d = self.window.panes.shown(i)  # the pane's one record (explorer.core.panes.Panes)
        if d is None:
            return None
        caption = d.caption.replace("\u00a0", " ")  # the words; on screen, a number keeps to its word's line
        if i > 0:  # the compare row names the model under its image
            s = d.target.session or self.state.sessions[i]
            caption = f"{s.model_path.name}: {caption}"
        return PaneView(z=d.z, image=d.image, base_z=np.asarray(d.target.base, np.float32), base_image=d.base_image,
                        source=d.target.source, caption=caption, nearest_index=d.nearest_index,
                        nearest_label=d.nearest_label, status=self.window.status_label.text(),
                        density=d.density, off_manifold=d.off_manifold)

    def view(self, i: int = 0):
        """Model ``i``'s latent plane (a LatentView: ``.session``, ``.points_data``; its
        ``.viewport()`` takes the mouse)."""
        return self.window.planes.views[i]

    def class_row(self) -> ClassRowView | None:
        """The class row of a conditional model (CVAE), as displayed; None for any other model (or before
        its first decode). ``state.condition`` is the class the main pane decodes with."""
        dial = self.window.class_dial
        if not dial.active or dial.z is None or dial.tiles.images is None:
            return None
        return ClassRowView(dial.tiles.images, dial.z)

    @property
    def means(self) -> np.ndarray:
        """The encoded means (N, D): the full latent vectors (``plotted(i)`` is what a plane draws of them)."""
        return self.state.session.means

    def snapshots_ready(self, timeout: float = 60.0) -> bool:
        """Wait until every training snapshot of the open model has its plane computed (the Training panel's
        background job); True if they all are. False at once for a model without snapshots, or if the job
        failed or was cancelled."""
        panel = self.window.training
        self._wait(lambda: not panel.running, timeout)
        return panel.complete and self.wait_idle(max(1.0, timeout / 10))

    @property
    def note(self) -> str:
        """The note over the plane as displayed ("" while hidden): the open model's warning when ``latent-train``
        judged it not useful (a collapsed posterior: training/verdict.py)."""
        banner = self.window.note_label
        return banner.text() if banner.isVisibleTo(self.window) else ""

    def model_info(self) -> dict[str, str]:
        """The Model panel as displayed: its rows (kind, beta, 5-NN accuracy, ...), and ``"warning"`` when the
        model was judged not useful."""
        panel = self.window.info
        return {**panel.rows, **({"warning": panel.warning.text()} if panel.warning.isVisibleTo(panel) else {})}

    @property
    def dataset(self):
        """The dataset shown: ``.images`` (N, C, H, W; uint8 0..255 for 8-bit data, else float32 in
        [0, 1]), ``.display_image(i)`` (float32 in [0, 1]), ``.labels``, ``.label_names``."""
        return self.state.session

    def plotted(self, i: int = 0) -> np.ndarray:
        """The (N, 2) points plane ``i`` plots right now: the projections on its slice (``state.slice`` for the
        main plane) of the means (the shown training snapshot's, for the main plane), or of one posterior sample
        per image while ``state.plot_samples`` is on (explorer.core.spread.posterior_samples). For a 2-D model,
        the means themselves."""
        return self.view(i).points_data[0]

    def ellipses(self, i: int = 0) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """What plane ``i`` draws while ``state.ellipses`` is on: (dataset index, centre, 1-sigma radii)
        per ellipse, the point nearest the shown z first, then the selection's; the 2-sigma ellipse
        has twice the radii. Empty when off (or the model has no posterior spread)."""
        return [(e.index, e.centre, e.radii) for e in self.view(i).spread.drawn]

    @property
    def plane(self):
        """The QWidget that takes the mouse (the latent plane's viewport)."""
        return self.window.view.viewport()

    def to_widget(self, x: float, y: float, i: int = 0) -> tuple[int, int]:
        """Data coordinates -> pixel coordinates in :attr:`plane` (model ``i``'s: ``view(i).viewport()``)."""
        p = self.view(i).data_to_widget(float(x), float(y))
        return int(p.x()), int(p.y())

    # ---------------------------------------------------------------- waiting

    def _wait(self, done, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            self.app.processEvents()
            if done():
                return True
            if time.monotonic() > end:
                return False
            time.sleep(0.002)

    def idle(self) -> bool:
        w = self.window
        return (w.service.service.pending() == 0 and w.service.service.wait_idle(0) and not w.compare.busy
                and w.panes.idle and w.class_dial.idle and w.training.glide.idle
                and w.spread.idle and w.off_data.idle and all(v.density.idle for v in w.planes.views))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Process events until every pending decode / encode has been shown (and the posterior spread
        is computed); True if that happened in time."""
        # twice idle in a row: a result delivered by the last processEvents may start another request
        return self._wait(lambda: self.idle() and (self.app.processEvents() or self.idle()), timeout)

    # ---------------------------------------------------------------- output and the end

    def screenshot(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        self.app.processEvents()
        if not self.window.grab().save(str(path)):
            raise OSError(f"{path}: could not be written")
        return path

    def export_tour(self, path: str | os.PathLike, fps: float = 30.0, seconds_per_leg: float | None = None,
                    hold_seconds: float | None = None, method: str | None = None, scale: int = 10,
                    timeout: float = 600.0) -> Path:
        """Write the bookmark tour (``state.tour``'s order; its speed, hold and path unless given here) as
        an MP4 or GIF (by the suffix): every frame of explorer.core.tour.tour_path decoded, as File ▸ Export
        the bookmark tour does. Returns the path once written; UserError (one sentence) if it cannot be."""
        from training.errors import UserError

        tour = self.window.bookmarks.tour_export
        outcome: list[str] = []
        ok, bad = (lambda p: outcome.append("")), (lambda s: outcome.append(s))
        tour.written.connect(ok)
        tour.failed.connect(bad)
        try:
            if tour.start(path, fps, seconds_per_leg, hold_seconds, method, scale) and not self._wait(lambda: outcome, timeout):
                tour.cancel()
                raise UserError(f"{path}: the tour export did not finish in {timeout:g} s.")
        finally:
            tour.written.disconnect(ok)
            tour.failed.disconnect(bad)
        if outcome and outcome[0]:
            raise UserError(outcome[0])
        return Path(path)

    def train(self, dataset: str, out: str | os.PathLike, model: str = "vae", epochs: int = 10, beta: float = 1.0,
              latent_dim: int = 2, snapshots: int = 8, extra: list[str] | None = None) -> bool:
        """Train a model as File ▸ Train a model does: ``latent-train`` in its own process (``extra``: more
        of its arguments, e.g. ``["--limit", "1000"]``); the plane follows each finished epoch and the new
        model opens when it ends. Returns at once (False if a run is already going); see :meth:`wait_training`."""
        from explorer.qt.train_dialog import train_args

        return self.window.live.start(train_args(dataset, model, epochs, beta, latent_dim, snapshots, extra), out)

    def wait_training(self, timeout: float = 600.0) -> bool:
        """Wait until the training run has ended and what it left is open (or it failed: then
        ``window.live.result`` is ``(False, sentence)``); True if that happened in time."""
        live, w = self.window.live, self.window
        return self._wait(lambda: not live.running and w._open_job is None, timeout) and self.wait_idle(timeout)

    def close(self) -> None:
        """Close the window, join every worker, and free the widgets."""
        if not self._closed:
            from PySide6.QtCore import QCoreApplication, QEvent

            self._closed = True
            self.window.close()
            self.window.deleteLater()
            self.app.processEvents()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    def __enter__(self) -> Explorer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
