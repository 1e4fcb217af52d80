"""A scatter that scales to millions of points: per-class counts aggregated into a raster at the view's
pixel size, then the class colours composited with density-aware alpha into one RGBA image.
This is datashader's approach, in numpy. Qt-free.

- Aggregation: ``np.bincount`` over the pixel index gives each pixel's count; one more, weighted by
  each point's class colour packed into one float64 integer (r * 2^34 + g * 2^17 + b: exact sums while
  a bin holds at most 512 points; two bincounts up to 262,144; else one per channel), gives the colour
  sums. O(points + pixels), whatever the class count. Hidden classes and labels out of range are
  moved to one extra bin that is never drawn.
- Per-dataset work is done once (:class:`DensityPoints`): x and y as contiguous float32 columns, the
  class of each point, and the points put in a spatial order (a radix sort on a coarse 256 x 256 cell
  key). The order changes no pixel (counts and integer sums), but consecutive points then land in
  nearby bins, so the histograms stay in cache. The packed colours and the drawn mask are made once
  per palette and hidden set.
- Compositing touches only the non-empty pixels. Each one takes the count-weighted mean colour of
  its points' classes: mixed regions blend, and pure regions keep their class colour. Its alpha grows
  with the log of the count (a table over the counts), so dense cores stay visible and single points
  stay faint but present.
- ``point_px`` bins points into blocks of about the point size, so the size control still means
  something, and fewer, larger bins render faster.

Row 0 of the image is at y0 (the bottom of the view), as ``explorer.core.latent.tile`` lays out
the manifold underlay; ``ImageItem.setRect(x0, y0, x1 - x0, y1 - y0)`` places it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SORT_CELLS = 256  # the spatial order's cells per axis (a uint16 key: numpy's stable argsort is a radix sort)


@dataclass(frozen=True)
class Raster:
    rgba: np.ndarray  # (rows, cols, 4) uint8, row 0 at y0
    rect: tuple[float, float, float, float]  # x0, y0, width, height in data units
    points: int  # points that landed in the view (visible classes only)
    preview: bool = False  # drawn from a sample of the points, while the full raster is being made


def hex_rgb(colours: Sequence[str]) -> np.ndarray:
    """'#rrggbb' strings -> (K, 3) float32 in [0, 255]."""
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], np.float32)


class DensityPoints:
    """What the raster needs of one (means, labels, class count), in the form binning wants; made once."""

    def __init__(self, means: np.ndarray, labels: np.ndarray, n_classes: int, *, spatial_order: bool = True):
        self.means, self.labels, self.k = means, labels, int(n_classes)  # the arrays this was made from
        m = np.asarray(means, np.float32).reshape(-1, 2)
        lab = np.asarray(labels).reshape(-1)
        cls = np.where((lab >= 0) & (lab < self.k), lab, self.k).astype(np.int32)  # k: the spare class
        x, y = m[:, 0], m[:, 1]
        if spatial_order and len(m) > 1:
            order = spatial_order_of(x, y)
            x, y, cls = x[order], y[order], cls[order]
        self.x, self.y, self.cls = np.ascontiguousarray(x), np.ascontiguousarray(y), cls
        self._weights: tuple = (None, None)  # (key, value) of the last weights()

    def weights(self, colours: np.ndarray, hidden: Sequence[int]) -> tuple[dict, np.ndarray | None]:
        """The weights of the colour sums, for these colours and hidden classes, made once per palette and
        hidden set: each point's channels packed into float64 integers (``"rgb"``: r * 2^34 + g * 2^17 + b,
        exact sums while a bin holds at most ``PACK3_UP_TO`` points; ``"rg"``: r * 2^26 + g, and ``"b"``),
        and which points are drawn (not of a hidden class nor with a label out of range; None if all are)."""
        colours = np.asarray(colours, np.float64)
        hid = tuple(sorted({int(h) for h in hidden if 0 <= int(h) < self.k}))
        key = (colours.tobytes(), colours.shape, hid)
        got = self._weights
        if got[0] == key:
            return got[1]
        table = np.zeros((self.k + 1, 3))
        table[: self.k] = colours
        r, g, b = table.T
        integral = bool(np.all((table == np.round(table)) & (table >= 0) & (table <= 255)))  # else: no packing
        packed = {"rgb": (r * 2.0**34 + g * 2.0**17 + b).take(self.cls), "rg": (r * 2.0**26 + g).take(self.cls),
                  "b": b.take(self.cls), "table": table, "cls": self.cls, "integral": integral}
        drawn = np.ones(self.k + 1, bool)
        drawn[self.k] = False
        drawn[list(hid)] = False
        mask = drawn.take(self.cls)
        shown = None if mask.all() else mask
        self._weights = (key, (packed, shown))  # one assignment: a reader on another thread sees old or new
        return packed, shown

    def matches(self, means: np.ndarray, labels: np.ndarray, n_classes: int) -> bool:
        return self.means is means and self.labels is labels and self.k == n_classes


def spatial_order_of(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A permutation that puts the points in row-major order of a coarse grid over their bounding box."""
    fin = np.isfinite(x) & np.isfinite(y)
    if not fin.any():
        return np.arange(len(x))
    key = np.zeros(len(x), np.uint16)
    for v, shift in ((x, 0), (y, 8)):
        lo, hi = float(v[fin].min()), float(v[fin].max())
        q = (v - np.float32(lo)) * np.float32((SORT_CELLS - 0.001) / max(hi - lo, 1e-30))
        q = np.nan_to_num(q, nan=0.0, posinf=0.0, neginf=0.0)
        np.clip(q, 0, SORT_CELLS - 1, out=q)
        key |= q.astype(np.uint16) << np.uint16(shift)
    return np.argsort(key, kind="stable")


