"""Small datasets the project makes itself, for the small-data table in assets/README.md.

    python benchmarks/small_data.py make DIR        # writes DIR/mnist8 (a folder: tree of 8x8 PNGs)

``DIR/mnist8``: 1,800 digits of the bundled ``mnist-5k`` (180 of each digit, its training rows),
each shrunk to 8 x 8 grey pixels (box filter) and written as ``DIR/mnist8/<digit>/<row>.png``. It
mirrors a user's report: under 2,000 grey 8 x 8 images in ten class folders, trained with
``latent-train --dataset folder:DIR/mnist8 --image-size 28`` (the folder loader scales them back up
to 28 x 28 and keeps a fixed 15 % as the test split: 1,530 train, 270 test).

The other small set needs no files: ``--dataset fashion-mnist --limit 1000`` (the first 1,000
training images; the full 10,000-image test split).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PER_CLASS = 180


def make_mnist8(out: Path, per_class: int = PER_CLASS) -> Path:
    data = np.load(ROOT / "assets" / "mnist-5k.npz")
    x, y = data["x"][:4000], data["y"][:4000]  # the training rows
    folder = out / "mnist8"
    for digit in range(10):
        (folder / str(digit)).mkdir(parents=True, exist_ok=True)
        for row in np.flatnonzero(y == digit)[:per_class]:
            small = Image.fromarray(x[row]).resize((8, 8), Image.Resampling.BOX)
            small.save(folder / str(digit) / f"{row:04d}.png")
    return folder


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "make":
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    print(make_mnist8(Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
