"""The model info panel draws the open model's training curves (training.curves.series of its history)."""

from __future__ import annotations

import numpy as np

from explorer.core.session import ASSETS


def test_the_info_panel_draws_the_models_history(qapp):
    from explorer.api import Explorer

    with Explorer(ASSETS / "fashion-mnist-vae.safetensors", size=(1280, 720), timeout=180) as ex:
        info = ex.window.info
        meta = ex.state.session.metadata
        history = meta["history"]
        assert len(history) == meta["metrics"]["epochs"] >= 10
        tested = [h for h in history if "test" in h]  # the test ELBO is measured on some epochs, always the last
        assert len(tested) >= 5 and tested[-1] is history[-1]
        xs, ys = info.shown_series["test"]
        assert xs == [h["epoch"] for h in tested] and ys == [h["test"]["neg_elbo"] for h in tested]
        drawn = [c for c in info.plots[0].listDataItems() if c.name() == "test \u2212ELBO"]
        assert len(drawn) == 1
        np.testing.assert_allclose(drawn[0].getData()[1], ys)
        assert info.curves.isVisibleTo(ex.window) or not info.isVisible()
