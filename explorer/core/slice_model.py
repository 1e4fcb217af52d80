"""The slice the plane shows: an evented part of the explorer state (``state.slice``). Qt-free.

The plane shows the 2-D slice z = origin + x·u + y·v of the model's D-dim latent space
(explorer.core.slicing has the maths). ``rest`` holds the directions not on screen, one dims slider each
(napari's ``Dims``: a slider per axis not displayed); slider k's value is ``offset(k)``, the origin's
position along ``rest[k]`` measured from ``centre`` (the data's centre: "reset to the data" puts the origin
back there). Moving a slider slides the whole plane along that direction: the scatter re-projects, the
underlay decodes the new slice, the pane decodes the same plane coordinates on the new plane.

For a 2-D model the slice is the identity (origin 0, u = e1, v = e2, no rest): plane coordinates are z.
Vectors are tuples of floats (psygnal compares old and new values with ``==``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from psygnal import evented

from explorer.core import slicing
from explorer.core.values import StateError, Vec, as_vec


@dataclass(frozen=True)
class Plane:
    """One slice, immutable: changing the slice replaces it, so listeners get one event per change."""

    origin: Vec = (0.0, 0.0)
    u: Vec = (1.0, 0.0)
    v: Vec = (0.0, 1.0)
    rest: tuple[Vec, ...] = ()  # (D - 2) directions off the plane, one dims slider each
    centre: Vec = (0.0, 0.0)  # where "reset to the data" puts the origin
    preset: str = "identity"  # how it was made: identity, pca, axes i,j, through, along <vector>


@evented
@dataclass(eq=False)
class Slice:
    """``state.slice``: the plane shown (``plane``, one event per change) and its presets."""

    plane: Plane = Plane()

    def __post_init__(self) -> None:
        self._means: Callable[[], np.ndarray | None] = lambda: None  # the main session's means (N, D)

    @property
    def origin(self) -> Vec:
        return self.plane.origin

    @origin.setter
    def origin(self, value: Any) -> None:
        self.plane = replace(self.plane, origin=as_vec(value, "the slice origin", self.dim))

    @property
    def u(self) -> Vec:
        return self.plane.u

    @property
    def v(self) -> Vec:
        return self.plane.v

    @property
    def rest(self) -> tuple[Vec, ...]:
        return self.plane.rest

    @property
    def centre(self) -> Vec:
        return self.plane.centre

    @property
    def preset(self) -> str:
        return self.plane.preset

    # ---------------------------------------------------------------- reading

    @property
    def dim(self) -> int:
        return len(self.origin)

    @property
    def is_identity(self) -> bool:
        return self.dim == 2 and self.origin == (0.0, 0.0) and self.u == (1.0, 0.0) and self.v == (0.0, 1.0)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.asarray(self.origin), np.asarray(self.u), np.asarray(self.v)

    def project(self, points: np.ndarray) -> np.ndarray:
        """D-points (N, D) or (D,) -> plane coordinates (N, 2) float32 or (2,); exact for the identity slice."""
        p = np.asarray(points)
        if self.is_identity:
            return p if p.ndim == 1 else np.asarray(p, np.float32)
        return slicing.project(p, *self.arrays())

    def lift(self, xy: Any) -> np.ndarray:
        """Plane coordinates (2,) or (N, 2) -> D-points (float64)."""
        xy = np.asarray(xy, np.float64)
        if self.is_identity:
            return xy.copy()
        return slicing.lift(xy, *self.arrays())

    def distance(self, points: np.ndarray) -> np.ndarray:
        """(N,) distance of D-points from the plane (0 for every point of a 2-D model)."""
        if self.dim == 2:
            return np.zeros(len(points))
        return slicing.distance(points, *self.arrays())

    def axis_names(self) -> tuple[str, str]:
        """What the plane's x and y axes are, in words for its axis labels."""
        p = self.preset
        if self.dim == 2 and p == "identity":
            return "z1", "z2"
        if p == "pca":
            return "PC 1", "PC 2"
        if p.startswith("axes "):
            i, j = (int(k) for k in p[5:].split(","))
            return f"z{i + 1}", f"z{j + 1}"
        if p.startswith("along "):
            return p, "y"
        return "x", "y"

    def offset(self, k: int) -> float:
        """Dims slider k: the origin's position along ``rest[k]``, from the data's centre."""
        return float((np.asarray(self.origin) - np.asarray(self.centre)) @ np.asarray(self.rest[k]))

    # ---------------------------------------------------------------- presets (each one event per field)

    def _set(self, b: slicing.Basis, preset: str, centre: np.ndarray | None = None) -> None:
        def vec(a: np.ndarray) -> Vec:
            return tuple(float(x) for x in a)

        self.plane = Plane(vec(b.origin), vec(b.u), vec(b.v), tuple(vec(r) for r in b.rest),
                           vec(b.origin if centre is None else centre), preset)

    def reset(self, d: int) -> None:
        """The identity slice of a D-dim space (a 2-D model's, or before PCA is possible)."""
        self._set(slicing.identity(d), "identity")

    def _data(self) -> np.ndarray:
        m = self._means()
        if m is None or len(m) < 3:
            raise StateError("the slice needs the encoded means of an open model.")
        return m

    def use_pca(self) -> None:
        """The top two principal directions of the means, origin at their centre (the default for D > 2)."""
        self._set(slicing.pca_basis(self._data()), "pca")

    def use_axes(self, i: int, j: int) -> None:
        """Latent axes i and j; the other coordinates stay those of the origin."""
        try:
            b = slicing.axes_basis(int(i), int(j), np.asarray(self.origin))
        except slicing.SliceError as e:
            raise StateError(str(e)) from None
        self._set(b, f"axes {int(i)},{int(j)}", centre=np.asarray(self.centre))

    def through(self, a: Any, b: Any, c: Any) -> None:
        """The plane through three D-points (three images' means, bookmarks ...): origin a, x towards b."""
        pts = [np.asarray(as_vec(p, f"point {n}", self.dim)) for n, p in zip("abc", (a, b, c))]
        try:
            basis = slicing.through(*pts, preferred=np.asarray(self.rest) if self.rest else None)
        except slicing.SliceError as e:
            raise StateError(str(e)) from None
        self._set(basis, "through")

    def along(self, vector: Any, name: str = "vector") -> None:
        """This (attribute) vector as the x axis; y is the current y made orthogonal to it."""
        vec = np.asarray(as_vec(vector, "the vector", self.dim))
        try:
            basis = slicing.along(vec, np.asarray(self.origin), np.asarray(self.v),
                                  np.asarray(self.rest) if self.rest else None)
        except slicing.SliceError as e:
            raise StateError(str(e)) from None
        self._set(basis, f"along {name}", centre=np.asarray(self.centre))

    def set_plane(self, origin: Any, u: Any, v: Any, preset: str = "scene") -> None:
        """A given slice (a scene's): u and v made orthonormal, the rest completed from the data's principal
        directions; the data's centre stays where "reset to the data" goes."""
        o = np.asarray(as_vec(origin, "the slice origin", self.dim))
        try:
            uu, vv = slicing.orthonormal_pair(np.asarray(as_vec(u, "slice u", self.dim)),
                                              np.asarray(as_vec(v, "slice v", self.dim)))
        except slicing.SliceError as e:
            raise StateError(str(e)) from None
        m = self._means()
        preferred = slicing.pca(m)[1] if m is not None and len(m) >= 3 and m.shape[1] == self.dim else None
        self._set(slicing.Basis(o, uu, vv, slicing.complete(uu, vv, preferred)), preset, centre=np.asarray(self.centre))

    def set_offset(self, k: int, value: float) -> None:
        """Dims slider k moved to ``value``: the origin slides along ``rest[k]``."""
        value = float(value)
        if not np.isfinite(value):
            raise StateError(f"dims slider {k} must be a finite number, not {value!r}.")
        r = np.asarray(self.rest[k])
        self.origin = tuple(float(x) for x in np.asarray(self.origin) + (value - self.offset(k)) * r)

    def reset_origin(self) -> None:
        """"Reset to the data": the origin back to the data's centre (every dims slider at 0)."""
        self.origin = self.centre

    def contain(self, z: Any) -> tuple[float, float]:
        """Slide the plane (along the rest directions only) so that it passes through D-point ``z``; its
        plane coordinates. Going to a bookmark or an image shows exactly that z."""
        z = np.asarray(as_vec(z, "the point", self.dim))
        o, u, v = self.arrays()
        xy = slicing.project(z, o, u, v)
        off = z - slicing.lift(xy, o, u, v)
        if np.linalg.norm(off) > 1e-12:
            self.origin = tuple(float(x) for x in o + off)
        return float(xy[0]), float(xy[1])
