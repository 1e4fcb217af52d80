"""The checkpoint format: one .safetensors file, nothing pickled, nothing executed on load.

tensors: the model's state_dict, float32 only.
``__metadata__`` (str -> str): format = "latent-explorer", schema = "1", config (JSON), dataset (JSON),
metrics (JSON), history (JSON), versions (JSON), and, with training snapshots, snapshots (JSON list;
their weights under the ``snapshot.<k>.`` key prefix, see training/snapshots.py).

Loading checks, in order: size cap; header (read alone, bounded, structure and byte ranges);
format; known schema; config values in range; exact key set; dtype; every shape against the config
-- all from the header, before any tensor is read, for the main weights and every snapshot alike --
then each tensor, finite. Each failure raises
:class:`CheckpointError` with one sentence naming the file. Writing is atomic (training.fileio).
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save as st_save_bytes

from training import snapshots as snap
from training.errors import UserError
from training.fileio import atomic_write
from training.jsonlimits import JsonLimitError, load_json_bounded
from training.models import ConfigError, LatentModel, ModelConfig, build_model
from training.safetensors_reader import SafetensorsReader, TensorInfo, short

FORMAT = "latent-explorer"
SCHEMA = 1
MAX_BYTES = 512 * 1024**2  # no model this tool trains comes near this
METADATA_LIMITS = dict(max_bytes=4 * 1024**2, max_depth=8, max_number_digits=1000)  # each JSON metadata field


class CheckpointError(UserError):
    """A checkpoint file cannot be used; the message names the file and the problem."""


def save(
    model: LatentModel,
    path: str | os.PathLike,
    *,
    dataset: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    resume: dict[str, Any] | None = None,
    snapshots: list[tuple[dict[str, Any], dict[str, torch.Tensor]]] | None = None,
) -> Path:
    """Write ``model`` to ``path`` atomically (temp file in the same folder, fsync, os.replace).

    ``resume`` names the resume state this checkpoint commits (training/resume_state.py); it is
    stored as the ``resume`` metadata field. ``snapshots``: (entry, weights) pairs, oldest first;
    entry holds epoch, step and metrics (training/snapshots.py). Raises ``SaveError`` (one
    sentence) if the disk says no.
    """
    path = Path(path)
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    snap_tensors, snap_entries = snap.pack(snapshots or [])
    tensors.update(snap_tensors)
    for name, t in tensors.items():  # never write a file that load() would refuse
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{path}: not written: weight {name!r} contains NaN or infinite values.")
    meta = {
        "format": FORMAT,
        "schema": str(SCHEMA),
        "config": json.dumps(model.config.to_dict()),
        "dataset": json.dumps(dataset or {}),
        "metrics": json.dumps(metrics or {}),
        "history": json.dumps(history or []),
        "versions": json.dumps(_versions()),
    }
    if resume is not None:
        meta["resume"] = json.dumps(resume)
    if snap_entries:
        meta["snapshots"] = json.dumps(snap_entries)
    data = st_save_bytes(tensors, metadata=meta)
    atomic_write(path, data)
    return path


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("latent-explorer")
    except PackageNotFoundError:
        own = "unknown"
    return {"latent-explorer": own, "torch": torch.__version__, "python": platform.python_version()}


# ----------------------------------------------------------------------------- loading


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The validated metadata (config, dataset, metrics, snapshots, ...) without reading any weight.

    Every check that the header allows is made (key set, dtypes, shapes); only finiteness needs the data.
    """
    with _open(Path(path)) as (_, meta, cfg):
        return {**meta, "config": cfg.to_dict()}


def list_snapshots(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The training snapshots a checkpoint holds, oldest first: [{index, epoch, step, metrics}, ...]."""
    return read_metadata(path)["snapshots"]


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu", snapshot: int | None = None) -> LatentModel:
    """Load and validate a checkpoint; returns the model in eval mode with .config and .metadata.

    ``snapshot=k`` gives training snapshot k's weights instead of the final ones (see
    :func:`list_snapshots`); its entry is then in ``.metadata["snapshot"]``. Every snapshot in the
    file is validated like the main weights (finite too), whichever is asked for.
    """
    path = Path(path)
    with _open(path) as (reader, meta, cfg):
        entries = meta["snapshots"]
        if snapshot is not None and not (type(snapshot) is int and 0 <= snapshot < len(entries)):
            raise CheckpointError(f"{path}: has no snapshot {short(snapshot)} (it holds {len(entries)}).")
        tensors = _read_weights(path, reader, lambda index: index == snapshot).get(snapshot, {})  # None: the main weights
        if snapshot is not None:
            meta = {**meta, "snapshot": entries[snapshot]}
    return _build(cfg, tensors, meta, map_location)


def load_snapshots(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> list[LatentModel]:
    """Every training snapshot's model, oldest first, from one pass over the file.

    Equal to ``[load(path, snapshot=k) for k in range(len(list_snapshots(path)))]``, with the same checks
    (every snapshot and the main weights validated, finite), but the file is read once, not once per
    snapshot. An empty list for a file without snapshots."""
    path = Path(path)
    with _open(path) as (reader, meta, cfg):
        weights = _read_weights(path, reader, lambda index: index is not None)
    return [_build(cfg, weights.get(k, {}), {**meta, "snapshot": entry}, map_location)
            for k, entry in enumerate(meta["snapshots"])]


def _read_weights(path: Path, reader: SafetensorsReader, keep) -> dict[int | None, dict[str, torch.Tensor]]:
    """Read every tensor of the (header-validated) file, checking each is finite; returns the groups
    ``keep(index)`` asks for: {snapshot index or None for the main weights: {state_dict name: tensor}}."""
    out: dict[int | None, dict[str, torch.Tensor]] = {}
    for key in reader.tensors:  # every name was checked against the config: reads only what it says
        array = reader.tensor(key)
        index, name = snap.parse_key(key)
        # numpy, not torch.isfinite: the same answer, but no OpenMP team per tensor (0.23 s for the
        # bundled model on a busy 2-core machine, against 1 ms)
        if not np.isfinite(array).all():
            what = "weight" if index is None else f"snapshot {index} weight"
            raise CheckpointError(f"{path}: {what} {short(name)} contains NaN or infinite values.")
        if keep(index):
            out.setdefault(index, {})[name] = torch.from_numpy(array)
    return out


def _build(cfg: ModelConfig, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
           map_location: str | torch.device) -> LatentModel:
    model = build_model(cfg)
    model.load_state_dict(tensors, strict=True)
    model.metadata = meta
    return model.to(map_location).eval()


@contextmanager
def _open(path: Path) -> Iterator[tuple[SafetensorsReader, dict[str, Any], ModelConfig]]:
    """The open file, its metadata and config, with the header fully validated and no tensor read."""
    with SafetensorsReader(path, max_bytes=MAX_BYTES, error=CheckpointError, what="checkpoint") as reader:
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


def expected_entries(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a checkpoint of this config holds, with its shape (float32 each).

    Built on the meta device: a hostile config never makes us allocate its weights. Other key
    prefixes stored in the same file (e.g. training snapshots) add their names here.
    """
    with torch.device("meta"):
        return {name: tuple(t.shape) for name, t in build_model(cfg).state_dict().items()}


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
                         ("resume", {})):
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
