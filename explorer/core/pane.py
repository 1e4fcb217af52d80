"""The pane rule and the pane controller, Qt-free.

The rule: the main pane shows ``decode(base + sum of strength * vector over the enabled vectors)``,
where ``base`` is what the user touched last: the current point (a click, drag, hover, bookmark or a
drawn image's mean) or the interpolation frame at t. The caption, the nearest real image, the status
bar and the marker all describe that same z (:class:`Shown`).

:class:`PaneController` listens to the state and sends ONE request per change through a submit
function (the decode service). With vectors on, one request carries both the base and the result,
so the pane shows them side by side without a second round trip. Staleness is judged per pane: a
result older than the one shown is dropped, whatever action asked for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from explorer.core.marks import latent_dim
from explorer.core.values import Point, Vec

if TYPE_CHECKING:
    from explorer.core.state import ExplorerState

CLICK_HEAD_START = 0.004  # s: about two decodes of the bundled model; a slower model costs the GUI this much per click

_SOURCE_WORDS = {"click": "clicked point", "drag": "dragged point", "hover": "hover", "drawing": "drawn image",
                 "scene": "scene point", "start": "start point"}


@dataclass(frozen=True)
class PaneTarget:
    """What the pane must show for the current state (before decoding)."""

    base: Vec  # the z the user touched last (a D-point)
    z: Vec  # base + enabled vectors: the z shown (a D-point)
    source: str  # "click", "drag", "hover", "bookmark “name”", "drawing", "interpolation"
    n_vectors: int  # enabled vectors applied
    t: float | None = None  # for an interpolation frame
    method: str | None = None
    slot: int = 0  # which model's pane: 0 the main one, 1.. the compared ones (state.sessions[slot])
    session: Any = None  # the session decoded (a training snapshot's while one is shown); compared by identity
    label: int | None = None  # the class a conditional model decodes with (None: not conditional)
    label_name: str = ""
    xy: Point = (0.0, 0.0)  # where z lies on this pane's plane (its projection): the marker
    base_xy: Point = (0.0, 0.0)  # where the base lies: the vector arrow's tail

    @property
    def vectors_on(self) -> bool:
        return self.n_vectors > 0

    @property
    def head_start(self) -> float:
        """Seconds the GUI thread may wait for an idle worker to finish this decode before the marker
        moves (PaneController's ``settle``): a click on the main pane, so its image is handled before
        the marker's repaint (issue 11), and the first point of a model just opened, so its image is
        handled before the new plane's first paint (issue 11, "Start"). Drags and hovers never wait
        (their results flow continuously), nor do compared panes."""
        return CLICK_HEAD_START if self.source in ("click", "start") and self.slot == 0 else 0.0

    def labels(self, n: int) -> list[int] | None:
        return None if self.label is None else [self.label] * n

    def describe(self) -> str:
        """The caption's first part: which thing is shown."""
        if self.source == "interpolation":
            what = f"interpolation t = {self.t:+.2f} ({self.method})"
        else:
            what = _SOURCE_WORDS.get(self.source, self.source)
        if self.vectors_on:
            what += f" + {self.n_vectors} vector" + ("s" if self.n_vectors > 1 else "")
        if self.label is not None:
            what += f" as {self.label_name or self.label}"
        entry = self.session.metadata.get("snapshot") if getattr(self.session, "snapshot", None) is not None else None
        if entry is not None:  # a training snapshot's decoder (Watch it learn)
            from explorer.core.snapshots import describe

            what += f" \u00b7 {describe(entry, len(self.session.snapshots))}"
        return what


def shown_session(state: ExplorerState, slot: int = 0) -> Any:
    """The session pane ``slot`` decodes with and its plane plots: ``state.sessions[slot]``, or for
    the main model the training snapshot shown (once its session is computed). None if no such model."""
    ss = state.sessions
    if not 0 <= slot < len(ss):
        return None
    s = ss[slot]
    if slot == 0 and state.snapshot is not None:
        return getattr(s, "snapshot_sessions", {}).get(state.snapshot, s)
    return s


def condition_labels(state: ExplorerState, n: int, session: Any = None) -> list[int] | None:
    """The class labels for a request of ``n`` points decoded by ``session`` (default: the main model):
    ``state.condition`` for a conditional model (CVAE), None for any other."""
    s = state.session if session is None else session
    return [state.condition] * n if s is not None and s.conditional else None


def slice_of(state: ExplorerState, slot: int = 0) -> Any:
    """The slice pane ``slot``'s plane shows: ``state.slice`` for the main model; a compared model's own
    (made once per session: the identity for a 2-D model, the PCA slice of its means for a D-dim one)."""
    if slot == 0:
        return state.slice
    session = state.sessions[slot] if 0 <= slot < len(state.sessions) else None
    own = getattr(session, "view_slice", None)
    if own is None and session is not None:
        from explorer.core.slice_model import Slice

        own = Slice()
        d = latent_dim(session)
        if d > 2 and session.means is not None and len(session.means) >= 3:
            own._means = lambda: session.means
            own.use_pca()
        else:
            own.reset(d)
        session.view_slice = own
    return own if own is not None else state.slice


def pane_target(state: ExplorerState, slot: int = 0) -> PaneTarget | None:
    """The pane rule for pane ``slot``. None when there is nothing to show (no model, no point yet).

    Every pane shares the base point (the same z everywhere); a compared model of another latent dimension
    takes the same plane coordinates on its own slice. The vectors are each model's own
    (explorer.core.state.Vector.for_session), and a conditional model decodes as ``state.condition``."""
    session = shown_session(state, slot)
    if session is None and slot > 0:
        return None
    ip = state.interpolation
    if state.base == "interpolation" and ip.ready:
        base = tuple(float(v) for v in ip.z_at(ip.t))
        source, t, method = "interpolation", ip.t, ip.method
    elif state.point is not None:
        base = state.point if state.slice.is_identity else tuple(float(v) for v in state.lifted(state.point))
        source, t, method = state.point_source, None, None
    else:
        return None
    plane = slice_of(state, slot)
    if slot > 0 and plane.dim != state.ndim:  # another latent dimension: the same place on its own plane
        base = tuple(float(v) for v in plane.lift(state.slice.project(np.asarray(base))))
    on = state.vectors.active()
    z = np.asarray(base, np.float64) + state.vectors.total(session, state.session, plane.dim)
    label, label_name = None, ""
    if session is not None and session.conditional:
        label = state.condition
        names = session.label_names
        label_name = names[label] if 0 <= label < len(names) else str(label)
    xy, base_xy = plane.project(z), plane.project(np.asarray(base, np.float64))
    return PaneTarget(base=base, z=tuple(float(v) for v in z), source=source, n_vectors=len(on), t=t, method=method,
                      slot=slot, session=session, label=label, label_name=label_name,
                      xy=(float(xy[0]), float(xy[1])), base_xy=(float(base_xy[0]), float(base_xy[1])))


NBSP = "\u00a0"  # a space a wrapped caption never breaks at


def format_z(z: Any, most: int = 6, glue: bool = False) -> str:
    """z for a caption: every coordinate up to ``most`` of them, else the first few, "…" and the last (and D).

    ``glue``: for a wrapped caption, a line never breaks inside a pair of coordinates ("(+0.420, -1.580)" of a
    2-D z stays whole), only between pairs."""
    z = [float(v) for v in z]
    nums = [f"{v:+.3f}" for v in z] if len(z) <= most else [*(f"{v:+.3f}" for v in z[: most - 2]), "\u2026",
                                                             f"{z[-1]:+.3f}"]
    inner = nums[0] + "".join((f",{NBSP}" if glue and i % 2 else ", ") + n for i, n in enumerate(nums[1:], 1))
    return f"({inner})" if len(z) <= most else f"({inner}) in{NBSP if glue else ' '}{len(z)}-D"


_BEFORE_NUMBER = re.compile(r" (?=[+\-]?\d|= )")


def nobreak(text: str) -> str:
    """``text`` for a wrapped caption: a word stays on the line of the number after it ("step 24", "distance
    0.019", "t = +0.35"), and "z" on the line of its "="."""
    return _BEFORE_NUMBER.sub(NBSP, text)


def z_words(z: Any, most: int = 4) -> str:
    """ "z = (…)" for a wrapped caption: a line may break after the "=", never inside a pair of coordinates."""
    return f"z{NBSP}= {format_z(z, most, glue=True)}"


@dataclass(frozen=True)
class Shown:
    """What the pane displays, once decoded: everything here describes the same ``z``."""

    id: int  # the request id it answers
    target: PaneTarget
    image: np.ndarray  # (H, W) or (H, W, 3) in [0, 1]: decode(z)
    base_image: np.ndarray | None  # decode(base) when vectors are on (shown beside the result)
    nearest_index: int | None  # dataset index whose mean is nearest to z
    nearest_label: str
    nearest_distance: float
    posted: float = 0.0  # perf_counter when it was requested
    seconds: float = 0.0  # time the model spent on it
    nearest_of_class: bool = False  # the nearest among the class decoded (a conditional model), not all images

    @property
    def z(self) -> np.ndarray:
        return np.asarray(self.target.z, np.float32)

    @property
    def density(self) -> float | None:
        """q(z): the density of the shown model's data codes at z (explorer.core.manifold), while the
        plane's "off the data" shading is on and that density is computed; else None."""
        m = getattr(self.target.session, "manifold", None)
        return None if m is None or m.dim != len(self.target.z) else float(m.q(self.z))

    @property
    def off_manifold(self) -> bool:
        """z lies where the model never put an image: q(z) below the level 99 % of the data's codes exceed."""
        m = getattr(self.target.session, "manifold", None)
        return m is not None and m.dim == len(self.target.z) and bool(m.off(self.z))

    @property
    def caption(self) -> str:
        return f"{nobreak(self.target.describe())} \u00b7 {z_words(self.target.z, 4)}"

    @property
    def status(self) -> str:
        text = f"{self.target.describe()}: z = {format_z(self.target.z, 8)}"
        if self.nearest_index is not None:
            text += f"    nearest{' of the class decoded' if self.nearest_of_class else ''}: {self.nearest_label} " \
                    f"(#{self.nearest_index}, distance {self.nearest_distance:.3f})"
        return text


class PaneController:
    """Turns state changes into decode requests for one pane, and results into :class:`Shown`.

    ``submit(zs (N, 2) float32, meta) -> request id`` sends a request (the decode service's
    ``request`` on the pane's channel). ``accept(result)`` must be called on the thread that owns
    the views (the GUI thread); it drops results older than the one shown and emits ``shown``.
    """

    shown = Signal(object)  # Shown: the pane now displays this
    requested_target = Signal(object)  # PaneTarget: just requested (the marker and arrow move at once)

    def __init__(self, state: ExplorerState, submit: Callable[[np.ndarray, Any], int], slot: int = 0,
                 settle: Callable[[int, PaneTarget], Any] | None = None):
        self.state = state
        self.slot = slot  # which model's pane (state.sessions[slot])
        self._submit = submit
        self._settle = settle  # settle(request id, target): let an idle worker finish it (a click's head start)
        self.last: Shown | None = None  # what the pane displays: the one record (explorer.core.panes.Panes.shown)
        self.requested: PaneTarget | None = None  # the newest target sent
        self.requested_id = 0
        self.requests = 0  # how many requests were sent (tests: one per change)
        self.dropped = 0  # stale results dropped
        ev = state.events
        for sig in (ev.point, ev.point_source, ev.base):
            sig.connect(self.update)
        ev.session.connect(self.refresh)  # same z, new decoder
        for sig in (ev.compared, ev.snapshot, ev.condition):  # another model, snapshot or class: decode again
            sig.connect(self.update)
        ip = state.interpolation.events
        for sig in (ip.a, ip.b, ip.t, ip.method):
            sig.connect(self.update)
        state.slice.events.plane.connect(self._slice_moved)  # the plane moved: the same (x, y) is another z
        vs = state.vectors.events
        for sig in (vs.inserted, vs.removed, vs.changed, vs.reordered, vs.child_event):
            sig.connect(self.update)

    @property
    def idle(self) -> bool:
        """Nothing requested that is not shown yet."""
        return self.requested is None or (self.last is not None and self.last.id >= self.requested_id)

    def _slice_moved(self, *_args: Any) -> int | None:
        """A dims slider or a preset: decode again, without a click's head start (a drag of sliders)."""
        return self.update(settle=False)

    def update(self, *_args: Any, settle: bool = True) -> int | None:
        """Request the pane's target if it changed; returns the request id (None if nothing to do)."""
        if self.state.session is None:
            return None
        tgt = pane_target(self.state, self.slot)
        if tgt is None or tgt == self.requested:
            return None
        zs = [tgt.z, tgt.base] if tgt.vectors_on else [tgt.z]
        self.requested = tgt
        self.requests += 1
        self.requested_id = self._submit(np.asarray(zs, np.float32), tgt)
        if settle and self._settle is not None and tgt.head_start > 0:
            # before the marker moves: its repaint is then scheduled after the result is queued (moving
            # it first and waiting after lets the repaint run first, as measured: tests/explorer/qt)
            self._settle(self.requested_id, tgt)
        self.requested_target.emit(tgt)
        return self.requested_id

    def refresh(self, *_args: Any) -> int | None:
        """Request the current target again (a new model: same z, new decoder)."""
        self.requested = None
        return self.update()

    def accept(self, result: Any) -> bool:
        """A decode result for this pane (``.id``, ``.images``, ``.meta`` = its PaneTarget)."""
        if self.last is not None and result.id <= self.last.id:
            self.dropped += 1
            return False
        tgt: PaneTarget = result.meta
        idx, label, dist, of_class = None, "", 0.0, False
        s = tgt.session if tgt.session is not None else self.state.session
        if s is not None and s.index is not None:
            z = np.asarray(tgt.z, np.float32)
            # decoding as a class: the nearest image of that class (unless none of it is shown)
            near = s.index.nearest(z, label=tgt.label) if tgt.label is not None else ()
            of_class = len(near) > 0
            if not of_class:
                near = s.index.nearest(z)
            if len(near):
                idx = int(near[0])
                label = s.label_name(idx)
                dist = float(np.linalg.norm(s.means[idx] - np.asarray(tgt.z, np.float32)))
        base_image = result.images[1] if tgt.vectors_on and len(result.images) > 1 else None
        self.last = Shown(result.id, tgt, result.images[0], base_image, idx, label, dist,
                          getattr(result, "posted", 0.0), getattr(result, "seconds", 0.0), of_class)
        self.shown.emit(self.last)
        return True

    def clear(self) -> None:
        self.last = None
        self.requested = None
        self.requested_id = 0
