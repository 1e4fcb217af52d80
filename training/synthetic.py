"""The ``synthetic`` dataset: ten classes of procedural grey shapes, for fast tests and demos."""

from __future__ import annotations

import numpy as np

SYNTHETIC_NAMES = ["horizontal bar", "rising bar", "vertical bar", "falling bar", "small ring",
                   "medium ring", "large ring", "plus", "cross", "square"]
SYNTHETIC_ANGLES = [0, 45, 90, 135, 0, 0, 0, 0, 45, 0]  # degrees, before jitter


def synthetic_shapes(n: int, seed: int = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """n grey shapes, (n, 1, size, size) float32 in [0, 1], and their labels 0..9 (balanced).

    Classes: bars at 0 / 45 / 90 / 135 degrees, rings of three radii, plus, cross,
    square outline; each with random position, angle, size, stroke width, brightness
    and noise. Uses the legacy RandomState, whose stream numpy keeps frozen across versions.
    """
    rng = np.random.RandomState(seed)
    labels = rng.permutation(np.arange(n) % 10).astype(np.int64)
    scale = size / 28  # every length below is in pixels of a 28 x 28 image
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) - (size - 1) / 2
    images = np.zeros((n, size, size), np.float32)
    for label in range(10):
        rows = np.flatnonzero(labels == label)
        m = len(rows)
        jitter = lambda low, high, m=m: rng.uniform(low, high, (m, 1, 1)).astype(np.float32)  # noqa: E731
        x, y = xs - jitter(-2, 2) * scale, ys - jitter(-2, 2) * scale
        angle = np.deg2rad(SYNTHETIC_ANGLES[label] + jitter(-8, 8))
        along = x * np.cos(angle) - y * np.sin(angle)  # rotated coordinates (y points down)
        across = x * np.sin(angle) + y * np.cos(angle)
        distance = _stroke_distance(label, along, across, x, y, jitter, scale)
        width = jitter(0.8, 1.8) * scale
        images[rows] = np.clip(width + 0.5 - distance, 0, 1) * jitter(0.7, 1.0)
    images += rng.normal(0, 0.05, images.shape).astype(np.float32)
    np.clip(images, 0, 1, out=images)
    return images[:, None], labels


def _stroke_distance(label, along, across, x, y, jitter, scale) -> np.ndarray:
    """Distance of every pixel to the centre line of the class's shape."""
    def bar(u, v):
        half_length = jitter(8, 11) * scale
        return np.hypot(v, np.maximum(np.abs(u) - half_length, 0))

    if label < 4:  # one bar, at the class's angle
        return bar(along, across)
    if label < 7:  # rings of radius 3.5 / 6.5 / 9.5
        radius = (3.5 + 3 * (label - 4) + jitter(-0.7, 0.7)) * scale
        return np.abs(np.hypot(x, y) - radius)
    if label < 9:  # plus (label 7: 0 + 90 degrees) and cross (label 8: 45 + 135 degrees)
        return np.minimum(bar(along, across), bar(across, along))
    half_side = jitter(6, 8) * scale  # square outline
    return np.abs(np.maximum(np.abs(along), np.abs(across)) - half_side)
