"""Images out: filmstrip mosaics, PNG, animated GIF and MP4 (H.264) files, written atomically. Qt-free.

:data:`WRITERS` is the one table of export formats, every writer with one signature
(``write(path, frames, fps=, scale=, ping_pong=, progress=)``); the panels look a format up there
(:func:`writer_for`). A new format is one writer and one row, plus its test.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from explorer.core.encoding import Cancelled
from training.errors import UserError
from training.fileio import atomic_write, remove_orphans, temp_path


class ExportError(UserError):
    """An export that could not be written; one sentence naming the file."""


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(img, np.float32) * 255.0), 0, 255).astype(np.uint8)


def filmstrip(images: np.ndarray, pad: int = 2, background: float = 1.0, columns: int | None = None) -> np.ndarray:
    """Frames (N, H, W[, 3]) side by side with ``pad`` pixels between them -> (H, N*W + (N-1)*pad[, 3]); with
    ``columns``, in rows of that many frames (the last row filled with ``background``)."""
    n, h, w = images.shape[:3]
    cols = n if columns is None else max(1, min(int(columns), n))
    rows = -(-n // cols) if n else 1
    rest = images.shape[3:]
    out = np.full((rows * h + (rows - 1) * pad, cols * w + max(cols - 1, 0) * pad, *rest), background, np.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = images[i]
    return out


def upscale(img: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour upscaling by an integer factor (crisp pixels in exported files)."""
    k = max(int(k), 1)
    return np.repeat(np.repeat(img, k, axis=0), k, axis=1)


def save_png(path: str | os.PathLike, img: np.ndarray, scale: int = 4) -> Path:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_uint8(upscale(img, scale))).save(buf, format="PNG")
    atomic_write(Path(path), buf.getvalue())
    return Path(path)


def save_gif(path: str | os.PathLike, frames: np.ndarray, fps: float = 12.0, scale: int = 4,
             ping_pong: bool = True, progress: Callable[[int, int], None] | None = None) -> Path:
    """Frames (N, H, W[, 3]) in [0, 1] -> a looping GIF; ping-pong plays back and forth.
    ``progress(done, total)`` once the frames are converted."""
    from PIL import Image

    seq = list(frames) + (list(frames[-2:0:-1]) if ping_pong and len(frames) > 2 else [])
    imgs = [Image.fromarray(to_uint8(upscale(f, scale))) for f in seq]
    if progress is not None and imgs:
        progress(len(imgs), len(imgs))
    if not imgs:
        raise ValueError("no frames to write")
    imgs = [im.convert("P", palette=Image.Palette.ADAPTIVE) if im.mode == "RGB" else im for im in imgs]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=int(1000 / fps), loop=0)
    atomic_write(Path(path), buf.getvalue())
    return Path(path)


def ping_pong_frames(frames: np.ndarray) -> np.ndarray:
    """A -> B -> back to just after A, so that a looping player never jumps: (N, ...) -> (2N - 2, ...)."""
    return np.concatenate([frames, frames[-2:0:-1]]) if len(frames) > 2 else np.asarray(frames)


