"""The first view frames all the data (issue 19, item 7), on the bundled models at 1280x720 and 1920x1080.

Before, the view was the 0.5..99.5 percentile box: at 1280x720 the VAE's points below z2 = -2.85 and the
CVAE's trousers above z2 = 3.5 were off screen, and the dots at the edges cut in half."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explorer.core.framing import outliers

ROOT = Path(__file__).resolve().parents[3]
EDGE_PX = 4  # every point's dot (4 px) whole: its centre at least this far inside the plot


def _in_view(ex) -> np.ndarray:
    """(N,) bool: the plotted point's centre is inside the visible plot, at least EDGE_PX from its edges."""
    v = ex.view()
    x0, x1, y0, y1 = v.view_rect()
    w, h = v.vb.width(), v.vb.height()
    mx, my = EDGE_PX * (x1 - x0) / w, EDGE_PX * (y1 - y0) / h
    p = ex.plotted()
    return (p[:, 0] >= x0 + mx) & (p[:, 0] <= x1 - mx) & (p[:, 1] >= y0 + my) & (p[:, 1] <= y1 - my)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
@pytest.mark.parametrize("model", ["fashion-mnist-vae", "fashion-mnist-cvae"])
def test_the_first_view_frames_every_point_and_each_class(qapp, model, size):
    from explorer.api import Explorer

    ex = Explorer(ROOT / "assets" / f"{model}.safetensors", size=size)
    try:
        ex.app.processEvents()
        p, labels = ex.plotted(), ex.state.session.labels
        seen = _in_view(ex)
        assert seen.mean() >= 0.995
        far = outliers(p)  # the handful the rule leaves out (at most max(5, 0.1 %) a side)
        assert far.sum() <= 4 * max(5, len(p) // 1000)
        inner = ~far
        assert seen[inner].all(), f"{(~seen & inner).sum()} points are off screen or cut at its edge: {p[~seen & inner][:5]}"
        for k in np.unique(labels):  # and each class's bulk
            assert seen[(labels == k) & inner].all(), ex.state.session.label_names[k]
        # the data fills the plot: the framed box is not much larger than the points
        x0, x1, y0, y1 = ex.view().view_rect()
        q = p[inner]
        assert (q[:, 1].max() - q[:, 1].min()) / (y1 - y0) >= 0.8 or (q[:, 0].max() - q[:, 0].min()) / (x1 - x0) >= 0.8
    finally:
        ex.close()
