"""folder:PATH: one sub-folder per class, every readable image in it (cropped square, resized)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from training.datasets.base import Dataset, Options, split_indices, warn_once
from training.download import DatasetError

GREY_MODES = {"1", "L", "LA", "I", "F", "I;16", "I;16B", "I;16L"}  # Pillow modes without colour

def load(root: Path, split: str, opts: Options) -> Dataset:
    """Every readable image under root/<class>/, cropped to a square and resized."""
    classes = _class_folders(root)
    size, grayscale = opts.image_size or 28, opts.grayscale
    pictures, labels, skipped, odd = [], [], 0, 0
    for label, folder in enumerate(classes):
        before = len(pictures)
        files, others = _image_candidates(folder)
        skipped, odd = skipped + len(others), odd + len(others)
        for file in files:
            picture = _read_picture(file, size)
            if picture is None:
                skipped += 1
            else:
                pictures.append(picture)
                labels.append(label)
        if len(pictures) == before:
            raise DatasetError(f"class folder {folder} has no readable images.")
    if grayscale is None:
        grayscale = all(picture.mode == "L" for picture in pictures)
    mode = "L" if grayscale else "RGB"
    pixels = np.stack([np.asarray(picture.convert(mode)) for picture in pictures])
    # (N, H, W) -> (N, 1, H, W); (N, H, W, 3) -> (N, 3, H, W)
    pixels = pixels[:, None] if pixels.ndim == 3 else pixels.transpose(0, 3, 1, 2)
    chosen = split_indices(len(labels), split, root)
    if skipped:
        why = f" ({odd} of them not regular files: FIFOs, sockets, broken or looping links)" if odd else ""
        warn_once(f"folder:{root}: skipped {skipped} files that are not readable images{why}.")
    return Dataset(name=f"folder:{root}", split=split, images=pixels[chosen],
                   labels=np.asarray(labels, np.int64)[chosen],
                   label_names=[folder.name for folder in classes], source=str(root), skipped=skipped)


def _class_folders(root: Path) -> list[Path]:
    """The sub-folders of root, sorted by name (hidden ones ignored)."""
    if not root.is_dir():
        raise DatasetError(f"{root} does not exist." if not root.exists() else f"{root} is not a folder.")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
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


