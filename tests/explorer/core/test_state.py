"""The explorer state, the pane rule, the pane controller and scenes <-> state: pure core, no Qt.

The session is real: a random-weight checkpoint opened with ``open_session`` on the synthetic
dataset (600 test images), so means, labels, the nearest index and the model are the real ones.
"""

from __future__ import annotations

import json
import re
import threading

import numpy as np
import pytest

from explorer.core import latent
from explorer.core.fields import Choice, Flag, Range
from explorer.core.model_service import ModelService
from explorer.core.pane import PaneController, pane_target
from explorer.core.scene import SceneError, apply_scene, load_scene, parse_scene, save_scene, scene_from_state
from explorer.core.session import open_session
from explorer.core.state import (
    STATE_FIELDS,
    STRENGTH_MAX,
    T_MAX,
    Bookmark,
    ExplorerState,
    StateError,
    Vector,
)


@pytest.fixture
def session(save_checkpoint):
    path = save_checkpoint(arch="conv", channels=(4, 8), hidden=(8,))
    return open_session(path, dataset="synthetic", threads=1)


@pytest.fixture
def state(session):
    st = ExplorerState()
    st.reset_for_session(session)
    return st


class Submits:
    """A submit function that records what the pane controller asks for (ids like the service's)."""

    def __init__(self):
        self.calls: list[tuple[np.ndarray, object]] = []

    def __call__(self, zs, target) -> int:
        self.calls.append((np.array(zs), target))
        return len(self.calls)


# ----------------------------------------------------------------------------- the state


def test_fields_are_normalised_and_emit_once_per_change():
    st = ExplorerState()
    seen = []
    st.events.point.connect(lambda new, old: seen.append((new, old)))
    st.point = np.array([0.5, -1])  # as a script might
    st.point = (0.5, -1.0)  # equal: no event
    assert st.point == (0.5, -1.0) and isinstance(st.point[0], float)
    assert seen == [((0.5, -1.0), None)]
    st.interpolation.t = 7
    assert st.interpolation.t == T_MAX  # clamped like the slider
    v = Vector("v", (1, 2), strength=10)
    assert v.strength == STRENGTH_MAX and v.vector == (1.0, 2.0)


@pytest.mark.parametrize("value", [(1.0, float("nan")), (1, 2, 3), "ab", None])
def test_a_bad_point_is_one_sentence_and_changes_nothing(value):
    st = ExplorerState(point=(1.0, 2.0))
    with pytest.raises(StateError, match="point must be two finite numbers") as e:
        st.set_point(value)
    assert "\n" not in str(e.value)
    assert st.point == (1.0, 2.0)
    with pytest.raises(StateError, match="interpolation method"):
        st.interpolation.method = "cubic"
    with pytest.raises(StateError, match="view must be increasing"):
        st.view = (1, 0, 0, 1)


def test_pane_rule_base_is_what_was_touched_last_plus_enabled_vectors():
    st = ExplorerState()
    assert pane_target(st) is None
    st.point = (1.0, 2.0)
    assert pane_target(st).source == "click" and pane_target(st).z == (1.0, 2.0)
    ip = st.interpolation
    ip.a, ip.b = (0.0, 0.0), (2.0, 4.0)
    ip.t = 0.25
    tgt = pane_target(st)
    assert tgt.source == "interpolation" and tgt.z == pytest.approx((0.5, 1.0))
    st.set_point((3.0, 3.0), source="hover")  # the user touched the point again
    assert pane_target(st).source == "hover" and pane_target(st).z == (3.0, 3.0)
    ip.t = 0.5  # ... and now the slider
    assert pane_target(st).z == pytest.approx((1.0, 2.0))
    st.vectors.append(Vector("up", (0.0, 1.0), strength=2.0))
    st.vectors.append(Vector("off", (5.0, 5.0), strength=1.0, enabled=False))
    tgt = pane_target(st)
    assert tgt.base == pytest.approx((1.0, 2.0)) and tgt.z == pytest.approx((1.0, 4.0)) and tgt.n_vectors == 1
    assert tgt.describe() == "interpolation t = +0.50 (linear) + 1 vector"


def test_class_difference_vector_is_the_difference_of_class_means(state, session):
    v = state.vectors.add_class_difference(session.label_names[1], 0)
    want = session.means[session.labels == 1].mean(0) - session.means[session.labels == 0].mean(0)
    np.testing.assert_allclose(v.vector, want, rtol=1e-5, atol=1e-6)
    assert v.name == f"{session.label_names[1]} \u2212 {session.label_names[0]}" and 0.0 <= v.auc <= 1.0
    with pytest.raises(StateError, match="there is no class 'nope'"):
        state.vectors.add_class_difference("nope", 0)
    assert len(state.vectors) == 1


