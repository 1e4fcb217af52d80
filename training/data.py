"""Datasets for training and exploring: one loader per source, one result type.

    load_dataset("fashion-mnist", "test")    -> Dataset: images (N, C, H, W) float32 in [0, 1]
    load_dataset("npz:faces.npz", "train")      labels (N,) int64, label_names, source

Names: ``mnist`` and ``fashion-mnist`` (the official IDX files, found locally or
downloaded and checked), ``mnist-5k`` (5,000 MNIST digits bundled in ``assets/``),
``synthetic`` (procedural shapes, no files), ``npz:PATH`` and ``folder:PATH`` (your
own data). Every split is "train", "test" or "all" (train then test). Anything wrong
with a file is a `DatasetError` whose message names the file and the problem.

No torch here, so the explorer and the CLI can import this cheaply.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from training.download import DatasetError, cache_dir, fetch
from training.safeopen import open_regular
from training.synthetic import SYNTHETIC_NAMES, synthetic_shapes

__all__ = [
    "Dataset", "DatasetError", "DatasetWarning", "cache_dir", "dataset_names", "fetch", "load_dataset", "read_idx",
    "to_unit_float",
]

SPLITS = ("train", "test", "all")
TEST_FRACTION = 0.15  # npz: and folder: have no split of their own: 85 % train, 15 % test
SPLIT_SEED = 0
MAX_CLASSES = 10_000  # a label above this is a mistake (float pixels saved as y, ...)
MAX_IDX_BYTES = 2 * 1024**3  # declared IDX data above this is refused unread (MNIST train images: 45 MiB)
IDX_READ_BYTES = 1 << 20  # IDX files are read / inflated in pieces of this size
IDX_EXTRA_COUNTED = 1 << 16  # trailing bytes beyond the declared data are counted up to this, then refused

# The official file names; un-gzipped copies (without ".gz") are accepted too.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
LABEL_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}
# Base URLs, tried in order. Overridden by load_dataset(mirrors=...) or by
# $LATENT_EXPLORER_MIRROR (comma-separated base URLs).
MIRRORS = {
    "fashion-mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/"],
}
# SHA-256 of the official .gz downloads: the published values that many projects pin
# (the Fashion-MNIST files are the ones whose MD5s the Fashion-MNIST README lists).
# They were not re-verified here: this machine has no network and no official copy.
# Debian's dataset-fashion-mnist files (/usr/share/datasets) are re-compressed (other
# gzip header and MD5s), so they do NOT match; local files are read without a hash
# check, only downloads are checked.
SHA256 = {
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
}
SYSTEM_DIRS = [Path("/usr/share/datasets")]  # Debian's dataset-* packages install here

MNIST_5K_FILE = "mnist-5k.npz"
MNIST_5K_TRAIN = 4000  # rows 0..3999 train, 4000..4999 test (see assets/make_mnist_5k.py)

SYNTHETIC_SIZES = {"train": 3000, "test": 600}
SYNTHETIC_SEED = 0

GREY_MODES = {"1", "L", "LA", "I", "F", "I;16", "I;16B", "I;16L"}  # Pillow modes without colour


@dataclass(eq=False, repr=False)
class Dataset:
    """Images and labels, ready for a model: one split of one source."""

    name: str               # as load_dataset understands it: "fashion-mnist", "npz:/abs/x.npz"
    split: str              # "train" | "test" | "all"
    images: np.ndarray      # (N, C, H, W) float32 in [0, 1], C-contiguous (uint8 0..255 if asked for)
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


def dataset_names() -> list[str]:
    """The names load_dataset accepts, for CLI help."""
    return ["mnist", "fashion-mnist", "mnist-5k", "synthetic", "npz:PATH", "folder:PATH"]


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

    Raises:
        DatasetError: unknown name or split, data not found, or a malformed file.
    """
    _check_options(split, image_size, n)
    kind, colon, arg = str(name).partition(":")
    key = kind.strip().lower().replace("_", "-")
    if n is not None and key != "synthetic":
        raise DatasetError(f"n= only applies to the synthetic dataset, not to {name!r}.")
    if colon and key == "folder":
        dataset = _load_folder(_user_path(arg, name), split, image_size, grayscale)
        dataset.images = _pixels_out(dataset.images, uint8)
        return dataset
    if colon and key == "npz":
        dataset = _load_npz(_user_path(arg, name), split)
    elif not colon and key in ("mnist", "fashion-mnist"):
        dataset = _load_idx_dataset(key, split, data_dir, download, progress, mirrors, hashes)
    elif not colon and key == "mnist-5k":
        dataset = _load_mnist_5k(split)
    elif not colon and key == "synthetic":
        dataset = _load_synthetic(split, n)
    else:
        raise DatasetError(_unknown_name_message(name))
    dataset.images = _pixels_out(_adjust_images(dataset.images, image_size, grayscale), uint8)
    return dataset


