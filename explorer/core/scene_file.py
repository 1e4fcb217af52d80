"""The scene file format: :class:`Scene`, its JSON, and the bounded, validating parser.

Pure core code (no Qt). :mod:`explorer.core.scene` relates scenes to the explorer state (make one from
the state, check and apply one, save one); this module only reads and writes the file's contents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.core.marks import Bookmark, Vector
from explorer.core.scene_parse import MAX_SELECTION, MAX_SNAPSHOTS, Parser  # noqa: F401  (re-exported)
from explorer.core.values import Point, Vec, path_problem
from training.errors import UserError
from training.jsonlimits import JsonLimitError, load_json_bounded

FORMAT = "latent-explorer-scene"
VERSION = 1
MAX_BYTES = 4 * 1024**2
MAX_DEPTH = 32  # nesting: a real scene is 4 deep
MAX_NUMBER_CHARS = 40  # a float64 needs at most 25


class SceneError(UserError):
    """One sentence naming the scene file and what is wrong with it."""


@dataclass
class Scene:
    """A parsed, validated scene: everything :func:`apply_scene` writes into the state."""

    model_path: str  # as written in the file (relative paths are relative to the scene file)
    model_sha256: str | None  # optional: when present, it must match the open model
    dataset: str | None = None
    split: str | None = None
    point: Point | None = None  # the clicked point, in plane coordinates (z itself for a 2-D model)
    base: str = "point"  # what the pane shows: the point or the interpolation frame at t
    a: Vec | None = None  # D-points (latent_dim numbers)
    b: Vec | None = None
    t: float = 0.0
    method: str = "linear"
    frames: int = 8
    vectors: list[Vector] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)
    view: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1
    hover: bool = False
    underlay: bool = False
    density: int = 20
    hidden_classes: list[int] = field(default_factory=list)
    presentation: bool = False
    snap: bool = False
    palette: str | None = None  # None: the scene names no palette (the user's stays)
    point_size: float = 4.0
    opacity: float = 0.85
    dim: bool = False
    # models compared side by side: [(path, sha256 or None)]; None (an older scene): leave them as they are
    compared: list[tuple[str, str | None]] | None = None
    link_views: bool = True
    selection: list[int] = field(default_factory=list)
    groups: dict[str, list[int]] = field(default_factory=dict)  # the lasso groups "A" / "B" (optional key)
    condition: int | None = None  # the class a conditional model (CVAE) decodes with; None: not stored
    plot_samples: bool = False  # posterior samples instead of the means (optional key; older scenes lack it)
    ellipses: bool = False  # 1- and 2-sigma posterior ellipses (optional key)
    snapshot: int | None = None  # the training snapshot shown (None: the final weights); key left out when None
    latent_dim: int = 2  # D of the model it was made with (key left out for 2)
    fade: bool = False  # points far from the slice faded (a D-dim model)
    off_manifold: bool = False  # the plane shaded where the model put no data (optional key)
    # the bookmark tour: {"order": [bookmark indices] or None, "seconds_per_leg", "hold_seconds", "method"};
    # None (an older scene, or the defaults): the state's defaults
    tour: dict | None = None
    slice: dict | None = None  # {"origin", "u", "v", "preset"}: the slice shown (a D-dim model; None for 2-D)

    def resolved_model(self, scene_file: str | os.PathLike | None, path: str | None = None) -> Path:
        p = Path(path or self.model_path).expanduser()
        if not p.is_absolute() and scene_file is not None:
            p = Path(scene_file).resolve().parent / p
        return p.resolve()

    def resolved_compared(self, scene_file: str | os.PathLike | None) -> list[Path]:
        return [self.resolved_model(scene_file, p) for p, _ in self.compared or []]

    def to_json(self) -> dict[str, Any]:
        model: dict[str, Any] = {"path": self.model_path}
        if self.model_sha256:
            model["sha256"] = self.model_sha256
        d = self._json(model)
        if self.snapshot is not None:  # optional: a scene without it shows the final weights
            d["snapshot"] = self.snapshot
        if self.latent_dim != 2:  # optional: a scene without it is 2-D
            d["latent_dim"] = self.latent_dim
        if self.tour is not None:
            d["tour"] = {**self.tour, "order": None if self.tour.get("order") is None else list(self.tour["order"])}
        if self.slice is not None:
            d["slice"] = {k: (list(v) if k != "preset" else v) for k, v in self.slice.items()}
        return d

    def _json(self, model: dict[str, Any]) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": model,
            **({} if self.compared is None else
               {"compare": [{"path": p, **({"sha256": h} if h else {})} for p, h in self.compared],
                "link_views": self.link_views}),
            "dataset": {"name": self.dataset, "split": self.split},
            "point": None if self.point is None else list(self.point),
            "shows": self.base,
            "interpolation": {"a": None if self.a is None else list(self.a), "b": None if self.b is None else list(self.b),
                              "t": self.t, "method": self.method, "frames": self.frames},
            "vectors": [v.to_json() for v in self.vectors],
            "bookmarks": [{"name": b.name, "z": list(b.z)} for b in self.bookmarks],
            "view": None if self.view is None else {"x": list(self.view[:2]), "y": list(self.view[2:])},
            "toggles": {"hover": self.hover, "underlay": self.underlay, "density": self.density,
                        "hidden_classes": list(self.hidden_classes), "presentation": self.presentation,
                        "snap": self.snap, **({} if self.palette is None else {"palette": self.palette}),
                        "point_size": self.point_size,
                        "opacity": self.opacity, "dim": self.dim, "plot_samples": self.plot_samples,
                        "ellipses": self.ellipses, **({"fade": True} if self.fade else {}),
                        **({"off_manifold": True} if self.off_manifold else {})},
            **({"selection": list(self.selection)} if self.selection else {}),
            **({"groups": {t: list(v) for t, v in self.groups.items()}} if self.groups else {}),
            **({} if self.condition is None else {"condition": self.condition}),
        }


def load_scene(path: str | os.PathLike) -> Scene:
    problem = path_problem(path)
    if problem:
        raise SceneError(problem)
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SceneError(f"{path}: is {size:,} bytes, too large for a scene file.")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SceneError(f"{path}: no such file.") from None
    except UnicodeDecodeError:
        raise SceneError(f"{path}: is not a text (JSON) scene file.") from None
    except OSError as e:
        raise SceneError(f"{path}: cannot be read ({e.strerror or e}).") from None
    return parse_scene(text, str(path))


def parse_scene(text: str, source: str = "scene") -> Scene:
    """Validate a scene's JSON text. Parsing is bounded (size, depth, number length: one sentence each)."""
    try:
        d = load_json_bounded(text, source=source, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH,
                              max_number_digits=MAX_NUMBER_CHARS)
    except JsonLimitError as e:
        raise SceneError(str(e)) from None
    p = Parser(source, SceneError)
    d = p.obj(d, "the file")
    p.header(d, FORMAT, VERSION)
    dim = p.latent_dim(d)
    return Scene(**p.model(d), **p.shown(d, dim), vectors=p.vectors(d, dim), bookmarks=p.bookmarks(d, dim),
                 view=p.view(d), **p.toggles(d), **p.compare(d), **p.marks(d), latent_dim=dim, slice=p.slice(d, dim), tour=p.tour(d))
