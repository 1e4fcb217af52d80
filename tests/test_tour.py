"""The bookmark tour's path (explorer.core.tour) and its place in scenes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.core import latent
from explorer.core.marks import Bookmark
from explorer.core.scene_file import SceneError, parse_scene
from explorer.core.tour import Tour, TourError, tour_path

PTS = np.array([[0.0, 0.0], [2.0, 1.0], [-1.0, 3.0]], np.float32)


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_each_point_is_held_and_each_leg_is_the_interpolation(method):
    fps, leg, hold = 10.0, 0.8, 0.35  # 8 steps a leg, round(3.5) = 4 frames held
    z = tour_path(PTS, fps, leg, hold, method)
    assert z.shape == (3 * 4 + 2 * 7, 2)
    np.testing.assert_array_equal(z[:4], np.repeat(PTS[:1], 4, 0))
    want_leg = latent.interpolate(PTS[0], PTS[1], np.arange(1, 8) / 8, method)
    np.testing.assert_allclose(z[4:11], want_leg, atol=1e-6)
    np.testing.assert_array_equal(z[11:15], np.repeat(PTS[1:2], 4, 0))
    np.testing.assert_array_equal(z[-4:], np.repeat(PTS[2:], 4, 0))


def test_no_hold_still_passes_through_every_point_once():
    z = tour_path(PTS, 30, 1.0, 0.0)
    for p in PTS:
        assert (np.abs(z - p).max(axis=1) < 1e-7).sum() == 1


def test_a_d_dim_tour_runs_in_d():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(4, 16)).astype(np.float32)
    z = tour_path(pts, 30, 0.5, 0.5, "spherical")
    assert z.shape[1] == 16 and np.isfinite(z).all()


@pytest.mark.parametrize(("args", "words"), [
    ((PTS[:1],), "at least two bookmarks; there is 1"),
    ((np.zeros((0, 2)),), "there are 0"),
    ((PTS, 0.0), "must be positive"),
    ((PTS, 30, -1.0), "must be positive"),
    ((PTS, 30, 1.0, -0.5), "not negative"),
    ((PTS, 30, 1.0, 1.0, "cubic"), "linear or spherical"),
    ((PTS, 30, 60.0, 60.0), "at most 100,000"),
])
def test_bad_tours_are_one_sentence(args, words):
    if args[1:2] == (30,) and args[2:3] == (60.0,):
        args = (np.zeros((400, 2), np.float32), *args[1:])
    with pytest.raises(TourError, match=words):
        tour_path(*args)


def test_the_tour_visits_its_order_and_says_which_bookmark_it_holds():
    marks = [Bookmark(n, tuple(p)) for n, p in zip("abc", PTS.tolist(), strict=True)]
    t = Tour(order=(2, 0), seconds_per_leg=0.1, hold_seconds=0.1)
    z, at = t.path(marks, fps=20)
    assert at == [2, 2, -1, 0, 0] and len(z) == 5  # 2 frames held, a leg of 2 steps: 1 frame between
    z, at = Tour(seconds_per_leg=0.1, hold_seconds=0.05).path(marks, fps=20)
    assert at == [0, -1, 1, -1, 2]
    np.testing.assert_allclose(z[[0, 2, 4]], PTS)
    assert Tour(order=(5, 1, 0)).stops(3) == [1, 0]  # removed bookmarks are skipped


def scene_text(tour) -> str:
    d = {"format": "latent-explorer-scene", "version": 1, "model": {"path": "m.safetensors"},
         "bookmarks": [{"name": "a", "z": [0, 0]}, {"name": "b", "z": [1, 1]}]}
    if tour is not None:
        d["tour"] = tour
    return json.dumps(d)


def test_a_scene_reads_and_writes_the_tour():
    s = parse_scene(scene_text({"order": [1, 0], "seconds_per_leg": 3.5, "hold_seconds": 0, "method": "linear"}))
    assert s.tour == {"order": [1, 0], "seconds_per_leg": 3.5, "hold_seconds": 0.0, "method": "linear"}
    again = parse_scene(json.dumps(s.to_json()))
    assert again.tour == s.tour
    assert parse_scene(scene_text(None)).tour is None


@pytest.mark.parametrize(("tour", "words"), [
    ({"order": [0, 2]}, "'tour.order' must be a list of bookmark indices"),
    ({"seconds_per_leg": 0}, "'tour.seconds_per_leg' must be a finite number"),
    ({"hold_seconds": "long"}, "'tour.hold_seconds'"),
    ({"method": "cubic"}, "tour.method"),
    ([1, 2], "'tour' must be an object"),
])
def test_a_bad_tour_in_a_scene_is_one_sentence(tour, words):
    with pytest.raises(SceneError, match=words):
        parse_scene(scene_text(tour), "talk.json")
