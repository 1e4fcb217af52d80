"""DecodeService: the decode worker thread (single pending slot per channel, priorities, errors, close)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from explorer.core.decode_service import DecodeService, LatestOnly, to_display
from explorer.core.torch_fns import torch_decoder

TIMEOUT = 10.0


class Collector:
    """on_result / on_error callbacks that record everything, in order, and can be waited on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: list[tuple[str, object]] = []  # ("result" | "error", DecodeResult | DecodeFailure)
        self.threads: set[str] = set()

    def on_result(self, res) -> None:
        self._add("result", res)

    def on_error(self, failure) -> None:
        self._add("error", failure)

    def _add(self, kind: str, obj) -> None:
        with self.cond:
            self.threads.add(threading.current_thread().name)
            self.events.append((kind, obj))
            self.cond.notify_all()

    @property
    def results(self):
        return [obj for kind, obj in self.events if kind == "result"]

    @property
    def errors(self):
        return [obj for kind, obj in self.events if kind == "error"]

    def wait(self, n: int, timeout: float = TIMEOUT) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.events) >= n, timeout)
        assert ok, f"expected {n} callbacks, got {len(self.events)}: {self.events}"


class Blocker:
    """A decode function that records every z it is given and blocks until released.

    Returns (N, 1, 2, 2) images filled with z[:, 0], so a result can be told apart by its pixels.
    """

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.seen: list[np.ndarray] = []

    def __call__(self, z: np.ndarray, labels) -> np.ndarray:
        self.seen.append(np.array(z, copy=True))
        self.started.set()
        if not self.release.wait(TIMEOUT):
            raise TimeoutError("the test never released the blocker")
        return np.broadcast_to(np.clip(z[:, :1, None, None], 0, 1), (len(z), 1, 2, 2)).astype(np.float32)

    def wait_started(self) -> None:
        assert self.started.wait(TIMEOUT), "the worker never called the decode function"


@pytest.fixture
def service():
    """service(decode_fn=None, **kwargs) -> (DecodeService, Collector); closed after the test."""
    made: list[tuple[DecodeService, list[Blocker]]] = []

    def make(decode_fn=None, **kwargs):
        collector = Collector()
        svc = DecodeService(decode_fn, on_result=collector.on_result, on_error=collector.on_error,
                            name="test-decode-worker", **kwargs)
        made.append((svc, [decode_fn] if isinstance(decode_fn, Blocker) else []))
        return svc, collector

    yield make
    for svc, blockers in made:
        for b in blockers:
            b.release.set()
        svc.close(timeout=TIMEOUT)


# ----------------------------------------------------------------------------- real models


@pytest.mark.parametrize("channels", [1, 3])
def test_result_equals_model_decode(service, make_model, channels):
    model = make_model(image_shape=(channels, 12, 20))  # H != W: a transposed image cannot pass
    svc, got = service(torch_decoder(model))
    z = np.array([[0.0, 0.0], [1.5, -2.0], [-3.0, 0.25]], np.float32)
    rid = svc.request(z, meta={"tag": 7})
    got.wait(1)
    assert got.errors == []
    (res,) = got.results
    with torch.inference_mode():
        expected = model.decode(torch.from_numpy(z)).numpy()  # (N, C, H, W)
    expected = expected[:, 0] if channels == 1 else expected.transpose(0, 2, 3, 1)
    shape = (3, 12, 20) if channels == 1 else (3, 12, 20, 3)
    assert res.images.shape == shape
    assert res.images.dtype == np.float32 and res.images.flags.c_contiguous
    np.testing.assert_allclose(res.images, expected, atol=1e-6, rtol=0)
    assert res.id == rid and res.channel == "point" and res.meta == {"tag": 7}
    np.testing.assert_array_equal(res.z, z)
    assert res.seconds >= 0 and res.posted <= time.perf_counter()
    assert got.threads == {"test-decode-worker"}  # callbacks run on the worker, not the caller


