"""Row 2, drag: MouseMove events at a fixed rate along a circle through the data, with the decode
marker held (``marker``) or with hover preview on (``hover``); distinct frames shown per second and the
GUI thread's blocking (gaps between driver-loop iterations)."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QEvent

from speed.driver import GUARD, LEFT, NOBTN, Driver, ms, pct


def run(d: Driver, args, mode: str) -> dict:
    win, view = d.win, d.view
    lo, hi = d.data_box()
    c = (lo + hi) / 2
    r = 0.4 * float((hi - lo).min())
    for th0 in np.linspace(0, 2 * np.pi, 24, endpoint=False):  # start where a click decodes (not on the legend)
        p = d.pixel(c[0] + r * np.cos(th0), c[1] + r * np.sin(th0))
        if d.clickable(p):
            break
    # put the marker at the start of the circle with a click, and wait for its decode
    n0 = len(d.point_ids)
    d.mouse(QEvent.Type.MouseButtonPress, p, LEFT, LEFT)
    d.mouse(QEvent.Type.MouseButtonRelease, p, LEFT, NOBTN)
    if len(d.point_ids) == n0 or not d.wait(lambda: d.point_ids[-1] in d.shown, args.timeout):
        raise SystemExit("drag: could not place the marker with a click")
    d.settle(0.2)
    moved = []
    def on_point(new, _old):
        if win.state.point_source in ("drag", "hover"):
            moved.append(new)

    win.state.events.point.connect(on_point)
    if mode == "hover":
        win.set_hover(True)
    else:
        m = view.marker.pos()
        d.mouse(QEvent.Type.MouseButtonPress, d.pixel(m.x(), m.y()), LEFT, LEFT)
    buttons = NOBTN if mode == "hover" else LEFT
    svc = win.service.service.lane("pane")
    dec0, rep0, req0, fr0 = svc.decoded, svc.replaced, len(d.point_ids), len(d.frames)
    period, dur = 1.0 / args.drag_rate, args.drag_seconds
    iters, sends, pe_times, late = [], [], [], 0
    GUARD.top_up()
    t0 = time.perf_counter()
    next_t, sent, last_pos = t0, 0, p
    while True:
        now = time.perf_counter()
        iters.append(now)
        if now - t0 >= dur:
            break
        if now >= next_t:
            th = th0 + 2 * np.pi * (now - t0) / dur
            last_pos = d.pixel(c[0] + r * np.cos(th), c[1] + r * np.sin(th))
            d.mouse(QEvent.Type.MouseMove, last_pos, NOBTN, buttons)
            sent += 1
            sends.append(time.perf_counter() - now)
            next_t += period
            if next_t < time.perf_counter():  # fell behind by a whole period: skip, as Qt compresses moves
                late += 1
                next_t = t0 + period * (int((time.perf_counter() - t0) / period) + 1)
        a = time.perf_counter()
        d.app.processEvents()
        pe_times.append(time.perf_counter() - a)
    t_end = time.perf_counter()
    if mode == "hover":
        win.set_hover(False)
    else:
        d.mouse(QEvent.Type.MouseButtonRelease, last_pos, LEFT, NOBTN)
    d.wait(lambda: svc.pending() == 0, args.timeout)
    d.settle(0.2)
    win.state.events.point.disconnect(on_point)
    def distinct_frames(shown_frames) -> int:
        n, last_z = 0, None
        for _t, res in shown_frames:
            z = tuple(np.round(res.z, 7))
            if z != last_z:
                n += 1
            last_z = z
        return n

    distinct = distinct_frames([(t, res) for t, res in d.frames[fr0:] if t0 <= t <= t_end])
    per_pane = [distinct] + [distinct_frames([(t, r) for t, r in fr if t0 <= t <= t_end]) for fr in d.slot_frames.values()]
    gaps = np.diff(iters)
    busy = gaps[gaps > 0.001]  # iterations that did work (most spins of an idle loop take microseconds)
    return {"mode": mode, "seconds": t_end - t0, "events_sent": sent, "late_skips": late, "marker_moves": len(moved),
            "requests": len(d.point_ids) - req0, "decoded": svc.decoded - dec0, "replaced": svc.replaced - rep0,
            "frames_per_s": min(per_pane) / (t_end - t0), "distinct_frames": distinct,
            "frames_per_s_per_pane": [n / (t_end - t0) for n in per_pane],
            "gap_max": float(gaps.max()), "gap_p99": pct(busy, 99), "gap_median": pct(busy, 50), "busy_iterations": len(busy),
            "gaps_over_16ms": int((gaps > 0.016).sum()), "time_in_gaps_over_16ms": float(gaps[gaps > 0.016].sum()), "process_events_max": max(pe_times),
            "send_max": max(sends, default=float("nan")), "send_median": pct(sends, 50)}


def rows(args, env: dict, r: dict) -> list[tuple]:
    rows = []
    for key in ("drag-marker", "drag-hover"):
        if key in r:
            g = r[key]
            what = ("press on the decode marker (TargetItem), MouseMove" if g["mode"] == "marker"
                    else "hover preview on, MouseMove (no button)")
            how = (f"{what} at {args.drag_rate:g}/s along a circle for {g['seconds']:.1f} s "
                   f"({g['events_sent']} moves sent, {g['late_skips']} late; {g['requests']} requests, "
                   f"{g['decoded']} decoded, {g['replaced']} replaced in the pending slot); frames = decodeShown with a new z"
                   + (f"; the slowest of {len(g['frames_per_s_per_pane'])} panes (per pane: "
                      + ", ".join(f"{f:.1f}" for f in g['frames_per_s_per_pane']) + "/s)" if args.compare else ""))
            rows.append((f"drag ({g['mode']}): distinct frames shown per s", ">= 55/s", f"{g['frames_per_s']:.1f}/s", how))
            how = (f"gaps between driver-loop iterations (each: the due MouseMove if any + one processEvents); "
                   f"p99 and median ({ms(g['gap_median'])}) over the {g['busy_iterations']} iterations longer than 1 ms; "
                   f"{g['gaps_over_16ms']} gaps over 16 ms, {g['time_in_gaps_over_16ms']:.2f} s in all; longest processEvents "
                   f"{ms(g['process_events_max'])}; MouseMove handling median {ms(g['send_median'])}, max {ms(g['send_max'])}")
            rows.append((f"drag ({g['mode']}): GUI-thread blocking, max / p99", "never > 16 ms",
                         f"{ms(g['gap_max'])} / {ms(g['gap_p99'])}", how))
    return rows
