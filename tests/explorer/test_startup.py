"""explorer.startup: the checks made before Qt starts, against the real Qt plugin, ldd and sockets."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest

from explorer import startup

ROOT = Path(__file__).resolve().parents[2]
LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f43)
\tlibxcb-cursor.so.0 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f43)
"""


def test_not_found_lists_each_missing_library_once():
    assert startup.not_found(LDD_OUTPUT) == ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]
    assert startup.not_found("") == []


def test_missing_message_names_the_debian_packages():
    text = startup.missing_message(["libxcb-cursor.so.0", "libxkbcommon-x11.so.0", "libQt6DBus.so.6"])
    assert text == ("missing libxcb-cursor.so.0, libxkbcommon-x11.so.0, libQt6DBus.so.6 "
                    "(Debian/Ubuntu: sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0)")


def _ci_packages() -> set[str]:
    """The library packages .ci/run installs for Qt (the line after 'xvfb xauth xdotool')."""
    text = (ROOT / ".ci" / "run").read_text()
    block = text[text.index("xvfb xauth xdotool"):text.index("dataset-fashion-mnist")]
    return set(re.findall(r"\blib[\w.+-]+", block))


def _plugin_or_skip() -> Path:
    plugin = startup.xcb_plugin()
    if plugin is None or shutil.which("ldd") is None:
        pytest.skip("no Qt xcb plugin or no ldd here")
    return plugin


def test_the_package_names_match_what_ci_installs():
    """Every library package .ci/run installs is the name debian_package() gives a library the plugin needs."""
    import subprocess

    out = subprocess.run(["ldd", str(_plugin_or_skip())], capture_output=True, text=True, timeout=30).stdout
    needed = re.findall(r"^\s*(\S+)\s+=>", out, flags=re.MULTILINE)
    named = {startup.debian_package(lib) for lib in needed}
    assert len(_ci_packages()) >= 10 and "libxcb-cursor0" in _ci_packages()
    assert _ci_packages() <= named, sorted(_ci_packages() - named)


def test_qts_xcb_plugin_has_all_its_libraries_here():
    assert startup.missing_libraries(_plugin_or_skip()) == []


def test_a_plugin_needing_an_absent_library_is_reported(tmp_path, monkeypatch):
    """A copy of the real plugin whose libxcb-cursor dependency is renamed to one no system has."""
    plugin = _plugin_or_skip()
    data = plugin.read_bytes()
    assert data.count(b"libxcb-cursor.so.0\0") == 1
    copy = tmp_path / "libqxcb.so"
    copy.write_bytes(data.replace(b"libxcb-cursor.so.0\0", b"libxcb-cursor.so.9\0"))
    monkeypatch.setenv("LD_LIBRARY_PATH", str(plugin.parents[2] / "lib"))  # Qt's own libraries, as $ORIGIN finds them
    missing = startup.missing_libraries(copy)
    assert missing == ["libxcb-cursor.so.9"]
    assert startup.missing_message(missing).endswith("(Debian/Ubuntu: sudo apt-get install libxcb-cursor9)")


def test_qt_import_problem_names_the_package():
    e = ImportError("libGL.so.1: cannot open shared object file: No such file or directory")
    assert startup.qt_import_problem(e) == "Qt cannot start: missing libGL.so.1 (Debian/Ubuntu: sudo apt-get install libgl1)."


def test_display_problem_follows_the_platform_and_the_session(tmp_path):
    assert startup.display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert startup.display_problem({"QT_QPA_PLATFORM": "wayland"}) is None  # the user chose: Qt reports
    for env in ({}, {"QT_QPA_PLATFORM": "xcb"}, {"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}):
        assert startup.display_problem(env).startswith("no display: DISPLAY is not set"), env
    env = {"WAYLAND_DISPLAY": "wayland-7", "XDG_RUNTIME_DIR": str(tmp_path)}
    assert f"the Wayland socket {tmp_path / 'wayland-7'} does not exist" in startup.display_problem(env)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "wayland-7"))
        assert startup.display_problem(env) is None
        assert startup.display_problem({**env, "DISPLAY": ":1234"}) is None  # Wayland first, as Qt does


@pytest.mark.parametrize("name", ["mnist", "synthetic", "no-such-set", "npz:", "folder:"])
def test_dataset_problem_leaves_names_to_the_loader(name):
    assert startup.dataset_problem(name) is None


def test_dataset_problem_checks_npz_and_folder_paths(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"")
    assert startup.dataset_problem(f"npz:{tmp_path / 'd.npz'}") is None
    assert startup.dataset_problem(f"folder:{tmp_path}") is None
    assert startup.dataset_problem(f"npz:{tmp_path}") == f"{tmp_path}: no such dataset file (--dataset npz:{tmp_path})."
    assert startup.dataset_problem(f"FOLDER:{tmp_path / 'x'}").startswith(f"{tmp_path / 'x'}: no such dataset folder")


def test_screenshot_problem_makes_only_the_last_missing_folder_and_leaves_no_probe(tmp_path):
    out = tmp_path / "new" / "shot.png"
    assert startup.screenshot_problem(str(out)) is None
    assert out.parent.is_dir() and list(out.parent.iterdir()) == []
    deep = tmp_path / "typo" / "deeper" / "shot.png"  # two levels missing: refused, nothing made
    assert startup.screenshot_problem(str(deep)) == f"{deep}: cannot be written: no such folder {tmp_path / 'typo'}."
    assert not (tmp_path / "typo").exists()


def test_readme_names_the_system_packages_next_to_the_run_command_and_needs_no_activated_venv():
    text = (ROOT / "README.md").read_text()
    install = text[text.index("**Install and start the app"):text.index("**Install and run the whole test suite")]
    block = install[install.index("```bash"):install.index("```", install.index("```bash") + 3)]
    assert "sudo apt-get install" in block and ".venv/bin/latent-explorer" in block
    assert _ci_packages() <= set(block.split()), sorted(_ci_packages() - set(block.split()))
    using = text[text.index("## Using the app"):text.index("## Training models")]
    commands = using[using.index("```bash"):using.index("```", using.index("```bash") + 3)].splitlines()[1:]
    assert commands and all(c.startswith(".venv/bin/latent-explorer") for c in commands), commands


@pytest.mark.parametrize("args", [["m\0.safetensors"], ["--scene", "s\0.json"], ["--screenshot", "o\0.png"],
                                  ["--dataset", "npz:d\0.npz"], ["--dataset", "folder:d\0"], ["--data-dir", "d\0"]])
def test_a_nul_in_any_given_path_is_one_line(args, capsys):
    from explorer.__main__ import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("latent-explorer: error: ")
    assert err.rstrip().endswith(": is not a usable file name (it contains a NUL character).") and "\\0" in err
