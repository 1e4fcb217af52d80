"""Repaint cost of the plane's grid: the app's opaque GridLines against pyqtgraph's translucent grid.

    QT_QPA_PLATFORM=offscreen python benchmarks/grid_repaint.py [--rounds 2] [--size 1280x800]

The bundled model and its 10,000 test points. Each round times, for each grid, the median of 40
repaints after a small pan and 40 after a marker move (what a drag, a scrub or a click costs the GUI
thread), interleaved so that the machine's drift hits both alike.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from explorer.api import Explorer


def repaints(ex: Explorer, n: int = 40) -> tuple[float, float]:
    v = ex.window.view
    vp = v.viewport()
    pan, marker = [], []
    for i in range(n):
        x0, x1, y0, y1 = v.view_rect()
        d = 0.02 * (x1 - x0) * (1 if i % 2 else -1)
        v.vb.setRange(xRange=(x0 + d, x1 + d), yRange=(y0, y1), padding=0)
        ex.app.processEvents()
        t = time.perf_counter()
        vp.repaint()
        pan.append(time.perf_counter() - t)
        v.set_marker(0.01 * i, 0.0)
        t = time.perf_counter()
        vp.repaint()
        marker.append(time.perf_counter() - t)
    return float(np.median(pan)) * 1e3, float(np.median(marker)) * 1e3


def use_grid(ex: Explorer, ours: bool) -> None:
    v = ex.window.view
    for c in v.grid.curves:
        c.setVisible(ours)
    v.plot_item.showGrid(x=not ours, y=not ours, alpha=0.12)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--size", default="1280x800")
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    ex = Explorer(size=(w, h))
    print("| round | grid | pan repaint (ms, median) | marker repaint (ms, median) |\n|---|---|---|---|")
    for r in range(1, args.rounds + 1):
        for ours, name in ((True, "opaque GridLines (the app)"), (False, "pyqtgraph showGrid(alpha=0.12)")):
            use_grid(ex, ours)
            pan, marker = repaints(ex)
            print(f"| {r} | {name} | {pan:.1f} | {marker:.1f} |")
    ex.close()


if __name__ == "__main__":
    main()
