"""Training curves: a checkpoint's history per epoch as series, and a figure of them (``latent-train info
MODEL --plot OUT.png``). No torch; matplotlib only when a figure is drawn.

Two panels share the epoch axis: the loss and its reconstruction term with the test negative ELBO (nats
per image), and the KL term (its own scale: a few nats beside a few hundred). Training snapshots are
marked as dotted vertical lines at their (fractional) epoch. The app's model info panel draws the same
:func:`series` with pyqtgraph, live while a model trains.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["CURVES", "plot_history", "series", "snapshot_epochs"]

# (key, where it is in a history entry, label, panel 0 / 1, colour)
CURVES = (
    ("loss", ("loss",), "training loss", 0, "#1f77b4"),
    ("recon", ("recon",), "training reconstruction", 0, "#17becf"),
    ("test", ("test", "neg_elbo"), "test \u2212ELBO", 0, "#d62728"),
    ("kl", ("kl",), "training KL", 1, "#2ca02c"),
    ("test_kl", ("test", "kl"), "test KL", 1, "#ff7f0e"),
)


def _get(entry: dict, path: tuple[str, ...]) -> float | None:
    v: Any = entry
    for k in path:
        v = v.get(k) if isinstance(v, dict) else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def series(history: list[dict] | None) -> dict[str, tuple[list[float], list[float]]]:
    """``{key: (epochs, values)}`` for each curve of :data:`CURVES` the history has (epochs from 1)."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for key, path, *_ in CURVES:
        xs, ys = [], []
        for e in history or []:
            v, ep = _get(e, path), _get(e, ("epoch",))
            if v is not None and ep is not None:
                xs.append(ep)
                ys.append(v)
        if xs:
            out[key] = (xs, ys)
    return out


def snapshot_epochs(snapshots: list[dict] | None, history: list[dict] | None = None) -> list[float]:
    """Where each snapshot was taken, in epochs (0: before training): its step placed between the steps at
    which the history's epochs ended (histories before the "step" key: the snapshot's whole epoch)."""
    ends = [(0.0, 0.0)] + [(float(e["epoch"]), float(e.get("steps", e.get("step")))) for e in history or []
                           if isinstance(e.get("steps", e.get("step")), int) and isinstance(e.get("epoch"), int)]
    out = []
    for s in snapshots or []:
        step, epoch = s.get("step"), s.get("epoch")
        if isinstance(step, int) and len(ends) > 1:
            k = next((j for j in range(1, len(ends)) if step <= ends[j][1]), len(ends) - 1)
            (e0, s0), (e1, s1) = ends[k - 1], ends[k]
            out.append(e0 + (e1 - e0) * (step - s0) / max(s1 - s0, 1.0))
        elif isinstance(epoch, (int, float)):
            out.append(float(epoch))
    return out


def plot_history(meta: dict, path: str | os.PathLike, title: str = "") -> Path:
    """Draw ``meta``'s history (a checkpoint's metadata) to ``path`` (PNG, SVG or PDF by the suffix)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    from training.fileio import atomic_write

    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(2, f"no such folder ({path.parent})")
    curves = series(meta.get("history"))
    if not curves:
        raise ValueError("the checkpoint records no training history to plot")
    cfg = meta.get("config", {})
    ds = meta.get("dataset", {})
    snaps = snapshot_epochs(meta.get("snapshots"), meta.get("history"))
    fig = Figure(figsize=(9, 6.4), dpi=110, layout="constrained")
    axes = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    for key, _, label, panel, colour in CURVES:
        if key in curves:
            xs, ys = curves[key]
            axes[panel].plot(xs, ys, marker="o" if len(xs) < 40 else None, ms=4, lw=2, color=colour, label=label)
    for ax, ylabel in zip(axes, ("nats per image", "KL, nats per image"), strict=True):
        ax.set_ylabel(ylabel, fontsize=12)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=11)
        for i, x in enumerate(snaps):
            ax.axvline(x, color="#555", ls=":", lw=1, label="snapshot" if i == 0 and ax is axes[0] else None)
        if ax.lines:
            ax.legend(fontsize=10, loc="best")
    axes[1].set_xlabel("epoch", fontsize=12)
    kind = f"{cfg.get('kind', '?')}, beta {cfg.get('beta', '?')}, {cfg.get('latent_dim', '?')}-D"
    fig.suptitle((f"{title} \u2014 " if title else "") + f"{ds.get('name', '?')}: {kind}", fontsize=14)
    import io

    buf = io.BytesIO()
    fmt = path.suffix.lower().lstrip(".") or "png"
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"{path.name}: the plot is written as .png, .svg or .pdf")
    fig.savefig(buf, format=fmt)
    atomic_write(path, buf.getvalue())
    return path
