"""A scatter that scales to millions of points: per-class counts aggregated into a raster at the view's
pixel size, then the class colours composited with density-aware alpha into one RGBA image.
This is datashader's approach, in numpy. Qt-free.

- Aggregation: ``np.bincount`` over the pixel index gives each pixel's count; three more, weighted by
  each point's class colour, give the colour sums. That is O(points + pixels), whatever the class count.
- Compositing touches only the non-empty pixels. Each one takes the count-weighted mean colour of
  its points' classes: mixed regions blend, and pure regions keep their class colour. Its alpha
  grows with the log of the count, so dense cores stay visible and single points stay faint but
  present.
- ``point_px`` bins points into blocks of about the point size, so the size control still means
  something, and fewer, larger bins render faster.

Row 0 of the image is at y0 (the bottom of the view), as ``explorer.core.latent.tile`` lays out
the manifold underlay; ``ImageItem.setRect(x0, y0, x1 - x0, y1 - y0)`` places it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Raster:
    rgba: np.ndarray  # (rows, cols, 4) uint8, row 0 at y0
    rect: tuple[float, float, float, float]  # x0, y0, width, height in data units
    points: int  # points that landed in the view (visible classes only)


def hex_rgb(colours: Sequence[str]) -> np.ndarray:
    """'#rrggbb' strings -> (K, 3) float32 in [0, 255]."""
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], np.float32)


def rasterize(means: np.ndarray, labels: np.ndarray, view: tuple[float, float, float, float], size_px: tuple[int, int],
              colours: np.ndarray, *, hidden: Sequence[int] = (), point_px: float = 4.0,
              opacity: float = 0.85) -> Raster:
    """Render the visible classes' points inside ``view`` (x0, x1, y0, y1) for a plot of ``size_px`` (w, h)."""
    x0, x1, y0, y1 = (float(v) for v in view)
    block = max(1, int(round(point_px / 2)))  # screen pixels per bin
    cols = max(1, int(size_px[0]) // block)
    rows = max(1, int(size_px[1]) // block)
    k = len(colours)
    means = np.asarray(means, np.float32)
    labels = np.asarray(labels)
    # pixel coordinates in one pass each; negative values wrap to huge unsigned ones and fail "< cols"
    ix = ((means[:, 0] - np.float32(x0)) * np.float32(cols / (x1 - x0))).astype(np.int32).view(np.uint32)
    iy = ((means[:, 1] - np.float32(y0)) * np.float32(rows / (y1 - y0))).astype(np.int32).view(np.uint32)
    keep = (ix < cols) & (iy < rows) & (means[:, 0] >= x0) & (means[:, 1] >= y0) & (labels >= 0) & (labels < k)
    if len(hidden):
        keep &= ~np.isin(labels, list(hidden))
    npix = rows * cols
    pix = iy[keep].astype(np.int64) * cols + ix[keep]
    rgba = np.zeros((npix, 4), np.uint8)
    if len(pix):
        total = np.bincount(pix, minlength=npix)
        nz = np.flatnonzero(total)
        n = total[nz].astype(np.float32)
        colour_of_point = colours[labels[keep].astype(np.int64)]  # (m, 3)
        for ch in range(3):  # the count-weighted mean colour: one weighted bincount per channel
            sums = np.bincount(pix, weights=colour_of_point[:, ch], minlength=npix)[nz]
            rgba[nz, ch] = np.clip(np.round(sums / n), 0, 255).astype(np.uint8)
        q = int(0.99 * (len(n) - 1))
        top = max(float(np.partition(n, q)[q]), 1.0)  # the 99th percentile count, in O(n)
        alpha = opacity * np.clip(0.45 + 0.55 * np.log1p(n) / np.log1p(top), 0.0, 1.0)
        rgba[nz, 3] = np.round(255 * alpha).astype(np.uint8)
    return Raster(rgba.reshape(rows, cols, 4), (x0, y0, x1 - x0, y1 - y0), int(len(pix)))
