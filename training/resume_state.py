"""The optimizer state that ``latent-train --resume`` needs, as safetensors + JSON: nothing pickled.

One file per committed epoch (training/commit.py decides its name and when it is written):

- tensors ``state.<i>.<key>``: the optimizer's per-parameter tensors (Adam: ``step``,
  ``exp_avg``, ``exp_avg_sq``), ``i`` being the parameter's index in ``model.parameters()``;
- tensors ``live.<i>`` (``--ema`` runs only): the live weights the optimizer steps, since the checkpoint
  then holds their exponential moving average, which is what the run shows and is resumed as the average;
- ``__metadata__``: ``format = "latent-explorer-resume"``, ``schema = "1"``, ``epoch``,
  ``param_groups`` (JSON: lr, betas, ..., params), ``scalars`` (JSON: per-parameter non-tensor
  state), ``train_config`` (JSON).

Reading checks the SHA-256 the checkpoint recorded, then the header (names, dtypes, shapes against
the model's parameters) before it reads any tensor; every problem is a :class:`ResumeError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as st_save_bytes

from training.errors import UserError
from training.jsonlimits import JsonLimitError, load_json_bounded
from training.safeopen import open_regular
from training.safetensors_reader import SafetensorsReader, short

FORMAT = "latent-explorer-resume"
SCHEMA = 1
MAX_BYTES = 4 * 512 * 1024**2  # Adam keeps two tensors per weight, --ema the live weights: four times the checkpoint cap
TENSOR_KEYS = {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
_NAME = re.compile(r"^state\.(0|[1-9][0-9]{0,5})\.([a-z_]{1,20})$")
_LIVE = re.compile(r"^live\.(0|[1-9][0-9]{0,5})$")
_JSON_LIMITS = {"max_bytes": 1024**2, "max_depth": 6, "max_number_digits": 40}


class ResumeError(UserError):
    """The resume state cannot be used; one sentence naming the file."""


@dataclass
class ResumeState:
    epoch: int
    optimizer: dict[str, Any]  # torch.optim.Optimizer.state_dict() layout
    train_config: dict[str, Any]
    live: list[torch.Tensor] | None = None  # --ema: the live weights, in model.parameters() order


def live_weights(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The weights ``optimizer`` steps, in its parameter order (that of ``model.parameters()``)."""
    return [p for g in optimizer.param_groups for p in g["params"]]


@torch.no_grad()
def put_live(model: torch.nn.Module, live: list[torch.Tensor]) -> None:
    """Give ``model`` the live weights a resume state holds (``ResumeState.live``, in parameter order)."""
    for p, w in zip(model.parameters(), live, strict=True):
        p.copy_(w)


def encode(optimizer_state: dict[str, Any], *, epoch: int, train_config: dict[str, Any],
           live: list[torch.Tensor] | None = None) -> bytes:
    """The bytes of a resume file for ``optimizer.state_dict()`` after ``epoch`` finished epochs, with the
    ``live`` weights when the checkpoint holds their moving average (``--ema``)."""
    tensors: dict[str, torch.Tensor] = {}
    for index, weight in enumerate(live or []):
        tensors[f"live.{index}"] = weight.detach().to("cpu", memory_format=torch.contiguous_format).contiguous()
    scalars: dict[str, Any] = {}
    for index, state in optimizer_state["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    meta = {
        "format": FORMAT,
        "schema": str(SCHEMA),
        "epoch": str(int(epoch)),
        "param_groups": json.dumps(optimizer_state["param_groups"]),
        "scalars": json.dumps(scalars),
        "train_config": json.dumps(train_config),
    }
    return st_save_bytes(tensors, metadata=meta)


