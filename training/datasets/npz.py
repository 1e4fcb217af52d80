"""npz:PATH (arrays x, y and optional label_names) and the bundled mnist-5k (the same format).

The archive is read member by member with zipfile, each .npy header first (numpy.load would allocate
whatever shape a header declares before reading a byte of it).
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from training.datasets.base import MAX_CLASSES, Dataset, Options, split_indices
from training.download import DatasetError

MNIST_5K_FILE = "mnist-5k.npz"
MNIST_5K_TRAIN = 4000  # rows 0..3999 train, 4000..4999 test (see assets/make_mnist_5k.py)
MAX_NPZ_BYTES = 4 * 1024**3  # an array declaring more than this is refused unread
MAX_NPZ_RATIO = 200  # a compressed member declaring more than this many times its size is refused unread
NPZ_READ_BYTES = 1 << 20  # members are inflated in pieces of this size

def load(path: Path, split: str, opts: Options) -> Dataset:
    """x, y and optional label_names from a .npz; train / test from a fixed 85/15 split."""
    x, y, names = _read_npz(path)
    if split != "all":  # "all" keeps the arrays as read: indexing with every index would copy them all
        chosen = split_indices(len(y), split, path)
        x, y = x[chosen], y[chosen]
    return Dataset(name=f"npz:{path}", split=split, images=x, labels=y, label_names=names, source=str(path))


def assets_dir() -> Path:
    """The bundled assets: $LATENT_EXPLORER_ASSETS, else <repository>/assets."""
    override = os.environ.get("LATENT_EXPLORER_ASSETS")
    return Path(override).expanduser() if override else Path(__file__).resolve().parents[2] / "assets"


def load_mnist_5k(name: str, split: str, opts: Options) -> Dataset:
    """5,000 MNIST digits shipped with the app: rows 0..3999 train, 4000..4999 test."""
    path = assets_dir() / MNIST_5K_FILE
    if not path.is_file():
        raise DatasetError(f"the bundled {MNIST_5K_FILE} is missing from {path.parent} "
                           "(set LATENT_EXPLORER_ASSETS to the folder that holds it).")
    x, y, names = _read_npz(path)
    chosen = {"train": slice(0, MNIST_5K_TRAIN), "test": slice(MNIST_5K_TRAIN, None), "all": slice(None)}[split]
    return Dataset(name="mnist-5k", split=split, images=x[chosen],
                   labels=y[chosen], label_names=names, source=str(path))


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Checked x (N, C, H, W), labels (N,) int64 and label names from a .npz file."""
    if not path.is_file():
        raise DatasetError(f"{path} not found." if not path.exists() else f"{path} is not a file.")
    try:
        with open(path, "rb") as f:
            single = f.read(6) == b"\x93NUMPY"
        archive = None if single else zipfile.ZipFile(path)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        raise DatasetError(f"{path} is not a .npz archive (a zip of arrays written by numpy.savez).") from None
    if archive is None:
        raise DatasetError(f"{path} is a single .npy array, not a .npz archive with arrays x and y.")
    with archive:
        members = {name.removesuffix(".npy"): name for name in archive.namelist() if name.endswith(".npy")}
        missing = [key for key in ("x", "y") if key not in members]
        if missing:
            raise DatasetError(f"{path} has no array {' or '.join(missing)} "
                               f"(it holds: {', '.join(members) or 'nothing'}).")
        x = _checked_images(_npz_array(archive, members["x"], path), path)
        labels = _checked_labels(_npz_array(archive, members["y"], path), len(x), path)
        names = _npz_array(archive, members["label_names"], path) if "label_names" in members else None
    return x, labels, _checked_label_names(names, labels, path)


def _npz_array(archive: zipfile.ZipFile, member: str, path: Path) -> np.ndarray:
    """One array from an open .npz, its .npy header read and checked before anything is allocated:
    object (pickled) arrays are refused, never unpickled; the shape must fit the member's size, stay
    under MAX_NPZ_BYTES and not inflate more than MAX_NPZ_RATIO times. The data is then read in pieces,
    no further than the member's declared size."""
    key = member.removesuffix(".npy")
    try:
        info = archive.getinfo(member)
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            shape, fortran, dtype = _header(f, version)
            _check_member(info, f.tell(), shape, dtype, key, path)
            array = np.empty(math.prod(shape), dtype)
            view, done = array.view(np.uint8), 0
            while done < len(view):
                piece = f.read(min(NPZ_READ_BYTES, len(view) - done))
                if not piece:
                    raise DatasetError(f"array {key} in {path} is truncated.")
                view[done : done + len(piece)] = np.frombuffer(piece, np.uint8)
                done += len(piece)
    except DatasetError:
        raise
    except ValueError as exc:
        raise DatasetError(f"array {key} in {path} is unreadable ({exc}).") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        raise DatasetError(f"array {key} in {path} is corrupt ({exc}).") from None
    return array.reshape(shape, order="F" if fortran else "C")


