"""The status bar's progress bar and Cancel button: the one place that renders the activity model
(explorer.core.activity.Activity). They show the newest job running and hide when none is."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar, QPushButton, QStatusBar

from explorer.core.activity import Activity


class ActivityBar:
    """``progress`` and ``cancel`` (a QProgressBar and a QPushButton) in ``status_bar``, rendering ``activity``."""

    def __init__(self, activity: Activity, status_bar: QStatusBar) -> None:
        self.activity = activity
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)
        self.cancel = QPushButton("Cancel")
        self.cancel.setVisible(False)
        self.cancel.clicked.connect(lambda: activity.cancel())
        status_bar.addPermanentWidget(self.progress)
        status_bar.addPermanentWidget(self.cancel)
        activity.changed.connect(self.render)

    def render(self) -> None:
        job = self.activity.current
        self.progress.setVisible(job is not None)
        self.cancel.setVisible(job is not None and job.cancel is not None)
        if job is None:
            return
        self.progress.setRange(0, job.total)  # 0: busy, length unknown
        self.progress.setValue(job.done)
        self.progress.setFormat(f"{job.name} %p%" if job.total else job.name)
        self.cancel.setToolTip(job.tip or "Stop this")
