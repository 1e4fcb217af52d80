"""The scene file format: :class:`Scene`, its JSON, and the bounded, validating parser.

Pure core code (no Qt). :mod:`explorer.core.scene` relates scenes to the explorer state (make one from
the state, check and apply one, save one); this module only reads and writes the file's contents.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.core.palettes import DEFAULT as DEFAULT_PALETTE
from explorer.core.palettes import PALETTES
from explorer.core.state import (
    DENSITY_MAX,
    DENSITY_MIN,
    FRAMES_MAX,
    FRAMES_MIN,
    MAX_COMPARED,
    METHODS,
    POINT_SIZE_MAX,
    POINT_SIZE_MIN,
    STRENGTH_MAX,
    STRENGTH_MIN,
    Bookmark,
    Point,
    Vector,
)
from explorer.core.values import path_problem
from training.errors import UserError
from training.jsonlimits import JsonLimitError, load_json_bounded

FORMAT = "latent-explorer-scene"
VERSION = 1
MAX_BYTES = 4 * 1024**2
MAX_DEPTH = 32  # nesting: a real scene is 4 deep
MAX_NUMBER_CHARS = 40  # a float64 needs at most 25
MAX_SELECTION = 200_000  # selected image indices a scene may list
MAX_SNAPSHOTS = 100  # training.snapshots.MAX_SNAPSHOTS (not imported: it imports torch, and scenes load on the GUI thread)


class SceneError(UserError):
    """One sentence naming the scene file and what is wrong with it."""


@dataclass
class Scene:
    """A parsed, validated scene: everything :func:`apply_scene` writes into the state."""

    model_path: str  # as written in the file (relative paths are relative to the scene file)
    model_sha256: str | None  # optional: when present, it must match the open model
    dataset: str | None = None
    split: str | None = None
    point: Point | None = None  # the decoded point
    base: str = "point"  # what the pane shows: the point or the interpolation frame at t
    a: Point | None = None
    b: Point | None = None
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
    palette: str = "tab10"
    point_size: float = 4.0
    opacity: float = 0.85
    dim: bool = False
    # models compared side by side: [(path, sha256 or None)]; None (an older scene): leave them as they are
    compared: list[tuple[str, str | None]] | None = None
    link_views: bool = True
    selection: list[int] = field(default_factory=list)
    condition: int | None = None  # the class a conditional model (CVAE) decodes with; None: not stored
    plot_samples: bool = False  # posterior samples instead of the means (optional key; older scenes lack it)
    ellipses: bool = False  # 1- and 2-sigma posterior ellipses (optional key)
    snapshot: int | None = None  # the training snapshot shown (None: the final weights); key left out when None

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
                        "snap": self.snap, "palette": self.palette, "point_size": self.point_size,
                        "opacity": self.opacity, "dim": self.dim, "plot_samples": self.plot_samples,
                        "ellipses": self.ellipses},
            **({"selection": list(self.selection)} if self.selection else {}),
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
    return _Validator(source).scene(d)


class _Validator:
    def __init__(self, source: str):
        self.src = source

    def fail(self, what: str) -> None:
        raise SceneError(f"{self.src}: {what}.")

    def obj(self, v: Any, where: str, optional: bool = False) -> dict:
        if v is None and optional:
            return {}
        if not isinstance(v, dict):
            self.fail(f"'{where}' must be an object")
        return v

    def num(self, v: Any, where: str, lo: float = -1e6, hi: float = 1e6) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
            self.fail(f"'{where}' must be a finite number in [{lo:g}, {hi:g}], not {json.dumps(v)}")
        return float(v)

    def point(self, v: Any, where: str, optional: bool = True) -> list[float] | None:
        if v is None and optional:
            return None
        if not isinstance(v, list) or len(v) != 2:
            self.fail(f"'{where}' must be a 2-D point [z1, z2]")
        return [self.num(x, where) for x in v]

    def flag(self, v: Any, where: str, default: bool = False) -> bool:
        if v is None:
            return default
        if not isinstance(v, bool):
            self.fail(f"'{where}' must be true or false")
        return v

    def text(self, v: Any, where: str, optional: bool = False, max_len: int = 4096) -> str | None:
        if v is None and optional:
            return None
        if not isinstance(v, str):
            self.fail(f"'{where}' must be a string")
        if len(v) > max_len:
            self.fail(f"'{where}' is {len(v):,} characters long; at most {max_len:,} are allowed")
        return v

    def path(self, v: Any, where: str) -> str:
        """A file name: a string without a NUL character (no file can have one)."""
        v = self.text(v, where)
        if "\0" in v:
            self.fail(f"'{where}' contains a NUL character, so it names no file")
        return v

    def scene(self, d: Any) -> Scene:
        d = self.obj(d, "the file")
        if d.get("format") != FORMAT:
            self.fail(f"is not a latent-explorer scene (format is {json.dumps(d.get('format'))})")
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            self.fail("has no valid 'version'")
        if version > VERSION:
            self.fail(f"was made by a newer version of latent-explorer (scene version {version}; this version reads {VERSION})")
        model = self.obj(d.get("model"), "model")
        sha = self.text(model.get("sha256"), "model.sha256", optional=True)
        if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
            self.fail("'model.sha256' must be 64 lowercase hex digits (sha256sum of the model file), or left out")
        shows = d.get("shows", "point")
        if shows not in ("point", "interpolation"):
            self.fail(f"'shows' must be point or interpolation, not {json.dumps(shows)}")
        ds = self.obj(d.get("dataset"), "dataset", optional=True)
        split = self.text(ds.get("split"), "dataset.split", optional=True)
        if split not in (None, "train", "test", "all"):
            self.fail("'dataset.split' must be train, test or all")
        interp = self.obj(d.get("interpolation"), "interpolation", optional=True)
        method = interp.get("method", "linear")
        if method not in METHODS:
            self.fail(f"'interpolation.method' must be linear or spherical, not {json.dumps(method)}")
        frames = interp.get("frames", 8)
        if isinstance(frames, bool) or not isinstance(frames, int) or not FRAMES_MIN <= frames <= FRAMES_MAX:
            self.fail(f"'interpolation.frames' must be an integer in [{FRAMES_MIN}, {FRAMES_MAX}]")
        vectors_raw = d.get("vectors") or []
        if not isinstance(vectors_raw, list) or len(vectors_raw) > 100:
            self.fail("'vectors' must be a list of at most 100 vectors")
        vectors = []
        for i, v in enumerate(vectors_raw):
            v = self.obj(v, f"vectors[{i}]")
            auc = v.get("auc")
            vectors.append(Vector(
                name=self.text(v.get("name"), f"vectors[{i}].name", max_len=200),
                vector=tuple(self.point(v.get("vector"), f"vectors[{i}].vector", optional=False)),
                strength=self.num(v.get("strength", 1.0), f"vectors[{i}].strength", STRENGTH_MIN, STRENGTH_MAX),
                enabled=self.flag(v.get("enabled"), f"vectors[{i}].enabled", True),
                auc=None if auc is None else self.num(auc, f"vectors[{i}].auc", 0, 1),
            ))
        marks_raw = d.get("bookmarks") or []
        if not isinstance(marks_raw, list) or len(marks_raw) > 1000:
            self.fail("'bookmarks' must be a list of at most 1000 bookmarks")
        marks = []
        for i, b in enumerate(marks_raw):
            b = self.obj(b, f"bookmarks[{i}]")
            marks.append(Bookmark(self.text(b.get("name"), f"bookmarks[{i}].name", max_len=200),
                                  tuple(self.point(b.get("z"), f"bookmarks[{i}].z", optional=False))))
        view = None
        if d.get("view") is not None:
            vd = self.obj(d["view"], "view")
            x, y = vd.get("x"), vd.get("y")
            if not (isinstance(x, list) and isinstance(y, list) and len(x) == 2 and len(y) == 2):
                self.fail("'view' must be {\"x\": [x0, x1], \"y\": [y0, y1]}")
            x0, x1, y0, y1 = (self.num(v, "view") for v in (*x, *y))
            if not (x1 > x0 and y1 > y0):
                self.fail("'view' ranges must be increasing")
            view = (x0, x1, y0, y1)
        tg = self.obj(d.get("toggles"), "toggles", optional=True)
        density = tg.get("density", 20)
        if isinstance(density, bool) or not isinstance(density, int) or not DENSITY_MIN <= density <= DENSITY_MAX:
            self.fail(f"'toggles.density' must be an integer in [{DENSITY_MIN}, {DENSITY_MAX}]")
        compared = None
        if "compare" in d:
            raw = d["compare"]
            if not isinstance(raw, list) or len(raw) > MAX_COMPARED:
                self.fail(f"'compare' must be a list of at most {MAX_COMPARED} models")
            compared = []
            for i, c in enumerate(raw):
                c = self.obj(c, f"compare[{i}]")
                h = self.text(c.get("sha256"), f"compare[{i}].sha256", optional=True)
                if h is not None and (len(h) != 64 or any(ch not in "0123456789abcdef" for ch in h)):
                    self.fail(f"'compare[{i}].sha256' must be 64 lowercase hex digits, or left out")
                compared.append((self.path(c.get("path"), f"compare[{i}].path"), h))
        selection = d.get("selection", [])
        if not isinstance(selection, list) or len(selection) > MAX_SELECTION or not all(
                isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in selection):
            self.fail(f"'selection' must be a list of at most {MAX_SELECTION:,} image indices")
        condition = d.get("condition")
        if condition is not None and (isinstance(condition, bool) or not isinstance(condition, int)
                                      or not 0 <= condition < 10000):
            self.fail(f"'condition' must be a class index (0 for the first class), not {json.dumps(condition)}")
        snapshot = d.get("snapshot")
        if snapshot is not None and (isinstance(snapshot, bool) or not isinstance(snapshot, int)
                                     or not 0 <= snapshot < MAX_SNAPSHOTS):
            self.fail(f"'snapshot' must be a training snapshot index in [0, {MAX_SNAPSHOTS - 1}], or left out")
        hidden = tg.get("hidden_classes", [])
        if not isinstance(hidden, list) or not all(isinstance(k, int) and not isinstance(k, bool) and 0 <= k < 10000 for k in hidden):
            self.fail("'toggles.hidden_classes' must be a list of class indices")
        return Scene(
            model_path=self.path(model.get("path"), "model.path"),
            model_sha256=sha,
            dataset=self.text(ds.get("name"), "dataset.name", optional=True),
            split=split,
            point=self._tuple(self.point(d.get("point"), "point")),
            base=shows,
            a=self._tuple(self.point(interp.get("a"), "interpolation.a")),
            b=self._tuple(self.point(interp.get("b"), "interpolation.b")),
            t=self.num(interp.get("t", 0.0), "interpolation.t", -0.5, 1.5),
            method=method,
            frames=frames,
            vectors=vectors,
            bookmarks=marks,
            view=view,
            hover=self.flag(tg.get("hover"), "toggles.hover"),
            underlay=self.flag(tg.get("underlay"), "toggles.underlay"),
            density=density,
            hidden_classes=sorted(set(hidden)),
            presentation=self.flag(tg.get("presentation"), "toggles.presentation"),
            snap=self.flag(tg.get("snap"), "toggles.snap"),
            palette=self._palette(tg.get("palette", DEFAULT_PALETTE)),
            point_size=self.num(tg.get("point_size", 4.0), "toggles.point_size", POINT_SIZE_MIN, POINT_SIZE_MAX),
            opacity=self.num(tg.get("opacity", 0.85), "toggles.opacity", 0.05, 1.0),
            dim=self.flag(tg.get("dim"), "toggles.dim"),
            compared=compared,
            link_views=self.flag(d.get("link_views"), "link_views", True),
            selection=sorted(set(selection)),
            condition=condition,
            plot_samples=self.flag(tg.get("plot_samples"), "toggles.plot_samples"),
            ellipses=self.flag(tg.get("ellipses"), "toggles.ellipses"),
            snapshot=snapshot,
        )

    def _palette(self, v: Any) -> str:
        if v not in PALETTES:
            self.fail(f"'toggles.palette' must be one of {', '.join(PALETTES)}, not {json.dumps(v)}")
        return v

    @staticmethod
    def _tuple(p: list[float] | None) -> Point | None:
        return None if p is None else (p[0], p[1])