class PointsCache:
    """The :class:`DensityPoints` of the last points rasterized; thread-safe (the GUI thread and a raster
    worker may both ask)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._prepared: DensityPoints | None = None

    def get(self, means: np.ndarray, labels: np.ndarray, n_classes: int) -> DensityPoints:
        with self._lock:
            p = self._prepared
            if p is None or not p.matches(means, labels, n_classes):
                p = self._prepared = DensityPoints(means, labels, n_classes)
            return p

    def peek(self, means: np.ndarray, labels: np.ndarray, n_classes: int) -> DensityPoints | None:
        """The prepared points if they are ready (never prepares: for a caller that must not wait)."""
        p = self._prepared
        return p if p is not None and p.matches(means, labels, n_classes) else None


def rasterize(means: np.ndarray, labels: np.ndarray, view: tuple[float, float, float, float], size_px: tuple[int, int],
              colours: np.ndarray, *, hidden: Sequence[int] = (), point_px: float = 4.0,
              opacity: float = 0.85, prepared: DensityPoints | None = None) -> Raster:
    """Render the visible classes' points inside ``view`` (x0, x1, y0, y1) for a plot of ``size_px`` (w, h).

    ``prepared``: ``DensityPoints(means, labels, len(colours))`` made earlier (the same result, faster)."""
    k = len(colours)
    p = prepared if prepared is not None and prepared.matches(means, labels, k) else \
        DensityPoints(means, labels, k, spatial_order=False)
    x0, x1, y0, y1 = (float(v) for v in view)
    block = max(1, int(round(point_px / 2)))  # screen pixels per bin
    cols = max(1, int(size_px[0]) // block)
    rows = max(1, int(size_px[1]) // block)
    npix = rows * cols
    # bin coordinates in float32, one pass each; a NaN fails every comparison and is dropped
    fx = p.x - np.float32(x0)
    fx *= np.float32(cols / (x1 - x0))
    fy = p.y - np.float32(y0)
    fy *= np.float32(rows / (y1 - y0))
    keep = fx >= 0
    keep &= fx < cols
    keep &= fy >= 0
    keep &= fy < rows
    packed, shown = p.weights(colours, hidden)
    if shown is not None:
        keep &= shown
    # the bin index, still in float32 (exact: bins < 2^24), with the points not drawn in one more bin
    np.trunc(fx, out=fx)
    np.trunc(fy, out=fy)
    fy *= np.float32(cols)
    fy += fx
    np.copyto(fy, np.float32(npix), where=~keep)
    pix = fy.astype(np.intp)
    total = np.bincount(pix, minlength=npix + 1)[:npix]
    nz = np.flatnonzero(total)
    rgba = np.zeros((npix, 4), np.uint8)
    if len(nz):
        counts = total[nz]
        px = np.empty((len(nz), 4), np.uint8)  # the non-empty pixels, written into the image as one uint32 each
        rgb = colour_sums(pix, packed, nz, int(counts.max()), npix)
        rgb /= counts.astype(np.float32)[:, None]  # the count-weighted mean colour (within 0..255)
        px[:, :3] = np.rint(rgb)
        px[:, 3] = alpha_of(counts, opacity)
        rgba.view(np.uint32)[nz, 0] = px.view(np.uint32)[:, 0]
    return Raster(rgba.reshape(rows, cols, 4), (x0, y0, x1 - x0, y1 - y0), int(total.sum()))


PACK3_UP_TO = 2**17 // 256  # points per bin for which three 17-bit channel sums fit one float64 exactly
PACK2_UP_TO = 2**26 // 256  # ... two 26-bit sums


def colour_sums(pix: np.ndarray, packed: dict, nz: np.ndarray, most: int, npix: int) -> np.ndarray:
    """(len(nz), 3) float64: the sums of the points' colour channels in the bins ``nz`` (exact integers), from
    as few weighted bincounts as the fullest bin (``most`` points) allows."""
    def sums(w):
        return np.bincount(pix, weights=w, minlength=npix + 1)[nz]

    out = np.empty((len(nz), 3))
    if not packed["integral"]:
        most = PACK2_UP_TO + 1  # colours that are not integers 0..255 cannot share a float64
    if most <= PACK3_UP_TO:
        s = sums(packed["rgb"])
        out[:, 0] = np.floor(s / 2.0**34)
        s -= out[:, 0] * 2.0**34
        out[:, 1] = np.floor(s / 2.0**17)
        out[:, 2] = s - out[:, 1] * 2.0**17
    elif most <= PACK2_UP_TO:
        s = sums(packed["rg"])
        out[:, 0] = np.floor(s / 2.0**26)
        out[:, 1] = s - out[:, 0] * 2.0**26
        out[:, 2] = sums(packed["b"])
    else:  # a bin with more than 262,144 points (or colours that are not integers): one channel at a time
        for ch in range(3):
            out[:, ch] = sums(packed["table"][:, ch].take(packed["cls"]))
    return out


def alpha_of(counts: np.ndarray, opacity: float) -> np.ndarray:
    """uint8 alpha of pixels holding ``counts`` (>= 1) points: it grows with the log of the count, up to
    ``opacity`` at the 99th percentile count. Made as a table over 0..that count (counts are integers)."""
    q = int(0.99 * (len(counts) - 1))
    cum = np.cumsum(np.bincount(counts))
    top = max(float(np.searchsorted(cum, q, side="right")), 1.0)  # the 99th percentile count (np.partition's)
    n = np.arange(int(top) + 2, dtype=np.float32)  # every count up to one past the top: above it alpha is full
    table = np.round(255 * (opacity * np.clip(0.45 + 0.55 * np.log1p(n) / np.log1p(top), 0.0, 1.0))).astype(np.uint8)
    return table.take(np.minimum(counts, len(n) - 1))
