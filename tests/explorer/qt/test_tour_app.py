"""The bookmark tour in the app, through the scripting API: play, the clicker keys' glide, Esc, and the
exported video, whose frames are checked against the model's own decode of the tour's path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core.export import to_uint8
from explorer.core.session import ASSETS
from explorer.core.tour import tour_path
from training.errors import UserError

VAE = ASSETS / "fashion-mnist-vae.safetensors"
MARKS = [("trousers", (1.5, 0.6)), ("boots", (0.0, -0.9)), ("bags", (-1.6, -1.2))]


@pytest.fixture
def ex(qapp):
    from explorer.api import Explorer

    e = Explorer(VAE, size=(1280, 720), timeout=180)
    for name, z in MARKS:
        e.state.add_bookmark(name, z)
    e.state.tour.seconds_per_leg, e.state.tour.hold_seconds = 0.3, 0.3
    yield e
    e.close()


def decode(zs) -> np.ndarray:
    from training.checkpoint import load

    model = load(VAE)
    with torch.inference_mode():
        return model.decode(torch.from_numpy(np.asarray(zs, np.float32))).numpy()[:, 0]


def test_play_tour_glides_through_every_bookmark_holding_each_with_its_name(ex):
    seen_z, titles = [], []
    ex.window.panes[0].shown.connect(lambda s: seen_z.append(s.z.copy()))
    title = ex.window.tour_title
    ex.window.bookmarks.player.title.connect(lambda t: titles.append((t, title.isVisible())))
    ex.state.tour.playing = True
    assert ex._wait(lambda: titles[-3:] and [t for t, _ in titles if t][:3] == ["trousers", "boots", "bags"], 20)
    assert ex.window.bookmarks.btn_play.text() == "Stop tour"
    # the pane showed each bookmark's z exactly (the last one's image may still be on its way)
    assert ex._wait(lambda: all(any(np.allclose(s, z, atol=1e-6) for s in seen_z) for _, z in MARKS), 10)
    between = [s for s in seen_z if not any(np.allclose(s, z, atol=1e-6) for _, z in MARKS)]
    assert len(between) >= 3  # and points on the way
    held = [t for t, _ in titles if t]
    assert held and title.font().pointSizeF() >= 2 * ex.window.font().pointSizeF()
    ex.window.action_set["window.escape"].trigger()  # Esc stops
    assert not ex.state.tour.playing and not title.isVisible()
    n = len(seen_z)
    ex._wait(lambda: False, 0.3)
    assert len(seen_z) <= n + 1  # nothing more is asked for


def test_the_clicker_keys_glide_to_the_next_bookmark(ex):
    ex.state.point = (0.5, 0.5)
    assert ex.wait_idle(30)
    sources = []
    ex.state.events.point.connect(lambda *_a: sources.append(ex.state.point_source))
    ex.window.bookmarks.step(+1)
    assert ex._wait(lambda: not ex.window.bookmarks.player.running, 10) and ex.wait_idle(30)
    np.testing.assert_allclose(ex.shown().z, MARKS[0][1], atol=1e-6)
    assert sources.count("tour") >= 3 and sources[-1] == "bookmark \u201ctrousers\u201d"
    np.testing.assert_allclose(ex.shown().image, decode([MARKS[0][1]])[0], atol=1e-5)


def test_export_tour_writes_one_decoded_frame_per_step_of_the_path(ex, tmp_path):
    import imageio.v3 as iio
    from PIL import Image, ImageSequence

    want_z = tour_path([z for _, z in MARKS], 10, 0.5, 0.2, ex.state.tour.method)
    assert len(want_z) == 3 * 2 + 2 * 4
    want = to_uint8(decode(want_z))
    mp4 = ex.export_tour(tmp_path / "tour.mp4", fps=10, seconds_per_leg=0.5, hold_seconds=0.2)
    frames = iio.imread(mp4, index=None)[..., 0][:, ::10, ::10]  # grey, upscaled 10 x
    assert frames.shape == want.shape  # one video frame per z of the path
    assert np.abs(frames.astype(int) - want).mean() < 4  # H.264 is lossy, a little
    gif = ex.export_tour(tmp_path / "tour.gif", fps=10, seconds_per_leg=0.5, hold_seconds=0.2)
    with Image.open(gif) as im:  # a GIF stores a held frame once, with its duration
        got = [(np.asarray(f.convert("L"))[::10, ::10], f.info["duration"]) for f in ImageSequence.Iterator(im)]
    runs = [(want[0], 1)]
    for w in want[1:]:
        runs = [*runs[:-1], (runs[-1][0], runs[-1][1] + 1)] if np.array_equal(w, runs[-1][0]) else [*runs, (w, 1)]
    assert len(got) == len(runs)
    for (g, ms), (w, n) in zip(got, runs, strict=True):
        assert np.abs(g.astype(int) - w).max() <= 1 and ms == 100 * n


def test_a_tour_of_one_bookmark_or_to_no_folder_is_one_sentence_and_writes_nothing(ex, tmp_path):
    errors: list[str] = []
    ex.state.error.connect(errors.append)
    with pytest.raises(UserError, match="no such folder"):
        ex.export_tour(tmp_path / "missing" / "tour.mp4")
    del ex.state.bookmarks[1:]
    with pytest.raises(UserError, match="at least two bookmarks; there is 1"):
        ex.export_tour(tmp_path / "tour.mp4")
    ex.state.tour.playing = True
    assert not ex.state.tour.playing
    assert len(errors) == 3 and all("\n" not in e for e in errors)
    assert list(tmp_path.iterdir()) == []
    assert ex.state.session is not None  # the model stays open


def test_cancel_leaves_no_file(ex, tmp_path):
    tour = ex.window.bookmarks.tour_export
    ex.state.tour.seconds_per_leg = 3.0
    assert tour.start(tmp_path / "tour.mp4")
    tour.cancel()
    assert ex.wait_idle(30) and not tour.busy
    ex._wait(lambda: False, 0.5)
    assert list(tmp_path.iterdir()) == []


def test_a_tour_that_cannot_be_written_is_one_sentence_naming_the_file(ex, tmp_path):
    taken = tmp_path / "taken.gif"
    taken.mkdir()  # the finished GIF cannot replace a folder
    with pytest.raises(UserError) as err:
        ex.export_tour(taken, fps=10, seconds_per_leg=0.2, hold_seconds=0.1)
    msg = str(err.value)
    assert "taken.gif: could not be saved" in msg and "Traceback" not in msg and "\n" not in msg
    assert taken.is_dir() and list(tmp_path.iterdir()) == [taken]
    assert not ex.window.bookmarks.tour_export.busy and ex.state.session is not None
