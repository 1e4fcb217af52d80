"""Open an untrusted path for reading: never block on a FIFO, refuse anything but a regular file.

``open(path)`` on a named pipe waits for a writer forever, and a character device (``/dev/zero``)
never ends; both can be handed to a loader as "a file". :func:`open_regular` opens without
blocking and checks the opened file itself (no race between a check and the open). Stdlib only.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO


class NotRegularFileError(OSError):
    """The path exists but is a folder, pipe, socket or device."""


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """The file opened for binary reading; raises NotRegularFileError (an OSError) for anything else."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            raise NotRegularFileError(errno.EINVAL, f"is {kind}", os.fspath(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
