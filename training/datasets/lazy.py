"""LazyImages: a read-only, numpy-like uint8 image array read from uncompressed .npy files on demand.

    images = LazyImages.open("data/x.npy")    # reads the header only; (N, H, W) is seen as (N, 1, H, W)
    images.shape, images.dtype, len(images)  # (N, C, H, W), uint8, N
    images[7], images[100:200], images[idx]  # fresh np.ndarray copies: (C, H, W) / (k, C, H, W)
    images.subset(rows), images.head(n)      # lazy views (no pixels read)

Every header is checked before a byte of data is read: a .npy file, uint8, C order, (N, H, W), (N, C, H, W)
or (N, H, W, C) with C 1 or 3, and a file size of exactly header + N * C * H * W. Any problem is one
`DatasetError` sentence naming the file.

Pixels are read with ``os.preadv`` (``os.pread`` / seek + read where that is missing) into a fresh buffer,
one call per run of consecutive rows, never through a long-lived memory map: the page cache holds the
file, not the process, so a whole epoch in random batches keeps the resident memory at about one batch
(a memory map's touched pages count as the process's resident memory until it is unmapped).

A file changed or truncated while open: every read compares the open file's size and mtime with what
was seen at open (one ``fstat``), and a short read says the same, as one sentence
("FILE changed or was truncated since it was opened; reopen it."); :meth:`LazyImages.check` also
notices a file replaced under the same name. Views share the open files, which are closed when the last
view is garbage-collected. No torch here.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.download import DatasetError
from training.safeopen import open_regular

MAX_SIDE = 16384  # an image side above this is a mistake (or a header made up to cost memory)
MAGIC = b"\x93NUMPY"


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one .npy file's content without reading it: path, size, mtime, inode and header
    (a file rewritten by a replace has a new inode even within the file system's mtime resolution)."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    header: str  # descr, order and shape as the header declares them

    def as_dict(self) -> dict:
        return {"path": self.path, "size": self.size, "mtime_ns": self.mtime_ns, "inode": self.inode,
                "header": self.header}


class _NpyFile:
    """One open, checked .npy file of uint8 images: ``rows`` images of ``item`` (C, H, W) at ``offset``."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.f = open_regular(path)
        except FileNotFoundError:
            raise DatasetError(f"{path} not found.") from None
        except OSError as exc:
            raise DatasetError(f"cannot read {path}: {exc.strerror or exc}.") from None
        try:
            self._read_header()
        except BaseException:
            self.f.close()
            raise
        self.lock = threading.Lock()  # only for the seek + read fallback (no os.pread on this system)

    def _read_header(self) -> None:
        path, f = self.path, self.f
        st = os.fstat(f.fileno())
        try:
            if f.read(6) != MAGIC:
                raise DatasetError(f"{path} is not a .npy file (numpy.save writes them).")
            f.seek(0)
            version = np.lib.format.read_magic(f)
            reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in reader:
                raise DatasetError(f"{path} has .npy format version {version[0]}.{version[1]}, which is not supported.")
            shape, fortran, dtype = reader[version](f)
        except DatasetError:
            raise
        except (ValueError, OSError, EOFError) as exc:
            raise DatasetError(f"{path} has an unreadable .npy header ({exc}).") from None
        self.offset = f.tell()
        if dtype != np.uint8:
            raise DatasetError(f"{path} holds {dtype} values; expected uint8 images (0..255).")
        if fortran and len(shape) > 1:
            raise DatasetError(f"{path} is stored in Fortran order; save a C-ordered array "
                               "(numpy.ascontiguousarray) instead.")
        self.native, self.nhwc = _image_layout(tuple(int(s) for s in shape), path)
        self.rows = self.native[0]
        self.item = (self.native[3], self.native[1], self.native[2]) if self.nhwc else self.native[1:]
        self.row_bytes = math.prod(self.native[1:])
        need = self.offset + self.rows * self.row_bytes
        if st.st_size != need:
            what = "is truncated" if st.st_size < need else "has unexpected bytes after its data"
            raise DatasetError(f"{path} {what}: its header declares {self.rows:,} images of {self.native[1:]} "
                               f"({need:,} bytes with the header) but the file has {st.st_size:,} bytes.")
        header = f"|u1 C {tuple(shape)}"
        self.fingerprint = Fingerprint(str(path), st.st_size, st.st_mtime_ns, st.st_ino, header)

    def changed(self) -> str:
        return f"{self.path} changed or was truncated since it was opened; reopen it."

    def check_open(self) -> None:
        """The open file still has the size and mtime it had when it was opened."""
        try:
            st = os.fstat(self.f.fileno())
        except (OSError, ValueError):
            raise DatasetError(self.changed()) from None
        if (st.st_size, st.st_mtime_ns) != (self.fingerprint.size, self.fingerprint.mtime_ns):
            raise DatasetError(self.changed())

    def read(self, out: np.ndarray, first: int) -> None:
        """Rows first .. first + len(out) into ``out`` (k, *native) uint8, C-contiguous."""
        view = memoryview(out).cast("B")
        pos, done = self.offset + first * self.row_bytes, 0
        while done < len(view):
            piece = view[done : done + (1 << 30)]
            try:
                got = _pread_into(self, piece, pos + done)
            except OSError as exc:
                raise DatasetError(f"cannot read {self.path}: {exc.strerror or exc}.") from None
            if got <= 0:
                raise DatasetError(self.changed())
            done += got

    def close(self) -> None:
        self.f.close()

    def __del__(self):  # the last view is gone
        f = getattr(self, "f", None)
        if f is not None:
            f.close()