def test_real_checkpoint_through_the_service(service, tiny_model):
    svc, got = service(torch_decoder(tiny_model, batch_size=4))  # batches are concatenated in order
    z = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
    svc.request(z, channel="grid")
    got.wait(1)
    (res,) = got.results
    with torch.inference_mode():
        expected = tiny_model.decode(torch.from_numpy(z)).numpy()[:, 0]
    assert res.images.shape == (10, 28, 28)
    np.testing.assert_allclose(res.images, expected, atol=1e-6, rtol=0)


def test_one_point_is_promoted_to_a_batch_of_one(service, make_model):
    model = make_model()
    svc, got = service(torch_decoder(model))
    svc.request([0.5, -0.5])
    got.wait(1)
    (res,) = got.results
    assert res.z.shape == (1, 2) and res.images.shape == (1, 28, 28)


def test_ids_increase(service, make_model):
    svc, got = service(torch_decoder(make_model()))
    ids = []
    for i in range(5):
        ids.append(svc.request([float(i), 0.0]))
        got.wait(i + 1)
    assert all(a < b for a, b in zip(ids, ids[1:]))
    assert [r.id for r in got.results] == ids
    other, _ = service(torch_decoder(make_model()))
    assert other.request([0.0, 0.0]) > ids[-1]  # process-wide: ids never collide between services


# ----------------------------------------------------------------------------- single pending slot


def test_single_pending_slot_per_channel(service):
    blocker = Blocker()
    svc, got = service(blocker)
    first = svc.request([[0.5, 0.0]])
    blocker.wait_started()  # the worker is now busy with `first`
    zs = [np.array([[i / 1000, float(i)]], np.float32) for i in range(1000)]
    ids = [svc.request(z) for z in zs]
    assert svc.pending() == 1
    blocker.release.set()
    assert svc.wait_idle(TIMEOUT)
    assert len(blocker.seen) == 2  # the in-flight one and the newest, nothing in between
    assert svc.decoded == 2
    np.testing.assert_array_equal(blocker.seen[-1], zs[-1])
    assert svc.replaced == 999
    assert [r.id for r in got.results] == [first, ids[-1]]
    np.testing.assert_array_equal(got.results[-1].z, zs[-1])


def test_request_snapshots_z(service):
    """The caller may reuse its array at once; the pending request must keep the value it was given."""
    blocker = Blocker()
    svc, got = service(blocker)
    svc.request([[0.0, 0.0]])
    blocker.wait_started()
    z = np.array([[0.25, 1.0]], np.float32)
    svc.request(z)
    z[:] = 99.0  # e.g. a drag handler reusing one buffer
    blocker.release.set()
    got.wait(2)
    np.testing.assert_array_equal(blocker.seen[-1], [[0.25, 1.0]])
    np.testing.assert_array_equal(got.results[-1].z, [[0.25, 1.0]])


def test_channels_do_not_overwrite_each_other(service):
    blocker = Blocker()
    svc, got = service(blocker)
    svc.request([[0.0, 0.0]], channel="warm-up")
    blocker.wait_started()
    posted = {"point": 0.1, "interp": 0.2, "grid": 0.3, "vector": 0.4}
    for ch, v in posted.items():
        svc.request([[v, 0.0]], channel=ch)
    assert svc.pending() == 4 and svc.replaced == 0
    blocker.release.set()
    got.wait(5)
    assert got.errors == []
    by_channel = {r.channel: float(r.z[0, 0]) for r in got.results[1:]}
    assert by_channel == pytest.approx(posted)
    for r in got.results[1:]:  # each image is the one decoded from its own z
        assert np.all(r.images == np.float32(posted[r.channel]))


def test_point_is_served_before_grid(service):
    blocker = Blocker()
    svc, got = service(blocker)
    svc.request([[0.0, 0.0]], channel="warm-up")
    blocker.wait_started()
    grid_id = svc.request([[0.3, 0.0]], channel="grid")  # older
    point_id = svc.request([[0.1, 0.0]], channel="point")  # newer, but interactive
    blocker.release.set()
    got.wait(3)
    assert [r.id for r in got.results[1:]] == [point_id, grid_id]
    assert [r.channel for r in got.results[1:]] == ["point", "grid"]


