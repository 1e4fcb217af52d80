"""The main window's files: opening models, datasets, your own module and scenes (dialogs, drops, the
recent lists), and what happens when an open finishes. A part of the main window (a mixin of
:class:`explorer.qt.main_window.MainWindow`); the work itself is pure core code and the open worker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMessageBox

from explorer.core import latent
from explorer.core.session import Session


class WindowFiles:
    """Files, scenes and opens of the main window (uses its state, opener, activity and settings)."""

    # ---------------------------------------------------------------- scenes (pure core code does the work)

    def choose_save_scene(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save scene", "scene.json", "Scenes (*.json)")
        if path:
            self.save_scene(path)

    def save_scene(self, path: str) -> bool:
        from explorer.core.scene import SceneError, save_scene  # scenes only when asked: not on the start path

        try:
            save_scene(self.state, path)
        except SceneError as e:
            self.show_error(str(e))
            return False
        except OSError as e:
            self.show_error(f"{path}: could not be written ({e.strerror or e}).")
            return False
        self.statusBar().showMessage(f"saved scene {path}", 5000)
        return True

    def choose_open_scene(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scene", "", "Scenes (*.json);;All files (*)")
        if path:
            self.open_scene(path)

    def open_scene(self, path: str) -> bool:
        """Apply a scene to the open model; a scene for another model or a malformed file changes nothing.

        A scene that compares models opens them first (in the background), then applies itself."""
        from explorer.core.scene import SceneError, apply_scene, load_scene

        try:
            scene = load_scene(path)
            if self.compare.open_for_scene(scene, path, lambda: self.open_scene(path)):
                return True  # applied once its compared models are open
            notes = apply_scene(scene, self.state, str(path))
        except SceneError as e:
            self.show_error(str(e))
            return False
        self.statusBar().showMessage(" ".join(notes) or f"opened scene {path}", 8000)
        self.settings.add_recent(path, "scenes")
        self._fill_recent()
        return True

    # ---------------------------------------------------------------- files

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", "Latent Explorer models (*.safetensors);;All files (*)")
        if path:
            self.open_model(path)

    def choose_train(self) -> None:
        """File > Train a model...: the dialog, then the run in its own process (explorer.qt.live_training)."""
        from explorer.qt.train_dialog import TrainDialog

        dialog = TrainDialog(self, out_dir=Path.cwd())
        if dialog.exec():
            args, out = dialog.args()
            self.live.start(args, out)

    def confirm_close_training(self) -> bool:
        """Closing while a model trains: ask once; yes stops it (the last finished epoch stays in its file)."""
        if not self.live.running or self.ask_before_closing is False:
            return True
        self.ask_before_closing = False  # once
        answer = QMessageBox.question(self, "A model is training",
                                      f"Stop training {self.live.out.name} and close? The last finished epoch "
                                      "stays in the file.")
        if answer != QMessageBox.StandardButton.Yes:
            self.ask_before_closing = True
            return False
        return True

    def choose_dataset(self) -> None:
        if self.state.session is None:
            self.show_error("Open a model first; a dataset is shown through a model.")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open dataset", "", "Datasets (*.npz);;All files (*)")
        if path:
            self.open_model(self.state.session.model_path, dataset=f"npz:{path}")

    def open_model(self, path: str | Path, dataset: str | None = None, split: str | None = None,
                   data_dir: str | None = None) -> None:
        """Open in the background; on failure the current model stays loaded and the reason is shown."""
        if self._closed:
            return
        self.activity.end(self._open_job)
        self._open_job = self.activity.start(f"opening {Path(path).name}", cancel=self.cancel_open,
                                             tip="Stop opening (or downloading) this model's data; the current model stays")
        self.status_label.setText(f"opening {Path(path).name} \u2026")
        self.empty_state.opening(path)
        self.opener.open(path, dataset, split, data_dir)

    def open_own(self, module, weights: str | Path | None, dataset: str, split: str | None = None,
                 data_dir: str | None = None) -> None:
        """A user's own torch module (``FILE.py:FUNCTION`` or a module object) over ``dataset``, in the background."""
        if self._closed:
            return
        name = module if isinstance(module, str) else type(module).__name__
        self.activity.end(self._open_job)
        self._open_job = self.activity.start(f"opening {name}", cancel=self.cancel_open)
        self.status_label.setText(f"opening {name} \u2026")
        self.empty_state.opening(Path(str(name).partition(":")[0]))
        self.opener.open_own(module, weights, dataset, split, data_dir)

    def cancel_open(self) -> None:
        """Stop the open (and any dataset download) in progress; the current model stays loaded."""
        self.opener.cancel()
        self._end_open()
        self.status_label.setText("opening cancelled; " + ("the current model is still loaded" if self.state.session
                                                          else "no model loaded"))

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        if not self._closed:
            self.activity.update(self._open_job, done, total, stage)

    def _end_open(self) -> None:
        job, self._open_job = self._open_job, None
        self.activity.end(job)

    def _on_open_failed(self, message: str) -> None:
        if self._closed:
            return
        self._end_open()
        self.show_error(message)
        self.status_label.setText("could not open the file; " + ("the current model is still loaded" if self.state.session
                                                                else "no model loaded"))

    def _on_opened(self, session: Session, decode_fn: Any, encode_fn: Any) -> None:
        if self._closed:
            return
        self._end_open()
        # first: the pane refresh decodes with it. Opened light (encode_fn None): the numpy decoder until
        # the torch model is loaded (_on_upgraded); encodes wait for it in the model service
        if encode_fn is not None:
            self.service.set_model(session.model, decode_fn, encode_fn)
        else:
            self.service.set_model(session.light, decode_fn, None, encoder_pending=True)
        self.t_interactive = time.perf_counter()
        self.state.view = None  # frame the new plane (a scene applied next may set it)
        self.state.reset_for_session(session)
        self.info.set_rows(session.info(), warning=session.warning)
        self.info.set_history(session.metadata.get("history"), session.metadata.get("snapshots"))
        self.setWindowTitle(f"Latent Explorer \u2014 {session.model_path.name} \u2014 {session.dataset_name}")
        self.status_label.setText(f"{len(session.labels):,} points; click the plane to decode")
        self.error_label.setVisible(False)
        # latent-train judged it not useful (training/verdict.py): say so as it opens
        self.show_note(f"{session.model_path.name}: {session.warning}" if session.warning else None)
        self._show_dock(self.slice_dock, self.state.ndim > 2, raise_=True)  # a D-dim model: its dims sliders
        if self.state.point is None:  # a crisp, typical first image: the densest spot of the largest class
            xy = self.state.slice.project(session.means) if self.state.ndim > 2 else None
            z = session.typical if xy is None and session.typical is not None else \
                latent.typical_point(session.means, session.labels, plane=xy)
            # a D-dim model: the plane slides (off-plane only) through that mean, so the first image is exactly it
            self.state.set_point(z if xy is None else self.state.slice.contain(z.astype(np.float64)), source="start")
        self.underlay.request()
        if session.index is not None:  # a light open defers it: built once the first image and points are asked for
            QTimer.singleShot(200, session.index.start_build)
        if session.config.get("kind") != "own":  # a user's module is opened by its command, not from a list
            self.settings.add_recent(session.model_path)
        self._fill_recent()
        self.sessionChanged.emit(session)
        self.compare.main_opened()
        if self.pending_scene:
            path, self.pending_scene = self.pending_scene, None
            self.open_scene(path)
            if self.present_from_cli:
                self.state.presentation = True

    def _on_upgraded(self, session: Session, decode_fn: Any, encode_fn: Any) -> None:
        """A session opened light: its torch model takes over from the numpy decoder (no visible change)."""
        if self._closed or session is not self.state.session:
            return
        self.service.upgrade(session.model, decode_fn, encode_fn)
        self.upgraded.emit(session)

    def _on_upgrade_failed(self, session: Session, message: str) -> None:
        if self._closed or session is not self.state.session:
            return
        self.service.encoder_failed(message)  # decodes go on with numpy; encodes say why they cannot run
        self.show_error(message)

    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        paths = [u.toLocalFile() for u in ev.mimeData().urls()]
        mods = ev.modifiers()
        add = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
                           | Qt.KeyboardModifier.AltModifier))
        models = [p for p in paths if Path(p).suffix == ".safetensors"]
        if add and models and self.state.session is not None:  # with a modifier: beside the open model
            self.compare.add(models)
        elif paths:
            self.open_path(paths[0])

    def open_path(self, path: str) -> None:
        """A dropped or given file: a model (.safetensors) or a dataset (.npz or a folder of images)."""
        p = Path(path)
        s = self.state.session
        if p.suffix == ".safetensors":
            self.open_model(p)
        elif s is None:
            self.show_error(f"{p}: open a model first; a dataset is shown through a model.")
        elif p.suffix == ".npz":
            self.open_model(s.model_path, dataset=f"npz:{p}")
        elif p.is_dir():
            self.open_model(s.model_path, dataset=f"folder:{p}")
        else:
            self.show_error(f"{p}: not a model (.safetensors) or a dataset (.npz or a folder of class folders).")

    def _fill_recent(self) -> None:
        """File > Recent models / Recent scenes: the last ones opened (that still exist)."""
        for menu, kind, open_ in ((self.recent_menu, "models", self.open_model),
                                  (self.recent_scenes_menu, "scenes", self.open_scene)):
            menu.clear()
            for path in self.settings.recent(kind):
                menu.addAction(Path(path).name, lambda p=path, f=open_: f(p)).setToolTip(path)
            menu.setEnabled(not menu.isEmpty())

