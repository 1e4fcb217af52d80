"""Watch it learn: one session per training snapshot of the open model, and the frames of its movie. Qt-free.

A checkpoint made with ``latent-train --snapshots N`` holds N earlier states of training besides the
final weights (training/snapshots.py). :func:`snapshot_sessions` turns them into sessions over the main
session's dataset (the same arrays, not copies): each with its means (from the means cache, keyed per
snapshot, else encoded here), its nearest-point index and its prepared decode / encode functions. It
runs on a worker thread, never the GUI's; the caller stores each session it yields in
``main.snapshot_sessions[k]``, and ``state.snapshot = k`` then shows it (explorer.core.pane.shown_session).

:func:`movie_frames` renders the plane from the first snapshot to the final weights as RGB frames,
a coloured splat per point (explorer.core.density.rasterize), for a GIF or MP4 (explorer.core.export).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from explorer.core.density import hex_rgb, rasterize
from explorer.core.means_cache import MeansCache
from explorer.core.palettes import colour
from explorer.core.session import Cancelled, Session, SessionError, file_sha256, open_session
from explorer.core.snapshot_framing import View, frame_boxes, robust_box


def describe(entry: dict[str, Any] | None, n: int) -> str:
    """Plain words for a snapshot entry {index, epoch, step, metrics}: "snapshot 3 of 8 · epoch 1, step 40";
    None: the final weights."""
    if entry is None:
        return "final weights"
    return f"snapshot {entry['index'] + 1} of {n} \u00b7 epoch {entry['epoch']}, step {entry['step']}"


def metrics_words(entry: dict[str, Any] | None, final_metrics: dict[str, Any] | None = None) -> str:
    """The metrics a snapshot was taken with (test -ELBO, reconstruction, KL, train loss), as short words."""
    m = (entry or {}).get("metrics") if entry is not None else final_metrics
    m = m or {}
    parts = []
    for key, name in (("test_neg_elbo", "test -ELBO"), ("test_recon", "recon"), ("test_kl", "KL"),
                      ("train_loss", "train loss")):
        v = m.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            parts.append(f"{name} {v:.2f}")
    return ", ".join(parts)


def load_models(main: Session) -> list[Any]:
    """Every snapshot's model of the main session's file, from one pass over the file (validated as the
    main weights are). SessionError if the file changed since it was opened or cannot be read."""
    from training.checkpoint import CheckpointError, load_snapshots

    path = main.model_path
    try:
        if file_sha256(path) != main.sha256:
            raise SessionError(f"{path}: changed on disk since it was opened; open it again to see its snapshots.")
        models = load_snapshots(path)
    except CheckpointError as e:
        raise SessionError(str(e)) from None
    except OSError as e:
        raise SessionError(f"{path}: cannot be read ({e.strerror or e}).") from None
    if len(models) != len(main.snapshots):
        raise SessionError(f"{path}: changed on disk since it was opened; open it again to see its snapshots.")
    return models


def snapshot_sessions(main: Session, *, skip: Iterable[int] = (), progress: Callable[[int, int], None] | None = None,
                      cancel: threading.Event | None = None, cache: MeansCache | None = None,
                      batch_size: int = 2000, threads: int | None = None, encode: bool = True) -> Iterator[Session]:
    """Yield a prepared session for each training snapshot of ``main``'s file not in ``skip``, oldest first.

    Each shows ``main``'s dataset (the same arrays); its means come from the means cache (key: the file's
    SHA-256 and the snapshot index) or are encoded here. ``progress(done, total)`` after each snapshot;
    setting ``cancel`` stops at the next batch (``Cancelled``); ``threads``: OpenMP threads for this thread's
    torch work (one leaves the other core to the decodes). Run it on a worker thread. ``encode=False``: the
    sessions come without means, for explorer.core.means_job.means_job on the model service (the app)."""
    n = len(main.snapshots)
    skip = set(skip)
    todo = [k for k in range(n) if k not in skip]
    say = progress or (lambda done, total: None)
    if not todo:
        return
    say(n - len(todo), n)
    models = load_models(main)  # one pass over the file (not cancellable: a few seconds at most)
    for k in todo:
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        s = open_session(main.model_path, like=main, snapshot=k, sha256=main.sha256, cache=cache, cancel=cancel,
                         batch_size=batch_size, threads=threads, prepare=True, model=models[k], encode=encode)
        models[k] = None  # the session holds it now
        skip.add(k)
        say(len(skip), n)
        yield s


def movie_sessions(main: Session) -> list[Session]:
    """The planes of the movie, in order: every computed snapshot, then the final weights."""
    return [main.snapshot_sessions[k] for k in sorted(main.snapshot_sessions)] + [main]


def movie_view(sessions: list[Session], pad: float = 0.06) -> View:
    """One (x0, x1, y0, y1) that frames the bulk (0.5..99.5 percentiles) of every frame's points, square."""
    return frame_boxes([robust_box(s.means) for s in sessions], pad, square=True)


def render_plane(means: np.ndarray, labels: np.ndarray, n_classes: int, view: tuple[float, float, float, float],
                 size: int = 400, palette: str = "tab10", point_px: float = 4.0,
                 hidden: Iterable[int] = ()) -> np.ndarray:
    """The points as an RGB image (size, size, 3) in [0, 1] on white, coloured by class, row 0 at the top."""
    colours = hex_rgb([colour(palette, k) for k in range(n_classes)])
    r = rasterize(means, labels, view, (size, size), colours, hidden=tuple(hidden), point_px=point_px, opacity=1.0)
    rgba = r.rgba[::-1].astype(np.float32) / 255.0  # rasterize puts row 0 at y0, the bottom
    alpha = rgba[..., 3:4]
    img = rgba[..., :3] * alpha + (1.0 - alpha)
    if img.shape[:2] != (size, size):  # bins of point_px / 2 pixels: back to the requested size
        ky, kx = -(-size // img.shape[0]), -(-size // img.shape[1])
        img = np.repeat(np.repeat(img, ky, axis=0), kx, axis=1)[:size, :size]
    return img


def caption(img: np.ndarray, text: str) -> np.ndarray:
    """``img`` (H, W, 3) in [0, 1] with ``text`` in dark grey at its top left (Pillow's built-in font, scaled
    to the image where Pillow can)."""
    from PIL import Image, ImageDraw, ImageFont

    im = Image.fromarray(np.clip(np.round(img * 255), 0, 255).astype(np.uint8))
    try:
        font = ImageFont.load_default(size=max(10, im.height // 28))
    except (TypeError, ValueError, OSError):  # an older Pillow, or one without FreeType: the small bitmap font
        font = ImageFont.load_default()
    ImageDraw.Draw(im).text((6, 4), text, fill=(40, 40, 40), font=font)
    return np.asarray(im, np.float32) / 255.0


def movie_frames(main: Session, size: int = 400, palette: str = "tab10", point_px: float = 4.0,
                 hidden: Iterable[int] = (), progress: Callable[[int, int], None] | None = None,
                 cancel: threading.Event | None = None) -> np.ndarray:
    """(F, size, size, 3) float32 frames: each computed snapshot's plane, then the final one, in one view
    (framing every frame's points), each captioned with its snapshot, epoch and step."""
    sessions = movie_sessions(main)
    view = movie_view(sessions)
    frames = np.empty((len(sessions), size, size, 3), np.float32)
    for i, s in enumerate(sessions):
        if cancel is not None and cancel.is_set():
            raise Cancelled()
        img = render_plane(s.means, s.labels, len(s.label_names), view, size, palette, point_px, hidden)
        entry = s.metadata.get("snapshot") if s.snapshot is not None else None
        frames[i] = caption(img, describe(entry, len(main.snapshots)))
        if progress is not None:
            progress(i + 1, len(sessions))
    return frames