def test_bookmarks_and_endpoints_take_the_z_the_pane_shows(state):
    state.vectors.append(Vector("right", (1.0, 0.0), strength=1.0))
    state.set_point((0.0, 0.0))
    mark = state.add_bookmark()
    assert mark.z == (1.0, 0.0) and mark.name.startswith("1 near ")
    assert state.set_endpoint("a") == (1.0, 0.0)
    state.snap = True
    b = state.set_endpoint("b")
    i = state.session.index.nearest(np.array([1.0, 0.0], np.float32))[0]
    assert b == pytest.approx(tuple(state.session.means[i]))
    state.go_to_bookmark(0)
    assert state.point == (1.0, 0.0) and state.point_source == "bookmark \u201c" + mark.name + "\u201d"


def test_hidden_classes_hide_their_points_from_the_nearest_lookup(state, session):
    z = session.means[0]
    k = int(session.labels[0])
    assert session.labels[state.session.index.nearest(z)[0]] == k
    state.hidden_classes = (k,)
    assert session.labels[state.session.index.nearest(z)[0]] != k


# ----------------------------------------------------------------------------- the pane controller


def test_one_request_per_change_and_none_for_an_equal_state(state):
    sub = Submits()
    ctl = PaneController(state, sub)
    state.point = (0.5, 0.5)
    state.point = (0.5, 0.5)
    state.interpolation.a = (0.0, 0.0)  # B not set: the pane still shows the point
    assert len(sub.calls) == 1
    state.interpolation.b = (1.0, 1.0)  # the path is ready: the pane shows the frame at t
    state.interpolation.t = 0.4
    assert len(sub.calls) == 3 and ctl.requests == 3
    np.testing.assert_allclose(sub.calls[-1][0], [[0.4, 0.4]], rtol=1e-6)


def test_a_click_with_vectors_on_is_one_request_carrying_base_and_result(state):
    """No double decode: the old app showed the plain point, then asked again for point + vectors."""
    state.vectors.append(Vector("v", (0.5, -0.25), strength=2.0))
    sub = Submits()
    ctl = PaneController(state, sub)  # noqa: F841 - kept alive: the state holds weak references to its handlers
    state.set_point((1.0, 1.0), source="click")
    assert len(sub.calls) == 1
    zs, tgt = sub.calls[0]
    np.testing.assert_allclose(zs, [[2.0, 0.5], [1.0, 1.0]])  # result first, then the base
    assert tgt.source == "click" and tgt.n_vectors == 1


class _Result:
    def __init__(self, id, target, images):
        self.id, self.meta, self.images = id, target, images


def test_results_older_than_the_one_shown_are_dropped(state):
    sub = Submits()
    ctl = PaneController(state, sub)
    shown = []
    ctl.shown.connect(shown.append)
    state.point = (0.0, 0.0)
    state.interpolation.a, state.interpolation.b = (0.0, 0.0), (1.0, 1.0)  # id 2: the frame at t = 0
    state.point = (0.5, 0.5)  # id 3
    img = np.zeros((2, 2), np.float32)
    targets = {i + 1: call[1] for i, call in enumerate(sub.calls)}
    assert ctl.accept(_Result(1, targets[1], [img]))
    assert ctl.accept(_Result(3, targets[3], [img]))
    assert not ctl.accept(_Result(2, targets[2], [img]))  # the older frame never overwrites the newer click
    assert [s.id for s in shown] == [1, 3] and ctl.last.target.z == (0.5, 0.5) and ctl.dropped == 1


def test_burst_of_mixed_point_and_t_changes_ends_on_the_last_one(state, session):
    """The real model service, its worker held on the first decode: the pane must end on the last change."""
    gate = threading.Event()
    from explorer.core.torch_fns import torch_decoder

    real = torch_decoder(session.model)

    def held(z, labels):
        gate.wait(10)
        return real(z, labels)

    results = []
    svc = ModelService()
    pane = svc.channel("pane")
    pane.result.connect(results.append)
    svc.set_model(session.model, decode_fn=held, encode_fn=lambda x: (x, x))
    try:
        ctl = PaneController(state, lambda zs, tgt: pane.request(zs, meta=tgt))
        ip = state.interpolation
        ip.a, ip.b = (-1.0, 0.0), (1.0, 0.5)
        rng = np.random.default_rng(0)
        for k in range(40):
            if k % 2:
                state.set_point(rng.normal(size=2), source="drag")
            else:
                ip.t = float(rng.uniform(0, 1))
        last = pane_target(state)
        gate.set()
        assert svc.wait_idle(10)
        for r in results:  # delivered in the order the worker finished them
            ctl.accept(r)
        assert ctl.last.target == last
        assert svc.decoded <= 3, f"{svc.decoded} decodes for 40 changes: the single pending slot must collapse them"
        want = real(np.array([last.z], np.float32), None)
        np.testing.assert_allclose(ctl.last.image, want[0, 0], atol=1e-6)
    finally:
        svc.close()


# ----------------------------------------------------------------------------- scenes <-> state


