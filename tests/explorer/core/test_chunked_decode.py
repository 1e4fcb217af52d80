"""A big decode split into chunks over single-threaded workers (explorer.core.chunked_decode)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from explorer.core.chunked_decode import CHUNKED_FROM, ChunkedDecoder, spans


def test_spans_cover_the_batch_in_equal_chunks_a_multiple_of_the_workers():
    for n in (1, 127, 128, 129, 484, 900, 1000):
        s = spans(n, 2, 128)
        assert s[0][0] == 0 and s[-1][1] == n and all(a == b for (_, a), (b, _) in zip(s, s[1:]))
        sizes = [b - a for a, b in s]
        assert max(sizes) <= 128 and max(sizes) - min(sizes) <= 1
        if n >= 2:
            assert len(s) % 2 == 0


def test_the_chunks_come_back_in_order_with_their_labels_on_two_threads():
    seen = set()
    both = threading.Event()

    def fn(z, y):
        seen.add(threading.current_thread().name)
        if len(seen) >= 2:
            both.set()
        both.wait(10)  # each thread's first chunk waits until the other has one too: both take part
        return np.stack([z[:, 0] * 10 + y, z[:, 1]], axis=1)

    dec = ChunkedDecoder(2, 64, name="test-helper")
    try:
        z = np.random.default_rng(0).normal(size=(900, 2)).astype(np.float32)
        y = np.arange(900) % 7
        np.testing.assert_array_equal(dec(fn, z, y), fn(z, y))
        assert len(seen) == 2  # the caller's thread and the helper
        assert any(name.startswith("test-helper") for name in seen)
        small = z[: CHUNKED_FROM - 1]
        seen.clear()
        both.set()
        np.testing.assert_array_equal(dec(fn, small, y[: len(small)]), fn(small, y[: len(small)]))
        assert seen == {threading.current_thread().name}  # a small batch: one call, here
    finally:
        dec.close()


def test_a_helpers_error_reaches_the_caller():
    helper_ran = threading.Event()

    def fn(z, y):
        if threading.current_thread().name.startswith("boom"):
            helper_ran.set()
            raise ValueError("bad chunk")
        helper_ran.wait(10)  # the caller's chunks wait until the helper has taken one
        return z

    dec = ChunkedDecoder(2, 32, name="boom")
    try:
        with pytest.raises(ValueError, match="bad chunk"):
            dec(fn, np.zeros((300, 2), np.float32))
    finally:
        dec.close()


def test_a_numpy_decoder_in_chunks_does_not_import_torch():
    """A model opened light decodes its grid with numpy: the bulk threads must not import torch for it."""
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from explorer.core.chunked_decode import ChunkedDecoder\n"
            "dec = ChunkedDecoder(2, 16)\n"
            "out = dec(lambda z, y: z * 2, np.arange(200, dtype=np.float32).reshape(100, 2))\n"
            "dec.close()\n"
            "assert out.shape == (100, 2) and float(out[-1, -1]) == 398.0\n"
            "print('torch' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
