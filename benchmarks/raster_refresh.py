"""The density raster's refresh after a pan / zoom, as the user meets it, in the real window.

    QT_QPA_PLATFORM=offscreen python benchmarks/raster_refresh.py --points 1000000 70000 --steps 20

For each step: ``vb.setRange`` (a pan by up to 20 % or a zoom x0.6..1.6) + a synchronous repaint; that is
the moment the view settles. Then the driver spins ``processEvents`` (no mouse input) until the layer
has put a new raster on screen (``DensityLayer.renders`` grows), and repaints. Measured:

- latency: from the settled view to the new raster painted (the debounce, the render wherever it runs,
  the delivery and the repaint);
- GUI-thread stall: the longest gap between two ticks of a 1 ms probe QTimer in that time (anything
  that kept the event loop from running it: a synchronous render, a long event, the GIL held by
  another thread); the driver waits as the app's event loop does (``processEvents(WaitForMoreEvents)``,
  asleep with the GIL released until an event comes), not in a busy loop that would take the GIL
  from the worker after each of its numpy calls;
- the pan/zoom repaint itself.

The same file runs against an older tree (copy it into that tree's benchmarks/ and set PYTHONPATH):
the measurement only uses ``view.density.renders``, so a synchronous renderer is timed the same way.
The points are Fashion-MNIST (train + test) encoded by the bundled model (explorer_speed.scatter_points),
cached in ``--means-file``, and for more than 70,000 points repeated with a little jitter.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import explorer_speed as es  # the same window driver
from PySide6.QtCore import QEventLoop, QTimer

WAIT = QEventLoop.ProcessEventsFlag.WaitForMoreEvents


def points(d, n: int, means_file: str, rng) -> tuple[np.ndarray, np.ndarray, list[str]]:
    p = Path(means_file)
    if p.exists():
        z = np.load(p)
        means, labels, names = z["means"], z["labels"], [str(s) for s in z["names"]]
    else:
        a = es.parse_args(["--scatter-points", "70000"])
        means, labels, names, how = es.scatter_points(d, a, rng)
        print(how, file=sys.stderr)
        np.savez(p, means=means, labels=labels, names=np.array(names))
    if n <= len(means):
        return means[:n], labels[:n], names
    reps = int(np.ceil(n / len(means)))
    big = (np.tile(means, (reps, 1))[:n] + rng.normal(0, 0.01, (n, 2))).astype(np.float32)
    return big, np.tile(labels, reps)[:n], names


def bench(d, means, labels, names, steps: int, rng) -> dict:
    view, vb = d.view, d.view.vb
    view.set_points(np.zeros((0, 2), np.float32), np.zeros(0, np.int64), [])
    d.settle(0.1)
    view.set_points(means, labels, names)
    view.reset_view()
    d.settle(1.0)
    ticks: list[float] = []
    probe = QTimer()
    probe.setInterval(1)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    (x0, x1), (y0, y1) = vb.viewRange()
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    lat, stall, gap, pan, missed = [], [], [], [], 0
    for i in range(steps + 1):  # one warm-up
        s = float(rng.choice([0.6, 0.8, 1.25, 1.6])) if i % 2 else 1.0
        dx, dy = (rng.random(2) - 0.5) * 0.4 * np.array([w, h])
        nx, ny = cx + dx, cy + dy
        d.settle(0.1)
        renders = view.density.renders
        probe.start()
        t0 = time.perf_counter()
        vb.setRange(xRange=(nx - s * w / 2, nx + s * w / 2), yRange=(ny - s * h / 2, ny + s * h / 2), padding=0)
        d.vp.repaint()
        t1 = time.perf_counter()  # the view has settled
        ticks.clear()
        longest = 0.0
        while view.density.renders == renders and time.perf_counter() - t1 < 2.0:
            a = time.perf_counter()
            d.app.processEvents(WAIT)  # as the app's event loop does: sleeps (GIL released) until an event comes
            longest = max(longest, time.perf_counter() - a)
        shown = view.density.renders != renders
        t_shown = time.perf_counter()
        d.vp.repaint()
        t2 = time.perf_counter()
        probe.stop()
        tk = np.array([t1, *ticks, t_shown])  # (the repaint of the new raster after it is a frame, timed in the latency)
        if i == 0:
            continue
        if not shown:
            missed += 1
            continue
        pan.append(t1 - t0)
        lat.append(t2 - t1)
        stall.append(longest)
        gap.append(float(np.diff(tk).max()))
    view.reset_view()
    q = lambda xs, p: float(np.percentile(xs, p)) if xs else float("nan")  # noqa: E731
    return {"points": len(means), "n": len(lat), "missed": missed, "latency_median": q(lat, 50), "latency_max": max(lat, default=np.nan),
            "stall_median": q(stall, 50), "stall_max": max(stall, default=np.nan), "probe_gap_median": q(gap, 50),
            "probe_gap_max": max(gap, default=np.nan), "pan_median": q(pan, 50), "pan_p90": q(pan, 90)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--points", type=int, nargs="+", default=[1_000_000, 70_000])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", default="1280x800")
    p.add_argument("--means-file", default="/tmp/latent-explorer-fashion-means-70k.npz")
    a = p.parse_args()
    args = es.parse_args(["--size", a.size])
    rng = np.random.default_rng(a.seed)
    es.GUARD.top_up()
    d = es.Driver(args)
    import explorer

    print(f"tree: {Path(explorer.__file__).resolve().parents[1]}; load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print("| points | view settled -> new raster painted, median / max | GUI stall: longest 1 ms probe gap, median / max "
          "| pan/zoom repaint, median / p90 |")
    print("|---:|---|---|---|")
    for n in a.points:
        means, labels, names = points(d, n, a.means_file, rng)
        r = bench(d, means, labels, names, a.steps, rng)
        print(f"| {n:,} | {es.ms(r['latency_median'])} / {es.ms(r['latency_max'])} | "
              f"{es.ms(r['probe_gap_median'])} / {es.ms(r['probe_gap_max'])} | "
              f"{es.ms(r['pan_median'])} / {es.ms(r['pan_p90'])} |" + (f" ({r['missed']} steps without a new raster)" if r["missed"] else ""),
              flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}; {a.steps} steps each", file=sys.stderr)
    sys.stdout.flush()
    d.close()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
