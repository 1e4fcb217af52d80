"""The bookmark tour: bookmarks as slides, the point gliding from one to the next. Qt-free.

- :func:`tour_path` gives the z of every frame of a tour through ``points``: each point held for
  ``round(hold_seconds * fps)`` frames (at least one, so the path passes through every point), and
  between two points a leg of ``round(seconds_per_leg * fps)`` steps along a lerp or slerp path
  (explorer.core.latent.interpolate), whose frames strictly between the two points come in between.
  Played at ``fps``, leg i takes ``seconds_per_leg`` from its point to the next.
- :class:`Tour` is the state's part that a scene stores: the bookmarks' order on the tour, the speed
  (seconds per leg), the hold, the path (linear or spherical) and whether it is playing. ``stops``
  resolves the order against the bookmarks, and :meth:`Tour.path` is the tour's frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented

from explorer.core import latent
from explorer.core.fields import Choice, Flag, Range
from explorer.core.values import StateError

__all__ = ["FPS", "METHODS", "TOUR_FIELDS", "Tour", "TourError", "leg_path", "tour_path"]

FPS = 30.0  # frames a second, played and exported
METHODS = ("linear", "spherical")
MAX_FRAMES = 100_000  # a tour longer than this (about 55 minutes at 30 fps) is refused

TOUR_FIELDS = {
    "seconds_per_leg": Range(0.1, 60.0, "tour seconds per leg"),
    "hold_seconds": Range(0.0, 60.0, "tour hold seconds"),
    "method": Choice(METHODS, "tour path"),
    "playing": Flag("tour playing"),
}


class TourError(StateError):
    """A tour that cannot be made (one sentence)."""


def leg_path(a: np.ndarray, b: np.ndarray, steps: int, method: str) -> np.ndarray:
    """The frames strictly between ``a`` and ``b`` of a leg of ``steps`` steps: (steps - 1, D) float32."""
    t = np.arange(1, steps) / steps
    d = np.asarray(a).shape[-1]
    return latent.interpolate(np.asarray(a, np.float32), np.asarray(b, np.float32), t, method) if len(t) else np.zeros((0, d), np.float32)


def tour_path(points: Any, fps: float = FPS, seconds_per_leg: float = 2.0, hold_seconds: float = 1.0,
              method: str = "linear") -> np.ndarray:
    """The z of every frame of a tour through ``points`` (K, D), K >= 2: (F, D) float32 (see the module)."""
    pts = np.asarray(points, np.float32)
    if pts.ndim != 2 or len(pts) < 2:
        raise TourError(f"a tour needs at least two bookmarks; there {'is' if len(pts) == 1 else 'are'} "
                        f"{len(pts) if pts.ndim == 2 else 0}.")
    if not np.isfinite(pts).all():
        raise TourError("a tour's bookmarks must be finite points.")
    if not (math.isfinite(fps) and fps > 0 and math.isfinite(seconds_per_leg) and seconds_per_leg > 0
            and math.isfinite(hold_seconds) and hold_seconds >= 0):
        raise TourError(f"fps and seconds per leg must be positive and the hold not negative "
                        f"(fps {fps}, seconds per leg {seconds_per_leg}, hold {hold_seconds}).")
    if method not in METHODS:
        raise TourError(f"the tour's path is linear or spherical, not {method!r}.")
    hold = max(1, round(hold_seconds * fps))
    steps = max(1, round(seconds_per_leg * fps))
    total = len(pts) * hold + (len(pts) - 1) * (steps - 1)
    if total > MAX_FRAMES:
        raise TourError(f"the tour would be {total:,} frames; at most {MAX_FRAMES:,} (shorten the legs or the holds).")
    parts = []
    for i, p in enumerate(pts):
        parts.append(np.repeat(p[None], hold, axis=0))
        if i + 1 < len(pts):
            parts.append(leg_path(p, pts[i + 1], steps, method))
    return np.concatenate(parts).astype(np.float32)


@evented
@dataclass(eq=False)
class Tour:
    """The tour's settings (a part of the explorer state; a scene stores them)."""

    order: tuple[int, ...] | None = None  # bookmark indices in tour order; None: the bookmarks' own order
    seconds_per_leg: float = 2.0  # the glide from one bookmark to the next
    hold_seconds: float = 1.5  # the pause at each bookmark, its name shown large on the plane
    method: str = "spherical"  # "linear" or "spherical" (the norm changes smoothly: stays in the prior's shell)
    playing: bool = False  # Play tour runs it; Esc stops

    def __setattr__(self, name: str, value: Any) -> None:
        if name in TOUR_FIELDS:
            value = TOUR_FIELDS[name].state(value)
        elif name == "order" and value is not None:
            value = tuple(int(i) for i in value)
            if any(i < 0 for i in value):
                raise StateError(f"a tour's order lists bookmark numbers from 0, not {value!r}.")
        super().__setattr__(name, value)

    def stops(self, n_bookmarks: int) -> list[int]:
        """The bookmark indices the tour visits, in order (an order naming removed bookmarks skips them)."""
        if self.order is None:
            return list(range(n_bookmarks))
        return [i for i in self.order if i < n_bookmarks]

    def path(self, bookmarks: Any, fps: float = FPS) -> tuple[np.ndarray, list[int]]:
        """The tour's frames through ``bookmarks`` (the state's list) and, per frame, the index of the stop
        it holds at (-1 while gliding)."""
        stops = self.stops(len(bookmarks))
        pts = [np.asarray(bookmarks[i].z, np.float32) for i in stops]
        z = tour_path(pts if len(pts) else np.zeros((0, 2)), fps, self.seconds_per_leg, self.hold_seconds, self.method)
        hold = max(1, round(self.hold_seconds * fps))
        steps = max(1, round(self.seconds_per_leg * fps))
        at: list[int] = []
        for k, i in enumerate(stops):
            at += [i] * hold
            if k + 1 < len(stops):
                at += [-1] * (steps - 1)
        return z, at
