"""Write the README's pictures of the talk tools: the bookmark tour (docs/tour.gif, the app's own tour
export), the plane shaded off the data (docs/off-manifold.png), the training curves (docs/curves.png,
``latent-train info --plot``) and training live from the app (docs/live-training.png).

    .venv/bin/python docs/make_talk.py            # about two minutes (it trains a small model)
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from explorer.api import Explorer

docs = Path(__file__).resolve().parent
root = docs.parent
scene = root / "examples" / "talk.json"

with Explorer(size=(1280, 720)) as ex:
    ex.window.open_scene(str(scene))
    ex.wait_idle(60)
    ex.state.tour.method = "spherical"
    out = ex.export_tour(docs / "tour.gif", fps=12, seconds_per_leg=1.2, hold_seconds=0.6, scale=5)
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    ex.state.off_manifold = True
    ex.state.view = (-4.0, 4.0, -3.6, 3.6)
    ex.wait_idle(120)
    ex.state.point = (0.0, 0.0)
    ex.wait_idle(60)
    shown = ex.shown()
    offset, means = shown.z - shown.base_z, ex.means  # the scene's vector moves the pane's z by offset

    def clearance(q: np.ndarray) -> float:
        """How far the point and the point plus the vector lie from the nearest encoded mean."""
        return min(float(np.sqrt(((means - r) ** 2).sum(1)).min()) for r in (q, q + offset))

    # a corner of the plane where no image was put, found for the model shown (inside the view, vector too)
    grid = [np.array([x, y]) for x in np.linspace(-3.2, 3.2, 17) for y in np.linspace(-2.8, 2.8, 15)]
    inside = [q for q in grid if abs((q + offset)[0]) < 3.4 and abs((q + offset)[1]) < 3.0]
    ex.state.point = tuple(float(v) for v in max(inside, key=clearance))
    ex.wait_idle(60)
    ex.screenshot(docs / "off-manifold.png")
    print(f"wrote {docs / 'off-manifold.png'}")

subprocess.run([sys.executable, "-m", "training.cli", "info", str(root / "assets" / "fashion-mnist-vae.safetensors"),
                "--plot", str(docs / "curves.png")], check=True, stdout=subprocess.DEVNULL)
print(f"wrote {docs / 'curves.png'}")

with tempfile.TemporaryDirectory() as tmp, Explorer(root / "assets" / "mnist-5k-vae.safetensors", size=(1280, 720)) as ex:
    from PySide6.QtWidgets import QDockWidget

    ex.window.findChild(QDockWidget, "Model").raise_()  # the Model tab: the curves grow there
    ex.train("mnist-5k", Path(tmp) / "live.safetensors", epochs=12, snapshots=6, extra=["--hidden", "256"])
    live = ex.window.live
    if not ex._wait(lambda: len(live.history) >= 6 and ex.window._open_job is None, 600):
        sys.exit(f"training did not get far enough: {live.result}")
    ex.wait_idle(60)
    ex.screenshot(docs / "live-training.png")
    print(f"wrote {docs / 'live-training.png'}")
