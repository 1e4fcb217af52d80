"""The density raster off the GUI thread (explorer/qt/plane/density_layer.py): the raster shown for a view is
core's synchronous rasterize of that view, pixel for pixel; a stale result never replaces a newer one;
style changes re-render; zooming in still switches to real points."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from explorer.core.density import hex_rgb, rasterize
from explorer.core.palettes import colour

WAIT_MS = 10_000
N, CLASSES = 80_000, 10


@pytest.fixture
def big(window, qtbot):
    """The main plane showing 80,000 points in 10 classes (the raster), settled."""
    view = window.view
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1.5, (CLASSES, 2))
    labels = rng.integers(0, CLASSES, N)
    means = (centres[labels] + rng.normal(0, 0.5, (N, 2))).astype(np.float32)
    view.vb.setRange(xRange=(-4, 4), yRange=(-4, 4), padding=0)
    view.set_points(means, labels, [f"class {k}" for k in range(CLASSES)])
    assert view.density.active
    qtbot.waitUntil(lambda: view.density.idle, timeout=WAIT_MS)
    return view, means, labels


def expected(view, means, labels, state, view_rect=None, alpha=None):
    vb = view.vb.sceneBoundingRect()
    return rasterize(means, labels, view_rect or view.view_rect(), (int(vb.width()), int(vb.height())),
                     hex_rgb([colour(state.palette, k) for k in range(CLASSES)]), hidden=state.hidden_classes,
                     point_px=state.point_size * view.scale, opacity=state.opacity if alpha is None else alpha)


def settle(qtbot, view) -> None:
    qtbot.waitUntil(lambda: view.density.idle, timeout=WAIT_MS)


def test_the_background_raster_equals_the_synchronous_one_for_each_view(big, window, qtbot):
    view, means, labels = big
    for rng in [((-3, 2), (-2, 3)), ((-1, 1), (-1, 1)), ((-6, 6), (-5, 5))]:
        renders = view.density.renders
        view.vb.setRange(xRange=rng[0], yRange=rng[1], padding=0)
        settle(qtbot, view)
        assert view.density.renders > renders, "a new raster was shown for the new view"
        assert view.density.image.isVisible() and not view.density.showing_points
        np.testing.assert_array_equal(view.density.image.image, expected(view, means, labels, window.state).rgba)
        (x0, x1, y0, y1) = view.view_rect()
        r = view.density.image.mapRectToParent(view.density.image.boundingRect())
        assert np.allclose([r.left(), r.top(), r.width(), r.height()], [x0, y0, x1 - x0, y1 - y0])


def test_a_stale_result_never_replaces_a_newer_view(big, window, qtbot):
    view, means, labels = big
    worker = view.density.worker
    compute, gate, started, held = worker.compute, threading.Event(), threading.Event(), []

    def hold_first(job):
        if not held:  # hold the first job until the test lets it go
            held.append(job.id)
            started.set()
            assert gate.wait(10)
        return compute(job)

    worker.compute = hold_first
    try:
        view.vb.setRange(xRange=(-3, 1), yRange=(-3, 1), padding=0)  # view A: its job is held on the worker
        qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
        view_a = view.view_rect()
        view.vb.setRange(xRange=(0, 3), yRange=(0, 3), padding=0)  # view B, while A's raster is being made
        qtbot.waitUntil(lambda: not view.density._timer.isActive(), timeout=WAIT_MS)  # B's job is asked for (waiting)
        dropped = view.density.dropped
        gate.set()  # A's raster arrives after B was asked for: it must be dropped, and B's shown
        settle(qtbot, view)
    finally:
        gate.set()
        worker.compute = compute
    assert view.density.dropped == dropped + 1
    want_b = expected(view, means, labels, window.state)
    np.testing.assert_array_equal(view.density.image.image, want_b.rgba)
    assert not np.array_equal(want_b.rgba, expected(view, means, labels, window.state, view_rect=view_a).rgba)


def test_a_result_for_a_view_that_moved_on_is_dropped_even_before_the_next_request(big, window, qtbot):
    view, means, labels = big
    worker = view.density.worker
    compute, gate, started = worker.compute, threading.Event(), threading.Event()

    def hold(job):
        started.set()
        assert gate.wait(10)
        return compute(job)

    worker.compute = hold
    try:
        before = view.density.image.image.copy()
        window.state.opacity = 0.5  # a style change asks at once: held
        qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
        worker.compute = compute
        view.vb.setRange(xRange=(-2, 2), yRange=(-1, 3), padding=0)  # the view moves; its request is debounced
        gate.set()
        qtbot.waitUntil(lambda: view.density.dropped > 0 or view.density.idle, timeout=WAIT_MS)
        # the old raster (the previous one) stays until the new view's own raster is shown
        settle(qtbot, view)
    finally:
        gate.set()
        worker.compute = compute
    assert not np.array_equal(before, view.density.image.image)
    np.testing.assert_array_equal(view.density.image.image, expected(view, means, labels, window.state).rgba)


def test_hidden_classes_palette_opacity_and_dim_re_render(big, window, qtbot):
    view, means, labels = big
    st = window.state
    for change in (lambda: setattr(st, "hidden_classes", (0, 3)), lambda: setattr(st, "palette", _other_palette(st)),
                   lambda: setattr(st, "opacity", 0.4), lambda: setattr(st, "point_size", st.point_size + 4),
                   lambda: setattr(st, "dim", True)):
        renders = view.density.renders
        change()
        settle(qtbot, view)
        assert view.density.renders > renders
        alpha = st.opacity * (view.density.dim_factor if st.dim else 1.0)
        np.testing.assert_array_equal(view.density.image.image, expected(view, means, labels, st, alpha=alpha).rgba)


def _other_palette(state) -> str:
    from explorer.core.palettes import PALETTES

    return next(p for p in PALETTES if p != state.palette)


def test_zooming_in_switches_to_real_points_and_back(big, window, qtbot):
    view, means, labels = big
    view.vb.setRange(xRange=(0.0, 0.3), yRange=(0.0, 0.3), padding=0)
    qtbot.waitUntil(lambda: view.density.idle and view.density.showing_points, timeout=WAIT_MS)
    assert not view.density.image.isVisible()
    assert len(view.scatters) == CLASSES and all(s.isVisible() for s in view.scatters)
    view.vb.setRange(xRange=(-4, 4), yRange=(-4, 4), padding=0)
    qtbot.waitUntil(lambda: view.density.idle and not view.density.showing_points, timeout=WAIT_MS)
    assert view.density.image.isVisible() and not any(s.isVisible() for s in view.scatters)
    np.testing.assert_array_equal(view.density.image.image, expected(view, means, labels, window.state).rgba)


def test_the_first_raster_of_new_points_shows_even_if_the_view_moved_then_the_current_one(window, qtbot):
    """New points: nothing of them is on screen, so their first raster is shown even when the view moved while
    it was made (better than an empty plane); the layer is not idle until the current view's raster replaces it."""
    view = window.view
    rng = np.random.default_rng(2)
    labels = rng.integers(0, CLASSES, N)
    means = (rng.normal(0, 1.5, (CLASSES, 2))[labels] + rng.normal(0, 0.5, (N, 2))).astype(np.float32)
    worker = view.density.worker
    compute, gate, started, held = worker.compute, threading.Event(), threading.Event(), []
    later = threading.Event()  # the jobs after the first wait until the first raster has been looked at

    def hold_first(job):
        if not held:
            held.append(job)
            started.set()
            assert gate.wait(10)
        else:
            assert later.wait(10)
        return compute(job)

    worker.compute = hold_first
    try:
        view.vb.setRange(xRange=(-4, 4), yRange=(-4, 4), padding=0)
        view.set_points(means, labels, [f"class {k}" for k in range(CLASSES)])
        qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
        view.vb.setRange(xRange=(-1, 3), yRange=(-2, 2), padding=0)  # moved while the first raster is made
        renders, dropped = view.density.renders, view.density.dropped
        gate.set()
        qtbot.waitUntil(lambda: view.density.renders > renders, timeout=WAIT_MS)
        shown_first, first_dropped = view.density.image.image.copy(), view.density.dropped
        assert not view.density.idle  # the current view's raster is still to come
        later.set()
        settle(qtbot, view)
    finally:
        gate.set()
        later.set()
        worker.compute = compute
    from explorer.core.raster_worker import render

    np.testing.assert_array_equal(shown_first, render(held[0]).rgba)  # the first job's raster, as it was asked for
    assert first_dropped == dropped and not view.density.preview_shown
    np.testing.assert_array_equal(view.density.image.image, expected(view, means, labels, window.state).rgba)