def _full_state(state) -> ExplorerState:
    state.set_point((0.25, -0.5))
    ip = state.interpolation
    ip.a, ip.b, ip.method, ip.frames, ip.t = (-1.0, 0.5), (1.0, 0.75), "spherical", 12, 0.35
    state.vectors.add_class_difference(1, 0)
    state.vectors.append(Vector("off", (1.0, 0.0), strength=-2.0, enabled=False))
    state.bookmarks.append(Bookmark("one", (0.0, 1.0)))
    state.hidden_classes = (2,)
    state.view = (-3.0, 3.0, -2.0, 2.5)
    state.density, state.underlay, state.snap = 30, True, True
    return state


def test_state_round_trips_through_a_scene_file(state, session, tmp_path):
    _full_state(state)
    (tmp_path / "talks").mkdir()
    path = save_scene(state, tmp_path / "talks" / "s.json")
    d = json.loads(path.read_text())
    assert d["model"]["path"] == "../m.safetensors" and d["model"]["sha256"] == session.sha256
    fresh = ExplorerState()
    fresh.reset_for_session(session)
    apply_scene(load_scene(path), fresh, str(path))
    assert scene_from_state(fresh).to_json() == scene_from_state(state).to_json()
    assert fresh.base == "interpolation" and pane_target(fresh) == pane_target(state)


def test_a_scene_for_another_model_changes_nothing(state, session):
    _full_state(state)
    before = scene_from_state(state).to_json()
    other = dict(before, model={"path": "x.safetensors", "sha256": "cd" * 32}, point=[9.0, 9.0])
    with pytest.raises(SceneError, match="was made for another model") as e:
        apply_scene(parse_scene(json.dumps(other), "o.json"), state, "o.json")
    assert "cd" * 32 in str(e.value) and session.sha256 in str(e.value)
    too_many = dict(before, toggles=dict(before["toggles"], hidden_classes=[99]))
    with pytest.raises(SceneError, match="hides class 99"):
        apply_scene(parse_scene(json.dumps(too_many), "h.json"), state, "h.json")
    assert scene_from_state(state).to_json() == before


def test_a_scene_without_a_hash_opens_with_a_note(state, session):
    d = scene_from_state(_full_state(state)).to_json()
    del d["model"]["sha256"]
    fresh = ExplorerState()
    fresh.reset_for_session(session)
    notes = apply_scene(parse_scene(json.dumps(d), "nohash.json"), fresh, "nohash.json")
    assert len(notes) == 1 and "no model sha256" in notes[0] and session.sha256 in notes[0]
    assert fresh.point == state.point


def test_grid_for_view_is_what_the_underlay_requests():
    g = latent.grid_for_view(-1.0, 1.0, -2.0, 2.0, 10)
    assert g.centres().shape[1] == 2 and g.centres()[:, 1].min() > -2.0


@pytest.mark.parametrize("name", sorted(STATE_FIELDS))
def test_every_declared_field_is_checked_on_assignment_and_in_scenes_alike(name):
    """One declaration per field: the state clamps / refuses, the scene parser refuses with the same bounds."""
    check, st = STATE_FIELDS[name], ExplorerState()
    msgs = []

    def fail(what):
        msgs.append(what)
        raise ValueError(what)

    if isinstance(check, Flag):
        st.__setattr__(name, 1)
        assert getattr(st, name) is True
        with pytest.raises(ValueError, match=re.escape(f"'{name}' must be true or false")):
            check.json(1, name, fail)
    elif isinstance(check, Range):
        setattr(st, name, check.hi + 1000)
        assert getattr(st, name) == check.hi  # the slider's end
        with pytest.raises(ValueError, match=re.escape(f"'{name}' must be ")):
            check.json(check.hi + 1000, name, fail)
        assert f"[{check.lo:g}, {check.hi:g}]" in msgs[-1]
        assert check.json(check.lo, name, fail) == check.lo
    else:
        assert isinstance(check, Choice)
        with pytest.raises(StateError):
            setattr(st, name, "no such thing")
        refused = re.escape(f"'{name}' must be ") + ".*" + re.escape(', not "no such thing"')
        with pytest.raises(ValueError, match=refused):
            check.json("no such thing", name, fail)


def test_style_and_camera_are_parts_of_the_state_with_one_value_each():
    """As napari's ViewerModel has dims and camera: state.style and state.camera hold their fields once; the
    flat names read and write them, their events are the part's, and the checks are the fields' own."""
    st = ExplorerState()
    seen = []
    st.style.events.point_size.connect(lambda new, old=None: seen.append(("size", new)))
    st.camera.events.view.connect(lambda new, old=None: seen.append(("view", new)))
    st.point_size = 7
    st.camera.view = (0, 2, 0, 1)
    assert st.style.point_size == 7.0 and st.view == (0.0, 2.0, 0.0, 1.0)
    assert seen == [("size", 7.0), ("view", (0.0, 2.0, 0.0, 1.0))]
    st.style.opacity = 5  # clamped by the one declaration (explorer.core.state_fields)
    assert st.opacity == 1.0
    with pytest.raises(StateError, match="view must be increasing"):
        st.camera.view = (2, 0, 0, 1)
    assert st.signal("palette") is st.style.events.palette and st.signal("hover") is st.events.hover
    assert not hasattr(st.events, "palette")  # not kept twice
