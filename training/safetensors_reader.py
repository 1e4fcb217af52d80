"""Read an untrusted .safetensors file header first, then only the tensors the caller asks for.

A safetensors file is: 8 bytes (little-endian header length n), n bytes of JSON header
(``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``), then the
tensor bytes. :class:`SafetensorsReader` opens the file once, checks its size against a cap, reads
and validates only the header (bounded JSON; every entry's dtype, shape and byte range; the ranges
tile the data exactly), and then lets the caller check names, dtypes and shapes against what it
expects *before* it reads any tensor with :meth:`SafetensorsReader.tensor`. Memory therefore stays
at the header's size until the caller has accepted the file, and at the accepted tensors after.

Every problem raises the caller's ``error`` class (a ``UserError``) with one sentence naming the
file. numpy only (no torch), so the checks are cheap to import and to test.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.errors import UserError
from training.jsonlimits import JsonLimitError, load_json_bounded
from training.safeopen import NotRegularFileError, open_regular

MAX_HEADER_BYTES = 4 * 1024**2  # ~15,000 epochs of history; real headers are tens of KB
MAX_HEADER_VALUES = 200_000  # bounds the parsed header's memory whatever its shape
MAX_NDIM = 8

# safetensors dtype -> (the name torch gives it, bytes per element, numpy dtype or None if unreadable)
DTYPES: dict[str, tuple[str, int, str | None]] = {
    "F64": ("float64", 8, "<f8"), "F32": ("float32", 4, "<f4"), "F16": ("float16", 2, "<f2"),
    "BF16": ("bfloat16", 2, None), "F8_E4M3": ("float8_e4m3fn", 1, None), "F8_E5M2": ("float8_e5m2", 1, None),
    "I64": ("int64", 8, "<i8"), "I32": ("int32", 4, "<i4"), "I16": ("int16", 2, "<i2"), "I8": ("int8", 1, "i1"),
    "U64": ("uint64", 8, "<u8"), "U32": ("uint32", 4, "<u4"), "U16": ("uint16", 2, "<u2"), "U8": ("uint8", 1, "u1"),
    "BOOL": ("bool", 1, "?"),
}
_PICKLE_OR_ZIP = (b"\x80", b"PK")  # pickle protocol 2+ opcode PROTO; torch.save's zip container


@dataclass(frozen=True)
class TensorInfo:
    """One header entry, validated: dtype code, shape, and byte range within the data section."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def dtype_name(self) -> str:
        """The dtype as torch names it ("float32"), for messages."""
        return DTYPES[self.dtype][0]


