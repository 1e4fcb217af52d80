"""What the app remembers between runs (QSettings in a per-test file), and that garbage there is harmless."""

from __future__ import annotations

import os


def _open(qtbot, checkpoint):
    from explorer.qt.main_window import MainWindow

    win = MainWindow(checkpoint, dataset="synthetic")
    qtbot.addWidget(win)
    with qtbot.waitSignals([win.sessionChanged, win.decodeShown], timeout=30_000):
        win.show()
    return win


def test_geometry_palette_and_recent_models_are_remembered(qtbot, checkpoint, tmp_path):
    win = _open(qtbot, checkpoint)
    scene = tmp_path / "talk.json"
    assert win.save_scene(str(scene)) and win.open_scene(str(scene))
    win.resize(700, 560)  # inside the offscreen platform's 800x800 screen (restoreGeometry keeps windows on screen)
    win.action_set["view.palette"].trigger()  # the user picks View > Colour-blind safe palette
    qtbot.wait(50)
    win.close()
    again = _open(qtbot, checkpoint)
    assert (again.width(), again.height()) == (700, 560)
    assert again.state.palette == "colour-blind safe" and again.action_set["view.palette"].isChecked()
    assert again.settings.recent() == [str(checkpoint.resolve())]
    assert [a.text() for a in again.recent_menu.actions()] == [checkpoint.name]
    assert again.settings.recent("scenes") == [str(scene.resolve())]
    assert [a.text() for a in again.recent_scenes_menu.actions()] == ["talk.json"]
    again.close()


def test_garbage_in_the_settings_file_falls_back_to_defaults_with_a_warning(qtbot, checkpoint, capfd):
    path = os.environ["LATENT_EXPLORER_SETTINGS"]
    with open(path, "w") as f:
        f.write("[window]\ngeometry=@ByteArray(not a geometry)\ndocks=12\n[view]\npalette=rainbow\n"
                "[recent]\nmodels=@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\x18garbage)\n")
    win = _open(qtbot, checkpoint)
    assert win.state.palette == "tab10"
    err = capfd.readouterr().err
    assert "ignored an unreadable window geometry" in err and "ignored an unreadable palette" in err
    assert err.count("ignored an unreadable list of recent models") == 1, err  # once, though read several times
    assert "QVariant" not in err, err  # Qt's own line for the same garbage does not leak
    assert all(w.startswith(path) for w in win.settings.warnings)
    assert win.state.session is not None  # the app works on
    win.close()


def test_a_recent_list_of_the_wrong_type_is_one_warning(qapp, capfd):
    from explorer.qt.settings import Settings

    path = os.environ["LATENT_EXPLORER_SETTINGS"]
    with open(path, "w") as f:
        f.write("[recent]\nmodels=@ByteArray(xyz)\n")
    s = Settings()
    assert s.recent() == [] and s.recent() == []
    assert capfd.readouterr().err.count("ignored an unreadable list of recent models") == 1


def test_a_script_never_writes_the_settings_file_unless_asked(qapp, checkpoint):
    from explorer.api import Explorer

    path = os.environ["LATENT_EXPLORER_SETTINGS"]  # a temporary file (tests/conftest.py own_settings)
    ex = Explorer(checkpoint, dataset="synthetic", size=(700, 560))
    ex.state.palette = "colour-blind safe"
    ex.close()
    assert not os.path.exists(path)
    ex = Explorer(checkpoint, dataset="synthetic", size=(700, 560), remember=True)
    ex.close()
    assert os.path.exists(path)  # asked for: the app's own behaviour


def test_a_scene_keeps_the_remembered_palette_and_quitting_never_overwrites_it(qapp, tmp_path):
    """View > Colour-blind safe palette was on; the talk's scene names no palette: it stays on (menu checked),
    and quitting leaves the user's choice in the file. A scene that names a palette shows it for the talk, and
    still the file keeps the user's."""
    import json
    from pathlib import Path

    from explorer.api import Explorer

    path = Path(os.environ["LATENT_EXPLORER_SETTINGS"])
    path.write_text("[view]\npalette=colour-blind safe\n")
    talk = Path(__file__).resolve().parents[3] / "examples" / "talk.json"
    ex = Explorer(None, size=(1280, 720), remember=True)  # the bundled model, the talk's
    try:
        assert ex.state.palette == "colour-blind safe"
        assert ex.window.open_scene(str(talk))
        assert ex.state.palette == "colour-blind safe" and ex.window.action_set["view.palette"].isChecked()
        named = json.loads(talk.read_text())
        named["model"]["path"] = str(talk.parent / named["model"]["path"])
        named["toggles"]["palette"] = "tab10"
        (tmp_path / "named.json").write_text(json.dumps(named))
        assert ex.window.open_scene(str(tmp_path / "named.json"))
        assert ex.state.palette == "tab10" and not ex.window.action_set["view.palette"].isChecked()
    finally:
        ex.close()
    assert "palette=colour-blind safe" in path.read_text()


def test_the_palette_is_written_only_when_the_user_changes_it(qapp, checkpoint):
    from pathlib import Path

    from explorer.api import Explorer

    path = Path(os.environ["LATENT_EXPLORER_SETTINGS"])
    ex = Explorer(checkpoint, dataset="synthetic", size=(700, 560), remember=True)
    ex.close()
    assert "palette" not in path.read_text()  # never chosen: nothing to remember
    ex = Explorer(checkpoint, dataset="synthetic", size=(700, 560), remember=True)
    ex.window.action_set["view.palette"].trigger()
    assert "palette=colour-blind safe" in path.read_text()  # at once, not only on quit
    ex.close()
