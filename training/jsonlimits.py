"""JSON from untrusted files, with limits: size, nesting depth, number length, value count.

    load_json_bounded(Path("demo.scene.json"), source="demo.scene.json", max_bytes=1 << 20,
                      max_depth=16, max_number_digits=32)

Every problem is a :class:`JsonLimitError` (a ``UserError``): one sentence that starts with
``source`` and names the limit or the syntax error. Nothing else escapes: not the ``RecursionError``
of a document nested 100,000 deep, not the ``ValueError`` of a 5,000-digit integer (both are
refused by their own sentence), not a ``UnicodeDecodeError``. Memory stays bounded by ``max_bytes``:
a file is never read past it, and ``max_values`` (optional) caps the containers and items parsed.
Stdlib only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from training.errors import UserError
from training.safeopen import NotRegularFileError, open_regular

__all__ = ["JsonLimitError", "load_json_bounded"]


class JsonLimitError(UserError):
    """JSON that is too large, too deep, has too long a number, or is not JSON; one sentence.

    ``problem`` is the sentence without the source and the full stop ("is nested more than 16 levels
    deep"), for callers that name the input their own way.
    """

    def __init__(self, source: str, problem: str | None = None):
        super().__init__(source if problem is None else f"{source}: {problem}.")  # 1 argument: unpickling
        self.source, self.problem = source, problem


class _Refused(Exception):
    """Raised from inside the json hooks; carries the problem (never escapes this module)."""


def load_json_bounded(
    path_or_text: str | bytes | bytearray | os.PathLike,
    *,
    source: str,
    max_bytes: int,
    max_depth: int,
    max_number_digits: int,
    max_values: int | None = None,
    allow_nan: bool = False,
) -> Any:
    """Parse JSON from a file (a ``Path`` / ``os.PathLike``) or from text (``str`` or ``bytes``).

    Args:
        source: how to name the input in messages (usually the file path).
        max_bytes: larger input is refused before it is parsed (a file is not even read whole).
        max_depth: most nested containers allowed (``[1]`` is depth 1, ``{"a": [1]}`` depth 2).
        max_number_digits: longest number literal allowed, in characters without the sign.
        max_values: if given, refuse input that could hold more values than this (counted before
            parsing from the separators, so it is an upper bound and bounds the parser's memory).
        allow_nan: accept the non-standard ``NaN`` / ``Infinity`` that Python's json writes.

    Raises:
        JsonLimitError: one sentence starting with ``source``.
    """
    raw = _read(path_or_text, source, max_bytes) if isinstance(path_or_text, os.PathLike) else path_or_text
    if len(raw) > max_bytes:
        raise JsonLimitError(source, f"is {_size(len(raw))}, more than the {_size(max_bytes)} allowed")
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise JsonLimitError(source, "is not valid JSON (it is not UTF-8 text)") from None
    if max_values is not None:
        count = 1 + sum(raw.count(c) for c in ",[{")
        if count > max_values:
            raise JsonLimitError(source, f"has more than {max_values:,} values")

    def number(text: str) -> str:
        if len(text.lstrip("-")) > max_number_digits:
            raise _Refused(f"has a number longer than {max_number_digits} digits")
        return text

    def constant(text: str) -> float:
        if not allow_nan:
            raise _Refused(f"is not valid JSON ({text} is not a JSON value)")
        return float(text)

    try:
        value = json.loads(raw, parse_int=lambda t: int(number(t)), parse_float=lambda t: float(number(t)),
                           parse_constant=constant)
    except _Refused as e:
        raise JsonLimitError(source, str(e)) from None
    except RecursionError:
        raise JsonLimitError(source, f"is nested more than {max_depth} levels deep") from None
    except ValueError as e:  # JSONDecodeError, and anything else json calls a bad value
        raise JsonLimitError(source, f"is not valid JSON ({_first_line(e)})") from None
    if _depth_exceeds(value, max_depth):
        raise JsonLimitError(source, f"is nested more than {max_depth} levels deep")
    return value


def _read(path: os.PathLike, source: str, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of the file (enough to tell that it is too large)."""
    path = Path(path)
    try:
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                raise JsonLimitError(source, f"is {_size(size)}, more than the {_size(max_bytes)} allowed")
            return f.read(max_bytes + 1)
    except FileNotFoundError:
        raise JsonLimitError(source, "no such file") from None
    except NotRegularFileError as e:
        raise JsonLimitError(source, f"{e.strerror}, not a file") from None
    except OSError as e:
        raise JsonLimitError(source, f"cannot be read ({e.strerror or e})") from None


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether ``value`` nests more than ``max_depth`` containers (iterative: no recursion limit)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth + 1 > max_depth:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _size(n: int) -> str:
    if n < 10 * 1024:
        return f"{n:,} bytes"
    if n % 1024**2 == 0:
        return f"{n // 1024**2:,} MiB"
    if n < 10 * 1024**2:
        return f"{n / 1024:,.0f} KiB"
    return f"{n / 1024**2:,.0f} MiB"


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    text = lines[0] if lines else type(e).__name__
    return text if len(text) <= 160 else text[:157] + "..."
