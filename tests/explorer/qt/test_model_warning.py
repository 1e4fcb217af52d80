"""A model ``latent-train`` judged not useful (its posterior collapsed: training/verdict.py) says so when it
opens: a note over the plane and the warning in the Model panel, read from the checkpoint's metadata.
A good model shows neither, and opening one hides the previous model's note."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.explorer.qt.conftest import train_tiny
from training import checkpoint
from training.verdict import warning_of

ROOT = Path(__file__).resolve().parents[3]
GOOD = ROOT / "assets" / "mnist-5k-vae.safetensors"  # 2 active units, its verdict has no warning


@pytest.fixture(scope="module")
def collapsed(tmp_path_factory) -> Path:
    """A real run made to collapse: beta 50 from the first step, no free bits, 3 short epochs."""
    return train_tiny(tmp_path_factory.mktemp("collapsed"), "--beta", "50", "--epochs", "3", "--kl-warmup", "0",
                      "--free-bits", "0")


def test_opening_a_collapsed_model_shows_the_warning_then_a_good_model_clears_it(qapp, qtbot, collapsed):
    from explorer.api import Explorer

    stored = checkpoint.read_metadata(collapsed)["verdict"]["warning"]
    assert stored.startswith("0 active latent units: the decoder ignores z")
    ex = Explorer(collapsed, dataset="synthetic", size=(1280, 720))
    try:
        assert ex.note == f"m.safetensors: {stored}" and ex.window.note_label.isVisible()
        info = ex.model_info()
        assert info["warning"] == f"\u26a0 {stored}" and info["active units"] == "0 of 2"
        assert not ex.window.error_label.isVisible()  # a note, not an error
        ex.window.open_model(GOOD, dataset="mnist-5k")
        qtbot.waitUntil(lambda: ex.state.session is not None and ex.state.session.model_path == GOOD, timeout=30_000)
        assert ex.wait_idle(10)
        assert ex.note == "" and "warning" not in ex.model_info()
        assert ex.model_info()["active units"] == "2 of 2"
    finally:
        ex.close()


def test_a_collapsed_checkpoint_made_before_verdicts_is_warned_about_too(qapp, collapsed, tmp_path):
    from explorer.api import Explorer

    model = checkpoint.load(collapsed)
    meta = model.metadata
    old = tmp_path / "old.safetensors"  # what latent-train wrote before it stored a verdict
    checkpoint.save(model, old, dataset=meta["dataset"], metrics=meta["metrics"], history=meta["history"])
    assert checkpoint.read_metadata(old)["verdict"] == {}
    expected = warning_of({"metrics": meta["metrics"]}, model.config.to_dict())
    assert expected.startswith("0 active latent units")
    ex = Explorer(old, dataset="synthetic", size=(1280, 720))
    try:
        assert ex.note == f"old.safetensors: {expected}"
        assert ex.model_info()["warning"] == f"\u26a0 {expected}"
    finally:
        ex.close()
