"""The layering in DESIGN.md as checked rules: training never imports explorer; explorer.core and
training are Qt-free (import-linter contracts in pyproject.toml); explorer.qt never imports torch."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_kept():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.fail("lint-imports (import-linter, a test dependency) is not installed")
    r = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def _imported_modules(path: Path) -> set[str]:
    mods = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module.split(".")[0])
    return mods


@pytest.mark.parametrize("path", sorted((ROOT / "explorer" / "qt").glob("*.py")), ids=lambda p: p.name)
def test_gui_modules_never_import_torch(path):
    """The GUI thread never runs torch: explorer/qt talks to models only through explorer.core."""
    assert "torch" not in _imported_modules(path)