def _check_options(split, image_size, n) -> None:
    """Reject a bad split / image_size / n before touching any file."""
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; use one of: {', '.join(SPLITS)}.")
    for option, value in (("image_size", image_size), ("n", n)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                  or value < 1):
            raise DatasetError(f"{option} must be a positive integer, not {value!r}.")


def _user_path(arg: str, name: str) -> Path:
    """The absolute path in "npz:PATH" / "folder:PATH"."""
    if not arg.strip():
        raise DatasetError(f"{name!r} needs a path after the colon, e.g. {name.strip()}data/my-set.")
    return Path(arg.strip()).expanduser().resolve()


def _unknown_name_message(name: str) -> str:
    message = f"unknown dataset {name!r}; valid names: {', '.join(dataset_names())}"
    path = Path(name).expanduser()
    if path.is_dir():
        message += f" (for this folder use folder:{name})"
    elif path.suffix == ".npz":
        message += f" (for this file use npz:{name})"
    return message + "."


# --- MNIST and Fashion-MNIST: IDX files ---------------------------------------------------


def _load_idx_dataset(name, split, data_dir, download, progress, mirrors, hashes) -> Dataset:
    """The official train / test files of mnist or fashion-mnist; "all" concatenates them."""
    images, labels, folders = [], [], []
    for part in (("train", "test") if split == "all" else (split,)):
        image_file, label_file = _locate_idx(name, part, data_dir, download, progress, mirrors, hashes)
        part_images, part_labels = _read_idx_pair(image_file, label_file, len(LABEL_NAMES[name]))
        images.append(part_images)
        labels.append(part_labels)
        folders.append(str(image_file.parent))
    return Dataset(
        name=name, split=split,
        images=np.concatenate(images)[:, None],
        labels=np.concatenate(labels).astype(np.int64),
        label_names=list(LABEL_NAMES[name]),
        source=", ".join(dict.fromkeys(folders)),
    )


def _search_dirs(name: str, data_dir) -> list[Path]:
    """Where to look, in order: data_dir, data_dir/<name>, the cache, the system folders."""
    dirs = []
    if data_dir is not None:
        dirs += [Path(data_dir).expanduser(), Path(data_dir).expanduser() / name]
    dirs.append(cache_dir() / name)
    dirs += [Path(base) / name for base in SYSTEM_DIRS]
    return dirs


def _find_file(folder: Path, filename: str) -> Path | None:
    """folder/filename, or its un-gzipped twin, if either exists."""
    for candidate in (filename, filename.removesuffix(".gz")):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _locate_idx(name, part, data_dir, download, progress, mirrors, hashes) -> list[Path]:
    """The (images, labels) files of one part, from the first folder that has both,
    else downloaded into the cache."""
    wanted = IDX_FILES[part]
    dirs = _search_dirs(name, data_dir)
    for folder in dirs:
        found = [_find_file(folder, filename) for filename in wanted]
        if all(found):
            return found
    if not download:
        raise DatasetError(
            f"{name} {part} files ({', '.join(wanted)}) not found in "
            f"{', '.join(map(str, dirs))}; pass --data-dir or allow download.")
    target = cache_dir() / name
    bases = _mirror_bases(name, mirrors)
    known = SHA256[name] if hashes is None else hashes
    paths = []
    for filename in wanted:
        if filename not in known:
            raise DatasetError(f"no SHA-256 known for {filename}, so it cannot be downloaded safely.")
        urls = [base.rstrip("/") + "/" + filename for base in bases]
        paths.append(_find_file(target, filename)
                     or fetch(urls, target / filename, known[filename], progress=progress))
    return paths


def _mirror_bases(name: str, mirrors) -> list[str]:
    """Base URLs: the mirrors argument, else $LATENT_EXPLORER_MIRROR, else MIRRORS[name]."""
    if mirrors is not None:
        return list(mirrors)
    from_env = [url.strip() for url in os.environ.get("LATENT_EXPLORER_MIRROR", "").split(",")]
    return [url for url in from_env if url] or MIRRORS[name]


