"""Scene files (JSON): everything needed to bring a demo back exactly. Qt-free, validated on load.

A scene names its model file and that file's SHA-256, so a scene made for another model is refused
instead of silently showing the wrong thing. See README.md ("Scene files") for a complete example.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training.errors import UserError

FORMAT = "latent-explorer-scene"
VERSION = 1
MAX_BYTES = 4 * 1024**2
METHODS = ("linear", "spherical")
STRENGTH_MIN, STRENGTH_MAX = -3.0, 3.0  # attribute-vector strengths: the vector panel's slider range


class SceneError(UserError):
    """One sentence naming the scene file and what is wrong with it."""


@dataclass
class Vector:
    name: str
    vector: list[float]  # (dx, dy) in latent units
    strength: float = 1.0
    enabled: bool = True
    auc: float | None = None  # how well the direction separates its two groups (0.5 = noise)


@dataclass
class Bookmark:
    name: str
    z: list[float]


@dataclass
class Scene:
    model_path: str  # as written in the file (relative paths are relative to the scene file)
    model_sha256: str
    dataset: str | None = None
    split: str | None = None
    point: list[float] | None = None  # the decoded point
    a: list[float] | None = None
    b: list[float] | None = None
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

    def resolved_model(self, scene_file: str | os.PathLike | None) -> Path:
        p = Path(self.model_path).expanduser()
        if not p.is_absolute() and scene_file is not None:
            p = Path(scene_file).resolve().parent / p
        return p.resolve()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": {"path": self.model_path, "sha256": self.model_sha256},
            "dataset": {"name": self.dataset, "split": self.split},
            "point": self.point,
            "interpolation": {"a": self.a, "b": self.b, "t": self.t, "method": self.method, "frames": self.frames},
            "vectors": [asdict(v) for v in self.vectors],
            "bookmarks": [asdict(b) for b in self.bookmarks],
            "view": None if self.view is None else {"x": list(self.view[:2]), "y": list(self.view[2:])},
            "toggles": {"hover": self.hover, "underlay": self.underlay, "density": self.density,
                        "hidden_classes": self.hidden_classes, "presentation": self.presentation},
        }


def save_scene(scene: Scene, path: str | os.PathLike) -> Path:
    from training.fileio import atomic_write

    path = Path(path)
    atomic_write(path, (json.dumps(scene.to_json(), indent=2) + "\n").encode())
    return path


def load_scene(path: str | os.PathLike) -> Scene:
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
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise SceneError(f"{source}: is not valid JSON (line {e.lineno}: {e.msg}).") from None
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
        if not isinstance(v, str) or len(v) > max_len:
            self.fail(f"'{where}' must be a string")
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
        sha = self.text(model.get("sha256"), "model.sha256")
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            self.fail("'model.sha256' must be 64 lowercase hex digits")
        ds = self.obj(d.get("dataset"), "dataset", optional=True)
        split = self.text(ds.get("split"), "dataset.split", optional=True)
        if split not in (None, "train", "test", "all"):
            self.fail("'dataset.split' must be train, test or all")
        interp = self.obj(d.get("interpolation"), "interpolation", optional=True)
        method = interp.get("method", "linear")
        if method not in METHODS:
            self.fail(f"'interpolation.method' must be linear or spherical, not {json.dumps(method)}")
        frames = interp.get("frames", 8)
        if isinstance(frames, bool) or not isinstance(frames, int) or not 2 <= frames <= 32:
            self.fail("'interpolation.frames' must be an integer in [2, 32]")
        vectors_raw = d.get("vectors") or []
        if not isinstance(vectors_raw, list) or len(vectors_raw) > 100:
            self.fail("'vectors' must be a list of at most 100 vectors")
        vectors = []
        for i, v in enumerate(vectors_raw):
            v = self.obj(v, f"vectors[{i}]")
            auc = v.get("auc")
            vectors.append(Vector(
                name=self.text(v.get("name"), f"vectors[{i}].name", max_len=200),
                vector=self.point(v.get("vector"), f"vectors[{i}].vector", optional=False),
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
                                  self.point(b.get("z"), f"bookmarks[{i}].z", optional=False)))
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
        if isinstance(density, bool) or not isinstance(density, int) or not 4 <= density <= 60:
            self.fail("'toggles.density' must be an integer in [4, 60]")
        hidden = tg.get("hidden_classes", [])
        if not isinstance(hidden, list) or not all(isinstance(k, int) and not isinstance(k, bool) and 0 <= k < 10000 for k in hidden):
            self.fail("'toggles.hidden_classes' must be a list of class indices")
        return Scene(
            model_path=self.text(model.get("path"), "model.path"),
            model_sha256=sha,
            dataset=self.text(ds.get("name"), "dataset.name", optional=True),
            split=split,
            point=self.point(d.get("point"), "point"),
            a=self.point(interp.get("a"), "interpolation.a"),
            b=self.point(interp.get("b"), "interpolation.b"),
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
        )


def check_model(scene: Scene, model_sha256: str, source: str = "scene") -> None:
    """Refuse a scene made for another model (compares the model file's SHA-256)."""
    if scene.model_sha256 != model_sha256:
        raise SceneError(
            f"{source}: was made for another model ({Path(scene.model_path).name}, sha256 {scene.model_sha256[:12]}…), "
            f"not the one open (sha256 {model_sha256[:12]}…); nothing was changed."
        )
