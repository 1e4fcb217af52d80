"""Atomic file writes, shared by checkpoints, scenes and exports (stdlib only, cheap to import)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write bytes so that ``path`` holds either the old content or all of the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.chmod(tmp, _file_mode())  # mkstemp makes 0600; give the usual umask-based mode
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode() -> int:
    """0o666 minus the umask, as open() would give (os has no umask getter: set and restore)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask
