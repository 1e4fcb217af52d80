"""A per-user cache of encoded means, so a model opens without encoding its dataset again. Qt-free.

One ``.npy`` file per key: the model file's SHA-256, the dataset's name and split, and a SHA-256 of
the exact pixels and labels the model sees (so image size, colour, data folder and a changed data
file all make a new key); images on disk (a LazyImages) are keyed by their files' fingerprint (path,
size, mtime_ns, header) instead, so opening 10 M images does not read them all to hash them. The folder is ``$LATENT_EXPLORER_CACHE/means`` if that is set (as for
downloads, training.download.cache_dir), else ``platformdirs.user_cache_dir("latent-explorer")/means``.

The cache is an optimisation and never a source of errors: a file that is missing, unreadable,
pickled, of the wrong shape or dtype, or holding non-finite values or values beyond ``MAX_ABS`` is
ignored (and then rewritten); means that pass these checks are also compared with a fresh encode of a
few images once the torch model is loaded (explorer.core.session.cached_means_hold) and rewritten if
they differ; a write that fails (read-only folder, full disk) is skipped. Files are written atomically
(training.fileio.atomic_write) and read with ``allow_pickle=False``; the oldest files beyond
``MAX_FILES``, or beyond ``MAX_BYTES`` in all, are removed (a file with 100 training snapshots stores
101 files: it must not push every other model's means out).

A read-only ``bundled`` folder (``assets/means``: the bundled model's test means, made by
``assets/make_means.py``) is looked in after the user's folder, so even a first start skips encoding.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from training.datasets.lazy import LazyImages
from training.fileio import SaveError, atomic_write

VERSION = 1  # bump when the meaning of a cached file changes
MAX_FILES = 256  # newest kept; 10,000 means are 80 kB, 1,000,000 are 8 MB
MAX_BYTES = 512 * 1024**2  # and at most this much in all, newest first
HEADER_SLACK = 4096  # bytes a .npy header may take beyond the data
CHECK_IMAGES = 8  # cached means are compared with a fresh encode of this many images (means_hold)
MAX_ABS = 1e6  # no model's means reach this (a VAE's are within a few units): a larger value is garbage


def cache_folder() -> Path:
    """Where the means are cached (not created here)."""
    override = os.environ.get("LATENT_EXPLORER_CACHE")
    if override:
        return Path(override).expanduser() / "means"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("latent-explorer")) / "means"


def data_digest(images: np.ndarray | LazyImages, labels: np.ndarray) -> str:
    """SHA-256 of the pixels (dtype, shape and bytes) and labels: what the encoder is given.

    Images on disk (a LazyImages: npy:, a large folder:) are not read for this: their files' fingerprint
    (path, size, mtime_ns, .npy header) and the rows shown stand for the pixels (LazyImages.identity)."""
    h = hashlib.sha256()
    if isinstance(images, LazyImages):
        h.update(f"lazy:{images.identity()};".encode())
        images = np.zeros(0, np.uint8)
    for array in (images, labels):
        array = np.ascontiguousarray(array)
        h.update(f"{array.dtype.str}{array.shape};".encode())
        h.update(memoryview(array).cast("B"))
    return h.hexdigest()


def cache_key(model_sha256: str, dataset: str, split: str, images: np.ndarray, labels: np.ndarray) -> str:
    parts = {"v": VERSION, "model": model_sha256, "dataset": dataset, "split": split,
             "data": data_digest(images, labels)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def means_hold(means: np.ndarray, encode, k: int = CHECK_IMAGES) -> bool:
    """True if ``encode(indices)`` -- the model's means of those dataset images -- matches ``means`` there
    (to 1e-3) at ``k`` indices spread over the dataset: the first, the last and evenly between. A few
    images cost milliseconds, and a cached file of the right shape and range that another model (or
    nothing) wrote shows at once."""
    idx = np.unique(np.linspace(0, len(means) - 1, k).round().astype(np.int64))
    return bool(np.allclose(encode(idx), means[idx], rtol=1e-3, atol=1e-3))


class MeansCache:
    """``load(key, n, d)`` -> the cached (n, d) float32 means (or log-variances) or None; ``store(key, means)``.

    ``hits`` / ``misses`` / ``writes`` count what happened (for tests and benchmarks)."""

    def __init__(self, folder: str | os.PathLike | None = None, bundled: str | os.PathLike | None = None,
                 max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES):
        self.folder = Path(folder) if folder is not None else cache_folder()
        self.max_files, self.max_bytes = max_files, max_bytes
        self.bundled = Path(bundled) if bundled is not None else None  # read only
        self.hits = self.misses = self.writes = 0

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npy"

    def load(self, key: str, n: int, d: int = 2) -> np.ndarray | None:
        means = _read_means(self.path(key), n, d)
        if means is not None:
            with contextlib.suppress(OSError):
                os.utime(self.path(key))  # recently used: kept when older files are pruned
        elif self.bundled is not None:
            means = _read_means(self.bundled / f"{key}.npy", n, d)
        if means is None:
            self.misses += 1
            return None
        self.hits += 1
        return means

    def store(self, key: str, means: np.ndarray) -> bool:
        """Write the means; False (and nothing raised) if the folder cannot take them."""
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(means, np.float32), allow_pickle=False)
        try:
            atomic_write(self.path(key), buf.getbuffer())
        except SaveError:
            return False
        self.writes += 1
        self._prune()
        return True

    def _prune(self) -> None:
        try:
            stats = sorted(((p.stat(), p) for p in self.folder.glob("*.npy")), key=lambda sp: sp[0].st_mtime_ns,
                           reverse=True)
            total = 0
            for i, (st, path) in enumerate(stats):
                total += st.st_size
                if i >= self.max_files or (i > 0 and total > self.max_bytes):  # the newest one always stays
                    path.unlink(missing_ok=True)
        except OSError:
            pass


def _read_means(path: Path, n: int, d: int = 2) -> np.ndarray | None:
    """The means in ``path`` if it holds exactly (n, d) finite float32 values, else None."""
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size > n * d * 4 + HEADER_SLACK:  # never read more than n means' worth
                return None
            means = np.load(f, allow_pickle=False)
    except (OSError, ValueError, EOFError):  # missing, unreadable, truncated, pickled, not a .npy
        return None
    if not isinstance(means, np.ndarray) or means.dtype != np.float32 or means.shape != (n, d):
        return None
    if means.size:  # min and max: NaN and inf show in them, and no (n, d) temporary is made (10 M means)
        lo, hi = float(means.min()), float(means.max())
        if not (np.isfinite(lo) and np.isfinite(hi)) or max(-lo, hi) > MAX_ABS:
            return None
    return np.ascontiguousarray(means)