def even_rgb(img: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) with even H and W (H.264 in yuv420p needs them), padding with the edge pixels."""
    img = to_uint8(img)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    h, w = img.shape[:2]
    return np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def save_mp4(path: str | os.PathLike, frames: np.ndarray, fps: float = 12.0, scale: int = 4,
             ping_pong: bool = True, quality: float = 8.0,
             progress: Callable[[int, int], None] | None = None) -> Path:
    """Frames (N, H, W[, 3]) in [0, 1] -> an H.264 MP4 (yuv420p: plays in browsers and slide software).

    Written with the ffmpeg that imageio-ffmpeg bundles (its ``write_frames``) into a temporary file
    next to ``path``, named as training.fileio names them, that replaces ``path`` only when complete.
    ``quality`` 1..10 (8 is near-lossless for these small images). ``progress(done, total)`` is
    called about ten times, from the calling thread."""
    path = Path(path)
    seq = ping_pong_frames(np.asarray(frames)) if ping_pong else np.asarray(frames)
    if len(seq) == 0:
        raise ExportError(f"{path}: nothing to write (no frames).")
    if not (isinstance(fps, (int, float)) and 0.1 <= fps <= 240) or not 1 <= int(scale) <= 64:
        raise ExportError(f"{path}: fps must be in 0.1..240 and scale in 1..64, not {fps!r} and {scale!r}.")
    images = [even_rgb(upscale(f, scale)) for f in seq]
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as e:
        raise ExportError(f"{path}: cannot write MP4 here: no ffmpeg ({_first_line(e)}); "
                          "install imageio-ffmpeg or set IMAGEIO_FFMPEG_EXE.") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(path)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # 0o666 minus the umask, like open()
    except OSError as e:
        raise ExportError(f"{path}: could not be written ({e.strerror or e}).") from None
    try:
        try:
            h, w = images[0].shape[:2]
            writer = imageio_ffmpeg.write_frames(  # the temp name ends in .tmp: say "mp4" with -f
                str(tmp), (w, h), fps=fps, codec="libx264", quality=quality, pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p", macro_block_size=1, ffmpeg_log_level="error",
                output_params=["-movflags", "+faststart", "-f", "mp4"])
            writer.send(None)  # start ffmpeg
            try:
                step = max(1, len(images) // 10)
                for i, img in enumerate(images, 1):
                    writer.send(np.ascontiguousarray(img))
                    if progress is not None and (i % step == 0 or i == len(images)):
                        progress(i, len(images))
            finally:
                writer.close()  # waits for ffmpeg to finish the file
        except Cancelled:  # progress() says stop: nothing is written (the temp file goes below)
            raise
        except Exception as e:  # noqa: BLE001 - ffmpeg fails in many ways (OSError, RuntimeError, BrokenPipe...)
            raise ExportError(f"{path}: could not be written (ffmpeg: {_first_line(e)}).") from None
        with open(tmp, "rb") as f:  # imageio-ffmpeg does not check ffmpeg's exit status: an MP4 starts with ftyp
            if f.read(8)[4:] != b"ftyp":
                raise ExportError(f"{path}: could not be written (ffmpeg ended without writing an MP4).")
        try:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            raise ExportError(f"{path}: could not be written ({e.strerror or e}).") from None
    finally:
        tmp.unlink(missing_ok=True)  # gone already when os.replace succeeded
    remove_orphans(path.parent, path.name)  # temp files of writers that were killed
    return path


def _first_line(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e).strip() or type(e).__name__
    return text.splitlines()[0].rstrip(".:")


def save_png_strip(path: str | os.PathLike, frames: np.ndarray, fps: float = 12.0, scale: int = 4,
                   ping_pong: bool = True, progress: Callable[[int, int], None] | None = None) -> Path:
    """Frames (N, H, W[, 3]) in [0, 1] -> one PNG of them side by side (a filmstrip); ``fps`` and
    ``ping_pong`` do not apply to a still image and are accepted for the writers' one signature."""
    path = save_png(path, filmstrip(np.asarray(frames)), scale=scale)
    if progress is not None:
        progress(len(frames), len(frames))
    return path


@dataclass(frozen=True)
class Writer:
    """One export format: ``write(path, frames, fps=, scale=, ping_pong=, progress=) -> Path``, the
    signature every writer shares, its file suffix and the file dialog's filter."""

    write: Callable[..., Path]
    suffix: str
    filter: str


WRITERS: dict[str, Writer] = {
    "png": Writer(save_png_strip, ".png", "PNG image (*.png)"),
    "gif": Writer(save_gif, ".gif", "GIF (*.gif)"),
    "mp4": Writer(save_mp4, ".mp4", "MP4 video (*.mp4)"),
}


def writer_for(kind: str, path: str | os.PathLike = "") -> Writer:
    """The writer of ``kind`` ("gif", "mp4", "png"); ExportError (one sentence naming the file) otherwise."""
    writer = WRITERS.get(str(kind).lower().lstrip("."))
    if writer is None:
        known = ", ".join(w.suffix for w in WRITERS.values())
        raise ExportError(f"{Path(path).name or kind}: cannot export as {kind!r} (known: {known}).")
    return writer
