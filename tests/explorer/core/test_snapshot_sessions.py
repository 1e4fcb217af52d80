"""explorer.core.snapshots: a session per training snapshot (means cached per snapshot, cancel, a changed
file refused) and the movie's frames, against the checkpoint's own snapshots."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
import torch

from explorer.core import snapshots as snaps
from explorer.core.density import hex_rgb
from explorer.core.means_cache import MeansCache
from explorer.core.palettes import colour
from explorer.core.scene import SceneError, parse_scene
from explorer.core.session import Cancelled, SessionError, open_session, unit_float
from training import checkpoint as ckpt

N = 3


@pytest.fixture(scope="module")
def snap_file(tmp_path_factory):
    from training.cli import main

    out = tmp_path_factory.mktemp("snap") / "snap.safetensors"
    assert main(["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--workers", "1", "--threads", "1",
                 "--schedule", "constant", "--limit", "128", "--batch-size", "32", "--epochs", "1", "--quiet",
                 "--snapshots", str(N), "--out", str(out)]) == 0
    return out


@pytest.fixture
def main_session(snap_file, tmp_path):
    return open_session(snap_file, dataset="synthetic", cache=MeansCache(tmp_path / "means"))


def test_each_snapshot_session_is_that_snapshots_model_over_the_same_data(main_session, snap_file, tmp_path):
    cache = MeansCache(tmp_path / "means")
    progress = []
    got = list(snaps.snapshot_sessions(main_session, cache=cache, progress=lambda d, t: progress.append((d, t))))
    assert [s.snapshot for s in got] == list(range(N)) and progress[-1] == (N, N)
    x = torch.from_numpy(unit_float(main_session.images))
    for k, s in enumerate(got):
        assert s.images is main_session.images and s.labels is main_session.labels  # shared, not copied
        assert s.sha256 == main_session.sha256 and s.fns is not None and s.index is not None
        with torch.inference_mode():
            want = ckpt.load(snap_file, snapshot=k).encode(x)[0].numpy()
        np.testing.assert_allclose(s.means, want, atol=1e-5)
        assert s.metadata["snapshot"] == ckpt.list_snapshots(snap_file)[k]
        assert not s.means_cached
    again = list(snaps.snapshot_sessions(main_session, cache=cache))  # the second time: from the means cache
    assert all(s.means_cached for s in again)
    for a, b in zip(got, again):
        np.testing.assert_array_equal(a.means, b.means)
    assert list(snaps.snapshot_sessions(main_session, cache=cache, skip=range(N))) == []


def test_cancel_stops_the_job(main_session, tmp_path):
    cancel = threading.Event()
    it = snaps.snapshot_sessions(main_session, cancel=cancel, cache=MeansCache(tmp_path / "c"))
    first = next(it)
    assert first.snapshot == 0
    cancel.set()
    with pytest.raises(Cancelled):
        next(it)


def test_a_file_changed_since_it_was_opened_is_refused(main_session, snap_file, tmp_path):
    moved = tmp_path / "copy.safetensors"
    shutil.copy(snap_file, moved)
    main_session.model_path = moved
    with moved.open("ab") as f:
        f.write(b" ")
    with pytest.raises(SessionError, match="changed on disk since it was opened"):
        next(snaps.snapshot_sessions(main_session, cache=MeansCache(tmp_path / "c")))


def test_movie_frames_one_per_snapshot_and_the_final_weights(main_session, tmp_path):
    for s in snaps.snapshot_sessions(main_session, cache=MeansCache(tmp_path / "c")):
        main_session.snapshot_sessions[s.snapshot] = s
    frames = snaps.movie_frames(main_session, size=64)
    assert frames.shape == (N + 1, 64, 64, 3) and frames.dtype == np.float32
    assert frames.min() >= 0 and frames.max() <= 1


def test_render_plane_puts_each_point_in_its_class_colour_at_its_place():
    means = np.array([[-0.5, 0.5], [0.5, -0.5]], np.float32)  # top left, bottom right
    img = snaps.render_plane(means, np.array([0, 1]), 2, (-1.0, 1.0, -1.0, 1.0), size=40, point_px=2)
    c0, c1 = (hex_rgb([colour("tab10", k)])[0] / 255 for k in (0, 1))
    for c, (row, col) in ((c0, (9, 10)), (c1, (29, 30))):  # row 0 is the top of the plane (z2 = +1)
        hits = np.argwhere(np.abs(img - c).max(axis=2) < 1.5 / 255)
        assert hits.tolist() == [[row, col]]
    assert (np.abs(img - 1).max(axis=2) < 1e-6).sum() == 40 * 40 - 2  # white elsewhere


def test_words():
    e = {"index": 1, "epoch": 0, "step": 8, "metrics": {"test_neg_elbo": 480.654, "train_loss": 500.0}}
    assert snaps.describe(e, 4) == "snapshot 2 of 4 \u00b7 epoch 0, step 8"
    assert snaps.describe(None, 4) == "final weights"
    assert snaps.metrics_words(e) == "test -ELBO 480.65, train loss 500.00"
    assert snaps.metrics_words(None, {"test_neg_elbo": 1.0}) == "test -ELBO 1.00"


@pytest.mark.parametrize("value", [-1, 100, 1.5, True, "2"])
def test_scene_snapshot_must_be_an_index(value):
    text = '{"format": "latent-explorer-scene", "version": 1, "model": {"path": "m.safetensors"}, "snapshot": %s}'
    import json

    with pytest.raises(SceneError, match="'snapshot' must be a training snapshot index"):
        parse_scene(text % json.dumps(value), "s.json")
    assert parse_scene(text % "3", "s.json").snapshot == 3
    assert parse_scene(text % "null", "s.json").snapshot is None