def test_channels_without_priority_are_served_oldest_first(service):
    blocker = Blocker()
    svc, got = service(blocker)
    svc.request([[0.0, 0.0]], channel="warm-up")
    blocker.wait_started()
    a = svc.request([[0.1, 0.0]], channel="export")
    b = svc.request([[0.2, 0.0]], channel="grid")
    blocker.release.set()
    got.wait(3)
    assert [r.id for r in got.results[1:]] == [a, b]


def test_cancel_drops_only_that_channel(service):
    blocker = Blocker()
    svc, got = service(blocker)
    svc.request([[0.0, 0.0]], channel="warm-up")
    blocker.wait_started()
    svc.request([[0.1, 0.0]], channel="grid")
    keep = svc.request([[0.2, 0.0]], channel="point")
    svc.cancel("grid")
    assert svc.pending() == 1
    blocker.release.set()
    assert svc.wait_idle(TIMEOUT)
    assert [r.id for r in got.results[1:]] == [keep]


# ----------------------------------------------------------------------------- errors


def test_exception_is_reported_and_the_next_request_succeeds(service):
    def decode(z, labels):
        if z[0, 0] < 0:
            raise ValueError("the decoder exploded")
        return np.full((len(z), 1, 3, 3), 0.5, np.float32)

    svc, got = service(decode)
    bad = svc.request([[-1.0, 0.0]], channel="interp", meta="m")
    got.wait(1)
    (failure,) = got.errors
    assert failure.id == bad and failure.channel == "interp" and failure.meta == "m"
    assert "the decoder exploded" in failure.message and "ValueError" in failure.message
    good = svc.request([[1.0, 0.0]], channel="interp")
    got.wait(2)
    assert [r.id for r in got.results] == [good]
    assert svc.alive


def test_exception_without_message_names_its_type(service):
    def decode(z, labels):
        raise KeyError()

    svc, got = service(decode)
    svc.request([[0.0, 0.0]])
    got.wait(1)
    assert got.errors[0].message == "KeyError"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_z_is_an_error_not_a_crash(service, make_model, bad):
    svc, got = service(torch_decoder(make_model()))
    svc.request([[bad, 0.0]])
    got.wait(1)
    assert got.results == []
    assert "not finite" in got.errors[0].message
    svc.request([[0.0, 0.0]])
    got.wait(2)
    assert len(got.results) == 1 and np.isfinite(got.results[0].images).all()


def test_wrong_latent_width_is_an_error(service, make_model):
    svc, got = service(torch_decoder(make_model()))
    svc.request([[0.0, 0.0, 0.0]])
    got.wait(1)
    assert len(got.errors) == 1 and got.errors[0].message
    assert svc.alive


def test_no_model_loaded(service, make_model):
    svc, got = service(None)
    svc.request([[0.0, 0.0]])
    got.wait(1)
    assert "no model is loaded" in got.errors[0].message
    svc.set_decoder(torch_decoder(make_model()))
    svc.request([[0.0, 0.0]])
    got.wait(2)
    assert len(got.results) == 1
    svc.set_decoder(None)
    svc.request([[0.0, 0.0]])
    got.wait(3)
    assert [k for k, _ in got.events] == ["error", "result", "error"]
    assert "no model is loaded" in got.errors[-1].message


def test_set_decoder_drops_requests_made_for_the_old_model(service):
    blocker = Blocker()
    svc, got = service(blocker)
    svc.request([[0.0, 0.0]])
    blocker.wait_started()
    svc.request([[0.5, 0.0]], channel="grid")
    svc.set_decoder(lambda z, labels: np.zeros((len(z), 1, 2, 2), np.float32))
    assert svc.pending() == 0
    blocker.release.set()
    assert svc.wait_idle(TIMEOUT)
    assert len(blocker.seen) == 1 and len(got.results) == 1


