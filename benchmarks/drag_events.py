"""Where a drag's GUI-thread time goes, by Qt event: a marker drag of explorer_speed.py (the same
window, model and path), with an application event filter that stamps every event delivered.

For each event type and receiver class it prints the count and the GUI-thread CPU time until the next
event was delivered (``time.thread_time``: what handling that event cost, children included), and the
composition of the longest driver-loop iterations (wall time), as explorer_speed.py's gap measure sees
them. Used for the caption / layout findings in benchmarks/README.md (issue 11).

    QT_QPA_PLATFORM=offscreen python benchmarks/drag_events.py [--drag-mode hover] [--drag-seconds 4]
"""

from __future__ import annotations

import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import explorer_speed as es
from PySide6.QtCore import QEvent, QObject


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    mode = "marker"
    if "--drag-mode" in argv:
        i = argv.index("--drag-mode")
        mode = argv[i + 1]
        del argv[i : i + 2]
    args = es.parse_args(["--only", "drag", "--drag-seconds", "4", *argv])
    d = es.Driver(args)
    log: list[tuple[float, float, str, QEvent.Type]] = []

    class Stamp(QObject):
        def eventFilter(self, obj, ev):
            log.append((time.perf_counter(), time.thread_time(), type(obj).__name__, ev.type()))
            return False

    stamp = Stamp()
    real = d.app.processEvents

    def process(*a):  # iteration boundaries, as explorer_speed.py's driver loop sees them
        log.append((time.perf_counter(), time.thread_time(), "<iteration>", None))
        real(*a)
        log.append((time.perf_counter(), time.thread_time(), "</iteration>", None))

    d.app.processEvents = process
    d.app.installEventFilter(stamp)
    r = es.bench_drag(d, args, mode)
    d.app.removeEventFilter(stamp)
    d.app.processEvents = real
    print(f"drag ({mode}): {r['frames_per_s']:.1f} frames/s, gap max {r['gap_max'] * 1e3:.1f} ms, "
          f"p99 {r['gap_p99'] * 1e3:.1f} ms, {r['gaps_over_16ms']} gaps over 16 ms")
    cpu, count = collections.Counter(), collections.Counter()
    for (_w, c, name, kind), (_w2, c2, _n, _k) in zip(log, log[1:]):
        if kind is not None:
            key = f"{kind.name} -> {name}"
            cpu[key] += c2 - c
            count[key] += 1
    print("\nGUI-thread CPU by event (until the next event):")
    for key, total in cpu.most_common(14):
        print(f"  {key:44s} {count[key]:5d} x {total / count[key] * 1e3:6.3f} ms = {total * 1e3:7.1f} ms")
    iters, start, cur = [], None, []
    for w, _c, name, kind in log:
        if name == "<iteration>":
            start, cur = w, []
        elif name == "</iteration>" and start is not None:
            iters.append((w - start, start, cur))
            start = None
        elif start is not None:
            cur.append((w, name, kind))
    print("\nthe five longest iterations (events that took > 0.8 ms of wall time):")
    for dur, start, evs in sorted(iters, key=lambda x: -x[0])[:5]:
        print(f"  {dur * 1e3:.1f} ms")
        for i, (w, name, kind) in enumerate(evs):
            nxt = evs[i + 1][0] if i + 1 < len(evs) else start + dur
            if nxt - w > 0.0008:
                print(f"    +{(w - start) * 1e3:5.1f} ms  {(nxt - w) * 1e3:5.1f} ms  {kind.name} -> {name}")
    d.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
