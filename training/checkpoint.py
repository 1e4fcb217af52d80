"""The checkpoint format: one .safetensors file, nothing pickled, nothing executed on load.

tensors: the model's state_dict, float32 only.
``__metadata__`` (str -> str): format = "latent-explorer", schema = "1", config (JSON), dataset (JSON),
metrics (JSON), history (JSON), versions (JSON).

Loading checks, in order: size cap; parse; format; known schema; config values in range; exact key
set; dtype; every shape against the config; all values finite. Each failure raises
:class:`CheckpointError` with one sentence naming the file. Writing is atomic.
"""

from __future__ import annotations

import json
import os
import platform
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load_bytes
from safetensors.torch import save as st_save_bytes

from training.errors import UserError
from training.fileio import atomic_write
from training.models import VAE, ConfigError, ModelConfig, build_model

FORMAT = "latent-explorer"
SCHEMA = 1
MAX_BYTES = 512 * 1024**2  # no model this tool trains comes near this
MAX_HEADER_BYTES = 16 * 1024**2


class CheckpointError(UserError):
    """A checkpoint file cannot be used; the message names the file and the problem."""


def save(
    model: VAE,
    path: str | os.PathLike,
    *,
    dataset: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``model`` to ``path`` atomically (temp file in the same folder, fsync, os.replace)."""
    path = Path(path)
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
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
    """The validated metadata (config, dataset, metrics, history, versions) without building a model."""
    _, meta, cfg = _read(Path(path))
    return {**meta, "config": cfg.to_dict()}


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> VAE:
    """Load and validate a checkpoint; returns the model in eval mode with .config and .metadata."""
    path = Path(path)
    tensors, meta, cfg = _read(path)
    with torch.device("meta"):  # shapes only: a hostile config must not make us allocate gigabytes
        expected = build_model(cfg).state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing:
        raise CheckpointError(f"{path}: missing weight(s) {_few(missing)} for this model configuration.")
    if extra:
        raise CheckpointError(f"{path}: unexpected weight(s) {_few(extra)} for this model configuration.")
    for name, ref in expected.items():
        t = tensors[name]
        if t.dtype != torch.float32:
            raise CheckpointError(f"{path}: weight {name!r} is {str(t.dtype).removeprefix('torch.')}, expected float32.")
        if tuple(t.shape) != tuple(ref.shape):
            raise CheckpointError(
                f"{path}: weight {name!r} has shape {tuple(t.shape)}, but the config needs {tuple(ref.shape)}."
            )
    for name in expected:
        if not torch.isfinite(tensors[name]).all():
            raise CheckpointError(f"{path}: weight {name!r} contains NaN or infinite values.")
    model = build_model(cfg)
    model.load_state_dict(tensors, strict=True)
    model.metadata = meta
    return model.to(map_location).eval()


def _short(value: Any, limit: int = 40) -> str:
    """repr() cut to ``limit`` characters: a hostile file must not make a message of megabytes."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _few(names: list[str]) -> str:
    return ", ".join(_short(n) for n in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], ModelConfig]:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file.") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot be read ({e.strerror or e}).") from None
    if not path.is_file():
        raise CheckpointError(f"{path}: is not a file.")
    if size > MAX_BYTES:
        raise CheckpointError(f"{path}: is {size / 2**20:.0f} MiB, larger than the {MAX_BYTES // 2**20} MiB cap for a checkpoint.")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{path}: cannot be read ({e.strerror or e}).") from None
    raw_meta = _parse_header(path, data)
    meta = _check_metadata(path, raw_meta)
    try:
        tensors = st_load_bytes(data)
    except (SafetensorError, ValueError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"{path}: is not a valid safetensors file ({_first_line(e)}).") from None
    return tensors, meta, meta.pop("config_obj")


def _first_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__


def _parse_header(path: Path, data: bytes) -> dict[str, str]:
    """Parse the safetensors header ourselves first: clear messages, and nothing else is trusted."""
    if len(data) < 8:
        raise CheckpointError(f"{path}: is too short to be a checkpoint ({len(data)} bytes).")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        if data[:2] == b"\x80\x04" or data[:1] == b"\x80" or data[:2] == b"PK":
            raise CheckpointError(f"{path}: is a pickle/zip file (e.g. a torch.save file), not a safetensors checkpoint; it was not loaded.")
        raise CheckpointError(f"{path}: is truncated or not a safetensors file (header length {n} does not fit the file).")
    try:
        header = json.loads(data[8 : 8 + n])
    except (ValueError, RecursionError):  # bad UTF-8 / JSON, too-long ints, too-deep nesting
        raise CheckpointError(f"{path}: has a header that is not valid JSON; it is not a safetensors checkpoint.") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: has a header that is not a JSON object.")
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{path}: has no latent-explorer metadata (not made by latent-train).")
    return meta


def _check_metadata(path: Path, raw: dict[str, str]) -> dict[str, Any]:
    if raw.get("format") != FORMAT:
        raise CheckpointError(f"{path}: is a safetensors file but not a latent-explorer checkpoint (format is {_short(raw.get('format'))}).")
    schema = raw.get("schema", "")
    if not (schema.isascii() and schema.isdigit() and len(schema) <= 6):
        raise CheckpointError(f"{path}: has an invalid schema {_short(schema)}.")
    if int(schema) > SCHEMA:
        raise CheckpointError(f"{path}: was made by a newer version of latent-explorer (schema {schema}; this version reads {SCHEMA}); please upgrade.")
    if int(schema) < 1:
        raise CheckpointError(f"{path}: has an unknown schema {schema!r}.")
    out: dict[str, Any] = {}
    for key, default in (("config", None), ("dataset", {}), ("metrics", {}), ("history", []), ("versions", {})):
        text = raw.get(key)
        if text is None:
            if default is None:
                raise CheckpointError(f"{path}: has no model config in its metadata.")
            out[key] = default
            continue
        try:
            out[key] = json.loads(text)
        except (ValueError, RecursionError):
            raise CheckpointError(f"{path}: metadata field {key!r} is not valid JSON.") from None
        if not isinstance(out[key], type(default if default is not None else {})):
            raise CheckpointError(f"{path}: metadata field {key!r} has the wrong type.")
    try:
        out["config_obj"] = ModelConfig.from_dict(out["config"])
    except ConfigError as e:
        raise CheckpointError(f"{path}: invalid model config: {e}.") from None
    out["schema"] = int(schema)
    return out
