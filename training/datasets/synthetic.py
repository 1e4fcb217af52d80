"""synthetic: ten classes of procedural shapes (training/synthetic.py), no files."""

from __future__ import annotations

import numpy as np

from training.datasets.base import Dataset, Options
from training.synthetic import SYNTHETIC_NAMES, synthetic_shapes

SYNTHETIC_SIZES = {"train": 3000, "test": 600}
SYNTHETIC_SEED = 0

def load(name: str, split: str, opts: Options) -> Dataset:
    """Ten classes of jittered shapes; train and test come from two fixed seeds."""
    n = opts.n
    parts = ("train", "test") if split == "all" else (split,)
    counts = [SYNTHETIC_SIZES[part] for part in parts] if n is None else [n - n // 6, n // 6] if split == "all" else [n]
    generated = [synthetic_shapes(count, seed=SYNTHETIC_SEED + (part == "test"))
                 for part, count in zip(parts, counts)]
    return Dataset(name="synthetic", split=split,
                   images=np.concatenate([images for images, _ in generated]),
                   labels=np.concatenate([labels for _, labels in generated]),
                   label_names=list(SYNTHETIC_NAMES), source=f"procedural (seed {SYNTHETIC_SEED})")


