"""Training live from the app (explorer.qt.live_training), through the scripting API: a real latent-train
process on the bundled MNIST-5k digits, its epochs followed, its failure and its stop."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from explorer.core.session import ASSETS
from training import checkpoint

FAST = ["--limit", "400", "--hidden", "32"]


@pytest.fixture
def ex(qapp):
    from explorer.api import Explorer

    e = Explorer(ASSETS / "mnist-5k-vae.safetensors", size=(1280, 720), timeout=180)
    yield e
    e.close()


def test_training_live_follows_each_epoch_and_opens_the_new_model_with_its_snapshots(ex, tmp_path):
    out = tmp_path / "live.safetensors"
    histories, opened = [], []
    ex.window.live.epoch.connect(histories.append)
    ex.state.events.session.connect(lambda s, *_a: opened.append(s.model_path))
    assert ex.train("mnist-5k", out, epochs=3, snapshots=3, extra=FAST)
    assert ex.window.live.running
    assert ex.wait_training(300), ex.window.live.result
    assert ex.window.live.result == (True, str(out))
    assert [len(h) for h in histories] == [1, 2, 3]
    assert opened[-1] == out and opened.count(out) >= 2  # an epoch's checkpoint, then the final file
    s = ex.state.session
    assert s.model_path == out and len(s.snapshots) == 3 and s.metadata["metrics"]["epochs"] == 3
    assert ex.window.info.shown_series["loss"][0] == [1, 2, 3]
    assert ex.shown() is not None and ex.means.shape == (len(ex.dataset.labels), 2)


def test_a_dataset_that_does_not_exist_is_one_sentence_and_the_model_stays(ex, tmp_path):
    before = ex.state.session
    errors: list[str] = []
    ex.state.error.connect(errors.append)
    assert ex.train(f"folder:{tmp_path / 'nope'}", tmp_path / "m.safetensors", epochs=1)
    assert ex.wait_training(120)
    ok, why = ex.window.live.result
    assert not ok and "nope" in why and "\n" not in why
    assert errors == [why]
    assert ex.state.session is before and not (tmp_path / "m.safetensors").exists()


def wait_first_epoch(ex) -> None:
    live = ex.window.live
    assert ex._wait(lambda: len(live.history) >= 1, 300)


def test_cancel_stops_the_process_and_keeps_the_last_finished_epoch(ex, tmp_path):
    out = tmp_path / "stop.safetensors"
    assert ex.train("mnist-5k", out, epochs=60, snapshots=0, extra=FAST)
    wait_first_epoch(ex)
    job = next(j for j in ex.window.activity.jobs if j.name.startswith("training"))
    job.cancel()  # the status bar's Cancel for the training job
    assert ex.wait_training(60)
    ok, why = ex.window.live.result
    kept = len(ex.window.live.history)
    assert not ok and why == f"training stopped; {out} holds epoch {kept}."
    model = checkpoint.load(out)  # whole: it loads with every check
    assert model.metadata["metrics"]["epochs"] >= kept
    assert sorted(p.name for p in tmp_path.iterdir() if ".tmp" in p.name) == []


def test_closing_while_training_asks_once_then_stops_it(ex, tmp_path, monkeypatch):
    asked: list[str] = []

    def question(_parent, title, text, *_a, **_k):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    out = tmp_path / "close.safetensors"
    assert ex.train("mnist-5k", out, epochs=60, snapshots=0, extra=FAST)
    wait_first_epoch(ex)
    ex.window.ask_before_closing = True
    ex.window.close()
    assert len(asked) == 1 and "close.safetensors" in asked[0]
    assert not ex.window.live.running
    assert checkpoint.load(out).metadata["metrics"]["epochs"] >= 1
