"""Is the model useful? The verdict ``latent-train`` prints when training ends and stores in the checkpoint.

Numpy only, no torch and no Qt: the explorer reads the stored verdict (``warning_of``) to show the same
warning in its model panel and as a note when such a model opens. The measurements come from
training/evaluate.py (``verdict_report``); the rule is here:

- **active units** (Burda et al. 2016): latent units whose posterior mean varies over the test images
  (variance above 0.01). A model whose posterior collapsed has 0: every image encodes to the prior,
  and the decoder draws one average image whatever z is;
- **5-NN accuracy** of the test means (the training means as the reference), beside that of a 2-D PCA of
  the same images: the linear baseline a 2-D plane should match or beat;
- the **plane's shape**: ``span``, the root-mean-square distance of the means from their centre, and
  ``line_ratio``, the spread along the means' second principal axis over that along the first (0: a
  line; 1: round).

A warning (one line, with what to try) is given when a model with a KL term (a VAE, a CVAE) has 0
active units or a tiny span (the posterior collapsed) or 1 active unit (the plane is a line), or when
any model's means lie on a line. A model without a warning may still separate its classes poorly; the
5-NN accuracies say how well.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from training.kinds import KIND_SPECS

__all__ = ["judge", "plane_shape", "summary", "warning_of"]

LINE_RATIO = 0.1  # second principal spread / first below this: the means lie on a line
TINY_SPAN = 0.05  # a KL-trained model's means within this RMS of their centre (the prior has sqrt D): collapsed
TRY = "try more steps (--steps 6000), --free-bits 1 or a smaller --beta (0.5)"
MAX_WARNING = 300  # characters of a stored warning the explorer shows


def plane_shape(means: np.ndarray) -> dict[str, float]:
    """``span`` and ``line_ratio`` of the means (N, D) (module doc); a D > 2 model's over its top two
    principal axes, the plane the explorer opens it on."""
    m = np.asarray(means, np.float64)
    if m.ndim != 2 or len(m) < 2:
        return {"span": 0.0, "line_ratio": 0.0}
    centred = m - m.mean(0)
    span = float(np.sqrt((centred**2).sum(1).mean()))
    sv = np.linalg.svd(centred, compute_uv=False) if m.shape[1] >= 2 else np.zeros(2)
    ratio = float(sv[1] / sv[0]) if len(sv) >= 2 and sv[0] > 0 else 0.0
    return {"span": span, "line_ratio": ratio}


def judge(*, means: np.ndarray, latent_dim: int, stochastic: bool, active_units: int, knn5_acc: float,
          split: str, pca_knn5_acc: float | None = None) -> dict[str, Any]:
    """The verdict as stored in the checkpoint's metadata (``verdict``): the numbers and the warning or None.

    ``means``: the test means (N, D); ``stochastic``: the model has a posterior spread (a KL term);
    ``split``: where ``knn5_acc`` was measured ("test": test means against the training means).
    """
    shape = plane_shape(means)
    v: dict[str, Any] = {"active_units": int(active_units), "latent_dim": int(latent_dim),
                         "knn5_acc": _number(knn5_acc), "knn_split": split, "pca_knn5_acc": _number(pca_knn5_acc),
                         "span": round(shape["span"], 4), "line_ratio": round(shape["line_ratio"], 4)}
    v["warning"] = _warning(v, stochastic)
    return v


def _number(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def _warning(v: dict[str, Any], stochastic: bool) -> str | None:
    active, d = v["active_units"], v["latent_dim"]
    if stochastic and (active == 0 or v["span"] < TINY_SPAN):
        return f"{active} active latent units: the decoder ignores z (posterior collapse); {TRY}."
    if stochastic and active == 1 and d >= 2:
        return f"1 active latent unit of {d}: the plane is a line (the decoder ignores the other axis); {TRY}."
    if d >= 2 and v["line_ratio"] < LINE_RATIO:
        return (f"the means lie on a line (the plane's second axis spreads {v['line_ratio']:.0%} as far as the "
                f"first); {TRY}.")
    return None


def summary(v: dict[str, Any]) -> list[str]:
    """The verdict in a few lines for the terminal: the numbers, then the warning if there is one."""
    where = "the test means, training means as reference" if v.get("knn_split") == "test" else "the means"
    acc = v.get("knn5_acc")
    line = f"{v.get('active_units')} of {v.get('latent_dim')} latent units active"
    if isinstance(acc, (int, float)):
        pca = v.get("pca_knn5_acc")
        base = f"; a 2-D PCA of the same images: {pca:.3f}" if isinstance(pca, (int, float)) else ""
        line += f"; 5-NN accuracy {acc:.3f} ({where}{base})"
    out = [line]
    if v.get("warning"):
        out.append(f"warning: {v['warning']}")
    return out


def warning_of(metadata: Any, config: Any = None) -> str | None:
    """The warning for a checkpoint's metadata, or None: the stored verdict's; a checkpoint made before
    verdicts were stored is judged by its recorded active units (the only measure it has)."""
    if not isinstance(metadata, dict):
        return None
    stored = metadata.get("verdict")
    if isinstance(stored, dict) and "warning" in stored:
        w = stored["warning"]
        return w[:MAX_WARNING] if isinstance(w, str) and w else None
    cfg = config if isinstance(config, dict) else metadata.get("config")
    metrics = metadata.get("metrics")
    if not (isinstance(cfg, dict) and isinstance(metrics, dict)):
        return None
    spec, active, d = KIND_SPECS.get(cfg.get("kind")), metrics.get("test_active_units"), cfg.get("latent_dim")
    beta = cfg.get("beta")
    if (spec is None or type(active) is not int or type(d) is not int
            or not isinstance(beta, (int, float)) or not spec.stochastic(beta)):
        return None
    return _warning({"active_units": active, "latent_dim": d, "span": 1.0, "line_ratio": 1.0}, stochastic=True)
