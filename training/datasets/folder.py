"""folder:PATH: one sub-folder per class, every readable image in it (cropped square, resized).

Decoded once, a batch at a time, into the folder cache (folder_cache.py: keyed by the folder's listing
and the decode options); later loads read the cache and decode nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from training.datasets import folder_cache
from training.datasets.base import Dataset, Options, split_indices, warn_once
from training.datasets.lazy import LazyImages
from training.datasets.npy import NpyWriter
from training.download import DatasetError, cache_dir

IN_MEMORY_BYTES = 1 << 30  # a folder's pixels up to this are returned in memory, more stay on disk (LazyImages)
DECODE_BATCH = 256  # images decoded before they are written to the cache
GREY_MODES = {"1", "L", "LA", "I", "F", "I;16", "I;16B", "I;16L"}  # Pillow modes without colour

def load(root: Path, split: str, opts: Options) -> Dataset:
    """Every readable image under root/<class>/, cropped to a square and resized: decoded once into the
    folder cache (folder_cache.py), read from it after that. Up to IN_MEMORY_BYTES of pixels are loaded
    into memory, more stay on disk (a LazyImages)."""
    classes = _class_folders(root)
    size, grayscale = opts.image_size or 28, opts.grayscale
    candidates = [_image_candidates(folder) for folder in classes]
    listing, others = [], []
    for files, odd in candidates:
        for file in files:
            st = file.stat()
            listing.append((str(file.relative_to(root)), st.st_size, st.st_mtime_ns))
        others += [str(p.relative_to(root)) for p in odd]
    key = folder_cache.folder_key(listing, others, size, grayscale)
    found = folder_cache.cached(key) or folder_cache.build(
        key, lambda out: _decode(out, classes, candidates, size, grayscale), root)
    images, labels, meta = found
    skipped, odd = int(meta["skipped"]), len(others)
    if skipped:
        why = f" ({odd} of them not regular files: FIFOs, sockets, broken or looping links)" if odd else ""
        warn_once(f"folder:{root}: skipped {skipped} files that are not readable images{why}.")
    chosen = split_indices(len(labels), split, root)
    pixels = images[chosen] if images.nbytes <= IN_MEMORY_BYTES else images.subset(chosen)
    return Dataset(name=f"folder:{root}", split=split, images=pixels, labels=labels[chosen],
                   label_names=[folder.name for folder in classes], source=str(root), skipped=skipped)


def _decode(out: Path, classes: list[Path], candidates: list[tuple[list[Path], list[Path]]], size: int,
            grayscale: bool | None) -> dict:
    """Decode every candidate into out/x.npy (uint8 (N, C, size, size)) and out/y.npy, a batch at a time.

    grayscale None: one channel while every image so far is grey; the first colour image turns what was
    written into three equal channels (as converting grey to RGB does) and the rest is written in colour."""
    mode = "RGB" if grayscale is False else "L"
    writer = NpyWriter(out / "x.npy", (3 if mode == "RGB" else 1, size, size))
    labels, pending, skipped = [], [], 0
    try:
        for label, (folder, (files, odd)) in enumerate(zip(classes, candidates)):
            before = len(labels)
            skipped += len(odd)
            for file in files:
                picture = _read_picture(file, size)
                if picture is None:
                    skipped += 1
                    continue
                if grayscale is None and mode == "L" and picture.mode != "L":
                    _flush(writer, pending)
                    writer, mode = _to_colour(writer, out / "x.npy", size), "RGB"
                array = np.asarray(picture.convert(mode))
                pending.append(array[None] if array.ndim == 2 else array.transpose(2, 0, 1))
                labels.append(label)
                if len(pending) >= DECODE_BATCH:
                    _flush(writer, pending)
            if len(labels) == before:
                raise DatasetError(f"class folder {folder} has no readable images.")
        _flush(writer, pending)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    np.save(out / "y.npy", np.asarray(labels, np.int64), allow_pickle=False)
    return {"count": len(labels), "skipped": skipped}


def _flush(writer: NpyWriter, pending: list[np.ndarray]) -> None:
    if pending:
        writer.append(np.stack(pending))
        pending.clear()


def _to_colour(grey: NpyWriter, path: Path, size: int) -> NpyWriter:
    """The grey images written so far, as three equal channels in a new writer of ``path``."""
    if grey.count == 0:
        grey.abort()
        return NpyWriter(path, (3, size, size))
    grey.close()
    written = LazyImages.open(path)
    colour = NpyWriter(path, (3, size, size))
    for start in range(0, len(written), DECODE_BATCH):
        colour.append(np.repeat(written[start : start + DECODE_BATCH], 3, axis=1))
    return colour


def _class_folders(root: Path) -> list[Path]:
    """The sub-folders of root, sorted by name (hidden ones and the app's cache folder ignored)."""
    if not root.is_dir():
        raise DatasetError(f"{root} does not exist." if not root.exists() else f"{root} is not a folder.")
    own = cache_dir().resolve()  # the app's cache inside the folder is not a class
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.resolve() != own)
    if not classes:
        loose = sum(1 for p in root.iterdir() if p.is_file())
        raise DatasetError(f"{root} has no class sub-folders (it holds {loose} files); "
                           "put each class's images in a sub-folder named after the class.")
    return classes


def _image_candidates(folder: Path) -> tuple[list[Path], list[Path]]:
    """(regular files, other entries) below folder, sorted, hidden files and folders left out. The others
    (a FIFO, a socket, a broken or looping link named like an image) are never opened, only counted."""
    entries = sorted(p for p in folder.rglob("*") if not p.is_dir()
                     and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    regular = [p for p in entries if p.is_file()]
    return regular, [p for p in entries if not p.is_file()]


def _read_picture(file: Path, size: int) -> Image.Image | None:
    """The image as mode "L" or "RGB", centre-cropped to a square, size x size; None if unreadable."""
    try:
        with Image.open(file) as image:
            image.draft(image.mode, (size, size))  # JPEG: decode at reduced scale, much faster
            image = _as_8bit(ImageOps.exif_transpose(image))
            return ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
    except Exception:  # noqa: BLE001 - Pillow raises many types for broken files; skip them all
        return None


def _as_8bit(image: Image.Image) -> Image.Image:
    """Grey modes -> "L", everything else -> "RGB"; 16-bit and float grey are rescaled."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float64)
        top = 1.0 if values.max() <= 1.0 else 255.0 if values.max() <= 255 else 65535.0
        return Image.fromarray(np.clip(values / top * 255, 0, 255).round().astype(np.uint8))
    return image.convert("L" if image.mode in GREY_MODES else "RGB")


