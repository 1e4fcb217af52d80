"""Name a file that is not a checkpoint by its first bytes: "a PNG image", "a zip archive", ... (stdlib only).

Used to turn a loader's technical complaint ("header length 727905341920923785 does not fit the
file") into what the user gave us: ``describe("cat.png") == "a PNG image"``. It reads at most
``PEEK`` bytes (and, for a zip, its central directory), never unpickles or executes anything, and
returns None for anything it does not recognise, including a plausible safetensors file.
"""

from __future__ import annotations

import os
import zipfile

PEEK = 4096
# a pickle of protocol 2 that starts with torch's magic number: the legacy (pre-zip) torch.save format
_TORCH_LEGACY = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x7fELF", "an executable (ELF) file"),
    (_TORCH_LEGACY, "a PyTorch file saved with torch.save (a pickle)"),
)


def describe(path: str | os.PathLike) -> str | None:
    """What kind of (non-checkpoint) file this is, as a noun phrase; None if unknown or unreadable."""
    try:
        with open(path, "rb") as f:
            head = f.read(PEEK)
    except OSError:
        return None
    if not head:
        return "an empty file"
    if _looks_like_safetensors(head, path):
        return None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(path)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    for magic, what in _MAGIC:
        if head.startswith(magic) and (magic != b"BM" or len(head) >= 26 and head[6:10] == b"\0\0\0\0"):
            return what
    if head[0] == 0x80 and 2 <= head[1] <= 5:
        return "a Python pickle"
    return _text_kind(head)


def _looks_like_safetensors(head: bytes, path: str | os.PathLike) -> bool:
    """An 8-byte little-endian header length that fits the file, followed by a JSON object."""
    if len(head) < 9 or head[8:9] != b"{":
        return False
    n = int.from_bytes(head[:8], "little")
    try:
        return 0 < n <= os.path.getsize(path) - 8
    except OSError:
        return False


def _zip_kind(path: str | os.PathLike) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()[:10_000]
    except (zipfile.BadZipFile, OSError, ValueError):
        return "a zip archive"
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "a PyTorch file saved with torch.save (a zip of pickles)"
    if names and all(n.endswith(".npy") for n in names):
        return "a NumPy .npz archive"
    return "a zip archive"


def _text_kind(head: bytes) -> str | None:
    if b"\0" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        if len(head) < PEEK:
            return None
        try:  # the peek may cut a multi-byte character in two
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if sum(c.isprintable() or c in "\t\r\n" for c in text) < 0.98 * len(text):
        return None
    stripped = text.lstrip()
    if stripped.startswith("{") and '"latent-explorer-scene"' in text:
        return "a latent-explorer scene file; open it with --scene or File > Open scene"
    if stripped.startswith(("{", "[")):
        return "a JSON text file"
    return "a text file"
