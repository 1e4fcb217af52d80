"""training.fileio: atomic writes with pid-tagged temp files, orphan cleanup, one-sentence save errors."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from training import fileio
from training.errors import UserError
from training.fileio import SaveError, atomic_write, remove_orphans, temp_path


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def live_writer():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_temp_names_carry_host_and_pid(tmp_path):
    name = temp_path(tmp_path / "m.safetensors").name
    assert name.startswith(".m.safetensors.") and name.endswith(".tmp")
    assert f".{fileio.host_tag()}.{os.getpid()}." in name


def test_write_replaces_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "m.safetensors"
    atomic_write(path, b"one")
    atomic_write(path, b"two")
    assert path.read_bytes() == b"two"
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_a_later_save_removes_a_dead_writers_temp_but_never_a_live_one(tmp_path, live_writer):
    path = tmp_path / "m.safetensors"
    dead = temp_path(path, pid=dead_pid())
    resume_dead = temp_path(tmp_path / "m.safetensors.resume-3-0123456789abcdef.safetensors", pid=dead_pid())
    live = temp_path(path, pid=live_writer)
    mine = temp_path(path)  # this process is alive too (another thread may be writing)
    other_host = tmp_path / f".m.safetensors.otherhost.{dead_pid()}.0badc0de.tmp"
    unrelated = temp_path(tmp_path / "scene.json", pid=dead_pid())
    for p in (dead, resume_dead, live, mine, other_host, unrelated):
        p.write_bytes(b"x" * 100)
    atomic_write(path, b"new")
    left = set(os.listdir(tmp_path))
    assert dead.name not in left and resume_dead.name not in left  # orphans of dead writers: gone
    assert {live.name, mine.name, other_host.name, unrelated.name, "m.safetensors"} == left


def test_remove_orphans_reports_what_it_removed(tmp_path):
    dead = temp_path(tmp_path / "x.json", pid=dead_pid())
    dead.write_bytes(b"")
    (tmp_path / ".x.json.notours.tmp").write_bytes(b"")
    assert remove_orphans(tmp_path, "x.json") == [dead]
    assert os.listdir(tmp_path) == [".x.json.notours.tmp"]


@pytest.mark.parametrize(("errno_", "reason"), [(errno.ENOSPC, "No space left on device"),
                                             (errno.EROFS, "Read-only file system"),
                                             (errno.EDQUOT, "Disk quota exceeded")])
def test_an_oserror_is_one_sentence_naming_the_file(tmp_path, monkeypatch, errno_, reason):
    path = tmp_path / "m.safetensors"
    atomic_write(path, b"old")

    def broken_fsync(fd):
        raise OSError(errno_, os.strerror(errno_))

    monkeypatch.setattr(fileio.os, "fsync", broken_fsync)
    with pytest.raises(SaveError) as info:
        atomic_write(path, b"new")
    msg = str(info.value)
    assert msg == f"{path}: could not be saved ({reason}); the previous version was kept."
    assert isinstance(info.value, UserError) and isinstance(info.value, OSError)
    monkeypatch.undo()
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["m.safetensors"]


def test_nothing_written_is_said_when_there_was_no_old_file(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SaveError, match=r"a-file/m.json: could not be saved \(.+\); nothing was written\."):
        atomic_write(blocker / "m.json", b"{}")


def test_ctrl_c_during_a_write_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    atomic_write(path, b"old")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["m.safetensors"]


def test_a_real_full_disk(small_disk):
    path = small_disk.folder / "m.safetensors"
    atomic_write(path, b"old" * 1000)
    small_disk.fill(leave=1000)
    with pytest.raises(SaveError, match=r"m.safetensors: could not be saved \(No space left on device\); "
                                        r"the previous version was kept\."):
        atomic_write(path, os.urandom(64 * 1024))
    assert path.read_bytes() == b"old" * 1000
    assert small_disk.files() == ["m.safetensors"]
    small_disk.free()
    atomic_write(path, b"fits again")
    assert path.read_bytes() == b"fits again"


def test_the_usual_file_mode(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "a", b"")
        assert (tmp_path / "a").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
