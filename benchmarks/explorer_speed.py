"""Speed of the explorer as a user feels it, driven through real Qt mouse events.

    QT_QPA_PLATFORM=offscreen python benchmarks/explorer_speed.py                 # the table in benchmarks/README.md
    QT_QPA_PLATFORM=offscreen python benchmarks/explorer_speed.py --model /tmp/syn.safetensors \\
        --dataset synthetic --clicks 30 --drag-seconds 3 --scatter-repeats 3 --pan-repeats 6 \\
        --startup-repeats 1 --grid-repeats 3                                         # a quick smoke test

Every measurement goes through the real window (explorer.qt.main_window.MainWindow, shown on the
offscreen platform). Mouse input is QMouseEvents sent to ``window.view.viewport()`` (never a call
to a click / move slot); results are read from the window's signals while the driver spins
``QApplication.processEvents``. Settings a user makes in a menu (hover preview, underlay, grid
density) are made with the window's own methods. What each row measures is printed in its "how"
column; ``--json FILE`` keeps the raw numbers.

1. click: press + release at a random point of the data; latency = from just before the press
   to ``window.decodeShown`` for that click's request (matched by the request id, recorded by a
   wrapper around ``window.service.request`` on the "pane" channel); and "click to pixels": to the
   decode pane's first paint of the decoded image after that (decodeShown is emitted first).
2. drag: press on the decode marker (pyqtgraph TargetItem), MouseMove at 120 events/s along a
   circle through the data, release (``--drag-mode hover``: moves with hover preview on instead).
   Distinct decoded frames shown per second, and the longest gaps between driver-loop iterations
   (each iteration = deliver one due mouse event + one ``processEvents``), i.e. GUI-thread blocking.
3. scatter: ``view.set_points`` with 70,000 encoded Fashion-MNIST means (train + test) + the first
   synchronous repaint of the plot.
4. pan/zoom: ``vb.setRange`` to a new range + synchronous repaint, 70,000 points shown.
5. startup: the real ``latent-explorer`` command in a subprocess with LATENT_EXPLORER_STARTUP_PROBE=1
   (explorer/qt/app.py prints the wall time when the window is first shown and when the first
   decode is shown), from just before ``Popen``.
6. grid: the manifold underlay at density 30 on a square view (a 30 x 30 grid: 900 centres in one
   "grid" request to ``window.service`` (the model service's bulk lane), 2 torch threads, then ``latent.tile``); from the request
   (``set_underlay(True)``) to ``window.underlayShown``; plus the one-call-per-cell baseline.
7. snapshots: scrubbing a model's training snapshots (Watch it learn) at 10,000 points: a model made
   with ``latent-train --snapshots 8`` (``--snapshot-model``, else a tiny one trained on synthetic data
   first), shown over the bundled Fashion-MNIST test split; once every snapshot's plane is computed and
   framed (the Training panel's "Frame all"), ``state.snapshot = k`` (what the Training panel's slider
   does) + a synchronous repaint, timed, for a random walk over the snapshots and the final weights;
   plus the same split into state change and repaint, without the grid, and with the per-class items
   rebuilt (the path every set_points took before), for comparison.
8. load (only with ``--only load``; run first, in its own window): N busy processes beside the app
   (``--load N``), clicks from the moment the plane shows, through the light phase (numpy decoder,
   torch importing on the open worker) into the torch phase: clicks sent and shown, latency, and
   where each click's time went (benchmarks/speed/load.py).
9. dims (only with ``--only dims``; a model of latent dimension > 2, issue 18): a dims slider of the
   Slice panel dragged through its range (``slider.setValue`` at 60/s from a timer in the event loop),
   with ``state.fade`` off and on: frames (moves whose decoded image was shown) per s, move to image,
   the GUI thread's time per move, and with fading the density raster's refresh; plus re-projection
   (``state.slice.use_axes(0, 1)`` alternating with ``use_pca()``) (benchmarks/speed/dims.py).

The counts are options (``--help``); run it on a quiet machine for numbers worth quoting.

This file is the entry point; the rows live in benchmarks/speed/ (driver.py, one module per row, cli.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy, as latent-explorer sets it (explorer/__main__.py)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # speed/, also when imported from another directory

from speed import cli
from speed.cli import BENCHES, model_meta, report  # noqa: F401 - the names other benchmarks import
from speed.drag import run as bench_drag  # noqa: F401 - benchmarks/drag_events.py
from speed.driver import GUARD, PAINTS, PANE_PAINTS, Driver, ms, pct, scatter_points, wait_for_raster  # noqa: F401
from speed.scatter import run_pan as bench_pan  # noqa: F401


def parse_args(argv=None):
    return cli.parse_args(argv, __doc__.split("\n\n")[0])


def main(argv=None) -> int:
    return cli.main(argv, __doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