def short(value: Any, limit: int = 40) -> str:
    """repr() cut to ``limit`` characters: a hostile file must not make a message of megabytes."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SafetensorsReader:
    """An open safetensors file whose header has been read and structurally validated.

    ``metadata`` is the raw ``__metadata__`` value (None if absent; the caller checks it),
    ``tensors`` maps each name to its :class:`TensorInfo`. Use as a context manager.
    """

    def __init__(self, path: str | os.PathLike, *, max_bytes: int, error: type[UserError], what: str = "file"):
        self.path = Path(path)
        self.error = error
        try:
            self._f = open_regular(self.path)  # closed by close() / __exit__
        except FileNotFoundError:
            raise error(f"{self.path}: no such file.") from None
        except NotRegularFileError:
            raise error(f"{self.path}: is not a file.") from None
        except OSError as e:
            raise error(f"{self.path}: cannot be read ({e.strerror or e}).") from None
        try:
            self.size = os.fstat(self._f.fileno()).st_size
            if self.size > max_bytes:
                raise error(f"{self.path}: is {self.size / 2**20:.0f} MiB, larger than the "
                            f"{max_bytes // 2**20} MiB cap for a {what}.")
            self.metadata, self.tensors, self.data_start = self._read_header()
        except OSError as e:
            self.close()
            raise error(f"{self.path}: cannot be read ({e.strerror or e}).") from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> SafetensorsReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._f.close()

    def _fail(self, problem: str) -> UserError:
        return self.error(f"{self.path}: {problem}.")

    def _read_header(self) -> tuple[Any, dict[str, TensorInfo], int]:
        first = self._f.read(8)
        if len(first) < 8:
            raise self._fail(f"is too short to be a safetensors file ({len(first)} bytes)")
        (n,) = struct.unpack("<Q", first)
        if n > MAX_HEADER_BYTES or 8 + n > self.size:
            # a length that fits the file, then a JSON object: a safetensors header, only too long (its
            # length's first byte may be 0x80 or "P" by chance), never a pickle or a zip
            header_like = n <= self.size - 8 and self._f.read(1) == b"{"
            if first.startswith(_PICKLE_OR_ZIP) and not header_like:
                raise self._fail("is a pickle/zip file (e.g. a torch.save file), not a safetensors file; it was not loaded")
            if n <= self.size - 8:
                raise self._fail(f"has a header of {n:,} bytes, more than the {MAX_HEADER_BYTES:,} allowed")
            raise self._fail(f"is truncated or not a safetensors file (header length {n} does not fit the file)")
        text = self._f.read(n)
        if len(text) < n:
            raise self._fail("is truncated (the file ended inside its header)")
        try:
            header = load_json_bounded(text, source=str(self.path), max_bytes=MAX_HEADER_BYTES, max_depth=3,
                                       max_number_digits=20, max_values=MAX_HEADER_VALUES)
        except JsonLimitError as e:
            raise self._fail(f"has a header that {e.problem}") from None
        if not isinstance(header, dict):
            raise self._fail("has a header that is not a JSON object")
        metadata = header.pop("__metadata__", None)
        tensors = {name: self._entry(name, value) for name, value in header.items()}
        self._check_layout(tensors, self.size - 8 - n)
        return metadata, tensors, 8 + n

    def _entry(self, name: str, value: Any) -> TensorInfo:
        if not isinstance(value, dict) or not {"dtype", "shape", "data_offsets"} <= set(value):
            raise self._fail(f"has a malformed header entry for tensor {short(name)}")
        dtype, shape, offsets = value["dtype"], value["shape"], value["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise self._fail(f"has tensor {short(name)} of unknown dtype {short(dtype)}")
        if (not isinstance(shape, list) or len(shape) > MAX_NDIM
                or not all(type(d) is int and d >= 0 for d in shape)):
            raise self._fail(f"has tensor {short(name)} with an invalid shape {short(shape)}")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int for o in offsets) or not 0 <= offsets[0] <= offsets[1]):
            raise self._fail(f"has tensor {short(name)} with invalid data offsets {short(offsets)}")
        if math.prod(shape) * DTYPES[dtype][1] != offsets[1] - offsets[0]:
            raise self._fail(f"has tensor {short(name)} whose byte range does not match its shape {tuple(shape)}")
        return TensorInfo(dtype, tuple(shape), offsets[0], offsets[1])

    def _check_layout(self, tensors: dict[str, TensorInfo], body: int) -> None:
        """The byte ranges must tile the data section exactly: no gap, no overlap, nothing after."""
        end = 0
        for info in sorted(tensors.values(), key=lambda t: (t.begin, t.end)):
            if info.begin != end:
                raise self._fail("is corrupt (its tensors' byte ranges overlap or leave gaps)")
            end = info.end
        if end != body:
            raise self._fail(f"is truncated or corrupt (its tensors need {end} bytes of data, but {body} follow the header)")

    def tensor(self, name: str) -> np.ndarray:
        """Read one tensor (a writable, native-order numpy array); call only after accepting the header."""
        info = self.tensors[name]
        np_dtype = DTYPES[info.dtype][2]
        if np_dtype is None:
            raise self._fail(f"has tensor {short(name)} of dtype {info.dtype_name}, which cannot be read here")
        buf = bytearray(info.end - info.begin)
        try:
            self._f.seek(self.data_start + info.begin)
            got = self._f.readinto(buf)
        except OSError as e:
            raise self._fail(f"cannot be read ({e.strerror or e})") from None
        if got != len(buf):
            raise self._fail("is truncated (it changed or ended while being read)")
        array = np.frombuffer(buf, dtype=np_dtype).reshape(info.shape)
        return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))
