"""The declared action table (explorer.core.actions): one line per action, checked as data."""

from __future__ import annotations

import dataclasses

import pytest

from explorer.core.actions import ACTIONS, BY_ID, MENUS, Commands, UnknownAction, help_rows
from explorer.core.state import ExplorerState

FIELDS = {f.name for f in dataclasses.fields(ExplorerState)} | {
    f.name for part in ("style", "camera") for f in dataclasses.fields(getattr(ExplorerState(), part))}


def test_ids_and_keys_are_unique_and_menus_known():
    assert len(BY_ID) == len(ACTIONS)
    keys = [k for a in ACTIONS for k in a.keys]
    assert len(keys) == len(set(keys)), "two actions share a key"
    assert all(a.menu in (*MENUS, "") for a in ACTIONS)
    assert all(not (a.field and a.run) for a in ACTIONS)


def test_every_field_action_names_a_state_field_and_its_values_are_valid():
    st = ExplorerState()
    st.compared = (object(),)  # a comparison open: the actions that need one are available
    for a in (a for a in ACTIONS if a.field):
        assert a.field in FIELDS, a.id
        a.set(st, True)
        assert getattr(st, a.field) == a.on and a.checked(st)
        a.set(st, False)
        assert getattr(st, a.field) == a.off and not a.checked(st)


def test_trigger_toggles_a_field_runs_a_function_and_calls_a_bound_command():
    st = ExplorerState()
    cmds = Commands(st)
    cmds.trigger("view.hover")
    assert st.hover is True
    cmds.trigger("view.hover")
    assert st.hover is False
    cmds.trigger("view.palette", checked=True)
    assert st.palette == "colour-blind safe"
    cmds.trigger("view.presentation")
    assert st.presentation is True
    st.selection = (3, 1)
    cmds.trigger("select.clear")
    assert st.selection == ()
    calls = []
    assert cmds.trigger("bookmark.next") is None and not cmds.bound("bookmark.next")  # unbound: nothing
    cmds.bind("bookmark.next", lambda: calls.append("next"))
    cmds.trigger("bookmark.next")
    assert calls == ["next"]


def test_unknown_or_wrong_bindings_are_one_sentence():
    cmds = Commands(ExplorerState())
    with pytest.raises(UnknownAction, match="there is no action 'view.nothing'"):
        cmds.bind("view.nothing", lambda: None)
    with pytest.raises(ValueError, match="declared with a field"):
        cmds.bind("view.hover", lambda: None)


def test_help_lists_every_key_once():
    rows = help_rows()
    listed = " ".join(k for k, _ in rows)
    for a in ACTIONS:
        for k in a.keys:
            assert k in listed, a.id
    assert any(k == "Click" for k, _ in rows)


def test_the_compare_actions_are_unavailable_and_unchecked_with_one_model():
    """Link the compared views showed checked and Stop comparing enabled with one model open."""
    st = ExplorerState()
    link, stop = BY_ID["view.link"], BY_ID["compare.stop"]
    assert st.link_views  # the preference stays on ...
    assert not link.available(st) and not link.checked(st) and not stop.available(st)  # ... but not offered
    cmds = Commands(st)
    calls = []
    cmds.bind("compare.stop", lambda: calls.append("stop"))
    cmds.trigger("view.link")
    cmds.trigger("compare.stop")
    assert st.link_views and calls == []  # unavailable: nothing happens
    st.compared = (object(),)
    assert link.available(st) and link.checked(st) and stop.available(st)
    cmds.trigger("compare.stop")
    assert calls == ["stop"]
    assert all(a.needs is None or a.needs in FIELDS for a in ACTIONS)
