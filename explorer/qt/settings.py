"""What the app remembers between runs (QSettings, an INI file): the window geometry and dock
layout, the palette, and the recently opened models and scenes.

The palette is the user's preference: it is written when the user changes it (View ▸ Colour-blind safe
palette), never from whatever the window shows on quit (a scene may have set another one for a talk).

The file lives in the user's config folder (platformdirs), or where ``LATENT_EXPLORER_SETTINGS``
points (the tests use a temporary file). Anything unreadable in it is ignored with one warning line
(once per setting), and the defaults are used instead: a broken settings file never stops the app.

Only the interactive app writes the file. ``Settings(write=False)`` (a ``--screenshot`` render,
``explorer.api.Explorer`` unless ``remember=True``) reads it and keeps every change in memory: the
user's window layout and recent lists are never touched by a script or a render.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from explorer.core.palettes import PALETTES

MAX_RECENT = 8
GEOMETRY_MAGIC = bytes.fromhex("01d9d0cb")  # QWidget::saveGeometry's magic number


def settings_path() -> Path:
    env = os.environ.get("LATENT_EXPLORER_SETTINGS")
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("latent-explorer")) / "settings.ini"


class Settings:
    def __init__(self, path: str | os.PathLike | None = None, write: bool = True):
        self.path = Path(path) if path is not None else settings_path()
        self.q = QSettings(str(self.path), QSettings.Format.IniFormat)
        self.write = write
        self._memory: dict[str, object] = {}  # what was set while not writing
        self.warnings: list[str] = []

    def _value(self, key: str):
        return self._memory[key] if key in self._memory else self.q.value(key)

    def _set(self, key: str, value) -> None:
        if self.write:
            self.q.setValue(key, value)
        else:
            self._memory[key] = value

    def _sync(self) -> None:
        if self.write:
            self.q.sync()

    def _warn(self, what: str) -> None:
        msg = f"{self.path}: ignored an unreadable {what}; using the default."
        if msg in self.warnings:  # once per setting, however often it is read
            return
        self.warnings.append(msg)
        print(f"latent-explorer: warning: {msg}", file=sys.stderr)

    # ---------------------------------------------------------------- window

    def restore_window(self, window) -> None:
        """Geometry, dock layout and palette, each only if it reads back as valid; from now on the palette the
        user picks (the action, from the menu or its key) is remembered."""
        window.action_set["view.palette"].triggered.connect(lambda *_a: self.save_palette(window.state.palette))
        geo, docks = self.q.value("window/geometry"), self.q.value("window/docks")
        # a real geometry that does not fit this screen setup is skipped quietly; anything else is garbage
        if (geo is not None and not (isinstance(geo, QByteArray) and window.restoreGeometry(geo))
                and not (isinstance(geo, QByteArray) and bytes(geo[:4]) == GEOMETRY_MAGIC)):
            self._warn("window geometry")
        if docks is not None and not (isinstance(docks, QByteArray) and window.restoreState(docks)):
            self._warn("dock layout")
        palette = self.q.value("view/palette")
        if palette is not None:
            if palette in PALETTES:
                window.state.palette = palette
            else:
                self._warn("palette")

    def save_window(self, window) -> None:
        if window.state.presentation:  # remember the desktop layout, not the talk's
            window.state.presentation = False
        self._set("window/geometry", window.saveGeometry())
        self._set("window/docks", window.saveState())
        self._sync()

    def save_palette(self, palette: str) -> None:
        """The user chose this palette."""
        self._set("view/palette", palette)
        self._sync()

    # ---------------------------------------------------------------- recent files

    def recent(self, kind: str = "models") -> list[str]:
        key = f"recent/{kind}"
        v = self._value(key)
        if v is None:
            if key not in self._memory and self.q.contains(key):  # there, but Qt could not read it
                self._warn(f"list of recent {kind}")
            return []
        items = [v] if isinstance(v, str) else v
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            self._warn(f"list of recent {kind}")
            return []
        return [x for x in items if Path(x).exists()][:MAX_RECENT]

    def add_recent(self, path: str | os.PathLike, kind: str = "models") -> list[str]:
        p = str(Path(path).resolve())
        items = [p] + [x for x in self.recent(kind) if x != p]
        self._set(f"recent/{kind}", items[:MAX_RECENT])
        self._sync()
        return items[:MAX_RECENT]
