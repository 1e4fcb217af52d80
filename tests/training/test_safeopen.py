"""Loaders never block on a named pipe and refuse devices and folders in one sentence."""

from __future__ import annotations

import os

import pytest

from training import checkpoint, resume_state
from training.data import DatasetError, read_idx
from training.errors import UserError
from training.fileio import load_json_bounded

LOADERS = {
    "checkpoint": lambda p: checkpoint.load(p),
    "checkpoint metadata": lambda p: checkpoint.read_metadata(p),
    "idx": lambda p: read_idx(p),
    "json": lambda p: load_json_bounded(p, source=str(p), max_bytes=1000, max_depth=4, max_number_digits=4),
    "resume sha256": lambda p: resume_state.sha256_of(p),
}


@pytest.fixture(params=["fifo", "device", "folder"])
def not_a_file(request, tmp_path):
    if request.param == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        path = tmp_path / "pipe"
        os.mkfifo(path)  # nobody ever writes: a plain open() would wait forever
        return path
    if request.param == "device":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero here")
        return type(tmp_path)("/dev/zero")  # endless zeros
    return tmp_path


@pytest.mark.timeout(30)
@pytest.mark.parametrize("loader", LOADERS)
def test_loaders_refuse_what_is_not_a_regular_file(not_a_file, loader):
    with pytest.raises((UserError, DatasetError)) as info:
        LOADERS[loader](not_a_file)
    msg = str(info.value)
    assert str(not_a_file) in msg and "\n" not in msg
    assert "not a file" in msg or "not a regular file" in msg or "a folder" in msg, msg
