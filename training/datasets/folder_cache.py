"""The decoded-images cache of folder:PATH: each folder is decoded once into an npy: folder (uint8 x.npy,
y.npy and meta.json), so a second load -- the next run, the test split, the explorer -- reads it instead.

The key is a SHA-256 of the folder's listing (every image candidate's path relative to the folder, size
and mtime_ns, and the entries that are not regular files) and the decode options (image size, grey or
colour), so adding, removing, replacing or touching an image, or another size, makes a new entry. An
entry lives in ``cache_dir()/folders/KEY/`` and is written under a temp name in the same folder and
renamed into place when complete (a reader sees a whole entry or none); it is checked on reuse (meta.json
names its key and counts, the .npy headers and sizes must agree, else it is decoded again). Temp folders of
writers that are no longer running are removed. Entries beyond ``MAX_ENTRIES`` (oldest used first) are
removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from training.datasets.lazy import LazyImages
from training.download import DatasetError, cache_dir

VERSION = 1  # bump when decoding changes what a cached entry holds
MAX_ENTRIES = 32


def folder_key(listing: list[tuple[str, int, int]], others: list[str], size: int, grayscale: bool | None) -> str:
    text = json.dumps({"v": VERSION, "files": listing, "others": others, "size": size, "grayscale": grayscale})
    return hashlib.sha256(text.encode()).hexdigest()


def cached(key: str) -> tuple[LazyImages, np.ndarray, dict] | None:
    """The cached entry of ``key`` (images, labels, meta) if it is complete and consistent, else None."""
    entry = cache_dir() / "folders" / key
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("key") != key:
            return None
        images = LazyImages.open(entry / "x.npy")
        with open(entry / "y.npy", "rb") as f:
            if os.fstat(f.fileno()).st_size > 8 * len(images) + 4096:
                return None
            labels = np.load(f, allow_pickle=False)
    except (OSError, ValueError, EOFError):  # DatasetError is a ValueError: a damaged file is decoded again
        return None
    if labels.shape != (len(images),) or labels.dtype != np.int64 or meta.get("count") != len(images):
        return None
    with contextlib.suppress(OSError):
        os.utime(entry / "meta.json")  # recently used: kept when old entries are pruned
    return images, labels, meta


def build(key: str, decode: Callable[[Path], dict], where: Path) -> tuple[LazyImages, np.ndarray, dict]:
    """Run ``decode(folder)`` (writes x.npy and y.npy there, returns the meta) into a temp folder and
    rename it into place as the entry of ``key``; the entry as :func:`cached` reads it."""
    base = cache_dir() / "folders"
    tmp = base / f".{key}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        tmp.mkdir(parents=True)
        _remove_dead_temps(base)
        meta = decode(tmp)
        (tmp / "meta.json").write_text(json.dumps({**meta, "key": key}), encoding="utf-8")
        entry = base / key
        if entry.exists():  # stale or damaged (cached() refused it): replaced
            shutil.rmtree(entry, ignore_errors=True)
        try:
            os.replace(tmp, entry)
        except OSError:
            if cached(key) is None:  # not another process that finished the same entry first
                raise
    except OSError as exc:
        raise DatasetError(f"the decoded images of {where} could not be written to {base} "
                           f"({exc.strerror or exc}); free some space or set LATENT_EXPLORER_CACHE.") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _prune(base)
    found = cached(key)
    if found is None:
        raise DatasetError(f"the decoded images of {where} in {base / key} changed while they were written; try again.")
    return found


def _remove_dead_temps(base: Path) -> None:
    """Temp folders whose writer (a pid on this machine) is gone: a decode that was killed."""
    for path in base.glob(".*.tmp"):
        parts = path.name.split(".")
        with contextlib.suppress(ValueError, IndexError, OSError):
            pid = int(parts[2])
            if pid != os.getpid() and not _alive(pid):
                shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _prune(base: Path) -> None:
    with contextlib.suppress(OSError):
        entries = sorted((p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: _used(p), reverse=True)
        for old in entries[MAX_ENTRIES:]:
            shutil.rmtree(old, ignore_errors=True)


def _used(entry: Path) -> int:
    try:
        return (entry / "meta.json").stat().st_mtime_ns
    except OSError:
        return 0