def sha256_of(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The file's SHA-256, read in 1 MiB pieces (memory stays small whatever its size)."""
    h = hashlib.sha256()
    try:
        with open_regular(path) as f:
            if os.fstat(f.fileno()).st_size > max_bytes:
                raise ResumeError(f"{path}: is larger than the {max_bytes // 2**20} MiB cap for resume state.")
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except FileNotFoundError:
        raise ResumeError(f"{path}: no such file.") from None
    except OSError as e:
        raise ResumeError(f"{path}: cannot be read ({e.strerror or e}).") from None
    return h.hexdigest()


def read(path: str | os.PathLike, *, sha256: str, param_shapes: list[tuple[int, ...]]) -> ResumeState:
    """Load and check the resume file that a checkpoint names (with its recorded ``sha256``).

    ``param_shapes``: the shapes of ``model.parameters()``, in order, that the state must fit.
    """
    path = Path(path)
    actual = sha256_of(path)
    if actual != sha256:
        raise ResumeError(f"{path}: does not match the checkpoint that names it (SHA-256 {actual}, "
                          f"expected {sha256}); it was changed or belongs to another save.")
    with SafetensorsReader(path, max_bytes=MAX_BYTES, error=ResumeError, what="resume state") as reader:
        meta = _metadata(path, reader.metadata)
        groups = _param_groups(path, meta["param_groups"], len(param_shapes))
        state: dict[int, dict[str, Any]] = {}
        live: dict[int, torch.Tensor | None] = {}
        for name, info in reader.tensors.items():  # names, dtypes and shapes first ...
            if (lm := _LIVE.match(name)) is not None and int(lm[1]) < len(param_shapes):
                _check_shape(path, name, info, param_shapes[int(lm[1])])
                live[int(lm[1])] = None
                continue
            m = _NAME.match(name)
            if m is None or int(m[1]) >= len(param_shapes) or m[2] not in TENSOR_KEYS:
                raise ResumeError(f"{path}: has an unexpected tensor {short(name)} for this model.")
            index, key = int(m[1]), m[2]
            _check_shape(path, name, info, () if key == "step" else param_shapes[index])
            state.setdefault(index, {})[key] = None
        for index, entries in state.items():
            if not {"step", "exp_avg", "exp_avg_sq"} <= set(entries):
                raise ResumeError(f"{path}: the state of parameter {index} is incomplete.")
        if live and sorted(live) != list(range(len(param_shapes))):
            raise ResumeError(f"{path}: holds the live weights of {len(live)} parameters, but this model has "
                              f"{len(param_shapes)}.")
        for name in reader.tensors:  # ... then the data
            t = torch.from_numpy(reader.tensor(name))
            if not torch.isfinite(t).all():
                raise ResumeError(f"{path}: tensor {name!r} contains NaN or infinite values.")
            if (lm := _LIVE.match(name)) is not None:
                live[int(lm[1])] = t.float()
            else:
                m = _NAME.match(name)
                state[int(m[1])][m[2]] = t
    for key, value in meta["scalars"].items():
        index, _, name = key.partition(".")
        if index.isdigit() and int(index) in state and name and isinstance(value, (int, float, bool)):
            state[int(index)][name] = value
    return ResumeState(epoch=meta["epoch"], optimizer={"state": state, "param_groups": groups},
                       train_config=meta["train_config"], live=[live[i] for i in sorted(live)] if live else None)


def _check_shape(path: Path, name: str, info: Any, want: tuple[int, ...]) -> None:
    if info.dtype not in ("F32", "F64") or info.shape != want:
        raise ResumeError(f"{path}: tensor {name!r} is {info.dtype_name} {info.shape}, but this model "
                          f"needs float32 {want}.")


def _metadata(path: Path, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ResumeError(f"{path}: is not a latent-train resume file.")
    if raw.get("schema") != str(SCHEMA):
        raise ResumeError(f"{path}: has resume schema {short(raw.get('schema'))}; this version reads {SCHEMA}.")
    epoch = raw.get("epoch")
    if not (isinstance(epoch, str) and epoch.isascii() and epoch.isdigit() and len(epoch) <= 9):
        raise ResumeError(f"{path}: has an invalid epoch {short(epoch)}.")
    out: dict[str, Any] = {"epoch": int(epoch)}
    for key, kind in (("param_groups", list), ("scalars", dict), ("train_config", dict)):
        if not isinstance(raw.get(key), str):
            raise ResumeError(f"{path}: has no {key} in its metadata.")
        try:
            out[key] = load_json_bounded(raw[key], source=str(path), allow_nan=True, **_JSON_LIMITS)
        except JsonLimitError as e:
            raise ResumeError(f"{path}: metadata field {key!r} {e.problem}.") from None
        if not isinstance(out[key], kind):
            raise ResumeError(f"{path}: metadata field {key!r} has the wrong type.")
    return out


def _param_groups(path: Path, groups: list[Any], count: int) -> list[dict[str, Any]]:
    """The optimizer's param_groups, which must cover parameters 0..count-1 once each."""
    seen: list[int] = []
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            raise ResumeError(f"{path}: has malformed optimizer parameter groups.")
        seen += group["params"]
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    if not all(type(i) is int for i in seen) or sorted(seen) != list(range(count)):
        raise ResumeError(f"{path}: holds optimizer state for {len(seen)} parameters, but this model has {count}.")
    return groups
