"""The manifold underlay's big batches: decoded in chunks on two single-threaded threads of the bulk lane,
and every cell is still exactly what one batched model.decode gives for its centre."""

from __future__ import annotations

import threading

import numpy as np

from explorer.core import latent

WAIT_MS = 30_000


def test_a_dense_grid_is_decoded_in_chunks_and_each_cell_is_model_decode_of_its_centre(window, qtbot, decode):
    import explorer.core.chunked_decode as cd
    from explorer.core.underlay_cache import lattice_for_view

    svc = window.service.service
    chunked = svc._chunked["bulk"]
    threads, sizes = set(), []
    calls = []
    orig_call = chunked.__class__.__call__

    def spy(self, fn, z, labels=None):
        def counted(zz, yy):
            threads.add(threading.current_thread().name)
            sizes.append(len(zz))
            return fn(zz, yy)
        calls.append(len(z))
        return orig_call(self, counted, z, labels)

    chunked.__class__.__call__ = spy
    try:
        window.state.density = 40  # a big grid: hundreds of cells
        with qtbot.waitSignal(window.underlayShown, timeout=WAIT_MS):
            window.set_underlay(True)
    finally:
        chunked.__class__.__call__ = orig_call
    view = window.view
    lat = lattice_for_view(*view.view_rect(), window.state.density)
    grid = lat.grid()
    n = grid.nx * grid.ny
    assert n >= 2 * cd.CHUNKED_FROM and n in calls
    # split into chunks of at most GRID_CHUNK, decoded by the lane's thread and its helper (each takes the
    # next chunk when free, so which thread decoded how many depends on the machine)
    assert len(sizes) >= 2 and max(sizes) <= cd.GRID_CHUNK and sum(sizes) >= n
    assert threads <= {"model-bulk"} | {t for t in threads if t.startswith("model-bulk-helper")}, threads
    # each cell equals model.decode of its centre in ONE batch, within float tolerance
    want = decode(grid.centres())
    np.testing.assert_allclose(view.underlay.image, latent.tile(want, grid), rtol=0, atol=1e-6)
    cells = np.stack([window.underlay.cache._cells[k] for k in lat])
    np.testing.assert_allclose(cells, want, rtol=0, atol=1e-6)
