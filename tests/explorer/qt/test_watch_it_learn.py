"""Watch it learn: a model file with training snapshots, scrubbed through the scripting API.

Every check compares what the app shows with the checkpoint's own snapshot, loaded independently with
``training.checkpoint.load(path, snapshot=k)``: the plane plots that snapshot's encoder output, and the
pane shows that snapshot's decode of the z shown.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.core.decode_service import to_display
from explorer.core.session import unit_float
from explorer.core.state import StateError
from training import checkpoint as ckpt

N_SNAPSHOTS = 4
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def snap_checkpoint(tmp_path_factory):
    """A tiny VAE made by the latent-train command (in-process) on synthetic data, with 4 snapshots."""
    from training.cli import main

    out = tmp_path_factory.mktemp("snap") / "snap.safetensors"
    assert main(["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--workers", "1", "--threads", "1",
                 "--schedule", "constant", "--limit", "256", "--batch-size", "32", "--lr", "0.005", "--epochs", "2",
                 "--quiet", "--snapshots", str(N_SNAPSHOTS), "--out", str(out)]) == 0
    return out


@pytest.fixture
def ex(qapp, snap_checkpoint):
    from explorer.api import Explorer

    e = Explorer(snap_checkpoint, dataset="synthetic", size=(1000, 700))
    yield e
    e.close()


def own(path, k):
    """(encode means of the dataset, decode) of snapshot k (None: the final weights), computed here."""
    torch.set_num_threads(1)
    return ckpt.load(path) if k is None else ckpt.load(path, snapshot=k)


def encoded(model, images) -> np.ndarray:
    with torch.inference_mode():
        return model.encode(torch.from_numpy(unit_float(images)))[0].numpy()


def decoded(model, z) -> np.ndarray:
    with torch.inference_mode():
        return to_display(model.decode(torch.from_numpy(np.atleast_2d(np.asarray(z, np.float32)))).numpy())[0]


def title(ex) -> str:
    label = ex.window.view.plot_item.titleLabel
    return label.text if label.isVisible() else ""


def test_each_snapshot_plane_and_pane_are_that_snapshots_encoder_and_decoder(ex, snap_checkpoint):
    assert ex.window.training_dock.isVisible()
    assert ex.snapshots_ready(TIMEOUT)
    images = ex.dataset.images
    final = encoded(own(snap_checkpoint, None), images)
    np.testing.assert_allclose(ex.plotted(0), final, atol=1e-5)
    ex.state.point = np.median(final, axis=0)
    entries = ckpt.list_snapshots(snap_checkpoint)
    for k in (2, 0, 3, 1):  # out of order, as a slider is dragged
        ex.state.snapshot = k
        assert ex.wait_idle(10)
        model = own(snap_checkpoint, k)
        want = encoded(model, images)
        np.testing.assert_allclose(ex.plotted(0), want, atol=1e-5)
        assert not np.allclose(want, final, atol=1e-3)  # a different plane from the final one
        s = ex.shown()
        np.testing.assert_allclose(s.image, decoded(model, s.z), atol=1e-6)
        words = f"snapshot {k + 1} of {N_SNAPSHOTS} \u00b7 epoch {entries[k]['epoch']}, step {entries[k]['step']}"
        assert words in s.caption
        assert words in title(ex)  # the plane's title
        assert words in ex.window.training.label.text()
        d = ((want - s.z) ** 2).sum(1)
        assert d[s.nearest_index] == d.min()  # the nearest image on the snapshot's own plane
    ex.state.snapshot = None  # back to the final weights
    assert ex.wait_idle(10)
    np.testing.assert_allclose(ex.plotted(0), final, atol=1e-5)
    s = ex.shown()
    np.testing.assert_allclose(s.image, decoded(own(snap_checkpoint, None), s.z), atol=1e-6)
    assert "snapshot" not in s.caption and title(ex) == "final weights"


def test_scrubbing_moves_the_same_scatter_items(ex):
    """The fast path: one ScatterPlotItem per class, kept; only their positions change."""
    assert ex.snapshots_ready(TIMEOUT)
    view = ex.window.view
    items = list(view.scatters)
    for k in range(N_SNAPSHOTS):
        ex.state.snapshot = k
        assert view.scatters == items
        s = ex.state.session.snapshot_sessions[k]
        for c, item in enumerate(items):
            x, y = item.getData()
            np.testing.assert_array_equal(np.c_[x, y], s.means[s.labels == c].astype(np.float64))
    ex.state.hidden_classes = (1,)
    ex.state.snapshot = 0
    assert not items[1].isVisible() and items[0].isVisible()
    ex.window.training.btn_frame.click()  # Frame all: every snapshot's points stay in view while scrubbing
    assert ex.wait_idle(10)
    held = ex.state.view
    x0, x1, y0, y1 = held
    main = ex.state.session
    for s in (*main.snapshot_sessions.values(), main):
        lo, hi = np.percentile(s.means, [0.5, 99.5], axis=0)
        assert x0 <= lo[0] and hi[0] <= x1 and y0 <= lo[1] and hi[1] <= y1
    ex.state.snapshot = 2  # held: scrubbing does not move the view
    assert ex.wait_idle(10) and ex.state.view == held


def visible_share(ex) -> tuple[float, float]:
    """(share of the plotted points inside the visible view, the larger share of the view's width or height
    their bulk spans)."""
    xy = ex.plotted(0)
    x0, x1, y0, y1 = ex.view(0).view_rect()
    inside = float(np.mean((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)))
    lo, hi = np.percentile(xy, [0.5, 99.5], axis=0)
    return inside, float(max((hi[0] - lo[0]) / (x1 - x0), (hi[1] - lo[1]) / (y1 - y0)))


def test_the_view_follows_the_snapshot_shown(ex):
    """Each snapshot shown is framed: nearly all its points in view, spanning a readable part of it (the
    view once stayed at the final weights' range, so early snapshots were a dot or off screen)."""
    assert ex.snapshots_ready(TIMEOUT)
    for k in (0, 3, 1, None, 2):
        ex.state.snapshot = k
        assert ex.wait_idle(10)
        inside, span = visible_share(ex)
        assert inside >= 0.99, (k, inside)
        assert span >= 0.3, (k, span)
        assert ex.state.view == ex.view(0).view_rect()  # the state holds what is visible


def test_a_view_set_while_the_view_glides_stays(ex):
    """A pan (or a scene's view) during the move to a snapshot's frame wins: the move stops."""
    assert ex.snapshots_ready(TIMEOUT)
    ex.state.snapshot = 0
    glide = ex.window.training.glide
    assert not glide.idle  # moving there, a frame at a time
    ex.state.view = (-9.0, 9.0, -9.0, 9.0)
    assert glide.idle
    assert ex.wait_idle(10)
    x0, x1, y0, y1 = ex.state.view
    assert x0 <= -9 and x1 >= 9 and y0 <= -9 and y1 >= 9 and min(x1 - x0, y1 - y0) == pytest.approx(18)


def test_a_scene_with_a_snapshot_keeps_its_view(ex, tmp_path):
    from explorer.core.scene import apply_scene, load_scene, save_scene

    assert ex.snapshots_ready(TIMEOUT)
    ex.state.snapshot = 1
    assert ex.wait_idle(10)
    ex.state.view = (-7.0, 7.0, -7.0, 7.0)
    assert ex.wait_idle(10)
    saved = ex.state.view
    save_scene(ex.state, tmp_path / "s.json")
    ex.state.snapshot = None
    assert ex.wait_idle(10) and ex.state.view != saved
    apply_scene(load_scene(tmp_path / "s.json"), ex.state)
    assert ex.wait_idle(10)
    assert ex.state.snapshot == 1 and ex.state.view == pytest.approx(saved)


def test_a_snapshot_asked_for_before_it_is_computed_is_shown_when_ready(qapp, snap_checkpoint, tmp_path,
                                                                        monkeypatch):
    from explorer.api import Explorer

    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path / "fresh"))  # nothing cached: computed now
    ex = Explorer(snap_checkpoint, dataset="synthetic", size=(1000, 700))
    try:
        ex.state.snapshot = 3  # right after opening: maybe not computed yet
        if 3 not in ex.state.session.snapshot_sessions:  # until it is, the final model is shown
            assert ex.window.view.session is ex.state.session
        assert ex.snapshots_ready(TIMEOUT)
        assert ex.wait_idle(10)
        model = own(snap_checkpoint, 3)
        np.testing.assert_allclose(ex.plotted(0), encoded(model, ex.dataset.images), atol=1e-5)
        s = ex.shown()
        np.testing.assert_allclose(s.image, decoded(model, s.z), atol=1e-6)
        assert "snapshot 4 of 4" in s.caption
    finally:
        ex.close()


