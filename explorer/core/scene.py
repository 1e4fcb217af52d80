"""Scene files: the explorer state as JSON, and back. Pure core code (no Qt), validated on load.

A scene names its model file (relative to the scene file) and, optionally, that file's SHA-256.
When the hash is present, a scene made for another model is refused instead of silently showing the
wrong thing; when it is absent, the scene opens with a note. Parsing is bounded: size, nesting depth
and number length each have a limit and one sentence (:mod:`explorer.core.scene_file`, the format
and its parser). ``examples/talk.json`` is a complete example (README.md, "Scene files").
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from explorer.core.scene_file import Scene, SceneError, load_scene, parse_scene
from explorer.core.state import Bookmark, ExplorerState, Vector
from explorer.core.tour import Tour
from explorer.core.values import path_problem

__all__ = ["Bookmark", "Scene", "SceneError", "Vector", "apply_scene", "load_scene", "parse_scene", "save_scene",
           "scene_from_state"]


def scene_from_state(state: ExplorerState, scene_path: str | os.PathLike | None = None) -> Scene:
    """The state as a scene. The model path is written relative to the scene file when possible."""
    s = state.session
    if s is None:
        raise SceneError("there is no model open, so there is no scene to save.")

    def rel(path: Path) -> str:
        path = Path(path).resolve()
        if scene_path is not None:  # relative to the scene file: scenes travel with their models
            with contextlib.suppress(ValueError):  # another drive (Windows): kept absolute
                path = Path(os.path.relpath(path, Path(scene_path).resolve().parent))
        return path.as_posix()

    model_path = Path(rel(s.model_path))
    ip = state.interpolation
    return Scene(
        model_path=model_path.as_posix(), model_sha256=s.sha256, dataset=s.dataset_name, split=s.split,
        point=state.point, base=state.base, a=ip.a, b=ip.b, t=ip.t, method=ip.method, frames=ip.frames,
        vectors=[Vector(**v.to_json()) for v in state.vectors],
        bookmarks=[Bookmark(b.name, b.z) for b in state.bookmarks], view=state.view, hover=state.hover,
        underlay=state.underlay, density=state.density, hidden_classes=list(state.hidden_classes),
        presentation=state.presentation, snap=state.snap, palette=state.palette, point_size=state.point_size,
        opacity=state.opacity, dim=state.dim,
        compared=[(rel(c.model_path), c.sha256) for c in state.compared], link_views=state.link_views,
        selection=list(state.selection), groups={t: list(v) for t, v in state.groups.items()},
        condition=state.condition if s.conditional else None,
        plot_samples=state.plot_samples, ellipses=state.ellipses, off_manifold=state.off_manifold,
        snapshot=state.snapshot,
        latent_dim=state.ndim, fade=state.fade, tour=_tour_of(state),
        slice=None if state.ndim == 2 else {"origin": state.slice.origin, "u": state.slice.u, "v": state.slice.v,
                                           "preset": state.slice.preset},
    )


def _tour_of(state: ExplorerState) -> dict | None:
    """The tour's settings for a scene; None while they are the defaults (the key is left out)."""
    t, defaults = state.tour, Tour()
    out = {"order": t.order, "seconds_per_leg": t.seconds_per_leg, "hold_seconds": t.hold_seconds, "method": t.method}
    same = all(out[k] == getattr(defaults, k) for k in out)
    return None if same else out


