"""Training snapshots inside a checkpoint: when to take them, and how they are stored and checked.

Format (DESIGN.md, "The checkpoint format"): snapshot k's weights are the tensors
``snapshot.<k>.<state_dict key>``, next to the main weights; the metadata key ``snapshots`` is a JSON
list whose entry k is ``{"index": k, "epoch": E, "step": S, "metrics": {...}}``. ``epoch`` counts
finished epochs and ``step`` optimizer steps (over all epochs) before the snapshot was taken. The
main weights are the final model and are not repeated as a snapshot. ``checkpoint.load`` checks every
snapshot exactly as it checks the main weights (key set, dtype, shape, finite).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # torch only where tensors are made: the explorer checks a file's snapshots before importing it
    import torch

PREFIX = "snapshot."
MAX_SNAPSHOTS = 100
_KEY = re.compile(r"snapshot\.(\d{1,3})\.(.+)", re.S)
T = TypeVar("T")


def schedule(total_steps: int, n: int) -> list[int]:
    """The global steps at which to snapshot: n points evenly spread over [0, total_steps), step 0 first
    (the initial weights), so the n snapshots and the final weights are n + 1 evenly spaced states."""
    if n <= 0 or total_steps <= 0:
        return []
    return sorted({k * total_steps // n for k in range(n)})


def tensor_key(index: int, name: str) -> str:
    return f"{PREFIX}{index}.{name}"


def state_to_cpu(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A float32 CPU copy of the model's state_dict (contiguous NCHW, as checkpoints hold it)."""
    import torch

    return {k: v.detach().to("cpu", torch.float32, copy=True).contiguous() for k, v in model.state_dict().items()}


def pack(snapshots: list[tuple[dict[str, Any], dict[str, torch.Tensor]]]) -> tuple[dict[str, torch.Tensor], list[dict]]:
    """(entry, weights) pairs -> (prefixed tensors, metadata entries renumbered 0..n-1)."""
    tensors: dict[str, torch.Tensor] = {}
    entries = []
    for index, (entry, weights) in enumerate(snapshots):
        entries.append({**entry, "index": index})
        tensors.update({tensor_key(index, k): v for k, v in weights.items()})
    return tensors, entries


def split(tensors: dict[str, T]) -> tuple[dict[str, T], dict[int, dict[str, T]], list[str]]:
    """(main weights, {index: weights}, malformed snapshot keys); values are tensors or header entries."""
    main: dict[str, T] = {}
    snaps: dict[int, dict[str, T]] = {}
    bad: list[str] = []
    for key, t in tensors.items():
        if not key.startswith(PREFIX):
            main[key] = t
            continue
        m = _KEY.fullmatch(key)
        if m is None:
            bad.append(key)
        else:
            snaps.setdefault(int(m.group(1)), {})[m.group(2)] = t
    return main, snaps, bad


def parse_key(key: str) -> tuple[int | None, str]:
    """(snapshot index, state_dict name) of a tensor key; index None for the main weights."""
    m = _KEY.fullmatch(key)
    return (int(m.group(1)), m.group(2)) if m else (None, key)


def check_list(entries: Any) -> str | None:
    """None if ``entries`` is a well-formed snapshot list, else what is wrong (a phrase)."""
    if not isinstance(entries, list):
        return "is not a list"
    if len(entries) > MAX_SNAPSHOTS:
        return f"lists {len(entries)} snapshots, more than {MAX_SNAPSHOTS}"
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            return f"entry {i} is not an object"
        for key in ("index", "epoch", "step"):
            v = e.get(key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                return f"entry {i} has no valid {key!r}"
        if e["index"] != i:
            return f"entry {i} has index {e['index']}"
        if not isinstance(e.get("metrics", {}), dict):
            return f"entry {i} has metrics that are not an object"
    return None