def test_slider_play_and_label(ex, qtbot):
    assert ex.snapshots_ready(TIMEOUT)
    panel = ex.window.training
    assert panel.slider.maximum() == N_SNAPSHOTS and panel.slider.value() == N_SNAPSHOTS  # the final weights
    assert "final weights" in panel.label.text() and "test -ELBO" in panel.label.text()
    panel.slider.setValue(1)  # what a drag to the second tick does
    assert ex.state.snapshot == 1
    ex.state.snapshot = 2
    assert panel.slider.value() == 2
    panel.slider.setValue(N_SNAPSHOTS)
    assert ex.state.snapshot is None
    seen = []
    ex.state.events.snapshot.connect(lambda new, _old: seen.append(new))
    panel.btn_play.click()
    assert panel.playing and panel.btn_play.text() == "Pause"
    qtbot.waitUntil(lambda: len(seen) >= N_SNAPSHOTS + 3, timeout=10_000)
    panel.btn_play.click()
    assert not panel.playing
    assert seen[: N_SNAPSHOTS + 2] == [0, 1, 2, 3, None, 0]  # a movie, looping through the final weights


def test_gif_export_has_one_frame_per_snapshot_and_the_final_weights(ex, qtbot, tmp_path):
    assert ex.snapshots_ready(TIMEOUT)
    panel = ex.window.training
    out = tmp_path / "learn.gif"
    with qtbot.waitSignal(panel.exported, timeout=30_000):
        assert panel.export(str(out), size=160)
    with Image.open(out) as im:
        assert im.size == (160, 160)
        assert im.n_frames == N_SNAPSHOTS + 1
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB"), np.int16))
    assert any(np.abs(frames[0] - f).max() > 0 for f in frames[1:])  # the plane moves
    assert (frames[0] < 200).any(axis=2).mean() > 0.01  # coloured points on white


