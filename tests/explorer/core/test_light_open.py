"""Opening in two phases (explorer.core.light_open.open_light, issue 11 "Start"): with the means cached, the
session is shown and decoded with numpy before torch is imported; Session.finish_loading then builds the
torch model, and the model service swaps it in. Whatever needs the encoder waits for it."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.core.light_open import open_light, recheck_means
from explorer.core.means_cache import MeansCache
from explorer.core.model_service import ModelService
from explorer.core.session import Cancelled, SessionError, default_model_path, open_session
from explorer.core.spread import compute_logvars, encode_logvars

ROOT = Path(__file__).resolve().parents[3]
TOL = 1e-5


def opened_twice(path, **kw):
    """The first open encodes the means (torch, ready at once); the second finds them cached (light)."""
    first = open_light(path, **kw)
    return first, open_light(path, **kw)


def test_with_cached_means_the_session_is_light_until_finish_loading(save_checkpoint):
    path = save_checkpoint(arch="conv", channels=(4, 8), hidden=(8,))
    first, s = opened_twice(path)
    assert first.ready.is_set() and first.model is not None and not first.means_cached
    assert s.model is None and not s.ready.is_set() and s.means_cached
    decode, encode = s.fns
    assert decode.backend == "numpy" and encode is None
    np.testing.assert_array_equal(s.means, first.means)
    z = s.means[:3]
    light_images = decode(z)
    s.finish_loading(threads=1)
    assert s.ready.is_set() and s.model is not None and s.load_error is None
    assert s.fns[1] is not None and getattr(s.fns[0], "backend", "torch") != "numpy"
    np.testing.assert_allclose(s.fns[0](z), light_images, rtol=0, atol=TOL)
    with torch.inference_mode():
        want = s.model.decode(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(light_images, want, rtol=0, atol=TOL)
    assert s.wait_model() is s.model


def test_the_first_point_is_primed_and_equals_a_fresh_decode(save_checkpoint):
    from explorer.core.latent import typical_point

    _, s = opened_twice(save_checkpoint())
    z0 = typical_point(s.means, s.labels)[None]
    np.testing.assert_array_equal(s.fns[0](z0), s.light.decode(z0))
    other = z0 + 0.5
    np.testing.assert_array_equal(s.fns[0](other), s.light.decode(other))
    # worked out on the open worker for the window: the same first point and first view it would find
    from explorer.core.framing import frame_box

    np.testing.assert_array_equal(s.typical, z0[0])
    assert s.frame is not None and s.frame == frame_box(s.means, s.labels)


def test_without_cached_means_it_opens_as_before(save_checkpoint):
    path = save_checkpoint()
    s = open_light(path)  # each test has its own, empty, means cache
    ref = open_session(path, prepare=True)
    assert s.ready.is_set() and s.model is not None and s.fns[1] is not None
    np.testing.assert_array_equal(s.means, ref.means)


def test_waiting_for_the_model_can_be_cancelled_and_reports_a_failure(save_checkpoint):
    _, s = opened_twice(save_checkpoint())
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        s.wait_model(cancel)
    s.light.weights.clear()  # phase two cannot build the model now
    with pytest.raises(RuntimeError, match="Missing key"):  # torch's own error, kept in load_error
        s.finish_loading()
    assert s.ready.is_set() and s.load_error and s.model is None
    with pytest.raises(SessionError, match="could not be loaded"):
        s.wait_model()


def test_a_stop_before_torch_is_a_cancel(save_checkpoint):
    _, s = opened_twice(save_checkpoint())
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        s.finish_loading(stop=stop)
    assert s.ready.is_set() and s.model is None


def test_posterior_spread_asked_for_in_the_light_phase_waits_for_the_encoder(save_checkpoint):
    _, s = opened_twice(save_checkpoint(kind="vae"))
    got: dict = {}
    t = threading.Thread(target=lambda: got.update(result=compute_logvars(s, MeansCache())))
    t.start()
    t.join(0.3)
    assert t.is_alive() and not got  # waiting for the torch model, not failing
    s.finish_loading(threads=1)
    t.join(60)
    values, cached = got["result"]
    assert not cached
    np.testing.assert_allclose(values, encode_logvars(s.model, s.images, labels=s.labels), rtol=0, atol=TOL)


def test_the_model_service_queues_encodes_until_the_upgrade(save_checkpoint):
    _, s = opened_twice(save_checkpoint())
    results, errors = [], []
    svc = ModelService(on_error=errors.append)
    for kind in ("encode", "pane"):
        svc.channel(kind).result.connect(results.append)
    try:
        svc.set_model(s.light, s.fns[0], None, encoder_pending=True)
        x = s.images[:1].astype(np.float32) / 255
        enc_id = svc.channel("encode").encode(x)
        dec_id = svc.channel("pane").request(s.means[:1])
        assert svc.lane("pane").wait_idle(0.5) is False  # the encode waits in its slot
        assert [r.id for r in results] == [dec_id] and not errors
        s.finish_loading(threads=1)
        svc.upgrade(s.model, *s.fns)
        assert svc.wait_idle(30)
        assert [r.id for r in results] == [dec_id, enc_id] and not errors
        with torch.inference_mode():
            mean = s.model.encode(torch.from_numpy(x))[0].numpy()
        np.testing.assert_allclose(results[1].z, mean, rtol=0, atol=TOL)
    finally:
        svc.close()


def test_an_encoder_that_failed_to_load_fails_encodes_with_its_sentence(save_checkpoint):
    _, s = opened_twice(save_checkpoint())
    results, errors = [], []
    svc = ModelService(on_error=errors.append)
    svc.channel("pane").result.connect(results.append)
    try:
        svc.set_model(s.light, s.fns[0], None, encoder_pending=True)
        svc.channel("encode").encode(s.images[:1].astype(np.float32) / 255)
        svc.encoder_failed("m.safetensors: its torch model could not be loaded (boom).")
        assert svc.wait_idle(10)
        assert len(errors) == 1 and "could not be loaded (boom)" in errors[0].message
        svc.channel("pane").request(s.means[:1])  # decoding goes on with numpy
        assert svc.wait_idle(10) and len(results) == 1
    finally:
        svc.close()


def test_opening_the_bundled_model_light_imports_no_torch():
    code = ("import sys; from explorer.core.light_open import open_light; from explorer.core.session import default_model_path; "
            "s = open_light(default_model_path()); s.fns[0](s.means[:2]); "
            "print(s.ready.is_set(), s.means_cached, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "False"]
    assert default_model_path().is_file()


def test_cached_means_the_model_does_not_make_are_replaced_once_torch_is_loaded(save_checkpoint):
    """Issue 23: a cached file of the right shape, all zeros, was shown as the plane and never rewritten."""
    path = save_checkpoint(arch="conv", channels=(4, 8), hidden=(8,))
    cache = MeansCache()
    first = open_light(path, cache=cache)
    (file,) = cache.folder.glob("*.npy")
    np.save(file, np.zeros_like(first.means))
    s = open_light(path, cache=cache)
    assert s.means_cached and not s.ready.is_set() and not s.means.any()  # in range: shown until torch is here
    s.finish_loading(threads=1)
    fresh = recheck_means(s, cache=cache)
    assert fresh is not None and fresh is not s and not fresh.means_cached
    np.testing.assert_allclose(fresh.means, first.means, rtol=0, atol=1e-5)
    assert fresh.model is s.model and fresh.fns is s.fns and fresh.index is not None and fresh.ready.is_set()
    np.testing.assert_allclose(np.load(file), first.means, rtol=0, atol=1e-5)  # the file is rewritten
    again = open_light(path, cache=cache)
    again.finish_loading(threads=1)
    assert again.means_cached and recheck_means(again, cache=cache) is None  # good means stay


def test_cached_means_out_of_range_are_not_shown_at_all(save_checkpoint):
    path = save_checkpoint(arch="conv", channels=(4, 8), hidden=(8,))
    cache = MeansCache()
    first = open_light(path, cache=cache)
    (file,) = cache.folder.glob("*.npy")
    np.save(file, np.full_like(first.means, 1e30))
    s = open_light(path, cache=cache)
    assert not s.means_cached and s.ready.is_set()  # encoded again at once, with torch
    np.testing.assert_allclose(s.means, first.means, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.load(file), first.means, rtol=0, atol=1e-5)
