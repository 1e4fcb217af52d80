"""Draw to encode, Qt-free: a drawing or an image file -> the model's input (C, H, W) float32 in [0, 1].

The canvas is an RGB uint8 array (white strokes on black, like MNIST) at an integer multiple of the
model's resolution; it is area-averaged down to the model's size, so a 224 px drawing becomes a
28 px image with soft, MNIST-like edges.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.errors import UserError

MAX_PIXELS = 40_000_000  # refuse absurd images before decoding them
LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as Pillow's "L"


class ImageFileError(UserError):
    """One sentence naming the image file and why it cannot be used."""


def canvas_scale(image_shape: Sequence[int], target: int = 224) -> int:
    """Integer factor k so that the canvas (k*H, k*W) is about ``target`` pixels on its longer side."""
    h, w = int(image_shape[1]), int(image_shape[2])
    return max(1, round(target / max(h, w)))


def _as_float(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535.0
    if a.dtype == bool:
        return a.astype(np.float32)
    return np.clip(np.nan_to_num(a.astype(np.float32)), 0.0, 1.0)


def _resize(channel: np.ndarray, h: int, w: int) -> np.ndarray:
    """One float channel (h0, w0) -> (h, w): area average when shrinking, bilinear when growing."""
    from PIL import Image

    if channel.shape == (h, w):
        return channel
    shrink = channel.shape[0] >= h and channel.shape[1] >= w
    resample = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    out = Image.fromarray(np.ascontiguousarray(channel, np.float32), mode="F").resize((w, h), resample)
    return np.asarray(out, np.float32)


def to_model_input(img: np.ndarray, image_shape: Sequence[int]) -> np.ndarray:
    """A grey (H0, W0) / (H0, W0, 1) or colour (H0, W0, 3|4) image, uint8 or float in [0, 1], of any size
    -> (C, H, W) float32 in [0, 1] for a model with ``image_shape`` = (C, H, W), C in {1, 3}.

    Colour -> grey by luminance; grey -> colour by repeating the channel; alpha is composited on black.
    """
    c, h, w = (int(v) for v in image_shape)
    if c not in (1, 3):
        raise ValueError(f"models have 1 or 3 channels, not {c}")
    a = _as_float(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3] * a[:, :, 3:4]  # over black
    if a.ndim == 3 and a.shape[2] == 2:  # grey + alpha
        a = a[:, :, 0] * a[:, :, 1]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or min(a.shape[:2]) < 1:
        raise ValueError(f"an image must be (H, W) or (H, W, 3), not {tuple(np.shape(img))}")
    if c == 1:
        grey = a if a.ndim == 2 else a @ LUMA
        out = _resize(grey, h, w)[None]
    else:
        rgb = np.repeat(a[:, :, None], 3, axis=2) if a.ndim == 2 else a
        out = np.stack([_resize(rgb[:, :, i], h, w) for i in range(3)])
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), np.float32)


def to_canvas(x: np.ndarray, scale: int) -> np.ndarray:
    """A model input (C, H, W) in [0, 1] -> an RGB uint8 canvas (scale*H, scale*W, 3), each pixel a
    scale x scale block (so :func:`to_model_input` of the canvas gives ``x`` back, up to 1/255)."""
    x = np.asarray(x, np.float32)
    rgb = np.repeat(x, 3, axis=0) if x.shape[0] == 1 else x
    u8 = np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0)
    return np.ascontiguousarray(u8.repeat(scale, axis=0).repeat(scale, axis=1))


def load_image(path: str | os.PathLike) -> np.ndarray:
    """An image file (PNG, JPEG, BMP, GIF, TIFF, WebP...) -> float32 (H, W) grey or (H, W, 3) colour in
    [0, 1]; transparency is composited on black. Raises ImageFileError with one sentence."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    try:
        with Image.open(p) as im:
            if im.width * im.height > MAX_PIXELS:
                raise ImageFileError(f"{p}: is {im.width} x {im.height} pixels, too large to draw with.")
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
                return np.asarray(im, np.uint16).astype(np.float32) / 65535.0
            if mode in ("I", "F"):
                a = np.asarray(im, np.float32)
                top = float(a.max()) if a.size else 1.0
                return np.clip(a / (255.0 if top <= 255 else top), 0, 1) if mode == "I" else np.clip(a, 0, 1)
            if mode in ("1", "L"):
                return np.asarray(im.convert("L"), np.float32) / 255.0
            if mode == "LA" or (mode == "P" and "transparency" in im.info) or mode in ("RGBA", "PA", "La"):
                a = np.asarray(im.convert("RGBA"), np.float32) / 255.0
                rgb = a[:, :, :3] * a[:, :, 3:4]
                return rgb @ LUMA if mode in ("LA", "La") else rgb
            return np.asarray(im.convert("RGB"), np.float32) / 255.0
    except ImageFileError:
        raise
    except FileNotFoundError:
        raise ImageFileError(f"{p}: no such file.") from None
    except IsADirectoryError:
        raise ImageFileError(f"{p}: is a folder, not an image file.") from None
    except UnidentifiedImageError:
        raise ImageFileError(f"{p}: is not an image file that can be read (PNG, JPEG, BMP, GIF, TIFF or WebP).") from None
    except Image.DecompressionBombError:
        raise ImageFileError(f"{p}: is too large to draw with.") from None
    except (OSError, SyntaxError, ValueError) as e:  # truncated / corrupt data inside a known format
        raise ImageFileError(f"{p}: is damaged and cannot be read ({e}).") from None
