"""The app downloads a dataset it does not have (from a local HTTP server on 127.0.0.1 here), shows
the progress, and Cancel stops it: no partial file, no error, the current model still loaded."""

from __future__ import annotations

import pytest

from tests.training.conftest import FileServer


@pytest.fixture
def stalling_mirror(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(cache))
    server = FileServer()
    body = bytes(range(256)) * 4096  # 1 MiB promised; 10 bytes sent, then silence
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        server.stall(f"mnist/{name}", body)
    monkeypatch.setenv("LATENT_EXPLORER_MIRROR", server.url + "mnist/")
    yield server, cache
    server.close()


def test_cancel_stops_a_download_in_the_app(window, qtbot, checkpoint, stalling_mirror):
    server, cache = stalling_mirror
    old = window.session
    window.open_model(checkpoint, dataset="mnist")  # not on this machine: the app downloads it
    qtbot.waitUntil(lambda: window.progress.format().startswith("downloading"), timeout=20_000)
    assert window.btn_cancel.isVisible()
    assert any("t10k-images" in r for r in server.requests), server.requests
    parts = list((cache / "mnist").glob("*.part"))
    assert parts, "the download writes a .part file while it runs"
    window.btn_cancel.click()
    qtbot.waitUntil(lambda: not list((cache / "mnist").glob("*.part")), timeout=10_000)
    qtbot.wait(300)  # a late "error" from the cancelled worker would arrive now
    assert window.session is old and not window.error_label.isVisible()
    assert "opening cancelled" in window.status_label.text() and not window.btn_cancel.isVisible()
    assert not list((cache / "mnist").glob("*.gz")), "nothing half-downloaded is kept"