def check_scene(scene: Scene, state: ExplorerState, source: str = "scene") -> list[str]:
    """Refuse a scene that does not fit the open model; returns notes for the user (may be empty)."""
    s = state.session
    if s is None:
        raise SceneError(f"{source}: open its model first.")
    notes = []
    if scene.model_sha256 is None:
        notes.append(f"{source}: has no model sha256, so it was not checked against the open model "
                     f"(sha256 {s.sha256}); add it to pin the scene to this model.")
    else:
        check_model(scene, s.sha256, source)
    if scene.compared is not None:
        if len(scene.compared) != len(state.compared):
            raise SceneError(f"{source}: compares {len(scene.compared) + 1} models, but {len(state.compared) + 1} "
                             "are open; open its models first. Nothing was changed.")
        for (path, sha), c in zip(scene.compared, state.compared, strict=True):
            if sha is not None and sha != c.sha256:
                raise SceneError(f"{source}: was made with {Path(path).name} (sha256 {sha}) beside the main model, "
                                 f"not {c.model_path.name} (sha256 {c.sha256}); nothing was changed.")
    if scene.selection and max(scene.selection) >= len(s.labels):
        raise SceneError(f"{source}: selects image {max(scene.selection)}, but the dataset shown has "
                         f"{len(s.labels):,} images; nothing was changed.")
    for tag, idx in scene.groups.items():
        if idx and max(idx) >= len(s.labels):
            raise SceneError(f"{source}: group {tag} holds image {max(idx)}, but the dataset shown has "
                             f"{len(s.labels):,} images; nothing was changed.")
    n_classes = len(s.label_names)
    bad = [k for k in scene.hidden_classes if k >= n_classes]
    if bad:
        raise SceneError(f"{source}: hides class {bad[0]}, but the dataset shown has {n_classes} classes; "
                         "nothing was changed.")
    if scene.condition is not None and scene.condition >= n_classes:
        raise SceneError(f"{source}: decodes as class {scene.condition}, but the dataset shown has {n_classes} "
                         "classes; nothing was changed.")
    if scene.latent_dim != state.ndim:
        raise SceneError(f"{source}: was made for a {scene.latent_dim}-D latent space, but the open model's is "
                         f"{state.ndim}-D; nothing was changed.")
    if scene.snapshot is not None and scene.snapshot >= len(s.snapshots):
        raise SceneError(f"{source}: shows training snapshot {scene.snapshot}, but the model holds "
                         f"{len(s.snapshots)}; nothing was changed.")
    return notes


def apply_scene(scene: Scene, state: ExplorerState, source: str = "scene") -> list[str]:
    """Validate against the open model, then set the state; on any failure nothing changes.

    Returns notes for the user (e.g. that the scene has no hash to check).
    """
    notes = check_scene(scene, state, source)
    # -- from here on, everything is known to be valid
    state.hidden_classes = tuple(scene.hidden_classes)
    if scene.compared is not None:
        state.link_views = scene.link_views
    state.selection = tuple(scene.selection)
    state.groups = scene.groups
    state.snapshot = scene.snapshot  # before the view: showing a snapshot frames it; the scene's view wins
    if scene.view is not None:
        state.view = scene.view
    state.density = scene.density
    state.hover = scene.hover
    state.underlay = scene.underlay
    state.snap = scene.snap
    if scene.palette is not None:  # a scene that names no palette keeps the user's
        state.palette = scene.palette
    state.point_size, state.opacity, state.dim = scene.point_size, scene.opacity, scene.dim
    if scene.condition is not None:
        state.condition = scene.condition
    state.plot_samples, state.ellipses = scene.plot_samples, scene.ellipses
    state.off_manifold = scene.off_manifold
    state.bookmarks.clear()
    state.bookmarks.extend(Bookmark(b.name, b.z) for b in scene.bookmarks)
    state.vectors.clear()
    state.vectors.extend(Vector(**v.to_json()) for v in scene.vectors)
    state.fade = scene.fade
    tour = scene.tour or {}
    defaults = Tour()
    state.tour.playing = False
    state.tour.order = tour.get("order")
    for k in ("seconds_per_leg", "hold_seconds", "method"):
        setattr(state.tour, k, tour.get(k, getattr(defaults, k)))
    if scene.slice is not None:  # before the point: the point is plane coordinates on this slice
        sl = scene.slice
        state.slice.set_plane(sl["origin"], sl["u"], sl["v"], sl.get("preset") or "scene")
    ip = state.interpolation
    ip.playing = False
    ip.frames = scene.frames
    ip.method = scene.method
    ip.a, ip.b = scene.a, scene.b
    ip.t = scene.t
    if scene.point is not None:
        state.set_point(scene.point, source="scene")
    if scene.base == "interpolation" and ip.ready:
        state.base = "interpolation"
    state.presentation = scene.presentation
    return notes


def save_scene(scene: Scene | ExplorerState, path: str | os.PathLike) -> Path:
    """Write a scene (or the state, as a scene) atomically; the file is a valid template to edit."""
    from training.fileio import atomic_write

    problem = path_problem(path)
    if problem:
        raise SceneError(problem)
    path = Path(path)
    if isinstance(scene, ExplorerState):
        scene = scene_from_state(scene, path)
    atomic_write(path, (json.dumps(scene.to_json(), indent=2) + "\n").encode())
    return path


def check_model(scene: Scene, model_sha256: str, source: str = "scene") -> None:
    """Refuse a scene made for another model (compares the model file's SHA-256)."""
    if scene.model_sha256 is not None and scene.model_sha256 != model_sha256:
        raise SceneError(
            f"{source}: was made for another model ({Path(scene.model_path).name}, sha256 {scene.model_sha256}), "
            f"not the one open (sha256 {model_sha256}); nothing was changed."
        )
