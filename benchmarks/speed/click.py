"""Row 1, click: press + release at a random point of the data; latency from just before the press to
``window.decodeShown`` for that click's request, and to the pane's first paint of it ("click to pixels")."""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent

from speed.driver import LEFT, NOBTN, PANE_PAINTS, Driver, ms, pct


def run(d: Driver, args, rng) -> dict:
    lo, hi = d.data_box()
    lat, pix, gui, dec, wait, missed = [], [], [], [], [], 0
    total = args.click_warmup + args.clicks
    for i in range(total):
        for _ in range(1000):  # a point of the plot that a click decodes (not the marker, not the legend)
            x, y = lo + rng.random(2) * (hi - lo)
            p = d.pixel(x, y)
            if d.clickable(p):
                break
        n_before = len(d.point_ids)
        t0 = time.perf_counter()
        d.mouse(QEvent.Type.MouseButtonPress, p, LEFT, LEFT)
        d.mouse(QEvent.Type.MouseButtonRelease, p, LEFT, NOBTN)
        t_sent = time.perf_counter()
        if len(d.point_ids) == n_before:
            missed += 1
            if os.environ.get("EXPLORER_SPEED_DEBUG"):
                print(f"click at pixel ({p.x():.0f}, {p.y():.0f}) = z ({x:.3f}, {y:.3f}) made no request", file=sys.stderr)
            d.settle(args.click_gap_ms / 1e3)
            continue
        rid = d.point_ids[-1]
        if not d.wait(lambda rid=rid: rid in d.shown and d.all_shown(), args.timeout):
            raise SystemExit(f"click {i}: no decode shown within {args.timeout} s ({d.errors})")
        t1, res = d.shown[rid]
        t1 = max([t1] + [d.slot_shown[j][ids[-1]] for j, ids in d.slot_ids.items()])  # the last pane to show it
        # the pane paints that image: the first paint of the decoded image after it was shown
        d.wait(lambda t1=t1: bool(PANE_PAINTS) and PANE_PAINTS[-1] >= t1, 1.0)
        tp = min((t for t in PANE_PAINTS if t >= t1), default=float("nan"))
        if i >= args.click_warmup:
            lat.append(t1 - t0)
            pix.append(tp - t0)
            gui.append(t_sent - t0)
            dec.append(res.seconds)
            wait.append(t1 - res.posted - res.seconds)
        d.settle(args.click_gap_ms / 1e3)
    return {"n": len(lat), "missed": missed, "median": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat, default=float("nan")),
            "gui_median": pct(gui, 50), "gui_max": max(gui, default=float("nan")), "decode_median": pct(dec, 50), "wait_median": pct(wait, 50),
            "pixels_median": pct(pix, 50), "pixels_p99": pct(pix, 99), "latencies": lat}


def rows(args, env: dict, r: dict) -> list[tuple]:
    rows = []
    if "click" in r:
        c = r["click"]
        how = (f"{c['n']} clicks (press+release QMouseEvents on the viewport) at random points of the data, after "
               f"{args.click_warmup} warm-up; from before the press to window.decodeShown for that click's request id; "
               f"GUI part (press+release handling) median {ms(c['gui_median'])}, max {ms(c['gui_max'])}; "
               f"worker decode (DecodeResult.seconds) median {ms(c['decode_median'])}; waiting for the worker + delivery "
               f"to the GUI median {ms(c['wait_median'])}; max {ms(c['max'])}"
               + (f"; {c['missed']} clicks made no request" if c["missed"] else ""))
        if args.compare:
            how = (f"{len(args.compare) + 1} planes side by side (--compare); until EVERY pane shows the click; " + how)
        rows += [("click-to-image latency, median", "< 5 ms", ms(c["median"]), how),
                 ("click-to-image latency, p99", "< 16 ms", ms(c["p99"]), "same clicks")]
        if c.get("pixels_median") is not None:
            rows.append(("click to pixels (decoded image painted), median / p99", "",
                         f"{ms(c['pixels_median'])} / {ms(c['pixels_p99'])}",
                         "same clicks, from before the press to the decode pane's first paint of the decoded image "
                         "after decodeShown (decodeShown comes before the pane has set the image)"))
    return rows
