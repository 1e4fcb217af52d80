"""The density raster's cached per-dataset work and its latest-only worker (explorer.core.raster_worker)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

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


def test_new_points_past_preview_from_are_first_drawn_from_a_sample(monkeypatch):
    """The first job for many new points: a preview from a seeded sample (its count scaled to all the
    points), then the full raster, equal to rendering every point; the next job has the points prepared
    and gets the full raster only."""
    import explorer.core.raster_worker as rw

    monkeypatch.setattr(rw, "PREVIEW_FROM", 100_000)
    monkeypatch.setattr(rw, "PREVIEW_POINTS", 20_000)
    rng = np.random.default_rng(4)
    means = rng.normal(size=(200_000, 2)).astype(np.float32)
    labels = rng.integers(0, 3, len(means))
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.float32)
    got = []
    worker = rw.RasterWorker(lambda job, r: got.append((job.id, r)))
    job = rw.RasterJob(1, means, labels, (-2.0, 2.0, -2.0, 2.0), (200, 150), colours)
    worker.request(job)
    assert worker.wait_idle(30)
    assert [(i, r.preview) for i, r in got] == [(1, True), (1, False)]
    full = rasterize(means, labels, job.view, job.size_px, colours)
    np.testing.assert_array_equal(got[1][1].rgba, full.rgba)
    assert got[0][1].points == pytest.approx(full.points, rel=0.05)
    # the preview looks like the full raster: the same pixels lit where many points are
    lit_full, lit_prev = got[1][1].rgba[..., 3] > 0, got[0][1].rgba[..., 3] > 0
    assert (lit_prev & lit_full).sum() / lit_prev.sum() > 0.99
    worker.request(rw.RasterJob(2, means, labels, (-1.0, 1.0, -1.0, 1.0), (200, 150), colours))
    assert worker.wait_idle(30)
    assert [(i, r.preview) for i, r in got[2:]] == [(2, False)]
