"""The checkpoint format: one .safetensors file, nothing pickled, nothing executed on load.

tensors: the model's state_dict, float32 only.
``__metadata__`` (str -> str): format = "latent-explorer", schema = "1", config (JSON), dataset (JSON),
metrics (JSON), history (JSON), versions (JSON), optionally train (JSON: the training options) and verdict
(JSON: training/verdict.py), and, with training snapshots, snapshots (JSON list;
their weights under the ``snapshot.<k>.`` key prefix, see training/snapshots.py).

Loading checks, in order: size cap; header (read alone, bounded, structure and byte ranges);
format; known schema; config values in range; exact key set; dtype; every shape against the config
-- all from the header, before any tensor is read, for the main weights and every snapshot alike --
then each tensor, finite. Each failure raises
:class:`CheckpointError` with one sentence naming the file. Writing is atomic (training.fileio).
The reading and checking is numpy only and lives in training/checkpoint_read.py; this module adds
the torch side (the model's expected tensors, building it, saving).
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
from training.checkpoint_read import (  # noqa: F401 - re-exported: the format's names live here too
    FORMAT,
    MAX_BYTES,
    METADATA_LIMITS,
    SCHEMA,
    CheckpointError,
    check_entries,
    open_checked,
    read_weights,
)
from training.fileio import atomic_write
from training.models import LatentModel, ModelConfig, build_model
from training.safetensors_reader import SafetensorsReader, short


def save(
    model: LatentModel,
    path: str | os.PathLike,
    *,
    dataset: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    resume: dict[str, Any] | None = None,
    snapshots: list[tuple[dict[str, Any], dict[str, torch.Tensor]]] | None = None,
    train: dict[str, Any] | None = None,
    verdict: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` to ``path`` atomically (temp file in the same folder, fsync, os.replace).

    ``resume`` names the resume state this checkpoint commits (training/resume_state.py); it is
    stored as the ``resume`` metadata field. ``snapshots``: (entry, weights) pairs, oldest first;
    entry holds epoch, step and metrics (training/snapshots.py). ``train``: how it was trained (the
    resolved training options: steps, batch size, warm-ups, free bits, ...); ``verdict``: whether the model
    is useful (training/verdict.py). Raises ``SaveError`` (one
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
    for key, value in (("train", train), ("verdict", verdict)):
        if value is not None:
            meta[key] = json.dumps(value)
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
    """training.checkpoint_read.read_weights, as tensors (sharing the arrays' memory)."""
    return {index: {name: torch.from_numpy(a) for name, a in group.items()}
            for index, group in read_weights(path, reader, keep).items()}


def from_weights(cfg: ModelConfig, weights: dict[str, np.ndarray], metadata: dict[str, Any],
                 map_location: str | torch.device = "cpu") -> LatentModel:
    """The model of ``cfg`` with ``weights`` (a state_dict as float32 arrays, already checked by
    training.checkpoint_read: the key set, shapes and finiteness), in eval mode. The explorer reads a
    file once with numpy and builds the torch model from the same arrays later."""
    return _build(cfg, {name: torch.from_numpy(a) for name, a in weights.items()}, metadata, map_location)


def _build(cfg: ModelConfig, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
           map_location: str | torch.device) -> LatentModel:
    model = build_model(cfg)
    model.load_state_dict(tensors, strict=True)
    model.metadata = meta
    return model.to(map_location).eval()


@contextmanager
def _open(path: Path) -> Iterator[tuple[SafetensorsReader, dict[str, Any], ModelConfig]]:
    """The open file, its metadata and config, with the header fully validated and no tensor read."""
    with open_checked(path, expected_entries, MAX_BYTES) as opened:  # this module's cap (tests lower it)
        yield opened


def expected_entries(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a checkpoint of this config holds, with its shape (float32 each).

    Built on the meta device: a hostile config never makes us allocate its weights. Other key
    prefixes stored in the same file (e.g. training snapshots) add their names here.
    """
    with torch.device("meta"):
        return {name: tuple(t.shape) for name, t in build_model(cfg).state_dict().items()}


