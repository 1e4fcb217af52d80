"""The window's actions come from the one table: QActions, menus, keys, the F1 help, both sync directions."""

from __future__ import annotations

from PySide6.QtCore import Qt

from explorer.core.actions import ACTIONS


def test_every_declared_action_is_a_qaction_in_its_menu_with_its_keys(window):
    acts = window.action_set
    menus = {m.title().replace("&", ""): m for m in (a.menu() for a in window.menuBar().actions()) if m}
    for a in ACTIONS:
        q = acts[a.id]
        assert q.text() == a.title
        assert len(q.shortcuts()) == len(a.keys)
        assert q.isCheckable() == (a.field is not None)
        if a.menu:
            assert q in menus[a.menu].actions(), f"{a.id} is not in the {a.menu} menu"


def test_every_command_action_is_bound_in_the_window(window):
    """No menu entry or key that silently does nothing."""
    unbound = [a.id for a in ACTIONS if a.field is None and a.run is None
               and not window.action_set.commands.bound(a.id)]
    assert unbound == []


def test_field_actions_follow_the_state_and_write_it(window, qtbot):
    q = window.action_set["view.dim"]
    window.state.dim = True  # a script or a scene
    assert q.isChecked()
    q.trigger()  # the menu
    assert window.state.dim is False and not q.isChecked()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_H)  # the key, as a user presses it
    assert window.state.hover is True and window.action_set["view.hover"].isChecked()
    assert window.action_set.spins["density"].value() == window.state.density
    window.state.density = 33
    assert window.action_set.spins["density"].value() == 33
    window.action_set.spins["opacity"].setValue(40)
    assert abs(window.state.opacity - 0.40) < 1e-9


def test_the_help_lists_the_tables_keys(window, qtbot):
    window.action_set["help.keys"].trigger()
    text = window.help_overlay.text()
    assert window.help_overlay.isVisible()
    for a in ACTIONS:
        if a.keys:
            assert a.plain_title.replace("&", "&amp;").split(" (")[0][:20] in text, a.id
    window.action_set["window.escape"].trigger()
    assert not window.help_overlay.isVisible()
