"""Checks ``latent-explorer`` makes before it starts Qt, each giving one sentence or None. Qt-free.

- ``display_problem``: is there a display Qt can use? Without one Qt aborts (exit 134) with a hint
  about libxcb-cursor0 whatever the cause; this says what is missing and how to run offscreen, and
  names the Debian packages when Qt's X11 plugin lacks system libraries.
- ``model_problem``, ``dataset_problem``, ``screenshot_problem``: the files named on the command line.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from explorer.core.values import path_problem as path_problem  # re-exported: __main__ checks every given path

OFFSCREEN_HINT = "to run without a window use QT_QPA_PLATFORM=offscreen, or --screenshot OUT.png to render a PNG"
SCREENSHOT_TYPES = (".png", ".jpg", ".jpeg", ".bmp")
# shared libraries whose Debian package name does not follow the policy rule in debian_package()
DEBIAN_PACKAGES = {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0",
                   "libgobject-2.0.so.0": "libglib2.0-0"}


def display_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why Qt cannot open a window here (one sentence), or None if it should be able to."""
    env = os.environ if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if platform and platform != "xcb":
        return None  # offscreen, wayland, vnc, ...: the user chose; Qt reports its own problems
    wayland = _wayland_socket(env) if not platform else None
    if wayland is not None and wayland.exists():
        return None  # a Wayland session: Qt picks its wayland plugin (or XWayland)
    if not env.get("DISPLAY"):
        if wayland is not None:
            return f"no display: the Wayland socket {wayland} does not exist and DISPLAY is not set; {OFFSCREEN_HINT}."
        return f"no display: DISPLAY is not set (no X11 or Wayland session); {OFFSCREEN_HINT}."
    missing = missing_libraries(xcb_plugin())
    if missing:
        return f"Qt's X11 platform plugin cannot load: {missing_message(missing)}; or {OFFSCREEN_HINT}."
    error = x11_connect_error(env["DISPLAY"])
    if error:
        return f"cannot open the X display {env['DISPLAY']!r} ({error}); {OFFSCREEN_HINT}."
    return None


def _wayland_socket(env: Mapping[str, str]) -> Path | None:
    name = env.get("WAYLAND_DISPLAY")
    if not name:
        return None
    return Path(env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}") / name  # an absolute name stays absolute


def xcb_plugin() -> Path | None:
    """Qt's X11 platform plugin in the installed PySide6 (found without importing Qt)."""
    spec = importlib.util.find_spec("PySide6")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def missing_libraries(binary: Path | None) -> list[str]:
    """Shared libraries ``binary`` needs that the dynamic loader cannot find ([] if unknown)."""
    ldd = shutil.which("ldd")
    if binary is None or ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(binary)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return not_found(out)


def not_found(ldd_output: str) -> list[str]:
    """The ``libx.so.N => not found`` names in ldd's output, in order, without repeats."""
    names = re.findall(r"^\s*(\S+)\s+=>\s+not found", ldd_output, flags=re.MULTILINE)
    return list(dict.fromkeys(names))


def missing_message(libraries: list[str]) -> str:
    """'missing libxcb-cursor.so.0 (Debian/Ubuntu: sudo apt-get install libxcb-cursor0)'."""
    packages = list(dict.fromkeys(p for p in map(debian_package, libraries) if p))
    text = "missing " + ", ".join(libraries)
    if packages:
        text += f" (Debian/Ubuntu: sudo apt-get install {' '.join(packages)})"
    return text


