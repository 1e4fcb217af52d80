"""The layering in DESIGN.md as checked rules (import-linter contracts in pyproject.toml):
explorer.api > explorer.qt > explorer.core > training; explorer.core and training are Qt-free;
explorer.qt never imports torch. And the code passes the project's ruff configuration."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(exe).exists():
        pytest.fail(f"{name} (a test dependency) is not installed")
    return exe


def test_import_linter_contracts_kept():
    r = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout
    for name in ("layers", "Qt-free", "no torch in the GUI layer"):
        assert name in r.stdout, f"contract {name!r} is not checked"


def test_ruff_passes():
    r = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_gui_does_not_import_torch_before_its_window_shows():
    """The window comes up first; torch is imported by the open worker (time to first window < 1 s)."""
    code = ("import sys, explorer.qt.app, explorer.qt.main_window, explorer.core.session; "
            "sys.exit('torch imported' if 'torch' in sys.modules else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
