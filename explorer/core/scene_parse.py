"""The scene file's validating parser: JSON (already read, bounded) -> the fields of a Scene.

Each part of the file has its own small method; the toggles and other simple fields are checked with the
state's own declarations (explorer.core.fields: the same bounds and choices a user action is held to),
so a scene can hold nothing the state would refuse. Every failure is one sentence naming the scene and
the key: ``SceneError("<scene>: '<key>' must be ...")``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from explorer.core.attribute import STRENGTH_MAX, STRENGTH_MIN
from explorer.core.fields import Flag
from explorer.core.marks import Bookmark
from explorer.core.state import INTERPOLATION_FIELDS, MAX_COMPARED, STATE_FIELDS, T_MAX, T_MIN, Vector
from explorer.core.tour import TOUR_FIELDS, Tour
from explorer.core.values import MAX_LATENT_DIM

MAX_SELECTION = 200_000  # selected image indices a scene may list
MAX_SNAPSHOTS = 100  # training.snapshots.MAX_SNAPSHOTS (not imported: it imports torch, and scenes load on the GUI thread)
MAX_VECTORS, MAX_BOOKMARKS = 100, 1000
NAME_CHARS = 200  # a vector's or bookmark's name
FLAGS = ("hover", "underlay", "presentation", "snap", "dim", "plot_samples", "ellipses", "fade", "off_manifold")
HEX = set("0123456789abcdef")


class Parser:
    def __init__(self, source: str, error: type[Exception]):
        self.src, self.error = source, error

    # ---------------------------------------------------------------- checks of one value

    def fail(self, what: str) -> None:
        raise self.error(f"{self.src}: {what}.")

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

    def vec(self, v: Any, where: str, d: int, optional: bool = True) -> tuple[float, ...] | None:
        """A point of ``d`` numbers (the latent dimension; plane coordinates: 2)."""
        if v is None and optional:
            return None
        if not isinstance(v, list) or len(v) != d:
            self.fail(f"'{where}' must be a 2-D point [z1, z2]" if d == 2 else
                      f"'{where}' must be a {d}-D point (a list of {d} numbers: the scene's latent_dim)")
        return tuple(self.num(x, where) for x in v)

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

    def sha(self, v: Any, where: str) -> str | None:
        h = self.text(v, where, optional=True)
        if h is not None and (len(h) != 64 or not set(h) <= HEX):
            self.fail(f"'{where}' must be 64 lowercase hex digits (sha256sum of the model file), or left out")
        return h

    def index(self, v: Any, where: str, top: int, words: str) -> int | None:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < top):
            self.fail(f"'{where}' must be {words}, not {json.dumps(v)}")
        return v

    def indices(self, v: Any, where: str, top: int = 2**62, most: int = MAX_SELECTION) -> list[int]:
        if not isinstance(v, list) or len(v) > most or not all(
                isinstance(k, int) and not isinstance(k, bool) and 0 <= k < top for k in v):
            self.fail(f"'{where}' must be a list of at most {most:,} image indices" if top == 2**62
                      else f"'{where}' must be a list of class indices")
        return sorted(set(v))

    # ---------------------------------------------------------------- the parts of a scene

    def header(self, d: dict, fmt: str, version: int) -> None:
        if d.get("format") != fmt:
            self.fail(f"is not a latent-explorer scene (format is {json.dumps(d.get('format'))})")
        v = d.get("version")
        if not isinstance(v, int) or isinstance(v, bool):
            self.fail("has no valid 'version'")
        if v > version:
            self.fail(f"was made by a newer version of latent-explorer (scene version {v}; this version reads {version})")

    def latent_dim(self, d: dict) -> int:
        dim = d.get("latent_dim", 2)
        self.index(dim, "latent_dim", MAX_LATENT_DIM + 1, f"the model's latent dimension, 2 to {MAX_LATENT_DIM}")
        if dim < 2:
            self.fail(f"'latent_dim' must be the model's latent dimension, 2 to {MAX_LATENT_DIM}, not {dim}")
        return dim

    def model(self, d: dict) -> dict:
        m = self.obj(d.get("model"), "model")
        ds = self.obj(d.get("dataset"), "dataset", optional=True)
        split = self.text(ds.get("split"), "dataset.split", optional=True)
        if split not in (None, "train", "test", "all"):
            self.fail("'dataset.split' must be train, test or all")
        return {"model_path": self.path(m.get("path"), "model.path"), "model_sha256": self.sha(m.get("sha256"), "model.sha256"),
                "dataset": self.text(ds.get("name"), "dataset.name", optional=True), "split": split}

    def shown(self, d: dict, dim: int) -> dict:
        shows = d.get("shows", "point")
        if shows not in ("point", "interpolation"):
            self.fail(f"'shows' must be point or interpolation, not {json.dumps(shows)}")
        ip = self.obj(d.get("interpolation"), "interpolation", optional=True)
        return {"point": self.vec(d.get("point"), "point", 2), "base": shows,
                "a": self.vec(ip.get("a"), "interpolation.a", dim), "b": self.vec(ip.get("b"), "interpolation.b", dim),
                "t": self.num(ip.get("t", 0.0), "interpolation.t", T_MIN, T_MAX),
                "method": INTERPOLATION_FIELDS["method"].json(ip.get("method", "linear"), "interpolation.method", self.fail),
                "frames": INTERPOLATION_FIELDS["frames"].json(ip.get("frames", 8), "interpolation.frames", self.fail)}

    def vectors(self, d: dict, dim: int) -> list[Vector]:
        raw = d.get("vectors") or []
        if not isinstance(raw, list) or len(raw) > MAX_VECTORS:
            self.fail(f"'vectors' must be a list of at most {MAX_VECTORS} vectors")
        out = []
        for i, v in enumerate(raw):
            v = self.obj(v, f"vectors[{i}]")
            auc = v.get("auc")
            out.append(Vector(
                name=self.text(v.get("name"), f"vectors[{i}].name", max_len=NAME_CHARS),
                vector=self.vec(v.get("vector"), f"vectors[{i}].vector", dim, optional=False),
                strength=self.num(v.get("strength", 1.0), f"vectors[{i}].strength", STRENGTH_MIN, STRENGTH_MAX),
                enabled=Flag("enabled").json(v.get("enabled"), f"vectors[{i}].enabled", self.fail, True),
                auc=None if auc is None else self.num(auc, f"vectors[{i}].auc", 0, 1)))
        return out

    def bookmarks(self, d: dict, dim: int) -> list[Bookmark]:
        raw = d.get("bookmarks") or []
        if not isinstance(raw, list) or len(raw) > MAX_BOOKMARKS:
            self.fail(f"'bookmarks' must be a list of at most {MAX_BOOKMARKS} bookmarks")
        out = []
        for i, b in enumerate(raw):
            b = self.obj(b, f"bookmarks[{i}]")
            out.append(Bookmark(self.text(b.get("name"), f"bookmarks[{i}].name", max_len=NAME_CHARS),
                                self.vec(b.get("z"), f"bookmarks[{i}].z", dim, optional=False)))
        return out

    def view(self, d: dict) -> tuple[float, float, float, float] | None:
        if d.get("view") is None:
            return None
        vd = self.obj(d["view"], "view")
        x, y = vd.get("x"), vd.get("y")
        if not (isinstance(x, list) and isinstance(y, list) and len(x) == 2 and len(y) == 2):
            self.fail("'view' must be {\"x\": [x0, x1], \"y\": [y0, y1]}")
        x0, x1, y0, y1 = (self.num(v, "view") for v in (*x, *y))
        if not (x1 > x0 and y1 > y0):
            self.fail("'view' ranges must be increasing")
        return (x0, x1, y0, y1)

    def toggles(self, d: dict) -> dict:
        tg = self.obj(d.get("toggles"), "toggles", optional=True)
        out: dict[str, Any] = {k: STATE_FIELDS[k].json(tg.get(k), f"toggles.{k}", self.fail) for k in FLAGS}
        defaults = {"density": 20, "point_size": 4.0, "opacity": 0.85}
        for k, default in defaults.items():
            out[k] = STATE_FIELDS[k].json(tg.get(k, default), f"toggles.{k}", self.fail)
        # a scene that names no palette keeps the user's (None: not named)
        out["palette"] = None if tg.get("palette") is None else STATE_FIELDS["palette"].json(
            tg["palette"], "toggles.palette", self.fail)
        out["hidden_classes"] = self.indices(tg.get("hidden_classes", []), "toggles.hidden_classes", 10000)
        return out

    def compare(self, d: dict) -> dict:
        if "compare" not in d:
            return {"compared": None, "link_views": True}
        raw = d["compare"]
        if not isinstance(raw, list) or len(raw) > MAX_COMPARED:
            self.fail(f"'compare' must be a list of at most {MAX_COMPARED} models")
        compared = []
        for i, c in enumerate(raw):
            c = self.obj(c, f"compare[{i}]")
            compared.append((self.path(c.get("path"), f"compare[{i}].path"), self.sha(c.get("sha256"), f"compare[{i}].sha256")))
        return {"compared": compared, "link_views": STATE_FIELDS["link_views"].json(d.get("link_views"), "link_views",
                                                                                    self.fail, True)}

    def marks(self, d: dict) -> dict:
        """The selection, the lasso groups, the CVAE's class and the training snapshot shown."""
        groups = self.obj(d.get("groups"), "groups", optional=True)
        for tag in groups:
            if tag not in ("A", "B"):
                self.fail(f"'groups' holds groups 'A' and 'B', not {json.dumps(tag)}")
        return {"selection": self.indices(d.get("selection", []), "selection"),
                "groups": {t: self.indices(groups[t], f"groups.{t}") for t in ("A", "B") if groups.get(t)},
                "condition": self.index(d.get("condition"), "condition", 10000, "a class index (0 for the first class)"),
                "snapshot": self.index(d.get("snapshot"), "snapshot", MAX_SNAPSHOTS,
                                       f"a training snapshot index in [0, {MAX_SNAPSHOTS - 1}], or left out")}

    def tour(self, d: dict) -> dict | None:
        """The bookmark tour's settings (explorer.core.tour.TOUR_FIELDS' bounds); its order lists bookmarks."""
        if d.get("tour") is None:
            return None
        td = self.obj(d["tour"], "tour")
        n = len(d.get("bookmarks") or [])
        order = td.get("order")
        if order is not None and (not isinstance(order, list) or len(order) > MAX_BOOKMARKS or not all(
                isinstance(k, int) and not isinstance(k, bool) and 0 <= k < n for k in order)):
            self.fail(f"'tour.order' must be a list of bookmark indices (0 to {n - 1})" if n else
                      "'tour.order' lists bookmarks, but the scene has none")
        defaults = Tour()
        return {"order": order, **{k: TOUR_FIELDS[k].json(td.get(k, getattr(defaults, k)), f"tour.{k}", self.fail)
                                   for k in ("seconds_per_leg", "hold_seconds", "method")}}

    def slice(self, d: dict, dim: int) -> dict | None:
        """The slice a D-dim scene was saved on: origin, u, v (u and v checked orthonormal to 1e-6)."""
        if d.get("slice") is None:
            return None
        sd = self.obj(d["slice"], "slice")
        out = {k: self.vec(sd.get(k), f"slice.{k}", dim, optional=False) for k in ("origin", "u", "v")}
        u, v = out["u"], out["v"]
        dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
        if abs(dot(u, u) - 1) > 1e-6 or abs(dot(v, v) - 1) > 1e-6 or abs(dot(u, v)) > 1e-6:
            self.fail("'slice.u' and 'slice.v' must be orthonormal (unit length, at right angles)")
        out["preset"] = self.text(sd.get("preset", "scene"), "slice.preset", max_len=NAME_CHARS)
        return out