def test_mp4_export(ex, qtbot, tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    assert ex.snapshots_ready(TIMEOUT)
    out = tmp_path / "learn.mp4"
    with qtbot.waitSignal(ex.window.training.exported, timeout=60_000):
        assert ex.window.training.export(str(out), size=96)
    assert out.read_bytes()[4:8] == b"ftyp"


def test_scene_keeps_the_snapshot(ex, tmp_path):
    assert ex.snapshots_ready(TIMEOUT)
    ex.state.snapshot = 2
    path = tmp_path / "scene.json"
    assert ex.window.save_scene(str(path))
    assert json.loads(path.read_text())["snapshot"] == 2
    ex.state.snapshot = None
    assert ex.window.open_scene(str(path)), ex.window.last_error
    assert ex.state.snapshot == 2
    d = json.loads(path.read_text())
    d["snapshot"] = 7
    path.write_text(json.dumps(d))
    assert not ex.window.open_scene(str(path))
    assert "snapshot 7" in ex.window.last_error and ex.state.snapshot == 2


def test_a_model_without_snapshots_has_no_training_panel(qapp, checkpoint, tmp_path):
    from explorer.api import Explorer

    ex = Explorer(checkpoint, dataset="synthetic", size=(1000, 700))
    try:
        assert not ex.window.training_dock.isVisible() and not title(ex)
        assert not ex.snapshots_ready(1)
        with pytest.raises(StateError) as info:
            ex.state.snapshot = 0
        msg = str(info.value)
        assert msg == "this model file holds no training snapshots (latent-train --snapshots N)."
        assert ex.state.snapshot is None
        assert not ex.window.training.export(str(tmp_path / "x.gif"))
        assert "holds no training snapshots" in ex.window.last_error and "\n" not in ex.window.last_error
    finally:
        ex.close()


def test_the_slider_reaches_only_computed_snapshots_and_cancel_keeps_them(qtbot, snap_checkpoint, tmp_path,
                                                                          monkeypatch):
    from explorer.qt.main_window import MainWindow

    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path / "fresh"))  # nothing cached: computed now
    win = MainWindow(snap_checkpoint, dataset="synthetic")
    qtbot.addWidget(win)
    panel = win.training
    panel.computed.connect(lambda k: panel.cancel() if k == 0 else None)  # the user cancels after the first
    with qtbot.waitSignal(panel.finished, timeout=60_000):
        win.show()
    try:
        main = win.state.session
        assert sorted(main.snapshot_sessions) == [0] and not panel.running
        assert panel.btn_job.isVisibleTo(panel) and panel.btn_job.text() == "Compute the rest"
        assert "1 of 4 snapshots computed" in panel.progress.text()
        for v, want in ((0, 0), (1, 0), (2, 0), (3, None), (4, None)):  # 1..3 are not computed: the nearest that is
            panel.slider.setValue(v)
            assert win.state.snapshot == want and panel.slider.value() == panel.position(want)
        with qtbot.waitSignal(panel.finished, timeout=60_000):
            panel.btn_job.click()
        assert sorted(main.snapshot_sessions) == [0, 1, 2, 3] and not panel.btn_job.isVisibleTo(panel)
        panel.slider.setValue(2)
        assert win.state.snapshot == 2 and win.view.session is main.snapshot_sessions[2]
    finally:
        win.close()


