"""Comparison takes the state, the model service and the activity model (not the window); the status
bar's progress bar and Cancel button render the activity model, one place for every long job."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from explorer.core.activity import Activity
from explorer.qt.compare.comparison import Comparison


def test_comparison_reports_through_the_state_and_the_activity_model(window, qtbot, checkpoint, tmp_path):
    activity = Activity()
    compare = Comparison(window.state, window.service, activity)  # no window anywhere
    errors: list[str] = []
    window.state.error.connect(errors.append)
    seen: list[str] = []
    activity.changed.connect(lambda: seen.extend(j.name for j in activity.jobs))

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model at all")
    compare.add([junk])
    assert activity.current is not None and "for comparison" in activity.current.name
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert "junk.safetensors" in errors[0] and "\n" not in errors[0]
    assert activity.idle

    shutil.rmtree(Path(os.environ["LATENT_EXPLORER_CACHE"]) / "means", ignore_errors=True)  # so it encodes
    encoded: list = []
    window.service.channel("compare").result.connect(encoded.append)  # the model service's bulk lane
    with qtbot.waitSignal(compare.opened, timeout=60_000):
        compare.add([checkpoint])
    assert len(window.state.compared) == 1 and activity.idle
    (res,) = encoded
    other = window.state.compared[0]
    assert res.value is other and not other.means_cached and other.index is not None
    np.testing.assert_allclose(other.means, window.state.session.means, atol=1e-5)  # the same model's encoder
    assert any("for comparison" in n for n in seen)
    compare.stop()
    compare.shutdown()
    assert window.state.compared == ()


def test_the_status_bar_renders_the_activity_model(window, qtbot):
    stopped: list[bool] = []
    assert not window.progress.isVisible()
    job = window.activity.start("counting sheep", 8, cancel=lambda: stopped.append(True), tip="Stop counting")
    window.activity.update(job, 2)
    assert window.progress.isVisible() and window.btn_cancel.isVisible()
    assert window.progress.format().startswith("counting sheep") and window.progress.value() == 2
    assert window.btn_cancel.toolTip() == "Stop counting"
    window.btn_cancel.click()
    assert stopped == [True] and window.activity.idle
    assert not window.progress.isVisible() and not window.btn_cancel.isVisible()