def test_an_error_in_on_error_does_not_kill_the_worker(make_model, capsys):
    calls = []

    def on_error(failure):
        calls.append(failure)
        raise RuntimeError("a broken slot")

    svc = DecodeService(None, on_error=on_error, name="test-decode-worker")
    try:
        svc.request([[0.0, 0.0]])
        assert svc.wait_idle(TIMEOUT)
        svc.set_decoder(torch_decoder(make_model()))
        svc.request([[0.0, 0.0]])
        assert svc.wait_idle(TIMEOUT)
        assert svc.alive and len(calls) == 1 and svc.decoded == 1
    finally:
        svc.close()
    assert "a broken slot" in capsys.readouterr().err


# ----------------------------------------------------------------------------- close


def test_close_joins_the_thread():
    svc = DecodeService(lambda z, labels: np.zeros((len(z), 1, 2, 2), np.float32), name="test-decode-worker")
    assert svc.alive
    svc.close()
    assert not svc.alive
    svc.close()  # twice is fine


def test_close_while_a_request_is_pending(service):
    blocker = Blocker()
    svc, got = service(blocker)
    svc.request([[0.1, 0.0]])
    blocker.wait_started()
    svc.request([[0.2, 0.0]])  # pending behind the in-flight one
    assert svc.pending() == 1
    closer = threading.Thread(target=svc.close, kwargs={"timeout": TIMEOUT}, name="test-closer")
    closer.start()
    deadline = time.monotonic() + TIMEOUT
    while svc.pending() and time.monotonic() < deadline:  # close() drops what is pending at once
        time.sleep(0.001)
    blocker.release.set()
    closer.join(TIMEOUT)
    assert not closer.is_alive() and not svc.alive
    assert len(blocker.seen) == 1  # the pending request was cancelled, not decoded
    assert svc.decoded == 1


def test_requests_after_close_are_ignored(service, make_model):
    svc, got = service(torch_decoder(make_model()))
    svc.close()
    rid = svc.request([[0.0, 0.0]])
    assert isinstance(rid, int)
    assert svc.pending() == 0 and svc.wait_idle(0.1)
    time.sleep(0.05)
    assert got.events == [] and svc.decoded == 0


# ----------------------------------------------------------------------------- LatestOnly, to_display


def test_latest_only_drops_older_ids_per_channel():
    latest = LatestOnly()
    assert latest.accept("point", 5)
    assert not latest.accept("point", 3)
    assert not latest.accept("point", 5)
    assert latest.accept("grid", 3)  # channels are independent
    assert latest.accept("point", 6)
    assert not latest.accept("point", 4)
    assert not latest.accept("grid", 2)


def test_to_display_grey():
    x = np.random.default_rng(1).uniform(size=(2, 1, 3, 5)).astype(np.float32)
    out = to_display(x)
    assert out.shape == (2, 3, 5) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, x[:, 0])


def test_to_display_colour():
    x = np.random.default_rng(2).uniform(size=(2, 3, 4, 5)).astype(np.float32)
    out = to_display(x)
    assert out.shape == (2, 4, 5, 3) and out.flags.c_contiguous
    for n, c, h, w in [(0, 0, 0, 0), (1, 2, 3, 4), (0, 1, 2, 3), (1, 0, 3, 1)]:
        assert out[n, h, w, c] == x[n, c, h, w]


def test_to_display_clips_to_unit_range():
    x = np.array([[[[-0.5, 0.5, 1.5]]]], np.float64)
    out = to_display(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[[0.0, 0.5, 1.0]]])


# ----------------------------------------------------------------------------- traced decode (issue 11)


