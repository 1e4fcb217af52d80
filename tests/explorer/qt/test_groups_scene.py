"""The lasso groups A / B live in the state (``state.groups``): the vector panel renders them, and a
scene saves and restores them, through the public API."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.core.state import StateError


@pytest.fixture
def ex(qapp, checkpoint):
    from explorer.api import Explorer

    e = Explorer(checkpoint, dataset="synthetic", size=(1000, 700))
    yield e
    e.close()


def test_groups_make_a_vector_and_come_back_with_a_scene(ex, tmp_path):
    s = ex.state.session
    a = np.flatnonzero(s.labels == 1)[:40]
    b = np.flatnonzero(s.labels == 2)[:30]
    ex.state.groups = {"A": a[::-1], "B": list(b) + [int(b[0])]}  # any order, repeats: stored sorted, once
    assert ex.state.groups == {"A": tuple(sorted(a.tolist())), "B": tuple(b.tolist())}
    panel = ex.window.vectors
    assert panel.combo_a.currentText() == "sel A (40)" and panel.combo_b.currentText() == "sel B (30)"
    rings = panel.selection_items["A"][1]
    xs, ys = rings.getData()
    np.testing.assert_allclose(np.column_stack([xs, ys]), s.means[np.sort(a)], atol=1e-6)
    v = panel.add_from_groups()  # the panel's Add vector, from the groups in the state
    want = s.means[a].mean(0) - s.means[b].mean(0)
    np.testing.assert_allclose(v.vector, want, atol=1e-5)

    path = tmp_path / "groups.json"
    assert ex.window.save_scene(str(path))
    saved = json.loads(path.read_text())
    assert saved["groups"] == {"A": sorted(a.tolist()), "B": b.tolist()}
    panel.clear_selections()
    ex.state.vectors.clear()
    assert ex.state.groups == {} and panel.combo_a.findData("sel:A") < 0 and not rings.isVisible()
    assert ex.window.open_scene(str(path))
    assert ex.state.groups == {"A": tuple(sorted(a.tolist())), "B": tuple(b.tolist())}
    assert panel.combo_a.findData("sel:A") >= 0 and rings.isVisible()
    (back,) = list(ex.state.vectors)
    np.testing.assert_allclose(back.vector, want, atol=1e-5)
    v2 = ex.state.add_group_vector("again")  # the same vector, straight from the state
    np.testing.assert_allclose(v2.vector, want, atol=1e-5)

    del saved["groups"]  # an older scene without the key: valid, and it has no groups
    path.write_text(json.dumps(saved))
    assert ex.window.open_scene(str(path)) and ex.state.groups == {}
    saved["groups"] = {"A": [len(s.labels) + 5]}  # an image the dataset does not have: refused, nothing changes
    path.write_text(json.dumps(saved))
    ex.state.groups = {"B": [3]}
    assert not ex.window.open_scene(str(path))
    assert "group A holds image" in ex.window.last_error and ex.state.groups == {"B": (3,)}


def test_bad_groups_are_one_sentence(ex):
    for bad in ({"C": [1]}, {"A": [-1]}):
        with pytest.raises(StateError):
            ex.state.groups = bad