def test_opening_another_model_leaves_the_snapshot(ex, qtbot, checkpoint):
    assert ex.snapshots_ready(TIMEOUT)
    ex.state.snapshot = 3
    with qtbot.waitSignal(ex.window.sessionChanged, timeout=30_000):
        ex.window.open_model(checkpoint, dataset="synthetic")
    assert ex.state.snapshot is None and not ex.window.training_dock.isVisible()
    assert ex.wait_idle(10) and "snapshot" not in ex.shown().caption and not ex.window.last_error
    assert ex.window.view.session is ex.state.session and not title(ex)


def test_snapshot_means_are_encoded_on_the_model_service_with_progress_and_cancel(ex, snap_checkpoint, qtbot):
    import os
    import shutil
    from pathlib import Path

    assert ex.snapshots_ready(TIMEOUT)
    main, panel, win = ex.state.session, ex.window.training, ex.window
    shutil.rmtree(Path(os.environ["LATENT_EXPLORER_CACHE"]) / "means", ignore_errors=True)  # so they encode
    main.snapshot_sessions.clear()
    encoded: list = []
    win.service.channel("snapshots").result.connect(encoded.append)  # the model service's bulk lane
    jobs: list = []
    win.activity.changed.connect(lambda: jobs.extend((j.name, j.done, j.total) for j in win.activity.jobs))
    assert panel.compute()
    assert win.progress.isVisible() and win.btn_cancel.isVisible()  # the status bar renders the job
    assert ex.snapshots_ready(TIMEOUT)
    assert len(encoded) == N_SNAPSHOTS and sorted(main.snapshot_sessions) == list(range(N_SNAPSHOTS))
    assert all(not s.means_cached for s in main.snapshot_sessions.values())
    np.testing.assert_allclose(main.snapshot_sessions[1].means, encoded_means(snap_checkpoint, 1, main.images),
                               atol=2e-5)
    assert (f"training snapshots: {N_SNAPSHOTS} of {N_SNAPSHOTS}", N_SNAPSHOTS, N_SNAPSHOTS) in jobs
    assert win.activity.idle and not win.progress.isVisible()

    main.snapshot_sessions.clear()  # again, and the status bar's Cancel stops it
    assert panel.compute()
    win.btn_cancel.click()
    assert not panel.running and win.activity.idle
    qtbot.wait(1000)
    assert not main.snapshot_sessions  # nothing computed after the cancel is kept


def encoded_means(path, k, images) -> np.ndarray:
    return encoded(own(path, k), images)
