"""Crash-safe file writes, shared by checkpoints, resume state, scenes and exports (stdlib only).

``atomic_write(path, data)`` writes a temp file in the same folder, flushes and fsyncs it, then
``os.replace``s it onto ``path``: a reader (or a later run) sees the old content or all of the new,
never a mix. The temp file is named ``.NAME.HOST.PID.RANDOM.tmp``, so a writer killed mid-write
leaves a file that says who wrote it. A later save of NAME removes the orphans of NAME and of every
name that starts with NAME (saving ``m.safetensors`` also clears ``m.safetensors.resume-*`` temps)
whose writer (same host, that pid) is no longer running; it never touches the temp file of a writer
that is still alive, nor one written on another host (whose pids it cannot check).

Any ``OSError`` while saving (full disk, read-only folder, quota) becomes a :class:`SaveError`: one
sentence naming the file and the reason; the temp file is removed and the old ``path`` is untouched.

The bounded JSON reader used for scenes and checkpoint headers lives in ``training.jsonlimits``
and is re-exported here as ``load_json_bounded``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
from pathlib import Path

from training.errors import UserError
from training.jsonlimits import JsonLimitError, load_json_bounded

__all__ = ["JsonLimitError", "SaveError", "atomic_write", "load_json_bounded", "remove_orphans", "temp_path"]

# ".<target>.<host>.<pid>.<random>.tmp": host has no dots, so the target name may have any
_TEMP = re.compile(r"^\.(?P<target>.+)\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>[0-9]{1,10})\.(?P<tag>[0-9a-f]{8})\.tmp$")


class SaveError(UserError, OSError):
    """A file could not be written; the message names it and the reason, and the old file was kept.

    Also an ``OSError``, so callers that already handle I/O errors keep working.
    """


def host_tag() -> str:
    """This machine's name as it appears in temp file names (letters, digits and '-')."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:40] or "host"


def temp_path(path: Path, pid: int | None = None) -> Path:
    """A fresh temp name next to ``path`` that records the writer (this process by default)."""
    pid = os.getpid() if pid is None else pid
    return path.with_name(f".{path.name}.{host_tag()}.{pid}.{secrets.token_hex(4)}.tmp")


def atomic_write(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> Path:
    """Write ``data`` so that ``path`` holds either its old content or all of the new one.

    Raises:
        SaveError: the file could not be written (the message says why); nothing was changed.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(path)
        # 0o666 minus the umask, like open(); O_EXCL: never follow or reuse an existing name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_folder(path.parent)
    except OSError as e:
        raise SaveError(f"{path}: could not be saved ({_reason(e)}); {_kept(path)}.") from None
    finally:
        if tmp is not None:  # failed or interrupted (Ctrl-C): never leave our own temp file behind
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    remove_orphans(path.parent, path.name)
    return path


def _reason(e: OSError) -> str:
    return e.strerror or str(e) or type(e).__name__


def _kept(path: Path) -> str:
    return "the previous version was kept" if path.exists() else "nothing was written"


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (a power cut right after a save keeps the new file)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # e.g. Windows: folders cannot be opened; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_orphans(folder: Path, prefix: str) -> list[Path]:
    """Remove the temp files in ``folder`` for targets named ``prefix...`` whose writer is dead.

    Only files written on this host are judged (a pid means nothing elsewhere); a live writer's file,
    including this process's, is never removed. Returns the removed paths.
    """
    removed = []
    host = host_tag()
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _TEMP.match(name)
        if m is None or not m["target"].startswith(prefix) or m["host"] != host or _alive(int(m["pid"])):
            continue
        try:
            (folder / name).unlink()
            removed.append(folder / name)
        except OSError:
            pass  # gone already, or not ours to remove
    return removed


def _alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts as alive: its parent may still act)."""
    if pid == os.getpid() or os.name == "nt":  # Windows: os.kill(pid, 0) would terminate the process
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists but belongs to someone else, or cannot be asked: keep its file
    return True
