"""Write docs/interpolation.gif: the app's own GIF export of an interpolation (Sneaker -> Trouser).

    .venv/bin/python docs/make_gif.py
"""

import sys
from pathlib import Path

from explorer.api import Explorer

out = Path(__file__).resolve().parent / "interpolation.gif"
ex = Explorer(size=(1280, 720))
ip = ex.state.interpolation
ip.a, ip.b, ip.method = (1.18, 1.06), (1.06, -1.23), "spherical"
done = []
ex.window.interp.exported.connect(done.append)
ex.window.interp.export_gif(str(out), n_frames=24)
if not ex._wait(lambda: done or ex.window.last_error, 60) or not done:
    sys.exit(f"no GIF: {ex.window.last_error}")
ex.close()
print(f"wrote {out} ({out.stat().st_size:,} bytes)")
