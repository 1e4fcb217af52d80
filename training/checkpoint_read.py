"""Reading a checkpoint file and checking it, with numpy only (no torch): the loading half of the format.

``training.checkpoint`` (save, load, the torch model) builds on this; the explorer also uses it
directly to open a model before torch is imported (training/numpy_decode.py). The checks, in
order: size cap; header (read alone, bounded, structure and byte ranges); format; known schema;
config values in range; exact key set; dtype; every shape against the config -- all from the
header, before any tensor is read, for the main weights and every snapshot alike -- then each
tensor, finite. Each failure raises :class:`CheckpointError` with one sentence naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from training import snapshots as snap
from training.config import ConfigError, ModelConfig
from training.errors import UserError
from training.jsonlimits import JsonLimitError, load_json_bounded
from training.safetensors_reader import SafetensorsReader, TensorInfo, short

FORMAT = "latent-explorer"
SCHEMA = 1
MAX_BYTES = 512 * 1024**2  # no model this tool trains comes near this
METADATA_LIMITS = {"max_bytes": 4 * 1024**2, "max_depth": 8, "max_number_digits": 1000}  # each JSON metadata field


class CheckpointError(UserError):
    """A checkpoint file cannot be used; the message names the file and the problem."""


@contextmanager
def open_checked(path: Path, expected_entries: Callable[[ModelConfig], dict[str, tuple[int, ...]]],
                 max_bytes: int = MAX_BYTES) -> Iterator[tuple[SafetensorsReader, dict[str, Any], ModelConfig]]:
    """The open file, its metadata and config, with the header fully validated and no tensor read.

    ``expected_entries(cfg)``: every tensor name a checkpoint of ``cfg`` holds, with its shape
    (training.checkpoint.expected_entries builds the model on torch's meta device;
    training.numpy_decode.state_shapes computes the same without torch)."""
    with SafetensorsReader(path, max_bytes=max_bytes, error=CheckpointError, what="checkpoint") as reader:
        raw = reader.metadata
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise CheckpointError(f"{path}: has no latent-explorer metadata (not made by latent-train).")
        meta = _check_metadata(path, raw)
        cfg = meta.pop("config_obj")
        expected = expected_entries(cfg)
        main, snaps, bad = snap.split(reader.tensors)
        listed = range(len(meta["snapshots"]))
        if bad or set(snaps) - set(listed):
            odd = bad or [snap.tensor_key(k, "...") for k in sorted(set(snaps) - set(listed))]
            raise CheckpointError(f"{path}: has snapshot weight(s) {_few(odd)} that its metadata does not list.")
        check_entries(path, main, expected)
        for k in listed:
            check_entries(path, snaps.get(k, {}), expected, what=f"snapshot {k} weight")
        yield reader, meta, cfg


def read_weights(path: Path, reader: SafetensorsReader, keep: Callable[[int | None], bool]
                 ) -> dict[int | None, dict[str, np.ndarray]]:
    """Read every tensor of the (header-validated) file, checking each is finite; returns the groups
    ``keep(index)`` asks for: {snapshot index or None for the main weights: {state_dict name: float32 array}}."""
    out: dict[int | None, dict[str, np.ndarray]] = {}
    for key in reader.tensors:  # every name was checked against the config: reads only what it says
        array = reader.tensor(key)
        index, name = snap.parse_key(key)
        # numpy, not torch.isfinite: the same answer, but no OpenMP team per tensor (0.23 s for the
        # bundled model on a busy 2-core machine, against 1 ms)
        if not np.isfinite(array).all():
            what = "weight" if index is None else f"snapshot {index} weight"
            raise CheckpointError(f"{path}: {what} {short(name)} contains NaN or infinite values.")
        if keep(index):
            out.setdefault(index, {})[name] = array
    return out


def check_entries(path: Path, found: dict[str, TensorInfo], expected: dict[str, tuple[int, ...]],
                  what: str = "weight") -> None:
    """Exact key set (missing and unexpected names both listed), then float32, then every shape.

    ``what`` names the group in messages ("weight"; e.g. "snapshot 2 weight" for another key prefix).
    """
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        parts = ([f"missing {what}(s) {_few(missing)}"] if missing else []) + (
            [f"unexpected {what}(s) {_few(extra)}"] if extra else [])
        raise CheckpointError(f"{path}: does not fit this model configuration: {'; '.join(parts)}.")
    for name, shape in expected.items():
        info = found[name]
        if info.dtype != "F32":
            raise CheckpointError(f"{path}: {what} {name!r} is {info.dtype_name}, expected float32.")
        if info.shape != shape:
            raise CheckpointError(f"{path}: {what} {name!r} has shape {info.shape}, but the config needs {shape}.")


def _few(names: list[str]) -> str:
    return ", ".join(short(n) for n in names[:3]) + (f" and {len(names) - 3:,} more" if len(names) > 3 else "")


def _check_metadata(path: Path, raw: dict[str, str]) -> dict[str, Any]:
    if raw.get("format") != FORMAT:
        raise CheckpointError(f"{path}: is a safetensors file but not a latent-explorer checkpoint (format is {short(raw.get('format'))}).")
    schema = raw.get("schema", "")
    if not (schema.isascii() and schema.isdigit() and len(schema) <= 6):
        raise CheckpointError(f"{path}: has an invalid schema {short(schema)}.")
    if int(schema) > SCHEMA:
        raise CheckpointError(f"{path}: was made by a newer version of latent-explorer (schema {schema}; this version reads {SCHEMA}); please upgrade.")
    if int(schema) < 1:
        raise CheckpointError(f"{path}: has an unknown schema {schema!r}.")
    out: dict[str, Any] = {}
    for key, default in (("config", None), ("dataset", {}), ("metrics", {}), ("history", []), ("versions", {}),
                         ("resume", {}), ("train", {}), ("verdict", {})):
        text = raw.get(key)
        if text is None:
            if default is None:
                raise CheckpointError(f"{path}: has no model config in its metadata.")
            out[key] = default
            continue
        try:
            out[key] = load_json_bounded(text, source=str(path), allow_nan=True, **METADATA_LIMITS)
        except JsonLimitError as e:
            raise CheckpointError(f"{path}: metadata field {key!r} {e.problem}.") from None
        if not isinstance(out[key], type(default if default is not None else {})):
            raise CheckpointError(f"{path}: metadata field {key!r} has the wrong type.")
    try:
        out["config_obj"] = ModelConfig.from_dict(out["config"])
    except ConfigError as e:
        raise CheckpointError(f"{path}: invalid model config: {e}.") from None
    out["schema"] = int(schema)
    out["snapshots"] = _check_snapshot_list(path, raw.get("snapshots"))
    return out


def _check_snapshot_list(path: Path, text: str | None) -> list[dict[str, Any]]:
    if text is None:
        return []
    try:
        entries = load_json_bounded(text, source=str(path), allow_nan=True, **METADATA_LIMITS)
    except JsonLimitError as e:
        raise CheckpointError(f"{path}: metadata field 'snapshots' {e.problem}.") from None
    problem = snap.check_list(entries)
    if problem:
        raise CheckpointError(f"{path}: metadata field 'snapshots' {problem}.")
    return entries
