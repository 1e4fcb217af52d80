"""Issue 23, item 1: a click can never kill the decode worker.

The race: a light open imports torch on the open worker's thread after the first image; while that import
runs, ``sys.modules["torch"]`` holds a partially initialised module. A decode worker that took it from
there and called ``torch.set_num_threads`` died with AttributeError, and no later click was decoded. The
first test reproduces that deterministically in a fresh interpreter, with a fake ``torch`` whose import
is held on an event (a real torch cannot be half-imported on demand, and the test process has one already).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from explorer.core import torch_gate
from explorer.core.decode_service import DecodeService

TIMEOUT = 10.0

RACE = textwrap.dedent(
    """
    import importlib.abc, importlib.util, json, sys, threading, types
    import numpy as np

    entered, release = threading.Event(), threading.Event()
    calls = []

    class SlowTorch(importlib.abc.Loader, importlib.abc.MetaPathFinder):
        # a 'torch' whose import blocks half-way until the test releases it
        def find_spec(self, name, path=None, target=None):
            return importlib.util.spec_from_loader(name, self) if name == "torch" else None
        def create_module(self, spec):
            return None
        def exec_module(self, module):
            entered.set()
            release.wait(20)
            module.set_num_threads = calls.append  # defined only once the import is complete

    sys.meta_path.insert(0, SlowTorch())
    from explorer.core import torch_gate
    from explorer.core.decode_service import DecodeService

    importer = threading.Thread(target=torch_gate.import_torch)  # the open worker's torch phase
    importer.start()
    assert entered.wait(10)

    got, failures = [], []
    done = threading.Event()
    def on_result(r):
        got.append(r.id); done.set()
    def on_error(f):
        failures.append(f.message); done.set()

    svc = DecodeService(lambda z, y: np.zeros((len(z), 1, 2, 2), np.float32),
                        on_result=on_result, on_error=on_error, threads=1)
    first = svc.request([[0.0, 0.0]], channel="pane")  # a click while torch is half-imported
    done.wait(10)
    during = {"results": list(got), "failures": list(failures), "alive": svc.alive, "calls": list(calls)}

    release.set()
    importer.join(10)
    done.clear()
    second = svc.request([[1.0, 1.0]], channel="pane")  # a click once torch is complete
    done.wait(10)
    after = {"results": list(got), "alive": svc.alive, "calls": list(calls)}
    svc.close()
    print(json.dumps({"first": first, "second": second, "during": during, "after": after}))
    """
)


def test_a_click_while_torch_is_half_imported_is_decoded_and_the_worker_lives():
    out = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    during, after = r["during"], r["after"]
    # the click during the import is decoded (numpy decoder), nothing failed, the thread count waits
    assert during == {"results": [r["first"]], "failures": [], "alive": True, "calls": []}
    # the next click, once torch is complete, is decoded too and sets the worker's thread count once
    assert after == {"results": [r["first"], r["second"]], "alive": True, "calls": [1]}


def test_loaded_is_none_while_the_module_is_initialising(monkeypatch):
    """torch_gate.loaded() answers None for a module whose spec says its import is running."""
    import types

    fake = types.ModuleType("torch")
    fake.__spec__ = types.SimpleNamespace(_initializing=True)
    monkeypatch.setattr(torch_gate, "_ready", threading.Event())
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert torch_gate.loaded() is None
    fake.__spec__._initializing = False
    assert torch_gate.loaded() is fake


class Calls:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.results: list = []
        self.errors: list = []

    def on_result(self, r) -> None:
        with self.cond:
            self.results.append(r)
            self.cond.notify_all()

    def on_error(self, f) -> None:
        with self.cond:
            self.errors.append(f)
            self.cond.notify_all()

    def wait(self, n: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.results) + len(self.errors) >= n, TIMEOUT)


def _decoder(fail_on: set[int]):
    calls = iter(range(1000))

    def decode(z, _y):
        if next(calls) in fail_on:
            raise RuntimeError("the decoder exploded")
        return np.full((len(z), 1, 2, 2), 0.5, np.float32)

    return decode


@pytest.mark.parametrize("where", ["decode", "on_result", "threads"])
def test_a_raising_request_is_reported_dropped_and_the_worker_goes_on(monkeypatch, where):
    calls = Calls()
    if where == "threads":  # setting the thread count itself raises (the original crash's place)
        class Broken:
            def set_num_threads(self, n):
                raise AttributeError("partially initialized module 'torch' has no attribute 'set_num_threads'")

        monkeypatch.setattr(torch_gate, "loaded", lambda: Broken())
    first_result = {"raised": False}

    def on_result(r):
        if where == "on_result" and not first_result["raised"]:
            first_result["raised"] = True
            raise ValueError("a broken consumer")
        calls.on_result(r)

    svc = DecodeService(_decoder({0} if where == "decode" else set()), on_result=on_result,
                        on_error=calls.on_error, threads=1)
    try:
        svc.request([[0.0, 0.0]], channel="pane")
        calls.wait(1)
        assert len(calls.errors) == 1 and svc.failed == 1
        assert calls.errors[0].channel == "pane"
        if where == "threads":  # the next request tries again, and fails again, but still nothing dies
            monkeypatch.setattr(torch_gate, "loaded", lambda: None)
        for k in range(3):  # the loop goes on: every later click is decoded
            svc.request([[float(k), 0.0]], channel="pane")
            calls.wait(2 + k)
        assert svc.alive
        assert len(calls.results) == 3
        assert [r.z[0, 0] for r in calls.results] == [0.0, 1.0, 2.0]
    finally:
        svc.close()
