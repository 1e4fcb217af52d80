"""The model service's channels: each consumer gets only its own results, in its own rank, and a long
job on the bulk lane lets other bulk work go first between its steps and stops when cancelled."""

from __future__ import annotations

import threading

import numpy as np

from explorer.core.model_service import ModelService


class _Model:
    conditional = False


def _decode(z, labels):
    z = np.asarray(z, np.float32)
    return np.broadcast_to(z[:, :1, None, None], (len(z), 1, 2, 2)).copy()


def _service() -> ModelService:
    svc = ModelService()
    svc.set_model(_Model(), _decode, lambda x: (x[:, 0, 0, :2], x))
    return svc


def test_each_channel_gets_only_its_own_results():
    svc = _service()
    try:
        got = {kind: [] for kind in ("filmstrip", "grid", "export")}
        for kind, out in got.items():
            svc.channel(kind).result.connect(out.append)
        ids = {kind: svc.channel(kind).request(np.full((3, 2), k, np.float32)) for k, kind in enumerate(got)}
        assert svc.wait_idle(10)
        for kind, out in got.items():
            assert [r.id for r in out] == [ids[kind]], kind
        assert svc.channel("pane", 1) is svc.channel("pane", 1) and svc.channel("pane", 1) is not svc.channel("pane")
    finally:
        svc.close()


def test_a_bulk_job_yields_to_the_filmstrip_between_steps_and_stops_when_cancelled():
    svc = _service()
    try:
        order: list[str] = []
        gate, stepped = threading.Event(), threading.Event()

        def job():
            for k in range(4):
                order.append(f"step {k}")
                if k == 0:
                    stepped.set()
                    gate.wait(10)  # the filmstrip is asked for during the first step
                yield
            return "done"

        spread, film = svc.channel("spread"), svc.channel("filmstrip")
        results = []
        spread.result.connect(results.append)
        film.result.connect(lambda r: order.append("filmstrip"))
        spread.run(job())
        assert stepped.wait(10)
        film.request(np.zeros((2, 2), np.float32))
        gate.set()
        assert svc.wait_idle(10)
        assert order == ["step 0", "filmstrip", "step 1", "step 2", "step 3"]
        assert [r.value for r in results] == ["done"]

        order.clear()
        gate.clear()
        stepped.clear()
        spread.run(job())
        assert stepped.wait(10)
        spread.cancel()  # during a step: the job is not put back
        gate.set()
        assert svc.wait_idle(10)
        assert order == ["step 0"] and len(results) == 1
    finally:
        svc.close()


def test_a_failing_job_reports_its_exception_on_its_channel_only():
    svc = _service()
    try:
        failed, others = [], []
        svc.channel("spread").failed.connect(failed.append)
        svc.channel("grid").failed.connect(others.append)

        def job():
            yield
            raise ValueError("m.safetensors: no spread.")

        svc.channel("spread").run(job(), meta="token")
        assert svc.wait_idle(10)
        assert len(failed) == 1 and isinstance(failed[0].error, ValueError) and failed[0].meta == "token"
        assert not others
    finally:
        svc.close()
