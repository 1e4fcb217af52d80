"""The bulk lane's grid decode, old layout against new, in one process without Qt (issue 11).

    python benchmarks/grid_lane_ab.py --side 22 --rounds 8 [--busy-gui]

Two ModelServices with the bundled model: "old" = the bulk lane as it was (one call, 2 OpenMP threads),
"new" = as it is (1 torch thread, batches split over the lane's thread and a helper:
explorer/core/chunked_decode.py). A side x side grid of z is requested on the "grid" channel of each
in turn; DecodeResult.seconds is reported (median over the rounds after the first). ``--busy-gui``: a
thread running pure Python meanwhile, taking the GIL as a repainting GUI thread does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--side", type=int, default=22)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--busy-gui", action="store_true")
    a = p.parse_args()
    import explorer.core.model_service as ms
    from explorer.core.session import default_model_path
    from training.checkpoint import load

    model = load(str(default_model_path()))
    channels = ms.LANES["bulk"][0]

    def make(variant: str):
        done: dict = {}
        ms.LANES["bulk"] = (channels, 2) if variant == "old" else (channels, 1)
        ms.CHUNKED_LANES = () if variant == "old" else ("bulk",)
        svc = ms.ModelService()
        svc.channel("grid").result.connect(lambda r: done.__setitem__(r.id, r))
        svc.set_model(model)
        return svc, done

    services = {v: make(v) for v in ("old", "new")}
    g = np.linspace(-3, 3, a.side, dtype=np.float32)
    xx, yy = np.meshgrid(g, g)
    z = np.column_stack([xx.ravel(), yy.ravel()])
    stop = threading.Event()

    def spin() -> None:
        x = 0
        while not stop.is_set():
            for i in range(1000):
                x += i

    if a.busy_gui:
        threading.Thread(target=spin, daemon=True).start()
    res: dict[str, list[float]] = {"old": [], "new": []}
    try:
        for rnd in range(a.rounds):
            for v, (svc, done) in services.items():
                rid = svc.channel("grid").request(z)
                if not svc.wait_idle(120):
                    raise SystemExit("no result in 120 s")
                if rnd > 0:
                    res[v].append(done[rid].seconds)
    finally:
        stop.set()
        for svc, _ in services.values():
            svc.close()
    print(f"{len(z)} z, load {os.getloadavg()[0]:.2f}{', busy GUI thread' if a.busy_gui else ''}")
    for v, xs in res.items():
        print(f"{v}: median {statistics.median(xs):.3f} s ({' '.join(f'{x:.3f}' for x in xs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
