"""The commit protocol for a checkpoint and its resume state: a kill at any instant leaves a pair.

Saving epoch N of ``OUT`` (e.g. ``runs/m.safetensors``):

1. the optimizer state goes to a *new* file, ``OUT.resume-N-<sha256 prefix>.safetensors``, written
   atomically (training.fileio); the committed pair is not touched;
2. the checkpoint ``OUT`` is written atomically, last, and its ``resume`` metadata names that file
   and its full SHA-256: replacing ``OUT`` is the commit;
3. resume files that ``OUT`` no longer names are removed, and so are temp files whose writer died.

Killed before step 2 finishes, ``OUT`` still names the old resume file, which still exists; killed
after, ``OUT`` names the new one. Leftovers of a kill (a temp file, an unnamed resume file) go at
the next save. An ``OSError`` (full disk, read-only, quota) in step 1 or 2 is a ``SaveError`` naming
the file; the new resume file is removed and the previous pair stays as it was.

``--resume`` reads ``OUT``, the file it names (SHA-256 checked) and checks that the history has
exactly one row per finished epoch, so an epoch is never trained twice.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import torch

from training import checkpoint, resume_state
from training.fileio import atomic_write
from training.models import VAE, ModelConfig
from training.resume_state import ResumeError, ResumeState

__all__ = ["ResumeError", "commit_epoch", "load_for_resume", "remove_stale", "resume_file_of"]


def _resume_name_re(out: Path) -> re.Pattern[str]:
    return re.compile(re.escape(out.name) + r"\.resume-[0-9]{1,9}-[0-9a-f]{16}\.safetensors")


def commit_epoch(out: Path, model: VAE, optimizer: torch.optim.Optimizer, *, epoch: int,
                 train_config: dict[str, Any], live: bool = False, **save_kwargs: Any) -> dict[str, Any]:
    """Save the checkpoint and resume state of ``epoch`` as one unit; returns the ``resume`` reference.

    ``live``: ``model`` is the moving average of the weights ``optimizer`` steps (``--ema``), which go into
    the resume state. ``save_kwargs`` (dataset, metrics, history, ...) go to ``checkpoint.save`` with ``resume=`` added.
    """
    data = resume_state.encode(optimizer.state_dict(), epoch=epoch, train_config=train_config,
                               live=resume_state.live_weights(optimizer) if live else None)
    sha = hashlib.sha256(data).hexdigest()
    rp = out.with_name(f"{out.name}.resume-{epoch}-{sha[:16]}.safetensors")
    ref = {"file": rp.name, "sha256": sha, "epoch": epoch}
    committed = _committed_name(out)
    try:
        atomic_write(rp, data)
        checkpoint.save(model, out, resume=ref, **save_kwargs)
    except BaseException:
        if committed != rp.name:  # never the file the committed checkpoint names (same bytes, same name)
            rp.unlink(missing_ok=True)
        raise
    remove_stale(out, keep=rp.name)
    return ref


def _committed_name(out: Path) -> str | None:
    try:
        return checkpoint.read_metadata(out).get("resume", {}).get("file")
    except checkpoint.CheckpointError:
        return None


def remove_stale(out: Path, keep: str) -> list[Path]:
    """Remove ``OUT.resume-*.safetensors`` files other than ``keep`` (the one ``OUT`` names)."""
    pattern = _resume_name_re(out)
    removed = []
    for p in out.parent.glob(f"{glob_escape(out.name)}.resume-*.safetensors"):
        if p.name != keep and pattern.fullmatch(p.name):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def resume_file_of(out: Path) -> Path | None:
    """The resume file that checkpoint ``out`` names (None if it names none)."""
    name = _committed_name(out)
    return out.with_name(name) if name else None


def load_for_resume(out: Path, config: ModelConfig) -> tuple[VAE, ResumeState]:
    """The committed checkpoint (made with ``config``) and its resume state, checked to be one pair."""
    if not out.exists():
        raise ResumeError(f"--resume needs {out}, but it is missing.")
    model = checkpoint.load(out)
    if model.config != config:
        raise ResumeError(f"{out}: was trained with a different model configuration; --resume needs the same options.")
    ref = model.metadata.get("resume") or {}
    if not ref:
        legacy = out.with_name(out.name + ".resume.pt")
        why = (f" ({legacy.name} is the old pickle format, which is no longer read)" if legacy.exists() else "")
        raise ResumeError(f"{out}: names no resume state{why}; train without --resume to start again.")
    name, sha, epoch = ref.get("file"), ref.get("sha256"), ref.get("epoch")
    if (not isinstance(name, str) or not _resume_name_re(out).fullmatch(name)
            or not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha))
            or type(epoch) is not int or epoch < 0):
        raise ResumeError(f"{out}: has an invalid resume reference in its metadata.")
    rp = out.with_name(name)
    if not rp.exists():
        raise ResumeError(f"--resume needs {rp}, the resume state that {out.name} names, but it is missing.")
    state = resume_state.read(rp, sha256=sha, param_shapes=[tuple(p.shape) for p in model.parameters()])
    if state.epoch != epoch:
        raise ResumeError(f"{rp}: holds epoch {state.epoch}, but {out.name} names it for epoch {epoch}.")
    epochs = [row.get("epoch") if isinstance(row, dict) else None for row in model.metadata.get("history", [])]
    if epochs != list(range(1, epoch + 1)):
        raise ResumeError(f"{out}: its history does not list epochs 1..{epoch} once each; it cannot be resumed.")
    return model, state
