"""Batches of float images for training and evaluation, from a tensor, a numpy array or images on disk.

The fit loop takes each batch with :func:`batch_of`: from a tensor already on the device it is
``index_select`` (as it always was); from a :class:`Streamed` (a LazyImages, training/datasets/lazy.py)
the batch's rows are read from disk, turned into float32 in [0, 1] exactly as ``to_unit_float`` does
(uint8 / 255 in float32) and moved to the device: only one batch of floats exists at a time, and the
result equals what the same images as a float tensor give (same layout as index_select's result).

Evaluation and encoding read consecutive rows with :func:`rows_of`; the CLI keeps on-disk images on
disk with :func:`first` and :func:`trainable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from training.datasets.lazy import LazyImages


@dataclass
class Streamed:
    """Training images that stay on disk, with the device their batches go to."""

    images: LazyImages
    device: torch.device

    def __len__(self) -> int:
        return len(self.images)


def to_float(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float32 in [0, 1] (as training.datasets.to_unit_float); floats as they are."""
    return pixels.float().div_(255) if pixels.dtype == torch.uint8 else pixels


def lay_out(images: torch.Tensor | LazyImages, device: torch.device, fmt: torch.memory_format) -> torch.Tensor | Streamed:
    """The training images for the fit loop: a tensor on ``device`` (conv models in ``fmt``), or on disk."""
    if isinstance(images, LazyImages):
        return Streamed(images, device)
    return images.to(device).contiguous(memory_format=fmt) if images.dim() == 4 else images.to(device)


def batch_of(x_all: torch.Tensor | Streamed, idx: torch.Tensor) -> torch.Tensor:
    """The float images at ``idx`` (a tensor of indices, on the device), in that order, on the device."""
    if isinstance(x_all, Streamed):
        pixels = torch.from_numpy(x_all.images[idx.cpu().numpy()])
        return to_float(pixels).to(x_all.device)
    return x_all.index_select(0, idx)


def rows_of(images: Any, start: int, stop: int, device: torch.device | None = None) -> torch.Tensor:
    """Rows start:stop of a tensor, numpy array or LazyImages as float32 in [0, 1] (uint8 converted) on ``device``."""
    rows = images[start:stop]
    x = rows if isinstance(rows, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(rows))
    x = to_float(x)
    return x if device is None else x.to(device)


def first(images: Any, n: int | None) -> Any:
    """The first n images (all if n is 0 or None), without reading images that are on disk."""
    if isinstance(images, LazyImages):
        return images.head(n)
    return images[: n or None]


def trainable(images: Any) -> torch.Tensor | LazyImages:
    """What ``fit`` and ``evaluate`` take: a numpy array as a tensor (sharing its memory); on-disk images as they are."""
    if isinstance(images, (LazyImages, torch.Tensor)):
        return images
    return torch.from_numpy(images)
