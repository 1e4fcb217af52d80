"""The density raster's cached per-dataset work and its latest-only worker (explorer.core.raster_worker)."""

from __future__ import annotations

import threading

import numpy as np

from explorer.core.density import DensityPoints, hex_rgb, rasterize
from explorer.core.raster_worker import RasterJob, RasterWorker

COLOURS = hex_rgb(["#ff0000", "#00ff00", "#0000ff", "#ffaa00"])


def _points(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 1.5, (n, 2)).astype(np.float32)
    means[:5] = np.nan  # never drawn
    labels = rng.integers(-1, 5, n)  # -1 and 4 are out of range for 4 colours: never drawn
    return means, labels


def test_prepared_points_give_the_same_pixels_as_the_plain_path():
    means, labels = _points()
    prepared = DensityPoints(means, labels, len(COLOURS))  # spatially reordered, colour weights cached
    for view, size, hidden, px in [((-4, 4, -3, 3), (400, 300), (), 4), ((-1, 1.5, -0.5, 1), (333, 201), (1,), 2),
                                   ((0.1, 0.2, 0.1, 0.2), (50, 50), (0, 2), 9), ((-9, 9, -9, 9), (64, 48), (), 1)]:
        plain = rasterize(means, labels, view, size, COLOURS, hidden=hidden, point_px=px, opacity=0.7)
        fast = rasterize(means, labels, view, size, COLOURS, hidden=hidden, point_px=px, opacity=0.7, prepared=prepared)
        np.testing.assert_array_equal(fast.rgba, plain.rgba)
        assert fast.points == plain.points
        inside = ((means[:, 0] >= view[0]) & (means[:, 0] < view[1]) & (means[:, 1] >= view[2]) & (means[:, 1] < view[3])
                  & (labels >= 0) & (labels < len(COLOURS)) & ~np.isin(labels, hidden))
        assert abs(plain.points - int(inside.sum())) <= 2  # (float32 bin edges)
    # prepared points of other arrays are not used
    other = rasterize(means[::-1], labels[::-1], (-4, 4, -3, 3), (100, 100), COLOURS, prepared=prepared)
    np.testing.assert_array_equal(other.rgba, rasterize(means[::-1], labels[::-1], (-4, 4, -3, 3), (100, 100), COLOURS).rgba)


def _job(i, means, labels, view):
    return RasterJob(i, means, labels, view, (200, 150), COLOURS)


def test_the_worker_is_latest_only_and_its_results_equal_the_synchronous_raster():
    means, labels = _points()
    done, gate, started = [], threading.Event(), threading.Event()
    worker = RasterWorker(lambda job, r: done.append((job.id, r)))
    compute = worker.compute

    def held(job):
        started.set()
        gate.wait(10)
        return compute(job)

    worker.compute = held
    views = [(-4 + i * 0.1, 4, -3, 3) for i in range(5)]
    worker.request(_job(0, means, labels, views[0]))
    assert started.wait(10)  # job 0 runs (held); 1..4 arrive meanwhile: each replaces the one waiting
    for i in range(1, 5):
        worker.request(_job(i, means, labels, views[i]))
    assert not worker.idle
    gate.set()
    assert worker.wait_idle(10)
    assert [i for i, _ in done] == [0, 4] and worker.replaced == 3
    for i, r in done:
        np.testing.assert_array_equal(r.rgba, rasterize(means, labels, views[i], (200, 150), COLOURS).rgba)
    # the thread ends when there is no work, and starts again for the next request
    assert not any(t.name == RasterWorker.THREAD_NAME and t.is_alive() for t in threading.enumerate()
                   if t is not threading.current_thread()) or worker.idle
    worker.compute = compute
    worker.request(_job(5, means, labels, views[1]))
    assert worker.wait_idle(10) and done[-1][0] == 5


def test_an_error_is_reported_and_the_worker_keeps_serving():
    means, labels = _points(1000)
    errors, done = [], []
    worker = RasterWorker(lambda job, r: done.append(job.id), lambda job, e: errors.append((job.id, type(e))))
    worker.request(RasterJob(0, means, labels, (0, 0, 0, 1), (10, 10), COLOURS))  # an empty view: x0 == x1
    assert worker.wait_idle(10)
    worker.request(_job(1, means, labels, (-1, 1, -1, 1)))
    assert worker.wait_idle(10)
    assert done[-1] == 1 and (errors == [] or errors[0][0] == 0)


def test_colour_sums_are_exact_however_full_a_bin_is_and_for_fractional_colours():
    from explorer.core.density import PACK2_UP_TO, PACK3_UP_TO

    rng = np.random.default_rng(3)
    for n_in_bin in (PACK3_UP_TO, PACK3_UP_TO + 1, PACK2_UP_TO + 1):
        labels = rng.integers(0, 4, n_in_bin)
        means = np.full((n_in_bin, 2), 0.25, np.float32)  # every point in one bin (row 0, column 0)
        r = rasterize(means, labels, (0, 1, 0, 1), (2, 2), COLOURS, point_px=2, opacity=1.0)
        want = np.round(np.bincount(labels, minlength=4) @ COLOURS.astype(np.float64) / n_in_bin)
        assert tuple(r.rgba[0, 0, :3]) == tuple(want.astype(np.uint8)) and r.points == n_in_bin
    frac = COLOURS * 0.5 + 0.25  # not integers: no packing
    means, labels = _points(5000)
    got = rasterize(means, labels, (-2, 2, -2, 2), (40, 40), frac, point_px=2)
    m = (labels >= 0) & (labels < 4) & np.isfinite(means).all(axis=1)
    ix = np.floor((means[m] + 2) / 4 * 40).astype(int)
    inside = (ix >= 0).all(axis=1) & (ix < 40).all(axis=1)
    ix, lab = ix[inside], labels[m][inside]
    pix = ix[:, 1] * 40 + ix[:, 0]
    n = np.bincount(pix, minlength=1600)
    sums = np.stack([np.bincount(pix, weights=frac[lab, c].astype(np.float64), minlength=1600) for c in range(3)], 1)
    nzp = n > 0
    want = np.clip(np.round(sums[nzp] / n[nzp, None].astype(np.float32)), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(got.rgba.reshape(-1, 4)[nzp, :3], want)