def _read_idx_pair(image_file: Path, label_file: Path, num_classes: int):
    """uint8 images (N, H, W) and labels (N,) from two IDX files that must agree."""
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3:
        raise DatasetError(f"{image_file} holds data of shape {images.shape}; expected images (N, H, W).")
    if labels.ndim != 1:
        raise DatasetError(f"{label_file} holds data of shape {labels.shape}; expected labels (N,).")
    if len(images) != len(labels):
        raise DatasetError(f"{image_file} has {len(images)} images but {label_file} has {len(labels)} labels.")
    if len(labels) and labels.max() >= num_classes:
        raise DatasetError(f"{label_file} has label {labels.max()}, outside 0..{num_classes - 1}.")
    return images, labels


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An unsigned-byte IDX file (gzipped or not) as a read-only uint8 array.

    Streamed: the header is read first, and no more data is read (or inflated) than the sizes it
    declares, so a gzip bomb or a file far larger than its header says costs only the declared size.
    """
    path = Path(path)
    try:
        raw = open_regular(path)
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}.") from None
    with raw:
        try:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if not gzipped:
                return _parse_idx(raw, path, size=os.fstat(raw.fileno()).st_size)
        except OSError as exc:
            raise DatasetError(f"cannot read {path}: {exc.strerror or exc}.") from None
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as inflated:
                return _parse_idx(inflated, path, size=None)
        except (OSError, EOFError, zlib.error) as exc:
            raise DatasetError(f"{path} is a truncated or corrupt gzip file ({exc}).") from None


def _read_upto(f, n: int) -> bytearray:
    """Up to n bytes, read in pieces: memory follows the data that is there, not what n promises."""
    out = bytearray()
    while len(out) < n:
        piece = f.read(min(IDX_READ_BYTES, n - len(out)))
        if not piece:
            break
        out += piece
    return out


def _parse_idx(f, path: Path, size: int | None) -> np.ndarray:
    """Header: 0x00 0x00, type 0x08 (unsigned byte), ndim; then ndim big-endian uint32 sizes.

    ``size``: the file's size when it is not compressed (checked before any data is read).
    """
    head = bytes(_read_upto(f, 4))
    if len(head) < 4 or head[:2] != b"\x00\x00":
        raise DatasetError(f"{path} is not an IDX file (bad magic number 0x{head.hex() or '-'}).")
    type_code, ndim = head[2], head[3]
    if type_code != 0x08:
        raise DatasetError(f"{path} holds IDX type 0x{type_code:02x}; only unsigned bytes (0x08) are supported.")
    dims = bytes(_read_upto(f, 4 * ndim))
    if ndim == 0 or len(dims) < 4 * ndim:
        raise DatasetError(f"{path} is not an IDX file (its header is {4 + len(dims)} bytes, with {ndim} dimensions).")
    shape = struct.unpack(f">{ndim}I", dims)
    expected = math.prod(shape)
    promise = f"its header promises {shape[0]} items of shape {shape[1:]} ({expected} bytes)"
    if expected > MAX_IDX_BYTES:
        raise DatasetError(f"{path} is not a dataset this tool reads: {promise}, more than the "
                           f"{MAX_IDX_BYTES // 2**20} MiB limit.")
    if size is not None and size - 4 - 4 * ndim != expected:  # uncompressed: judged before reading the data
        actual = size - 4 - 4 * ndim
        if actual < expected:
            raise DatasetError(f"{path} is truncated: {promise} but only {actual} bytes follow.")
        raise DatasetError(f"{path} has {actual - expected} unexpected bytes after the data its header describes.")
    data = _read_upto(f, expected)
    if len(data) < expected:
        raise DatasetError(f"{path} is truncated: {promise} but only {len(data)} bytes follow.")
    extra = len(_read_upto(f, IDX_EXTRA_COUNTED + 1))  # inflates at most this much more
    if extra:
        amount = f"more than {IDX_EXTRA_COUNTED:,}" if extra > IDX_EXTRA_COUNTED else str(extra)
        raise DatasetError(f"{path} has {amount} unexpected bytes after the data its header describes.")
    array = np.frombuffer(data, np.uint8, count=expected).reshape(shape)
    array.flags.writeable = False
    return array


# --- npz files and the bundled mnist-5k ---------------------------------------------------


def _load_npz(path: Path, split: str) -> Dataset:
    """x, y and optional label_names from a .npz; train / test from a fixed 85/15 split."""
    x, y, names = _read_npz(path)
    if split != "all":  # "all" keeps the arrays as read: indexing with every index would copy them all
        chosen = _split_indices(len(y), split, path)
        x, y = x[chosen], y[chosen]
    return Dataset(name=f"npz:{path}", split=split, images=x, labels=y, label_names=names, source=str(path))


def assets_dir() -> Path:
    """The bundled assets: $LATENT_EXPLORER_ASSETS, else <repository>/assets."""
    override = os.environ.get("LATENT_EXPLORER_ASSETS")
    return Path(override).expanduser() if override else Path(__file__).resolve().parent.parent / "assets"


def _load_mnist_5k(split: str) -> Dataset:
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
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        raise DatasetError(f"{path} is not a .npz archive (a zip of arrays written by numpy.savez).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(f"{path} is a single .npy array, not a .npz archive with arrays x and y.")
    with archive:
        missing = [key for key in ("x", "y") if key not in archive.files]
        if missing:
            raise DatasetError(f"{path} has no array {' or '.join(missing)} "
                               f"(it holds: {', '.join(archive.files) or 'nothing'}).")
        x = _checked_images(_npz_array(archive, "x", path), path)
        labels = _checked_labels(_npz_array(archive, "y", path), len(x), path)
        names = _npz_array(archive, "label_names", path) if "label_names" in archive.files else None
    return x, labels, _checked_label_names(names, labels, path)


def _npz_array(archive, key: str, path: Path) -> np.ndarray:
    """One array from an open .npz; object (pickled) arrays are refused, never unpickled."""
    try:
        return archive[key]
    except ValueError as exc:
        if "Object arrays" in str(exc) or "allow_pickle" in str(exc):
            raise DatasetError(f"array {key} in {path} is an object (pickled) array, which is refused "
                               "for safety; save plain numeric arrays.") from None
        raise DatasetError(f"array {key} in {path} is unreadable ({exc}).") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DatasetError(f"array {key} in {path} is corrupt ({exc}).") from None


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
    return y.astype(np.int64)


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


# --- folder: one sub-folder per class -----------------------------------------------------


def _load_folder(root: Path, split: str, image_size, grayscale) -> Dataset:
    """Every readable image under root/<class>/, cropped to a square and resized."""
    classes = _class_folders(root)
    size = image_size or 28
    pictures, labels, skipped = [], [], 0
    for label, folder in enumerate(classes):
        before = len(pictures)
        for file in _image_candidates(folder):
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
    if pixels.ndim == 3:
        pixels = pixels[:, None]  # (N, H, W) -> (N, 1, H, W)
    else:
        pixels = pixels.transpose(0, 3, 1, 2)  # (N, H, W, 3) -> (N, 3, H, W)
    chosen = _split_indices(len(labels), split, root)
    if skipped:
        _warn_once(f"folder:{root}: skipped {skipped} files that are not readable images.")
    return Dataset(name=f"folder:{root}", split=split, images=pixels[chosen],
                   labels=np.asarray(labels, np.int64)[chosen],
                   label_names=[folder.name for folder in classes], source=str(root), skipped=skipped)


class DatasetWarning(UserWarning):
    """Something in a dataset was skipped; the message is one sentence naming it."""


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Warn about a dataset problem once per process (train and test split read the same folder)."""
    if message not in _warned:
        _warned.add(message)
        warnings.warn(DatasetWarning(message), stacklevel=4)


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