def debian_package(library: str) -> str | None:
    """The Debian package that ships a library, by Debian's naming policy: libxcb-cursor.so.0 -> libxcb-cursor0,
    libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (a dash when the name ends in a digit); None for Qt's own."""
    if library in DEBIAN_PACKAGES:
        return DEBIAN_PACKAGES[library]
    m = re.fullmatch(r"(lib[\w.+-]+?)\.so\.(\d+)(?:\.\d+)*", library)
    if m is None or m.group(1).startswith("libQt"):
        return None  # Qt's own libraries come with PySide6: a broken install, not a missing package
    name, version = m.group(1).lower(), m.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def qt_import_problem(error: ImportError) -> str:
    """One sentence for Qt failing to import, e.g. 'libGL.so.1: cannot open shared object file'."""
    lib = re.search(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file", str(error))
    if lib:
        return f"Qt cannot start: {missing_message([lib.group(1)])}."
    return f"Qt cannot start ({str(error).splitlines()[0] if str(error) else type(error).__name__})."


def x11_connect_error(display: str) -> str | None:
    """Try to connect to the X server with libxcb, as Qt will; a short reason if that fails."""
    name = ctypes.util.find_library("xcb")
    if name is None:
        return None  # missing_libraries reports it (or this is not a Linux with X11 libraries)
    try:
        xcb = ctypes.CDLL(name)
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    conn = xcb.xcb_connect(display.encode(), None)  # never NULL: a failed connection is an error object
    try:
        code = xcb.xcb_connection_has_error(conn)
    finally:
        xcb.xcb_disconnect(conn)
    if code == 0:
        return None
    return "no X server answers there, or it refused this user" if code == 1 else f"xcb error {code}"


def given_paths(args) -> list[str]:
    """Every file name given on the command line: models, scene, screenshot, data folder, the dataset's
    ``npz:`` / ``folder:`` path."""
    kind, colon, arg = (args.dataset or "").partition(":")
    data = [arg] if colon and kind.strip().lower() in ("npz", "folder") else []
    return [*args.models, *(p for p in (args.scene, args.screenshot, args.data_dir) if p), *data]


def model_problem(path: str) -> str | None:
    """Refuse a model file that is missing or plainly not a checkpoint before starting anything."""
    from training.sniff import describe

    p = Path(path)
    if not p.exists():
        return f"{path}: no such file."
    if p.is_dir():
        return f"{path}: is a folder, not a model file (.safetensors)."
    what = describe(p)
    return f"{path}: is not a latent-explorer model (this is {what})." if what else None


def dataset_problem(name: str) -> str | None:
    """``npz:PATH`` / ``folder:PATH`` whose path does not exist (other names are checked when loading)."""
    kind, colon, arg = name.partition(":")
    kind = kind.strip().lower()
    if not colon or kind not in ("npz", "folder") or not arg.strip():
        return None
    p = Path(arg.strip()).expanduser()
    if kind == "npz" and not p.is_file():
        return f"{p}: no such dataset file (--dataset {name})."
    if kind == "folder" and not p.is_dir():
        return f"{p}: no such dataset folder (--dataset {name})."
    return None


def screenshot_problem(path: str) -> str | None:
    """A ``--screenshot`` path that could not be written, found before any work is done.

    A missing folder is made only if it is the last level (``shots/`` in an existing folder); a path that
    misses more (a mistyped ``/hoem/me/shots/a.png``) is refused, naming the first folder that does not exist.
    Each refusal names one reason: "no such folder", "is a file, not a folder", "is not writable"."""
    p = Path(path)
    if p.suffix.lower() not in SCREENSHOT_TYPES:
        return f"{path}: a screenshot must be a {', '.join(SCREENSHOT_TYPES)} file."
    if p.is_dir():
        return f"{path}: is a folder; give a file name, e.g. {p / 'shot.png'}."
    folder = p.parent
    chain = [folder, *folder.parents]
    existing = next((a for a in chain if a.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{path}: cannot be written: {existing} is a file, not a folder."
    if existing != folder:
        missing = chain[chain.index(existing) - 1] if existing is not None else chain[-1]
        if missing != folder:  # more than the last level: most likely a typo, never made silently
            return f"{path}: cannot be written: no such folder {missing}."
        try:
            folder.mkdir()
        except OSError:
            return f"{path}: cannot be written: no such folder {folder}."
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        return f"{path}: cannot be written: {folder} is not writable ({e.strerror or e})."
    if p.exists() and not os.access(p, os.W_OK):
        return f"{path}: cannot be overwritten (permission denied)."
    return None
