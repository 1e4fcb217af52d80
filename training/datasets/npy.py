"""npy:DIR: uint8 images in uncompressed .npy files, read lazily (LazyImages), and the writer that makes them.

A folder holds either

- ``x.npy`` (uint8 images (N, H, W), (N, C, H, W) or (N, H, W, C)), optionally ``y.npy`` (N integer labels)
  and ``label_names.json`` (a JSON list of strings): train / test are the same fixed 85/15 split as
  ``npz:`` (so the same arrays saved as .npz or as npy: give the same split), "all" is every image; or
- ``train_x.npy`` and ``test_x.npy`` (with ``train_y.npy`` / ``test_y.npy``): the split is the files,
  "all" is train then test.

Images stay on disk (``Dataset.images`` is a LazyImages); labels are small and read at once. Without
labels every image has label 0. :func:`write_npy_dataset` writes such a folder, and :class:`NpyWriter`
one images file batch by batch (its length need not be known in advance); both write each file to a
temp name and ``os.replace`` it, so a reader sees a complete file or none.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from training.datasets.base import Dataset, Options, split_indices
from training.datasets.lazy import MAGIC, LazyImages
from training.datasets.npz import _checked_labels
from training.download import DatasetError
from training.fileio import atomic_write, remove_orphans, temp_path

HEADER_BYTES = 128  # the header NpyWriter writes: room for any shape, a multiple of 64 as numpy likes
MAX_NAMES_BYTES = 16 * 1024**2


def load(root: Path, split: str, opts: Options) -> Dataset:
    """The images (lazily) and labels of one split of an npy: folder."""
    if not root.is_dir():
        raise DatasetError(f"{root} does not exist." if not root.exists() else
                           f"{root} is not a folder (npy: takes a folder holding x.npy, or train_x.npy and test_x.npy).")
    if (root / "train_x.npy").exists() or (root / "test_x.npy").exists():
        parts = ["train", "test"] if split == "all" else [split]
        images = LazyImages.open(*(_need(root / f"{part}_x.npy") for part in parts))
        labels = np.concatenate([_labels(root / f"{part}_y.npy", n) for part, n in zip(parts, images.file_lengths)])
    else:
        images = LazyImages.open(_need(root / "x.npy"))
        labels = _labels(root / "y.npy", len(images))
        if split != "all":
            chosen = split_indices(len(images), split, root)
            images, labels = images.subset(chosen), labels[chosen]
    names = _label_names(root / "label_names.json", labels)
    return Dataset(name=f"npy:{root}", split=split, images=images, labels=labels, label_names=names, source=str(root))


def _need(path: Path) -> Path:
    if not path.exists():
        folder = path.parent
        raise DatasetError(f"{folder} has no {path.name} (an npy: folder holds x.npy, or train_x.npy and "
                           "test_x.npy, with optional y.npy / train_y.npy / test_y.npy).")
    return path


def _labels(path: Path, count: int) -> np.ndarray:
    """y.npy's labels (int64 0..K-1), checked; zeros if there is no such file."""
    if not path.exists():
        return np.zeros(count, np.int64)
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size > 8 * count + 4096:  # never read more than N int64 labels' worth
                raise DatasetError(f"{path} is larger than {count:,} labels can be.")
            y = np.load(f, allow_pickle=False)
    except DatasetError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"{path} is not a readable .npy file of labels ({exc}).") from None
    return _checked_labels(np.asarray(y), count, path)


def _label_names(path: Path, labels: np.ndarray) -> list[str]:
    classes = int(labels.max()) + 1 if len(labels) else 1
    if not path.exists():
        return [str(label) for label in range(classes)]
    try:
        if path.stat().st_size > MAX_NAMES_BYTES:
            raise DatasetError(f"{path} is larger than {MAX_NAMES_BYTES // 2**20} MiB; it should hold a list of names.")
        names = json.loads(path.read_text(encoding="utf-8"))
    except DatasetError:
        raise
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is not readable JSON ({exc}).") from None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise DatasetError(f"{path} must hold a JSON list of strings, one name per class.")
    if len(names) < classes:
        raise DatasetError(f"{path} has {len(names)} names but the labels have {classes} classes.")
    return names


# ----------------------------------------------------------------------------- writing


def npy_header(shape: tuple[int, ...]) -> bytes:
    """A version 1.0 .npy header for a C-ordered uint8 array of ``shape``, HEADER_BYTES long."""
    shape_text = repr(tuple(int(s) for s in shape))
    text = "{'descr': '|u1', 'fortran_order': False, 'shape': " + shape_text + ", }"
    body = text.ljust(HEADER_BYTES - len(MAGIC) - 4 - 1) + "\n"
    return MAGIC + b"\x01\x00" + struct.pack("<H", len(body)) + body.encode("latin1")


class NpyWriter:
    """Write uint8 images (N, *item) to ``path`` batch by batch: ``append(batch)``, then ``close()`` (the file
    appears, complete, only then). Used as a context manager, an exception removes the temp file instead."""

    def __init__(self, path: str | os.PathLike, item: tuple[int, ...]):
        self.path, self.item, self.count = Path(path), tuple(int(s) for s in item), 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = temp_path(self.path)
        self.f = open(self.tmp, "xb")  # noqa: SIM115 - closed in close() / abort()
        self.f.write(npy_header((0, *self.item)))

    def append(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch)
        if batch.shape[1:] != self.item:
            raise ValueError(f"a batch of shape {batch.shape} does not fit images of {self.item}")
        if batch.dtype != np.uint8:
            raise ValueError(f"NpyWriter writes uint8 images, not {batch.dtype}")
        self.f.write(np.ascontiguousarray(batch).data)
        self.count += len(batch)

    def close(self) -> Path:
        try:
            self.f.seek(0)
            self.f.write(npy_header((self.count, *self.item)))
            self.f.flush()
            os.fsync(self.f.fileno())
            self.f.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise
        remove_orphans(self.path.parent, self.path.name)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.f.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()

    def __enter__(self) -> NpyWriter:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def write_npy_dataset(folder: str | os.PathLike, x: np.ndarray | Iterable[np.ndarray], y: np.ndarray | None = None,
                      label_names: list[str] | None = None, prefix: str = "", batch: int = 65536) -> Path:
    """Write an npy: folder: ``{prefix}x.npy`` (uint8 (N, C, H, W) or (N, H, W); or an iterable of such
    batches), ``{prefix}y.npy`` and ``label_names.json`` if given; each file atomically. ``prefix`` "train_" /
    "test_" writes one half of a split folder. Returns the folder."""
    folder = Path(folder)
    batches = [x[i : i + batch] for i in range(0, len(x), batch)] if isinstance(x, np.ndarray) else x
    writer = None
    try:
        for part in batches:
            part = np.asarray(part)
            if part.dtype != np.uint8:
                raise ValueError(f"write_npy_dataset writes uint8 images, not {part.dtype}")
            writer = writer or NpyWriter(folder / f"{prefix}x.npy", part.shape[1:])
            writer.append(part)
        if writer is None:
            raise ValueError("write_npy_dataset needs at least one image")
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if y is not None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(y, np.int64), allow_pickle=False)
        atomic_write(folder / f"{prefix}y.npy", buf.getbuffer())
    if label_names is not None:
        atomic_write(folder / "label_names.json", json.dumps([str(n) for n in label_names]).encode())
    return folder
