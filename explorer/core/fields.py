"""The state's field checks, declared once: the state normalises with them, the scene parser reuses them.

A field's check has two faces. ``state(v)`` is what an assignment does (a user action or a script): a
number is clamped to its slider's range, a flag becomes a bool, a bad value raises one ``StateError``
sentence. ``json(v, where, fail)`` is what a scene file gets: the JSON type must be right and a value out
of range is refused (a scene never silently changes), with a sentence naming the key ``where``. The
bounds and choices live here only, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from explorer.core.values import StateError, clamp

Fail = Callable[[str], None]  # raises: the scene parser's "<file>: <what>." sentence


@dataclass(frozen=True)
class Flag:
    """On or off."""

    label: str

    def state(self, v: Any) -> bool:
        return bool(v)

    def json(self, v: Any, where: str, fail: Fail, default: bool = False) -> bool:
        if v is None:
            return default
        if not isinstance(v, bool):
            fail(f"'{where}' must be true or false")
        return v


@dataclass(frozen=True)
class Range:
    """A number in [lo, hi] (an integer if ``integer``): clamped in the state, refused out of range in a scene."""

    lo: float
    hi: float
    label: str
    integer: bool = False

    def state(self, v: Any) -> float | int:
        x = clamp(v, self.lo, self.hi, self.label)
        return int(x) if self.integer else x  # (truncates, as the sliders always did)

    def json(self, v: Any, where: str, fail: Fail) -> float | int:
        if self.integer:
            if isinstance(v, bool) or not isinstance(v, int) or not self.lo <= v <= self.hi:
                fail(f"'{where}' must be an integer in [{self.lo:g}, {self.hi:g}]")
            return int(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not self.lo <= v <= self.hi:
            fail(f"'{where}' must be a finite number in [{self.lo:g}, {self.hi:g}], not {json.dumps(v)}")
        return float(v)


@dataclass(frozen=True)
class Choice:
    """One of a few names."""

    choices: Sequence[str]
    label: str

    def _words(self) -> str:
        c = list(self.choices)
        return " or ".join(c) if len(c) == 2 else "one of " + ", ".join(c)

    def state(self, v: Any) -> str:
        if v not in self.choices:
            raise StateError(f"{self.label} must be {self._words()}, not {v!r}.")
        return v

    def json(self, v: Any, where: str, fail: Fail) -> str:
        if not isinstance(v, str) or v not in self.choices:
            fail(f"'{where}' must be {self._words()}, not {json.dumps(v)}")
        return v


Check = Flag | Range | Choice