def _header(f, version: tuple[int, int]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The .npy header's (shape, fortran order, dtype); numpy checks its syntax and length."""
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f".npy format version {version} is not supported")


def _check_member(info: zipfile.ZipInfo, header: int, shape: tuple[int, ...], dtype: np.dtype, key: str,
                  path: Path) -> None:
    if dtype.hasobject:
        raise DatasetError(f"array {key} in {path} is an object (pickled) array, which is refused "
                           "for safety; save plain numeric arrays.")
    need = math.prod(shape) * dtype.itemsize
    holds = info.file_size - header
    declared = f"array {key} in {path} declares shape {shape} of {dtype} ({need:,} bytes)"
    if need != holds:
        raise DatasetError(f"{declared} but its member holds {holds:,} bytes.")
    if need > MAX_NPZ_BYTES:
        raise DatasetError(f"{declared}, more than the {MAX_NPZ_BYTES // 2**30} GiB limit.")
    if info.compress_type != zipfile.ZIP_STORED and need > MAX_NPZ_RATIO * max(info.compress_size, 1) + NPZ_READ_BYTES:
        raise DatasetError(f"{declared} from {info.compress_size:,} compressed bytes, more than {MAX_NPZ_RATIO} "
                           "times (a decompression bomb, not image data).")


def _checked_images(x: np.ndarray, path: Path) -> np.ndarray:
    """x as (N, C, H, W) with C in {1, 3}, from (N, H, W), (N, H, W, C) or (N, C, H, W),
    with integer values in 0..255 or float values in [0, 1]."""
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    elif not (x.ndim == 4 and x.shape[1] in (1, 3)):
        raise DatasetError(f"x in {path} has shape {x.shape}; expected (N, H, W), (N, H, W, C) "
                           "or (N, C, H, W) with C = 1 or 3.")
    if 0 in x.shape:
        raise DatasetError(f"x in {path} has shape {x.shape}, which holds no images.")
    if x.dtype.kind not in "uif":
        raise DatasetError(f"x in {path} has dtype {x.dtype}; expected uint8 (0..255) or float in [0, 1].")
    low, high = x.min(), x.max()  # NaN and inf show up here too
    if x.dtype.kind == "f" and not (np.isfinite(low) and np.isfinite(high)):
        raise DatasetError(f"x in {path} has NaN or infinite values.")
    if x.dtype.kind == "f" and (low < 0 or high > 1):
        raise DatasetError(f"x in {path} has float values outside [0, 1] (min {low:g}, max {high:g}); "
                           "scale them to [0, 1] or save uint8 0..255.")
    if x.dtype.kind in "iu" and (low < 0 or high > 255):
        raise DatasetError(f"x in {path} has integer values outside 0..255 (min {low}, max {high}).")
    return x


def _checked_labels(y: np.ndarray, count: int, path: Path) -> np.ndarray:
    """y as int64 0..K-1, one per image."""
    if y.ndim != 1:
        raise DatasetError(f"y in {path} has shape {y.shape}; expected one label per image, shape (N,).")
    if len(y) != count:
        raise DatasetError(f"y in {path} has {len(y)} labels but x has {count} images.")
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise DatasetError(f"y in {path} has dtype {y.dtype}; expected integer class labels.")
    if y.min() < 0:
        raise DatasetError(f"y in {path} has negative labels (min {y.min()}); labels must be 0..K-1.")
    if y.max() >= MAX_CLASSES:
        raise DatasetError(f"y in {path} has label {y.max()}; at most {MAX_CLASSES} classes are supported.")
    return y.astype(np.int64, copy=False)  # no copy of labels that are int64 already (80 MB at 10 M)


def _checked_label_names(names, labels: np.ndarray, path: Path) -> list[str]:
    """The stored names (at least one per class), or "0".."K-1"."""
    num_classes = int(labels.max()) + 1
    if names is None:
        return [str(label) for label in range(num_classes)]
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise DatasetError(f"label_names in {path} must be a 1-D array of strings, "
                           f"not {names.dtype} of shape {names.shape}.")
    if len(names) < num_classes:
        raise DatasetError(f"label_names in {path} has {len(names)} names but y has {num_classes} "
                           f"classes (labels up to {num_classes - 1}).")
    return [name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name) for name in names]


