"""The manifold underlay's cells on a fixed lattice, cached, so pans and zooms reuse what was decoded.

Cells are squares of side ``s`` (a power of two, ``density`` of them across the view's longer
side), at integer lattice positions (i, j) with centre ((i + 0.5) s, (j + 0.5) s). Cells stay on the
lattice as the view moves. A pan therefore needs only the cells that came into view; panning back or
zooming by a factor of two needs none. Each cell's image is cached, keyed by (s, i, j). The cache
drops the oldest cells beyond ``max_cells``. Qt-free.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from explorer.core.latent import Grid, tile

Key = tuple[float, int, int]


@dataclass(frozen=True)
class Lattice:
    """The cells i0..i1-1 by j0..j1-1 of side ``size`` that cover a view."""

    size: float
    i0: int
    i1: int
    j0: int
    j1: int

    def grid(self) -> Grid:
        s = self.size
        return Grid(self.i0 * s, self.j0 * s, self.i1 * s, self.j1 * s, nx=self.i1 - self.i0, ny=self.j1 - self.j0)

    def keys(self) -> list[Key]:
        """In Grid.centres() order: rows from the bottom (j0) up, each row left to right."""
        return [(self.size, i, j) for j in range(self.j0, self.j1) for i in range(self.i0, self.i1)]

    def __iter__(self):
        """The cells' keys, in :meth:`keys` order."""
        return iter(self.keys())

    def coarser(self, factor: int = 4) -> Lattice:
        s = self.size * factor
        return Lattice(s, math.floor(self.i0 / factor), math.ceil(self.i1 / factor), math.floor(self.j0 / factor),
                       math.ceil(self.j1 / factor))


def centre(key: Key) -> tuple[float, float]:
    s, i, j = key
    return (i + 0.5) * s, (j + 0.5) * s


def lattice_for_view(x0: float, x1: float, y0: float, y1: float, density: int) -> Lattice:
    """About ``density`` cells across the longer side, cell size snapped to a power of two."""
    raw = max(x1 - x0, y1 - y0, 1e-9) / max(int(density), 1)
    s = 2.0 ** round(math.log2(raw))
    return Lattice(s, math.floor(x0 / s), math.ceil(x1 / s), math.floor(y0 / s), math.ceil(y1 / s))


class CellCache:
    def __init__(self, max_cells: int = 20_000):
        self.max_cells = max_cells
        self._cells: OrderedDict[Key, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cells)

    def clear(self) -> None:
        self._cells.clear()

    def missing(self, lattice: Lattice) -> list[Key]:
        return [k for k in lattice if k not in self._cells]

    def put(self, keys: list[Key], images: np.ndarray) -> None:
        for k, img in zip(keys, images, strict=True):
            self._cells[k] = img
            self._cells.move_to_end(k)
        while len(self._cells) > self.max_cells:
            self._cells.popitem(last=False)

    def mosaic(self, lattice: Lattice) -> np.ndarray | None:
        """The lattice's cells tiled (row 0 at the bottom, as latent.tile), or None if one is missing."""
        keys = lattice.keys()
        if any(k not in self._cells for k in keys):
            return None
        return tile(np.stack([self._cells[k] for k in keys]), lattice.grid())