KINDS = [{}, {"arch": "conv", "channels": (4, 8), "hidden": (8,)}, {"kind": "ae"}, {"tied": True},
         {"kind": "cvae", "num_classes": 3, "default_class": 1}, {"kind": "cvae", "arch": "conv", "channels": (4, 8), "num_classes": 3},
         {"kind": "aae"}, {"kind": "pca", "arch": "mlp"}]


@pytest.mark.parametrize("config", KINDS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "vae-mlp")
def test_the_traced_decode_gives_exactly_model_decode(make_model, config):
    """Batches of 1 and 2 (the pane's requests) run as one TorchScript graph; every batch size gives
    bit for bit what model.decode gives (the graphs are checked against it when they are made)."""
    model = make_model(**config)
    fn = torch_decoder(model)
    assert fn.traced == (1, 2), "the pane's batch sizes are not traced"
    rng = np.random.default_rng(0)
    conditional = model.conditional
    for n in (1, 2, 3, 7):
        for _ in range(5):
            z = (rng.normal(size=(n, 2)) * 3).astype(np.float32)
            y = rng.integers(0, 3, n) if conditional else None
            with torch.inference_mode():
                want = model.decode(torch.from_numpy(z), None if y is None else torch.from_numpy(y)).numpy()
            np.testing.assert_array_equal(fn(z, y), want)
    if conditional:  # labels outside the model's classes: the model's own error, traced or not
        for n in (1, 2, 3):
            with pytest.raises(ValueError, match=r"class indices must be in 0\.\.2"):
                fn(np.zeros((n, 2), np.float32), [5] * n)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")  # the tracer says so, as it should
def test_an_untraceable_model_decodes_eagerly(make_model):
    model = make_model()
    calls = []

    class Odd(torch.nn.Module):  # data-dependent Python control flow: a trace would bake one branch
        def decode(self, z, y=None):
            calls.append(len(z))
            return model.decode(z) if float(z.sum()) > 0 else 1 - model.decode(z)

    odd = Odd()
    fn = torch_decoder(odd)
    assert fn.traced == (), "a graph that differs from decode was kept"
    for z in ([[1.0, 2.0]], [[-1.0, -2.0]]):
        z = np.float32(z)
        with torch.inference_mode():
            want = odd.decode(torch.from_numpy(z)).numpy()
        np.testing.assert_array_equal(fn(z), want)
    assert fn(np.float32([[0.5, 0.5]])).shape == (1, 1, 28, 28)


def test_torch_decoder_can_skip_tracing(make_model):
    assert torch_decoder(make_model(), traced=()).traced == ()


# ----------------------------------------------------------------------------- settle: a click's head start (issue 11)


def test_settle_returns_once_an_idle_worker_has_reported_the_request(service, make_model):
    svc, got = service(torch_decoder(make_model()))
    rid = svc.request([[0.1, 0.2]], channel="pane")  # returns at once ...
    assert svc.settle(rid, 30.0)  # ... and settle waits for the result
    assert [r.id for r in got.results] == [rid], "settle returned before the result was reported"
    assert svc.settle(rid, 30.0) and svc.pending() == 0  # already reported: True at once


def test_settle_is_bounded_and_never_waits_for_a_request_that_found_the_worker_busy(service):
    blocker = Blocker()
    svc, got = service(blocker)
    first = svc.request([[0.5, 0.5]], channel="pane")
    assert not svc.settle(first, 0.05)  # a slow decode: settle gives up after its timeout
    blocker.wait_started()
    assert got.events == []
    # the worker is busy: this request does not settle at all (were it to wait, this would hang until
    # the blocker's own timeout, and its result could not come before that)
    second = svc.request([[0.6, 0.6]], channel="pane")
    assert not svc.settle(second, 3600.0)
    assert got.events == [] and svc.pending() == 1
    blocker.release.set()
    got.wait(2)


def test_request_returns_at_once(service):
    blocker = Blocker()
    svc, got = service(blocker)
    svc.request([[0.5, 0.5]], channel="pane")
    blocker.wait_started()
    assert got.events == []
    blocker.release.set()
    got.wait(1)
