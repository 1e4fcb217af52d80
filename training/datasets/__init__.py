"""Datasets for training and exploring: one loader per source in one name -> source table, one result type.

    load_dataset("fashion-mnist", "test")    -> Dataset: images (N, C, H, W) float32 in [0, 1]
    load_dataset("npz:faces.npz", "train")      labels (N,) int64, label_names, source

:data:`SOURCES` is the table: ``mnist`` and ``fashion-mnist`` (the official IDX files, found locally
or downloaded and checked; idx.py), ``mnist-5k`` (5,000 MNIST digits bundled in ``assets/``; npz.py),
``synthetic`` (procedural shapes, no files; synthetic.py), ``npz:PATH`` (npz.py), ``npy:DIR`` (npy.py:
uncompressed uint8 .npy files read lazily, a LazyImages; lazy.py) and ``folder:PATH`` (folder.py), your
own data. The CLI's help and the error for an unknown name list the same table.
Every split is "train", "test" or "all" (train then test). Anything wrong with a file is a
`DatasetError` whose message names the file and the problem. Adding a source is one module with a
``load(name_or_path, split, options)`` and one row here (plus its test).

No torch here, so the explorer and the CLI can import this cheaply.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from training.datasets import folder, idx, npy, npz, synthetic
from training.datasets.base import (
    Dataset,
    DatasetWarning,
    Options,
    adjust_images,
    check_options,
    pixels_out,
    to_unit_float,
    user_path,
)
from training.datasets.lazy import LazyImages, is_lazy
from training.datasets.npy import write_npy_dataset
from training.download import DatasetError, cache_dir, fetch

__all__ = [
    "SOURCES", "Dataset", "DatasetError", "DatasetWarning", "LazyImages", "Source", "cache_dir", "dataset_names",
    "fetch", "is_lazy", "load_dataset", "read_idx", "to_unit_float", "write_npy_dataset",
]

read_idx = idx.read_idx


@dataclass(frozen=True)
class Source:
    load: Callable[..., Dataset]  # load(name, split, Options), or load(path, split, Options) for a path source
    help: str
    path: bool = False  # named "NAME:PATH"
    takes_n: bool = False  # load_dataset(n=...) applies


SOURCES: dict[str, Source] = {
    "mnist": Source(idx.load, "the MNIST digits (IDX files, found or downloaded)"),
    "fashion-mnist": Source(idx.load, "Zalando's Fashion-MNIST (IDX files, found or downloaded)"),
    "mnist-5k": Source(npz.load_mnist_5k, "5,000 MNIST digits bundled with the app"),
    "synthetic": Source(synthetic.load, "ten classes of procedural shapes, no files", takes_n=True),
    "npz": Source(npz.load, "your .npz with arrays x, y (and label_names)", path=True),
    "npy": Source(npy.load, "your folder of uncompressed uint8 x.npy (and y.npy), read lazily from disk",
                  path=True),
    "folder": Source(folder.load, "your images, one sub-folder per class", path=True),
}


def dataset_names() -> list[str]:
    """The names load_dataset accepts, for CLI help."""
    return [f"{name}:PATH" if source.path else name for name, source in SOURCES.items()]


def load_dataset(
    name: str,
    split: str = "test",
    *,
    data_dir: str | os.PathLike | None = None,
    image_size: int | None = None,
    grayscale: bool | None = None,
    download: bool = True,
    progress: bool | Callable[[int, int | None], None] = False,
    mirrors: list[str] | None = None,
    hashes: dict[str, str] | None = None,
    n: int | None = None,
    uint8: bool = False,
) -> Dataset:
    """Load one split of a dataset as float32 (N, C, H, W) images in [0, 1].

    Args:
        name: one of `dataset_names()`; ``npz:PATH`` and ``folder:PATH`` take a path.
        split: "train", "test" or "all" (train then test).
        data_dir: mnist / fashion-mnist: look here (and in data_dir/<name>) first.
        image_size: resize to image_size x image_size (folder: default 28).
        grayscale: True -> 1 channel, False -> 3 channels, None -> as the data is.
        download: mnist / fashion-mnist: download into `cache_dir()` if not found.
        progress: True shows a download progress bar; a callable gets (bytes, total or None) as
            the download goes and may raise to cancel it (see training.download.fetch).
        mirrors: base URLs to download from instead of `MIRRORS[name]`.
        hashes: file name -> SHA-256 to check downloads against instead of `SHA256[name]`.
        n: synthetic only: how many images (default 3000 train, 600 test).
        uint8: keep pixels stored as integers 0..255 as uint8 (N, C, H, W), a quarter of the memory
            (the explorer's choice); `to_unit_float` turns them into the float images exactly. Float
            sources, and images that are resized or turned grey from colour, stay float32.

    ``npy:DIR`` (and a large ``folder:``) gives a `LazyImages` (uint8, read from disk per batch) whatever
    ``uint8`` says: nothing converts all of it to floats; image_size / grayscale must then match the data.

    Raises:
        DatasetError: unknown name or split, data not found, or a malformed file.
    """
    check_options(split, image_size, n)
    kind, colon, arg = str(name).partition(":")
    key = kind.strip().lower().replace("_", "-")
    source = SOURCES.get(key)
    if source is None or source.path != bool(colon):
        raise DatasetError(_unknown_name_message(name))
    if n is not None and not source.takes_n:
        raise DatasetError(f"n= only applies to the synthetic dataset, not to {name!r}.")
    opts = Options(data_dir=data_dir, image_size=image_size, grayscale=grayscale, download=download,
                   progress=progress, mirrors=mirrors, hashes=hashes, n=n)
    dataset = source.load(user_path(arg, name) if source.path else key, split, opts)
    if is_lazy(dataset.images):  # on disk: never loaded whole (to resize or to turn into floats)
        _check_lazy_options(dataset, image_size, grayscale)
        return dataset
    # folder: sizes and colours while reading, so adjust_images leaves its images as they are
    dataset.images = pixels_out(adjust_images(dataset.images, image_size, grayscale), uint8)
    return dataset


def _check_lazy_options(dataset: Dataset, image_size: int | None, grayscale: bool | None) -> None:
    """image_size / grayscale that would change images read lazily from disk: one sentence."""
    c, h, w = dataset.image_shape
    if (image_size is not None and (h, w) != (image_size, image_size)) or (grayscale is not None and grayscale != (c == 1)):
        raise DatasetError(
            f"{dataset.source} holds {h}x{w} {'grey' if c == 1 else 'colour'} images, read from disk as they are: "
            f"resizing or changing colour is not supported for {dataset.name.partition(':')[0]}: data; "
            "write the images at the size and colour the model needs.")


def _unknown_name_message(name: str) -> str:
    message = f"unknown dataset {name!r}; valid names: {', '.join(dataset_names())}"
    path = Path(name).expanduser()
    if path.is_dir():
        message += f" (for this folder use folder:{name})"
    elif path.suffix == ".npz":
        message += f" (for this file use npz:{name})"
    elif path.suffix == ".npy":
        message += f" (for a folder of .npy files use npy:{path.parent})"
    return message + "."
