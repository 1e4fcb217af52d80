"""How a model's 2-D plane looks, in numbers: the spread of the data's means, and how much of the
data's box decodes to something far from any data (the comparison table in assets/README.md).

- ``spread``: the root-mean-square distance of the means from their centroid (N(0, I) in 2-D: sqrt 2).
- ``far_fraction``: the box is the 1st..99th percentile of the means on each axis (the view the app
  opens on). A ``grid`` x ``grid`` lattice of cell centres in it is decoded (a conditional model: with
  the label of the nearest data point's mean). For any z, let d(z) be the Euclidean pixel distance
  from decode(z) to the nearest real image. A grid point is *far from data* when its d(z) is larger
  than the 95th percentile of d(mean_i) over the data's own means, i.e. when it decodes to something
  less like any real image than 95 % of the decodes at real codes. So a blurry model is not punished
  for its blur, only for regions of the plane that decode worse than the data's own codes do: gaps
  between clusters, ghosts, mixtures of classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from training.evaluate import encode_means
from training.models import LatentModel


def spread(means: np.ndarray) -> float:
    m = np.asarray(means, np.float64)
    return float(np.sqrt(((m - m.mean(0)) ** 2).sum(1).mean()))


@torch.inference_mode()
def _decode(model: LatentModel, z: np.ndarray, y: np.ndarray | None, batch: int = 1000) -> torch.Tensor:
    out = []
    for i in range(0, len(z), batch):
        yb = None if y is None else torch.from_numpy(np.asarray(y[i : i + batch], np.int64))
        out.append(model.decode(torch.from_numpy(np.asarray(z[i : i + batch], np.float32)), yb).flatten(1))
    return torch.cat(out)


def _nearest_distance(a: torch.Tensor, b: torch.Tensor, chunk: int = 512) -> torch.Tensor:
    """For each row of a, the Euclidean distance to the nearest row of b."""
    return torch.cat([torch.cdist(a[i : i + chunk], b).min(1).values for i in range(0, len(a), chunk)])


def far_fraction(model: LatentModel, images: np.ndarray, labels: np.ndarray, means: np.ndarray | None = None,
                 grid: int = 32, quantile: float = 0.95) -> dict[str, Any]:
    """The share of the data's box whose decoded image is far from every real image (see the module doc)."""
    conditional = bool(getattr(model, "conditional", False))
    if means is None:
        means = encode_means(model, images, labels=labels)
    x = torch.from_numpy(np.asarray(images, np.float32)).flatten(1)  # (N, P)
    on_data = _nearest_distance(_decode(model, means, labels if conditional else None), x)  # d(mean_i)
    threshold = float(torch.quantile(on_data, quantile))
    lo, hi = np.percentile(means, 1, axis=0), np.percentile(means, 99, axis=0)
    t = (np.arange(grid) + 0.5) / grid
    gx, gy = np.meshgrid(lo[0] + t * (hi[0] - lo[0]), lo[1] + t * (hi[1] - lo[1]))
    z = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)  # (grid^2, 2)
    y = None
    if conditional:
        nearest = torch.cdist(torch.from_numpy(z), torch.from_numpy(np.asarray(means, np.float32))).argmin(1).numpy()
        y = np.asarray(labels)[nearest]
    d = _nearest_distance(_decode(model, z, y), x)
    return {"far_fraction": float((d > threshold).float().mean()), "far_threshold": threshold,
            "box": [lo.tolist(), hi.tolist()], "grid": grid}