def _image_candidates(folder: Path) -> list[Path]:
    """Every file below folder, sorted, skipping hidden files and folders."""
    files = (p for p in folder.rglob("*") if p.is_file())
    return sorted(p for p in files if not any(part.startswith(".") for part in p.relative_to(folder).parts))


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


# --- synthetic: procedural shapes ---------------------------------------------------------


def _load_synthetic(split: str, n: int | None) -> Dataset:
    """Ten classes of jittered shapes; train and test come from two fixed seeds."""
    parts = ("train", "test") if split == "all" else (split,)
    if n is None:
        counts = [SYNTHETIC_SIZES[part] for part in parts]
    else:
        counts = [n - n // 6, n // 6] if split == "all" else [n]
    generated = [synthetic_shapes(count, seed=SYNTHETIC_SEED + (part == "test"))
                 for part, count in zip(parts, counts)]
    return Dataset(name="synthetic", split=split,
                   images=np.concatenate([images for images, _ in generated]),
                   labels=np.concatenate([labels for _, labels in generated]),
                   label_names=list(SYNTHETIC_NAMES), source=f"procedural (seed {SYNTHETIC_SEED})")


# --- shared helpers ----------------------------------------------------------------------


def _split_indices(count: int, split: str, path: Path) -> np.ndarray:
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


def _pixels_out(images: np.ndarray, uint8: bool) -> np.ndarray:
    """The images load_dataset returns: uint8 if asked for and integer, else float32 in [0, 1]."""
    if uint8 and images.dtype.kind in "iu":
        return np.ascontiguousarray(images, dtype=np.uint8)  # values were checked to be 0..255
    return images if images.dtype == np.float32 and images.flags.c_contiguous else to_unit_float(images)


def _adjust_images(images: np.ndarray, image_size: int | None, grayscale: bool | None) -> np.ndarray:
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
