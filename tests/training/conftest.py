"""Fixtures for the training tests: a real local HTTP server, fake IDX datasets, a private cache.

- ``file_server``: a ThreadingHTTPServer on 127.0.0.1 (port 0) whose routes the test
  chooses (good file, HTTP error, stalled or truncated body); shut down after the test.
- ``make_idx_files``: writes the four MNIST-style IDX .gz files of a tiny fake dataset and
  returns {file name: bytes}, so a test can serve them and compute their SHA-256.
- ``isolated_cache``: points the dataset cache at tmp_path and removes mirror / proxy
  settings, so no test reads or writes the user's cache or leaves 127.0.0.1.
"""

from __future__ import annotations

import errno
import gzip
import os
import struct
import subprocess
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

IDX_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file holding ``array``."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def fake_idx_files(n_train: int = 6, n_test: int = 4, size: int = 28, seed: int = 0) -> dict[str, bytes]:
    """Gzipped IDX files of a tiny dataset with labels 0..9 (cycled)."""
    rng = np.random.default_rng(seed)
    files = {}
    for part, count in (("train", n_train), ("test", n_test)):
        images_name, labels_name = IDX_NAMES[part]
        files[images_name] = gzip.compress(idx_bytes(rng.integers(0, 256, (count, size, size))), mtime=0)
        files[labels_name] = gzip.compress(idx_bytes(np.arange(count) % 10), mtime=0)
    return files


@pytest.fixture
def make_idx_files():
    """make_idx_files(folder=None, **sizes) -> {name: gz bytes}; writes them into folder if given."""

    def make(folder: Path | None = None, **sizes) -> dict[str, bytes]:
        files = fake_idx_files(**sizes)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                (folder / name).write_bytes(data)
        return files

    return make


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """A private, empty dataset cache; no mirror override; no proxies."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(cache))
    monkeypatch.delenv("LATENT_EXPLORER_MIRROR", raising=False)
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return cache


class _Handler(BaseHTTPRequestHandler):
    """Looks the path up in the server's routes; each route is a function(handler)."""

    def do_GET(self):
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
        else:
            route(self)

    def log_message(self, *args):  # keep the test output quiet
        pass


class FileServer:
    """A local HTTP server with per-path behaviour; ``url`` ends with a slash."""

    def __init__(self):
        self.stop = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = False  # so server_close() joins the handler threads
        self.httpd.routes = {}
        self.httpd.requests = []
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def serve(self, path: str, body: bytes) -> None:
        """200 with the body and its Content-Length."""
        def route(handler):
            _headers(handler, 200, len(body))
            handler.wfile.write(body)
        self.httpd.routes["/" + path] = route

    def fail(self, path: str, code: int) -> None:
        """An HTTP error status."""
        self.httpd.routes["/" + path] = lambda handler: handler.send_error(code)

    def stall(self, path: str, body: bytes, sent: int = 10) -> None:
        """Headers and the first ``sent`` bytes, then silence until the server stops."""
        def route(handler):
            _headers(handler, 200, len(body))
            handler.wfile.write(body[:sent])
            handler.wfile.flush()
            self.stop.wait(30)  # returns at once when the fixture shuts the server down
        self.httpd.routes["/" + path] = route

    def trickle(self, path: str, body: bytes, every: float) -> None:
        """The whole body, one byte per ``every`` seconds (each well within any read timeout)."""
        def route(handler):
            _headers(handler, 200, len(body))
            for i in range(len(body)):
                if self.stop.wait(every):
                    return
                try:
                    handler.wfile.write(body[i : i + 1])
                    handler.wfile.flush()
                except OSError:  # the client gave up
                    return
        self.httpd.routes["/" + path] = route

    def truncate(self, path: str, body: bytes, sent: int) -> None:
        """Promise the whole body, send ``sent`` bytes, close the connection."""
        def route(handler):
            _headers(handler, 200, len(body))
            handler.wfile.write(body[:sent])
        self.httpd.routes["/" + path] = route

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _headers(handler, status: int, length: int) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/octet-stream")
    handler.send_header("Content-Length", str(length))
    handler.end_headers()


@pytest.fixture
def file_server(isolated_cache):
    """A running FileServer, stopped (and its threads joined) after the test."""
    server = FileServer()
    yield server
    server.close()
    assert not server.thread.is_alive(), "the test HTTP server did not shut down"


# ----------------------------------------------------------------------------- a small disk


class SmallDisk:
    """A folder whose filesystem can be filled up: a real tmpfs of ``size`` bytes when the tests run as
    root (and mounting works; set LATENT_TESTS_NO_TMPFS=1 to test the fallback), else ``tmp_path`` with ENOSPC injected into ``training.fileio``'s fsync
    once the files written there exceed what is left (the same failure, at the same point of a save).
    """

    def __init__(self, folder: Path, size: int, monkeypatch):
        self.folder = folder
        self.mode = "injected"
        self._monkeypatch = monkeypatch
        self._budget: int | None = None
        folder.mkdir()
        if hasattr(os, "geteuid") and os.geteuid() == 0 and not os.environ.get("LATENT_TESTS_NO_TMPFS"):
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                                  capture_output=True)
            if done.returncode == 0:
                self.mode = "tmpfs"
        if self.mode == "injected":
            self._inject()

    def _inject(self) -> None:
        import training.fileio as fileio

        real_fsync = os.fsync

        def fsync(fd):
            if self._budget is not None and os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(self.folder)):
                size = os.fstat(fd).st_size
                if size > self._budget:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                self._budget -= size
            return real_fsync(fd)

        self._monkeypatch.setattr(fileio.os, "fsync", fsync)

    def fill(self, leave: int = 0) -> None:
        """Use up the free space but ``leave`` bytes."""
        if self.mode == "injected":
            self._budget = leave
            return
        filler = self.folder / "filler"
        with open(filler, "ab") as f:
            while True:
                st = os.statvfs(self.folder)
                free = st.f_bavail * st.f_frsize - leave
                if free <= 0:
                    break
                try:
                    f.write(b"\0" * min(free, 1 << 20))
                    f.flush()
                except OSError:
                    break

    def free(self) -> None:
        self._budget = None
        (self.folder / "filler").unlink(missing_ok=True)

    def files(self) -> list[str]:
        return sorted(p for p in os.listdir(self.folder) if p != "filler")

    def close(self) -> None:
        if self.mode == "tmpfs":
            subprocess.run(["umount", "-l", str(self.folder)], check=False, capture_output=True)


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    """A SmallDisk of 4 MiB at tmp_path/disk (tmpfs when root, else injected ENOSPC)."""
    disk = SmallDisk(tmp_path / "disk", 4 << 20, monkeypatch)
    yield disk
    disk.close()


def peak_while(fn) -> int:
    """Peak Python memory (tracemalloc, bytes) while ``fn()`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
