"""Two evented parts of the explorer state, as napari splits its ViewerModel (``dims``, ``camera``): how
the points look (:class:`Style`) and what part of the plane is visible (:class:`Camera`). Qt-free.

Each field is checked on assignment with the state's one declaration of it (explorer.core.state_fields:
the same bounds a scene file is held to). The state also answers to the flat names (``state.palette`` is
``state.style.palette``: one value, kept here); listeners connect to the part's events
(``state.style.events.palette``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psygnal import evented

from explorer.core.state_fields import SPECIAL_FIELDS, STATE_FIELDS


def _checked(name: str, value: Any) -> Any:
    check = STATE_FIELDS.get(name)
    if check is not None:
        return check.state(value)
    return SPECIAL_FIELDS[name](None, value) if name in SPECIAL_FIELDS else value


@evented
@dataclass(eq=False)
class Style:
    palette: str = "tab10"  # class colours: a key of explorer.core.palettes.PALETTES
    point_size: float = 4.0  # scatter dot diameter in screen pixels
    opacity: float = 0.85  # scatter dot opacity
    dim: bool = False  # fade the scatter (to see the manifold underlay through it)
    fade: bool = False  # a D-dim model: points far from the slice fade, so what lies near it stands out
    ui_scale: float = 1.0  # every text and marker on the plots, scaled (presentation mode sets it; not in scenes)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, _checked(name, value))


@evented
@dataclass(eq=False)
class Camera:
    view: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1 of the visible plane
    link_views: bool = True  # the compared planes pan and zoom together

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, _checked(name, value))


def _alias(part: str, name: str) -> property:
    """``state.<name>`` read and written as ``state.<part>.<name>``."""

    def get(self: Any) -> Any:
        return getattr(getattr(self, part), name)

    def set_(self: Any, value: Any) -> None:
        setattr(getattr(self, part), name, value)

    return property(get, set_, doc=f"state.{part}.{name}")
