"""File ▸ Train a model…: what to train (dataset, kind, β, latent dimension, epochs, snapshots) and where to
write it; the run itself is explorer.qt.live_training. The choices come from the training package's own
tables (training.datasets, training.kinds), so a new dataset source or kind appears here by itself."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from training.config import MAX_LATENT_DIM
from training.datasets import dataset_names
from training.kinds import KINDS


def train_args(dataset: str, model: str = "vae", epochs: int = 10, beta: float = 1.0, latent_dim: int = 2,
               snapshots: int = 8, extra: list[str] | None = None) -> list[str]:
    """latent-train's arguments for a run from the app (the output file is added by the runner)."""
    args = ["--dataset", dataset, "--model", model, "--epochs", str(int(epochs)), "--latent-dim", str(int(latent_dim)),
            "--beta", repr(float(beta)), "--threads", str(max(1, (os.cpu_count() or 2) - 1))]
    if snapshots and model != "pca":
        args += ["--snapshots", str(int(snapshots))]
    return args + list(extra or [])


class TrainDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, out_dir: str | Path = "."):
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.dataset = QComboBox()
        self.dataset.setEditable(True)  # folder:DIR and npz:FILE are typed
        self.dataset.addItems([n for n in dataset_names() if ":" not in n])
        self.dataset.setCurrentText("mnist-5k")
        self.dataset.setToolTip("A known dataset, or folder:DIR (one sub-folder per class) or npz:FILE")
        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        self.beta = QDoubleSpinBox(decimals=2, singleStep=0.5, value=1.0)
        self.beta.setRange(0.0, 100.0)
        self.latent = QSpinBox(value=2)
        self.latent.setRange(2, MAX_LATENT_DIM)
        self.epochs = QSpinBox(value=10)
        self.epochs.setRange(1, 10_000)
        self.snapshots = QSpinBox(value=8)
        self.snapshots.setRange(0, 100)
        self.out = QLineEdit(str(Path(out_dir) / "trained.safetensors"))
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("dataset", self.dataset)
        form.addRow("kind", self.kind)
        form.addRow("\u03b2 (KL weight)", self.beta)
        form.addRow("latent dimension", self.latent)
        form.addRow("epochs", self.epochs)
        form.addRow("snapshots", self.snapshots)
        form.addRow("write to", out_row)
        form.addRow(QLabel("Training runs in its own process; the plane follows each finished epoch.\n"
                           "Cancel in the status bar stops it and keeps the last finished epoch."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Train")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Write the model to", self.out.text(), "Models (*.safetensors)")
        if path:
            self.out.setText(path if path.endswith(".safetensors") else path + ".safetensors")

    def args(self) -> tuple[list[str], str]:
        """(latent-train's arguments, the output file) for what the dialog shows."""
        return (train_args(self.dataset.currentText().strip(), self.kind.currentText(), self.epochs.value(),
                           self.beta.value(), self.latent.value(), self.snapshots.value()), self.out.text().strip())
