"""The explorer state: everything a user can change and a scene holds, Qt-free and evented.

Modelled on napari's ``ViewerModel``: widgets take this object, render it, and write user actions
back into it; they never talk to each other or to the main window. Change events come from
psygnal's evented dataclasses: ``state.events.point.connect(cb)`` calls ``cb(new, old)`` after a
change (setting an equal value emits nothing).

Setting a field does exactly what the matching user action does: ``state.point = (x, y)`` is a click
there, ``state.interpolation.t = 0.4`` is a move of the t slider. Values are checked and normalised
on assignment (points become tuples of two finite floats, strengths are clamped to the slider range),
so a script cannot put the state into a shape no widget could.

The pane rule that turns this state into the one z the main pane shows lives in
:mod:`explorer.core.pane`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from psygnal import Signal, evented

from explorer.core import latent, slicing
from explorer.core.marks import (  # noqa: F401  (re-exported: the state's public names)
    AUC_STRONG,
    AUC_WEAK,
    STRENGTH_MAX,
    STRENGTH_MIN,
    Bookmark,
    BookmarkList,
    Vector,
    VectorList,
    auc_hint,
    class_index,
    latent_dim,
)
from explorer.core.slice_model import Slice
from explorer.core.state_fields import (  # noqa: F401  (re-exported: the state's public names)
    DENSITY_MAX,
    DENSITY_MIN,
    FRAMES_MAX,
    FRAMES_MIN,
    GROUP_TAGS,
    INTERPOLATION_FIELDS,
    MAX_COMPARED,
    METHODS,
    POINT_SIZE_MAX,
    POINT_SIZE_MIN,
    SPECIAL_FIELDS,
    STATE_FIELDS,
    T_MAX,
    T_MIN,
    UI_SCALE_MAX,
    UI_SCALE_MIN,
)
from explorer.core.style import Camera, Style, _alias
from explorer.core.tour import Tour
from explorer.core.values import Point, StateError, Vec, as_point, as_vec

# --------------------------------------------------------------------------- interpolation


@evented
@dataclass(eq=False)
class Interpolation:
    a: Vec | None = None  # end point A: a D-point (a 2-tuple on a D-dim model is plane coordinates, lifted)
    b: Vec | None = None  # end point B
    t: float = 0.0  # position on the path, clamped to [T_MIN, T_MAX]
    method: str = "linear"  # "linear" or "spherical"
    frames: int = 8  # filmstrip frames, FRAMES_MIN..FRAMES_MAX
    playing: bool = False  # Play runs t back and forth between 0 and 1

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("a", "b"):
            value = None if value is None else self._as_z(value, f"interpolation {name.upper()}")
        elif name in INTERPOLATION_FIELDS:
            value = INTERPOLATION_FIELDS[name].state(value)
        super().__setattr__(name, value)

    def __post_init__(self) -> None:
        self._as_z: Any = lambda v, what: as_vec(v, what)  # the state's (lifts plane coordinates)

    @property
    def ready(self) -> bool:
        return self.a is not None and self.b is not None

    def z_at(self, t: float | np.ndarray) -> np.ndarray:
        """The point(s) at t on the path from A to B, in D: (D,) or (len(t), D) float32."""
        if not self.ready:
            raise StateError("set interpolation A and B first.")
        return latent.interpolate(np.asarray(self.a, np.float32), np.asarray(self.b, np.float32), t, self.method)

    def frame_ts(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.frames)


# --------------------------------------------------------------------------- the state


@evented
@dataclass(eq=False)
class ExplorerState:
    """Everything a user can change. Fields below ``session`` are what a scene file stores."""

    session: Any = None  # the open explorer.core.session.Session (model, dataset, means), or None
    point: Point | None = None  # the current point in plane coordinates (x, y): z = slice origin + x u + y v
    point_source: str = "click"  # what put it there: click, drag, hover, bookmark, drawing, scene, start
    base: str = "point"  # what the user touched last: "point" or "interpolation" (the pane rule)
    drawn: Vec | None = None  # mean of the drawn or dropped image, a D-point (the star on the plane)
    interpolation: Interpolation = field(default_factory=Interpolation)
    slice: Slice = field(default_factory=Slice)  # the 2-D slice of the latent space the plane shows
    style: Style = field(default_factory=Style)  # how the points look: palette, size, opacity, dim, fade, ui scale
    camera: Camera = field(default_factory=Camera)  # the visible range and whether compared planes share it
    vectors: VectorList = field(default_factory=VectorList)
    bookmarks: BookmarkList = field(default_factory=BookmarkList)
    tour: Tour = field(default_factory=Tour)  # the bookmark tour's order, speed, hold, path (explorer.core.tour)
    hidden_classes: tuple[int, ...] = ()  # classes hidden from the plane (legend clicks)
    hover: bool = False  # decode while the mouse moves
    underlay: bool = False  # manifold underlay on
    density: int = 20  # underlay cells across the longer side of the view
    snap: bool = False  # A / B snap to the nearest data point
    presentation: bool = False  # presentation mode
    # comparing models: the sessions shown beside the main one (same dataset; at most MAX_COMPARED)
    compared: tuple = ()
    selection: tuple[int, ...] = ()  # dataset indices picked with the lasso: ringed in every plane
    # the vector panel's lasso groups: {"A": sorted dataset indices, "B": ...} (a group left out: none)
    groups: dict = field(default_factory=dict)
    condition: int = 0  # the class a conditional model (CVAE) decodes with
    plot_samples: bool = False  # plot z ~ N(mean, sigma^2) instead of the means (posterior spread)
    ellipses: bool = False  # 1- and 2-sigma ellipses of the nearest data point and of the selection
    off_manifold: bool = False  # shade the plane where the model put no data (explorer.core.manifold); the pane warns
    snapshot: int | None = None  # the training snapshot shown (None: the final weights)

    # messages for the user (one sentence each); the window shows them, scripts may listen
    error = Signal(str)
    info = Signal(str)

    def __post_init__(self) -> None:
        self.vectors._source = lambda: self.session
        self.slice._means = lambda: None if self.session is None else self.session.means
        self.interpolation._as_z = self.as_z
        self._setting_point = False
        # the pane's base is what the user touched last; these run before any view's handlers
        for name in ("a", "b", "t", "method"):
            getattr(self.interpolation.events, name).connect(self._interp_touched)
        self.events.hidden_classes.connect(self._sync_index)
        self.events.compared.connect(self._sync_index)

    def __setattr__(self, name: str, value: Any) -> None:
        check = STATE_FIELDS.get(name)
        if check is not None:
            value = check.state(value)
        elif name in SPECIAL_FIELDS:
            value = SPECIAL_FIELDS[name](self, value)
        if name == "point" and value is not None and not getattr(self, "_setting_point", True):
            self._touch_point("click", same=value == self.point)  # a script assigning the point: a click there
        super().__setattr__(name, value)

    # the sub-models' fields under their flat names (one value each, kept in the sub-model: ``state.palette`` is
    # ``state.style.palette``); their change events are the sub-model's (``state.style.events.palette``)
    palette = _alias("style", "palette")
    point_size = _alias("style", "point_size")
    opacity = _alias("style", "opacity")
    dim = _alias("style", "dim")
    fade = _alias("style", "fade")
    ui_scale = _alias("style", "ui_scale")
    view = _alias("camera", "view")
    link_views = _alias("camera", "link_views")

    def signal(self, name: str) -> Any:
        """The change event of a field by its flat name: the state's own, or its part's (``palette`` ->
        ``state.style.events.palette``)."""
        for events in (self.events, self.style.events, self.camera.events):
            sig = getattr(events, name, None)
            if sig is not None:
                return sig
        raise AttributeError(f"the state has no field {name!r}")

    @property
    def ndim(self) -> int:
        """The main model's latent dimension D (the slice's). (``dim`` is the Dim-the-scatter toggle.)"""
        return self.slice.dim

    def as_z(self, v: Any, what: str = "point") -> Vec:
        """A D-point of the main model: D numbers as they are, or plane coordinates (x, y) on a D > 2
        model lifted through the slice (origin + x u + y v)."""
        d = self.ndim
        if d > 2 and np.size(v) == 2:
            return tuple(float(x) for x in self.slice.lift(as_point(v, what)))
        return as_vec(v, what, d)

    def lifted(self, xy: Any) -> np.ndarray:
        """The D-point (float64) at plane coordinates ``xy``."""
        return self.slice.lift(xy)

    @property
    def sessions(self) -> tuple:
        """Every open model's session, the main one first (pane i shows ``sessions[i]``)."""
        return () if self.session is None else (self.session, *self.compared)

    # ---------------------------------------------------------------- user actions

    def set_point(self, z: Any, source: str = "click") -> None:
        """Move the current point as ``source`` does (click, drag, hover, bookmark …, drawing).

        One change event describes the whole action: listeners never see the new source with the
        old point."""
        z = as_point(z)
        self._touch_point(source, same=z == self.point)
        self._setting_point = True
        try:
            self.point = z
        finally:
            self._setting_point = False

    def _touch_point(self, source: str, same: bool) -> None:
        """The pane's base becomes the point, put there by ``source``; silent unless the point stays put."""
        old_source, old_base = self.point_source, self.base
        with self.events.point_source.blocked(), self.events.base.blocked():
            self.point_source = source
            self.base = "point"
        if same and old_base != "point":  # the same point touched again: still a change of what is shown
            self.events.base.emit("point", old_base)
        elif same and old_source != source:
            self.events.point_source.emit(source, old_source)

    def _sync_index(self, *_a: Any) -> None:
        """Nearest-image lookups skip hidden classes."""
        for main in self.sessions:
            for s in (main, *getattr(main, "snapshot_sessions", {}).values()):
                if s.index is not None:
                    n = len(s.label_names)
                    s.index.set_visible_labels({k for k in range(n) if k not in self.hidden_classes})

    def _interp_touched(self, *_a: Any) -> None:
        if self.interpolation.ready:
            self.base = "interpolation"

    def set_endpoint(self, which: str, z: Any = None) -> Point | None:
        """A or B := ``z``, by default the z the pane shows (snapped to the nearest data mean if asked)."""
        if z is None:
            from explorer.core.pane import pane_target

            tgt = pane_target(self)
            if tgt is None:
                return None
            z = tgt.z
            s = self.session
            if self.snap and s is not None and s.index is not None:
                idx = s.index.nearest(np.asarray(z, np.float32))
                if len(idx):
                    z = s.means[int(idx[0])]
        z = self.as_z(z, f"interpolation {which.upper()}")
        setattr(self.interpolation, "a" if which.lower() == "a" else "b", z)
        return z

    def add_bookmark(self, name: str | None = None, z: Any = None) -> Bookmark | None:
        if z is None:
            from explorer.core.pane import pane_target

            tgt = pane_target(self)
            if tgt is None:
                return None
            z = tgt.z
        z = self.as_z(z, "a bookmark")
        if name is None:
            near = ""
            s = self.session
            if s is not None and s.index is not None:
                idx = s.index.nearest(np.asarray(z, np.float32))
                if len(idx):
                    near = f" near {s.label_name(int(idx[0]))}"
            name = f"{len(self.bookmarks) + 1}{near}"
        mark = Bookmark(name, z)
        self.bookmarks.append(mark)
        return mark

    def go_to_bookmark(self, i: int) -> Bookmark | None:
        if not len(self.bookmarks):
            return None
        mark = self.bookmarks[i % len(self.bookmarks)]
        xy = self.slice.contain(mark.z) if self.ndim > 2 else mark.z  # the plane slides to pass through it
        self.set_point(xy, source=f"bookmark \u201c{mark.name}\u201d")
        return mark

    def group_mask(self, tag: str) -> np.ndarray | None:
        """Lasso group ``tag`` ("A" or "B") as a mask over the open dataset, or None if there is no such group."""
        idx = self.groups.get(tag)
        if idx is None or self.session is None:
            return None
        n = len(self.session.labels)
        mask = np.zeros(n, bool)
        mask[[i for i in idx if i < n]] = True
        return mask

    def add_group_vector(self, name: str | None = None, strength: float = 1.0) -> Vector:
        """mean(A) - mean(B) of the lasso groups, appended to ``vectors`` (what Add vector does with both
        groups chosen); StateError if a group is missing."""
        missing = [t for t in GROUP_TAGS if t not in self.groups]
        if missing or self.session is None:
            raise StateError(f"there is no lasso group {missing[0] if missing else 'A'} to make a vector from.")
        a, b = self.group_mask("A"), self.group_mask("B")
        return self.vectors.add_difference(a, b, name=name, strength=strength,
                                           names=tuple(f"sel {t} ({int(m.sum())})" for t, m in (("A", a), ("B", b))))

    def set_class_hidden(self, k: int, hidden: bool) -> None:
        s = set(self.hidden_classes)
        (s.add if hidden else s.discard)(int(k))
        self.hidden_classes = tuple(s)

    def reset_for_session(self, session: Any) -> None:
        """A new model (or dataset) is open: what was made for the old plane is cleared."""
        old = self.session
        d = latent_dim(session)
        if d != self.ndim:
            self.bookmarks.clear()  # points of a space of another dimension
            self.point = None
        if d > 2 and session.means is not None and len(session.means) >= 3:
            self.slice._set(slicing.pca_basis(session.means), "pca")  # before the session event: the panes lift with it
        else:
            self.slice.reset(d)
        self.session = session
        if old is not None and getattr(old, "sha256", None) != getattr(session, "sha256", None):
            self.vectors.clear()  # directions of another model's plane mean nothing here
        self.interpolation.playing = False
        self.interpolation.a = self.interpolation.b = None
        self.drawn = None
        self.hidden_classes = tuple(k for k in self.hidden_classes if k < len(session.label_names))
        self.groups = {}  # drawn on the old plane (the vector panel cleared them on every open)
        if old is None or getattr(old, "images", None) is not session.images:  # another dataset
            self.selection = ()
            self.compared = ()
        if self.condition >= len(session.label_names):
            self.condition = 0
        self.snapshot = None
        self._sync_index()
