"""Download a file from a list of mirrors and check its SHA-256 before keeping it.

`fetch` streams each mirror in turn into ``<dest>.part`` next to the destination,
hashing while it writes, and renames the part file onto ``dest`` only when the hash
matches. Any failure (HTTP error, refused connection, stalled or truncated body, wrong
hash) moves on to the next mirror; when every mirror has failed it raises one
`DatasetError` that lists what went wrong where. Nothing half-written is ever left
behind: no ``.part`` file, and no ``dest`` that has not passed the hash check.

urllib only (no requests), so the training package keeps its dependencies small.
`DatasetError` lives here because this is the lowest layer that raises it;
`training.data` re-exports it together with `fetch` and `cache_dir`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from training.errors import UserError

__all__ = ["DatasetError", "cache_dir", "fetch"]

CHUNK_BYTES = 1 << 16
MAX_BYTES = 1 << 28  # 256 MiB: a mirror that sends more than this is not sending our file
MIN_RATE = 32 * 1024  # bytes/s: a mirror slower than this on average is given up (a trickle never ends)
DEADLINE_GRACE = 30.0  # seconds added to size / MIN_RATE for each file's overall deadline
USER_AGENT = "latent-explorer (dataset download)"


class DatasetError(UserError):
    """A dataset could not be found, downloaded or read.

    The message is one sentence naming the file and the problem, fit to show a user as is.
    """


class _MirrorFailed(Exception):
    """One mirror did not deliver the file; the message is a short reason."""


def cache_dir() -> Path:
    """The per-user cache folder for downloaded datasets (not created here).

    ``$LATENT_EXPLORER_CACHE`` if set, else ``$XDG_CACHE_HOME/latent-explorer``, else
    ``~/.cache/latent-explorer``.
    """
    override = os.environ.get("LATENT_EXPLORER_CACHE")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "latent-explorer"


def fetch(
    url_list: str | Iterable[str],
    dest: str | os.PathLike,
    sha256: str,
    *,
    timeout: float | tuple[float, float] = (5, 30),
    progress: bool = False,
    max_bytes: int = MAX_BYTES,
    min_rate: float = MIN_RATE,
    grace: float = DEADLINE_GRACE,
) -> Path:
    """Download ``dest`` from the first URL in ``url_list`` that delivers the right bytes.

    Args:
        url_list: full URLs of the same file on different mirrors, tried in order.
        dest: where the file should end up; its folder is created if needed.
        sha256: the expected hex digest; a file that does not match is never kept.
        timeout: seconds, or ``(connect, read)``: the limit to connect and receive the
            headers, then the longest wait for any piece of the body (a stalled mirror).
        progress: True shows a tqdm progress bar on stderr; a callable is called as
            ``progress(bytes_so_far, total_or_None)`` after every piece and at least every
            ``POLL_S`` while a mirror is silent. It may raise (the app's Cancel does): the exception
            propagates, and the partial file is removed.
        max_bytes: give up on a mirror that sends more than this.
        min_rate, grace: each mirror gets ``grace + size / min_rate`` seconds in all, from the request
            to the last byte (``size``: its Content-Length, else ``max_bytes``), so a mirror that
            trickles bytes just fast enough to beat the read timeout still ends.

    Returns:
        ``dest`` as a Path.

    Raises:
        DatasetError: every mirror failed; the message lists each mirror's failure.
    """
    urls = [url_list] if isinstance(url_list, str) else list(url_list)
    dest = Path(dest)
    if not urls:
        raise DatasetError(f"cannot download {dest.name}: no mirror URL was given.")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"cannot create {dest.parent} to download {dest.name} into: "
                           f"{exc.strerror or exc}.") from None
    part = dest.with_suffix(dest.suffix + ".part")
    failures = []
    try:
        for url in urls:
            try:
                _download(url, part, sha256.lower(), _timeouts(timeout), progress, max_bytes,
                          _Deadline(min_rate, grace))
            except _MirrorFailed as exc:
                failures.append(f"{url} ({exc})")
                part.unlink(missing_ok=True)
                continue
            os.replace(part, dest)
            return dest
    finally:
        part.unlink(missing_ok=True)  # also after Ctrl-C or an unexpected error
    raise DatasetError(f"could not download {dest.name}: " + "; ".join(failures) + ".")


POLL_S = 0.25  # how often a silent mirror is polled when the caller can cancel


def _timeouts(timeout: float | tuple[float, float]) -> tuple[float, float]:
    """``(connect, read)`` seconds from a number or a pair."""
    if isinstance(timeout, (int, float)):
        return float(timeout), float(timeout)
    connect, read = timeout
    return float(connect), float(read)


class _Deadline:
    """The overall time limit for one mirror: ``grace + size / min_rate`` seconds from the request."""

    def __init__(self, min_rate: float, grace: float):
        self.min_rate, self.grace = float(min_rate), float(grace)
        self.start = time.monotonic()
        self.at = self.start + self.grace  # until the size is known

    def set_size(self, size: int) -> None:
        self.at = self.start + self.grace + size / self.min_rate

    def left(self) -> float:
        return self.at - time.monotonic()

    def reason(self, got: int, expected: int | None) -> str:
        of = f" of {expected}" if expected is not None else ""
        return (f"too slow: {got}{of} bytes in {time.monotonic() - self.start:.1f} s, past this file's deadline "
                f"({self.at - self.start:.1f} s at {self.min_rate:.0f} bytes/s)")


def _download(url, part: Path, sha256: str, timeouts, progress: bool, max_bytes: int, deadline: _Deadline) -> None:
    """Stream ``url`` into ``part`` and check it; raise _MirrorFailed with a short reason."""
    # imported here, not at the top: urllib.request + http.client + ssl cost ~40 ms, and opening a model
    # whose data is on disk (the app's start, issue 11) never downloads
    import http.client
    import urllib.error
    import urllib.request

    if urlsplit(url).scheme not in ("http", "https"):
        raise _MirrorFailed("not an http(s) URL")
    connect_timeout, read_timeout = timeouts
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=connect_timeout) as response:
            expected = _content_length(response)
            if expected is not None and expected > max_bytes:
                raise _MirrorFailed(f"{expected} bytes is more than the {max_bytes} allowed")
            deadline.set_size(expected if expected is not None else max_bytes)
            digest, size = _stream(response, part, expected, max_bytes, progress, url, read_timeout, deadline)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _MirrorFailed(_describe(exc.reason)) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _MirrorFailed(_describe(exc)) from None
    if expected is not None and size != expected:
        raise _MirrorFailed(f"truncated: got {size} of {expected} bytes")
    if digest != sha256:
        raise _MirrorFailed(f"sha256 mismatch: got {digest}, expected {sha256}")


def _stream(response, part: Path, expected, max_bytes, progress, url, read_timeout: float,
            deadline: _Deadline) -> tuple[str, int]:
    """Copy the body into ``part``; return (sha256 hex digest, byte count)."""
    hasher = hashlib.sha256()
    size = 0
    bar = _progress_bar(expected, url) if progress is True else None
    report = progress if callable(progress) else None
    last_data = time.monotonic()
    try:
        with open(part, "wb") as out:
            while True:
                left = deadline.left()
                if left <= 0:
                    raise _MirrorFailed(deadline.reason(size, expected))
                # read1: return what one receive brings, so the deadline is checked between receives;
                # with a progress callback, wake at least every POLL_S so it can cancel a silent mirror
                silent_left = read_timeout - (time.monotonic() - last_data)
                wait = min(silent_left, left, POLL_S) if report is not None else min(read_timeout, left)
                _set_read_timeout(response, max(wait, 0.001))
                try:
                    chunk = response.read1(CHUNK_BYTES)
                except TimeoutError:
                    if deadline.left() <= 0:
                        raise _MirrorFailed(deadline.reason(size, expected)) from None
                    if report is not None and time.monotonic() - last_data < read_timeout:
                        report(size, expected)  # may raise: the caller cancelled
                        continue
                    raise
                last_data = time.monotonic()
                if report is not None:
                    report(size + len(chunk), expected)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise _MirrorFailed(f"sent more than the {max_bytes} bytes allowed")
                hasher.update(chunk)
                out.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    finally:
        if bar is not None:
            bar.close()
    return hasher.hexdigest(), size


def _set_read_timeout(response, seconds: float) -> None:
    """Switch the open socket from the connect timeout to the read timeout (or less, near the deadline).

    urllib has a single timeout; http.client keeps the socket at ``fp.raw._sock``. If
    that ever moves, the connect timeout simply stays in force, which is still bounded.
    """
    sock = getattr(getattr(response.fp, "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _content_length(response) -> int | None:
    """The Content-Length header as an int, or None when absent or garbled."""
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _describe(error) -> str:
    """A few words for a network error (the reason inside a URLError, or the error)."""
    if isinstance(error, TimeoutError):
        return "timed out waiting for data"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    import http.client

    if isinstance(error, http.client.IncompleteRead):
        return f"truncated: connection closed after {len(error.partial)} bytes of a chunk"
    text = str(error) or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _progress_bar(total: int | None, url: str):
    """A byte-counting tqdm bar (imported lazily: tqdm is only needed with progress=True)."""
    from tqdm import tqdm

    name = urlsplit(url).path.rsplit("/", 1)[-1] or url
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, leave=False)
