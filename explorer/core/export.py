"""Images out: filmstrip mosaics, PNG and animated GIF files, written atomically. Qt-free."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from training.fileio import atomic_write


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(img, np.float32) * 255.0), 0, 255).astype(np.uint8)


def filmstrip(images: np.ndarray, pad: int = 2, background: float = 1.0) -> np.ndarray:
    """Frames (N, H, W[, 3]) side by side with ``pad`` pixels between them -> (H, N*W + (N-1)*pad[, 3])."""
    n, h, w = images.shape[:3]
    rest = images.shape[3:]
    out = np.full((h, n * w + max(n - 1, 0) * pad, *rest), background, np.float32)
    for i in range(n):
        out[:, i * (w + pad) : i * (w + pad) + w] = images[i]
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
             ping_pong: bool = True) -> Path:
    """Frames (N, H, W[, 3]) in [0, 1] -> a looping GIF; ping-pong plays back and forth."""
    from PIL import Image

    seq = list(frames) + (list(frames[-2:0:-1]) if ping_pong and len(frames) > 2 else [])
    imgs = [Image.fromarray(to_uint8(upscale(f, scale))) for f in seq]
    if not imgs:
        raise ValueError("no frames to write")
    imgs = [im.convert("P", palette=Image.Palette.ADAPTIVE) if im.mode == "RGB" else im for im in imgs]
    buf = io.BytesIO()
    imgs[0].save(buf, format="GIF", save_all=True, append_images=imgs[1:], duration=int(1000 / fps), loop=0)
    atomic_write(Path(path), buf.getvalue())
    return Path(path)
