"""What every dataset source shares: the Dataset type, the split, pixel conversion and the options check."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from training.download import DatasetError

SPLITS = ("train", "test", "all")
TEST_FRACTION = 0.15  # npz: and folder: have no split of their own: 85 % train, 15 % test
SPLIT_SEED = 0
MAX_CLASSES = 10_000  # a label above this is a mistake (float pixels saved as y, ...)

@dataclass(frozen=True)
class Options:
    """What load_dataset was asked besides the name and the split (each source uses what applies to it)."""

    data_dir: str | os.PathLike | None = None
    image_size: int | None = None
    grayscale: bool | None = None
    download: bool = True
    progress: bool | Callable[[int, int | None], None] = False
    mirrors: list[str] | None = None
    hashes: dict[str, str] | None = None
    n: int | None = None


@dataclass(eq=False, repr=False)
class Dataset:
    """Images and labels, ready for a model: one split of one source."""

    name: str               # as load_dataset understands it: "fashion-mnist", "npz:/abs/x.npz"
    split: str              # "train" | "test" | "all"
    images: np.ndarray      # (N, C, H, W) float32 in [0, 1], C-contiguous (uint8 0..255 if asked for);
    #                         a LazyImages (uint8, on disk) for npy: and a large folder:
    labels: np.ndarray      # (N,) int64 in 0..K-1
    label_names: list[str]  # K names
    source: str             # where the data came from (path), for checkpoint metadata
    skipped: int = 0        # folder: files that were not readable images

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        return tuple(int(size) for size in self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, split={self.split!r}, {len(self)} images of "
                f"{self.image_shape}, {self.num_classes} classes)")


class DatasetWarning(UserWarning):
    """Something in a dataset was skipped; the message is one sentence naming it."""


_warned: set[str] = set()


def warn_once(message: str) -> None:
    """Warn about a dataset problem once per process (train and test split read the same folder)."""
    if message not in _warned:
        _warned.add(message)
        warnings.warn(DatasetWarning(message), stacklevel=4)


def check_options(split, image_size, n) -> None:
    """Reject a bad split / image_size / n before touching any file."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; use one of: {', '.join(SPLITS)}.")
    for option, value in (("image_size", image_size), ("n", n)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                  or value < 1):
            raise DatasetError(f"{option} must be a positive integer, not {value!r}.")


def user_path(arg: str, name: str) -> Path:
    """The absolute path in "npz:PATH" / "folder:PATH"."""
    if not arg.strip():
        raise DatasetError(f"{name!r} needs a path after the colon, e.g. {name.strip()}data/my-set.")
    return Path(arg.strip()).expanduser().resolve()


def split_indices(count: int, split: str, path: Path) -> np.ndarray:
    """Indices of a fixed 85/15 train/test split ("all": everything, in order).

    Uses the legacy RandomState, whose stream numpy keeps frozen, so the same file gives
    the same split on every machine and numpy version.
    """
    if split == "all":
        return np.arange(count)
    order = np.random.RandomState(SPLIT_SEED).permutation(count)
    test_count = round(count * TEST_FRACTION)
    chosen = np.sort(order[:test_count] if split == "test" else order[test_count:])
    if len(chosen) == 0:
        raise DatasetError(f"{path} has only {count} images, too few for a {split!r} split; use split 'all'.")
    return chosen


def to_unit_float(pixels: np.ndarray) -> np.ndarray:
    """Integer 0..255 or float [0, 1] pixels -> C-contiguous float32 in [0, 1] (a new array)."""
    images = np.array(pixels, dtype=np.float32, order="C")
    if pixels.dtype.kind in "iu":
        images /= 255
    return images


def pixels_out(images: np.ndarray, uint8: bool) -> np.ndarray:
    """The images load_dataset returns: uint8 if asked for and integer, else float32 in [0, 1]."""
    if uint8 and images.dtype.kind in "iu":
        return np.ascontiguousarray(images, dtype=np.uint8)  # values were checked to be 0..255
    return images if images.dtype == np.float32 and images.flags.c_contiguous else to_unit_float(images)


def adjust_images(images: np.ndarray, image_size: int | None, grayscale: bool | None) -> np.ndarray:
    """Apply grayscale (True: 1 channel, False: 3 channels) and image_size to (N, C, H, W).

    Integer pixels stay integer unless the luma mix or the resize needs floats."""
    needs_float = (grayscale is True and images.shape[1] == 3) or (
        image_size is not None and images.shape[2:] != (image_size, image_size))
    if needs_float:
        images = to_unit_float(images)
    if grayscale is True and images.shape[1] == 3:
        luma = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as Pillow's "L"
        images = np.clip(np.einsum("nchw,c->nhw", images, luma)[:, None], 0, 1)
    if image_size is not None and images.shape[2:] != (image_size, image_size):
        images = _resize(images, image_size)
    if grayscale is False and images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    return np.ascontiguousarray(images)


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize every channel of (N, C, H, W) float32 to size x size (Pillow, Lanczos)."""
    out = np.empty(images.shape[:2] + (size, size), np.float32)
    for index in np.ndindex(*images.shape[:2]):
        channel = Image.fromarray(np.ascontiguousarray(images[index]))  # float32 -> mode "F"
        out[index] = np.asarray(channel.resize((size, size), Image.Resampling.LANCZOS))
    return np.clip(out, 0, 1, out=out)  # Lanczos overshoots a little at sharp edges