def _pread_into(file: _NpyFile, buffer: memoryview, offset: int) -> int:
    fd = file.f.fileno()
    if hasattr(os, "preadv"):
        return os.preadv(fd, [buffer], offset)
    if hasattr(os, "pread"):
        data = os.pread(fd, len(buffer), offset)
        buffer[: len(data)] = data
        return len(data)
    with file.lock:  # Windows
        file.f.seek(offset)
        return file.f.readinto(buffer) or 0


def _image_layout(shape: tuple[int, ...], path: Path) -> tuple[tuple[int, int, int, int], bool]:
    """(N, a, b, c) as stored and whether it is (N, H, W, C); (N, H, W) is (N, H, W, 1)."""
    if len(shape) == 3:
        native, nhwc = (shape[0], shape[1], shape[2], 1), True
    elif len(shape) == 4 and shape[-1] in (1, 3):  # as npz: reads it
        native, nhwc = shape, True
    elif len(shape) == 4 and shape[1] in (1, 3):
        native, nhwc = shape, False
    else:
        raise DatasetError(f"{path} holds an array of shape {shape}; expected images (N, H, W), (N, C, H, W) "
                           "or (N, H, W, C) with C = 1 or 3.")
    h, w = (native[1], native[2]) if nhwc else (native[2], native[3])
    if native[0] < 1 or not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise DatasetError(f"{path} holds an array of shape {shape}, which holds no images of a usable size "
                           f"(at least one image, sides 1..{MAX_SIDE}).")
    return native, nhwc


