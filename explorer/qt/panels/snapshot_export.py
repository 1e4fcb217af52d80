"""The training movie's export: the Training panel's plane from the first snapshot to the final weights, as
a GIF or MP4, rendered and written off the GUI thread (a part of
:class:`explorer.qt.panels.snapshot_panel.SnapshotPanel`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from explorer.core import export
from explorer.core import snapshots as snaps
from explorer.qt.writing import write_off_thread

MOVIE_FPS = 4.0  # frames per second of an exported GIF / MP4
MOVIE_SIZE = 480  # pixels across an exported frame


class MovieExport:
    def _export_dialog(self, kind: str) -> None:
        name = "training." + kind
        filt = export.writer_for(kind).filter
        path, _ = QFileDialog.getSaveFileName(self, "Export the training movie", name, filt)
        if path:
            self.export(path, kind)

    def export(self, path: str, kind: str | None = None, size: int = MOVIE_SIZE) -> bool:
        """Write the plane from the first snapshot to the final weights as a GIF or MP4 (by ``kind`` or the
        suffix), one frame each, rendered and written off the GUI thread; ``exported`` fires when done."""
        kind = kind or Path(path).suffix.lower().lstrip(".")
        main = self.state.session
        if kind not in ("gif", "mp4"):
            self.state.error.emit(f"{path}: export as .gif or .mp4.")
            return False
        if main is None or not main.snapshots:
            self.state.error.emit("This model file holds no training snapshots (latent-train --snapshots N).")
            return False
        if not self.complete:
            self.state.error.emit(f"{Path(path).name}: wait until every snapshot is computed "
                                  f"({len(self.ready())} of {self.count} so far).")
            return False
        palette, hidden = self.state.palette, self.state.hidden_classes

        def work() -> str:
            frames = snaps.movie_frames(main, size, palette, hidden=hidden,
                                        progress=lambda d, t: self.exportProgress.emit("rendering frame", d, t))
            export.writer_for(kind, path).write(path, frames, fps=MOVIE_FPS, scale=1, ping_pong=False,
                                                progress=lambda d, t: self.exportProgress.emit("writing frame", d, t))
            return path

        worker = write_off_thread(path, work, written=self._on_exported, failed=self.state.error.emit)
        self.workers = [w for w in self.workers if w.is_running] + [worker]
        return True

    def _on_export_progress(self, stage: str, done: int, total: int) -> None:
        self.state.info.emit(f"training movie: {stage} {done} of {total}")

    def _on_exported(self, path: str) -> None:
        self.state.info.emit(f"wrote {path}")
        self.exported.emit(path)
