"""mnist and fashion-mnist: the official IDX files, found locally or downloaded and checked.

IDX files are streamed: the header is read first, and no more data is read (or inflated) than the
sizes it declares. Declared data more than MAX_IDX_RATIO times the file's size is refused before it is
read (a gzip bomb: real image data does not inflate that much).
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from training.datasets.base import Dataset, Options
from training.download import DatasetError, cache_dir, fetch
from training.safeopen import open_regular

MAX_IDX_BYTES = 2 * 1024**3  # declared IDX data above this is refused unread (MNIST train images: 45 MiB)
MAX_IDX_RATIO = 200  # declared data above this many times the gzip file's size is refused unread (MNIST: ~5)
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


def load(name: str, split: str, opts: Options) -> Dataset:
    """The official train / test files of mnist or fashion-mnist; "all" concatenates them."""
    images, labels, folders = [], [], []
    for part in (("train", "test") if split == "all" else (split,)):
        image_file, label_file = _locate_idx(name, part, opts.data_dir, opts.download, opts.progress, opts.mirrors,
                                             opts.hashes)
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
                return _parse_idx(inflated, path, size=None, packed=os.fstat(raw.fileno()).st_size)
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


def _parse_idx(f, path: Path, size: int | None, packed: int | None = None) -> np.ndarray:
    """Header: 0x00 0x00, type 0x08 (unsigned byte), ndim; then ndim big-endian uint32 sizes.

    ``size``: the file's size when it is not compressed (checked before any data is read);
    ``packed``: the gzip file's size, which bounds how far its data may inflate (MAX_IDX_RATIO).
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
    if packed is not None and expected > MAX_IDX_RATIO * packed:
        raise DatasetError(f"{path} is not a dataset this tool reads: {promise}, more than {MAX_IDX_RATIO} times "
                           f"its {packed:,} compressed bytes (a decompression bomb, not image data).")
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