class LazyImages:
    """uint8 images (N, C, H, W) read from one or more .npy files on demand (their rows one after another),
    optionally through a row selection. See the module's docstring."""

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, files: list[_NpyFile], rows: np.ndarray | range | None = None):
        self._files = files
        self._starts = np.cumsum([0] + [f.rows for f in files])  # first virtual row of each file
        total = int(self._starts[-1])
        self._rows = range(total) if rows is None else rows  # virtual rows this view shows
        self.shape = (len(self._rows), *files[0].item)

    @classmethod
    def open(cls, *paths: str | os.PathLike) -> LazyImages:
        """The images of one file, or of several (same image shape) one after another; headers checked."""
        files = [_NpyFile(Path(p)) for p in paths]
        for f in files[1:]:
            if f.item != files[0].item:
                raise DatasetError(f"{f.path} holds images of {f.item}, but {files[0].path} holds {files[0].item}.")
        return cls(files)

    # ------------------------------------------------------------------ numpy-like
    def __len__(self) -> int:
        return self.shape[0]

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size

    @property
    def path(self) -> Path:
        """The (first) file."""
        return self._files[0].path

    @property
    def paths(self) -> list[Path]:
        return [f.path for f in self._files]

    @property
    def file_lengths(self) -> list[int]:
        """How many images each file holds (all of them, whatever rows this view shows)."""
        return [f.rows for f in self._files]

    def __repr__(self) -> str:
        return f"LazyImages({', '.join(map(str, self.paths))}, shape={self.shape})"

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, tuple):
            head, *rest = key
            return self[head][(slice(None), *rest) if not _is_int(head) else tuple(rest)]
        if _is_int(key):
            i = int(key)
            if not -len(self) <= i < len(self):
                raise IndexError(f"index {i} is out of bounds for {len(self)} images")
            return self._read(np.array([self._rows[i]], np.int64))[0]
        if isinstance(key, slice):
            return self._read(self._virtual(key))
        index = np.asarray(key)
        if index.dtype == bool:
            if index.shape != (len(self),):
                raise IndexError(f"a boolean index must have shape ({len(self)},), not {index.shape}")
            index = np.flatnonzero(index)
        if index.dtype.kind not in "iu" or index.ndim != 1:
            raise IndexError(f"LazyImages takes an int, a slice or a 1-D integer index, not {key!r}")
        if len(index) and (index.max() >= len(self) or index.min() < -len(self)):
            raise IndexError(f"an index is out of bounds for {len(self)} images")
        return self._read(self._virtual(index))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None):
        """All the images in memory (what np.asarray asks for): only for data known to be small."""
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    # ------------------------------------------------------------------ views
    def subset(self, index) -> LazyImages:
        """A lazy view of some rows (a slice or integer indices); nothing is read."""
        if not isinstance(index, slice):
            index = np.asarray(index)
            index = np.flatnonzero(index) if index.dtype == bool else index
        return LazyImages(self._files, self._virtual(index))

    def head(self, n: int | None) -> LazyImages:
        """The first n images (all if n is None or 0), lazily."""
        return self if not n or n >= len(self) else self.subset(slice(0, n))

    # ------------------------------------------------------------------ identity and checks
    @property
    def fingerprint(self) -> tuple[Fingerprint, ...]:
        return tuple(f.fingerprint for f in self._files)

    def identity(self) -> str:
        """A digest of the files' fingerprints and the rows shown: keys a cache without reading pixels."""
        h = hashlib.sha256(json.dumps([fp.as_dict() for fp in self.fingerprint], sort_keys=True).encode())
        rows = self._rows
        if isinstance(rows, range):
            h.update(f"range({rows.start},{rows.stop},{rows.step})".encode())
        else:
            h.update(np.ascontiguousarray(rows, np.int64).tobytes())
        return h.hexdigest()

    def check(self) -> None:
        """DatasetError (one sentence) if a file changed, was truncated or was replaced since it was opened."""
        for f in self._files:
            f.check_open()
            try:
                st = os.stat(f.path)
            except OSError:
                raise DatasetError(f.changed()) from None
            if (st.st_size, st.st_mtime_ns) != (f.fingerprint.size, f.fingerprint.mtime_ns) or \
                    not os.path.samestat(st, os.fstat(f.f.fileno())):
                raise DatasetError(f.changed())

    def close(self) -> None:
        for f in self._files:
            f.close()

    def __reduce__(self):
        rows = self._rows if not isinstance(self._rows, range) else (self._rows.start, self._rows.stop,
                                                                      self._rows.step)
        return _reopen, (tuple(str(p) for p in self.paths), self.fingerprint, rows)

    # ------------------------------------------------------------------ reading
    def _virtual(self, key) -> np.ndarray | range:
        """Virtual (concatenated-file) rows of a slice or an index array of this view."""
        if isinstance(key, slice):
            return self._rows[key]
        index = np.asarray(key, np.int64)
        index = np.where(index < 0, index + len(self), index)
        if isinstance(self._rows, range):
            return self._rows.start + index * self._rows.step
        return self._rows[index]

    def _read(self, rows: np.ndarray | range) -> np.ndarray:
        """The images at virtual rows ``rows`` as a fresh (k, C, H, W) uint8 array."""
        if isinstance(rows, range) and rows.step == 1:  # a slice: one read per file
            return self._read_sorted(rows.start, np.arange(0), rows.stop - rows.start)
        rows = np.asarray(rows, np.int64)
        if len(rows) > 1 and not np.all(rows[1:] >= rows[:-1]):
            order = np.argsort(rows, kind="stable")
            out = np.empty((len(rows), *self.shape[1:]), np.uint8)
            out[order] = self._read_sorted(0, rows[order], len(rows))
            return out
        return self._read_sorted(0, rows, len(rows))

    def _read_sorted(self, first: int, rows: np.ndarray, count: int) -> np.ndarray:
        """Virtual rows ``rows`` (sorted), or ``count`` rows from ``first`` when ``rows`` is empty."""
        out = np.empty((count, *self.shape[1:]), np.uint8)
        if count == 0:
            return out
        if len(rows) == 0:
            starts, lengths = np.array([first]), np.array([count])
        else:  # runs of consecutive rows, one read each
            breaks = np.flatnonzero(np.diff(rows) != 1) + 1
            starts, lengths = rows[np.r_[0, breaks]], np.diff(np.r_[0, breaks, len(rows)])
        for f in self._files:
            f.check_open()
        done = 0
        for start, length in zip(starts.tolist(), lengths.tolist()):
            while length:  # a run may cross from one file into the next
                k = int(np.searchsorted(self._starts, start, side="right")) - 1
                f = self._files[k]
                take = min(length, int(self._starts[k + 1]) - start)
                self._read_run(f, start - int(self._starts[k]), out[done : done + take])
                done, start, length = done + take, start + take, length - take
        return out

    @staticmethod
    def _read_run(f: _NpyFile, first: int, out: np.ndarray) -> None:
        if not f.nhwc or f.native[3] == 1:  # (N, C, H, W), or one channel: the bytes are already in order
            f.read(out, first)
        else:
            native = np.empty((len(out), *f.native[1:]), np.uint8)
            f.read(native, first)
            out[:] = native.transpose(0, 3, 1, 2)


def _is_int(key) -> bool:
    return isinstance(key, (int, np.integer)) and not isinstance(key, bool)


def _reopen(paths: tuple[str, ...], fingerprint: tuple[Fingerprint, ...], rows) -> LazyImages:
    images = LazyImages.open(*paths)
    if images.fingerprint != fingerprint:
        raise DatasetError(images._files[0].changed())
    return images if isinstance(rows, tuple) and rows == (0, len(images), 1) else LazyImages(
        images._files, range(*rows) if isinstance(rows, tuple) else rows)


def is_lazy(images) -> bool:
    return isinstance(images, LazyImages)
