"""Capture the window's state as a Scene, and apply a Scene to the window (all checks first)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from explorer.core.scene import Scene, SceneError, Vector, check_model


def capture(w, scene_path: str | os.PathLike | None = None) -> Scene:
    s = w.session
    if s is None:
        raise SceneError("there is no model open, so there is no scene to save")
    model_path = s.model_path.resolve()
    if scene_path is not None:  # relative to the scene file when it is near it: scenes travel with models
        try:
            model_path = Path(os.path.relpath(model_path, Path(scene_path).resolve().parent))
        except ValueError:  # other drive (Windows)
            pass
    ip = w.interp
    vec_panel = getattr(w, "vectors", None)
    x0, x1, y0, y1 = w.view.view_rect()
    hidden = [k for k in range(len(w.view.scatters)) if not w.view.scatters[k].isVisible()]
    return Scene(
        model_path=str(model_path),
        model_sha256=s.sha256,
        dataset=s.dataset_name,
        split=s.split,
        point=None if w.current_z is None else [float(v) for v in w.current_z],
        a=None if ip.a is None else [float(v) for v in ip.a],
        b=None if ip.b is None else [float(v) for v in ip.b],
        t=float(ip.t),
        method=ip.current_method(),
        frames=int(ip.frames.value()),
        vectors=vec_panel.vectors() if vec_panel is not None else [],
        bookmarks=list(w.bookmarks.marks),
        view=(float(x0), float(x1), float(y0), float(y1)),
        hover=w.act_hover.isChecked(),
        underlay=w.act_underlay.isChecked(),
        density=int(w.density.value()),
        hidden_classes=hidden,
        presentation=w.presentation.on,
    )


def apply(w, scene: Scene, source: str = "scene") -> None:
    """Validate against the open model, then change the window; on any failure nothing changes."""
    s = w.session
    if s is None:
        raise SceneError(f"{source}: open its model first")
    check_model(scene, s.sha256, source)
    n_classes = len(s.label_names)
    bad = [k for k in scene.hidden_classes if k >= n_classes]
    if bad:
        raise SceneError(f"{source}: hides class {bad[0]}, but the dataset shown has {n_classes} classes; nothing was changed.")
    vec_panel = getattr(w, "vectors", None)
    if scene.vectors and vec_panel is None:
        raise SceneError(f"{source}: has attribute vectors, but this window has no vector panel; nothing was changed.")

    # -- from here on, everything is known to be valid
    for k, sc in enumerate(w.view.scatters):
        sc.setVisible(k not in scene.hidden_classes)
    if scene.view is not None:
        x0, x1, y0, y1 = scene.view
        w.view.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
    w.density.setValue(scene.density)
    w.set_hover(scene.hover)
    w.set_underlay(scene.underlay)
    w.bookmarks.set_bookmarks(scene.bookmarks)
    if scene.point is not None:
        w.decode_at(scene.point[0], scene.point[1], move_marker=True)
    if vec_panel is not None:
        vec_panel.set_vectors([Vector(v.name, list(v.vector), v.strength, v.enabled, v.auc) for v in scene.vectors])
    w.interp.frames.setValue(scene.frames)
    w.interp.set_endpoints(None if scene.a is None else np.array(scene.a, np.float32),
                           None if scene.b is None else np.array(scene.b, np.float32), scene.t, scene.method)
    if scene.presentation != w.presentation.on:
        w.set_presentation(scene.presentation)
