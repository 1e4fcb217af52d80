"""jobs.py: one-off background jobs with progress, cancel, and exactly one outcome callback."""

from __future__ import annotations

import threading

from explorer.core.jobs import Job
from explorer.core.session import Cancelled, open_session

TIMEOUT = 10.0


class Outcome:
    def __init__(self) -> None:
        self.done: list = []
        self.errors: list[str] = []
        self.cancelled = 0
        self.progress: list[tuple] = []
        self.finished = threading.Event()

    def kwargs(self) -> dict:
        return dict(on_done=self._done, on_error=self._error, on_cancelled=self._cancelled,
                    on_progress=lambda *a: self.progress.append(a), threads=1, name="test-job")

    def _done(self, result) -> None:
        self.done.append(result)
        self.finished.set()

    def _error(self, message: str) -> None:
        self.errors.append(message)
        self.finished.set()

    def _cancelled(self) -> None:
        self.cancelled += 1
        self.finished.set()

    @property
    def count(self) -> int:
        return len(self.done) + len(self.errors) + self.cancelled


def run(fn, out: Outcome) -> Job:
    job = Job(fn, **out.kwargs()).start()
    assert job.join(TIMEOUT), "the job did not finish"
    return job


def test_on_done_gets_the_result():
    out = Outcome()
    job = run(lambda progress, cancel: {"answer": 42}, out)
    assert out.done == [{"answer": 42}] and out.count == 1
    assert not job.running


def test_progress_is_forwarded():
    def fn(progress, cancel):
        for i in range(3):
            progress("step", i + 1, 3)
        return "ok"

    out = Outcome()
    run(fn, out)
    assert out.progress == [("step", 1, 3), ("step", 2, 3), ("step", 3, 3)]
    assert out.done == ["ok"]


def test_value_error_message_goes_to_on_error(capsys):
    def fn(progress, cancel):
        raise ValueError("the file is not a checkpoint")

    out = Outcome()
    run(fn, out)
    assert out.errors == ["the file is not a checkpoint"] and out.count == 1
    assert "Traceback" not in capsys.readouterr().err  # an expected error: no traceback


def test_unexpected_error_is_reported_with_a_traceback_on_stderr(capsys):
    def fn(progress, cancel):
        raise RuntimeError("something unexpected")

    out = Outcome()
    run(fn, out)
    assert out.errors == ["something unexpected"]
    assert "Traceback" in capsys.readouterr().err


def test_error_without_message_names_its_type():
    def fn(progress, cancel):
        raise ValueError()

    out = Outcome()
    run(fn, out)
    assert out.errors == ["ValueError"]


def test_cancel_sets_the_event_and_on_cancelled_fires():
    started = threading.Event()

    def fn(progress, cancel):
        started.set()
        if not cancel.wait(TIMEOUT):
            return "never cancelled"
        raise Cancelled()

    out = Outcome()
    job = Job(fn, **out.kwargs()).start()
    assert started.wait(TIMEOUT) and job.running
    assert not job.cancel_event.is_set()
    job.cancel()
    assert job.cancel_event.is_set()
    assert job.join(TIMEOUT) and not job.running
    assert out.cancelled == 1 and out.done == [] and out.errors == []


def test_a_result_that_arrives_after_cancel_is_not_delivered():
    release = threading.Event()

    def fn(progress, cancel):
        release.wait(TIMEOUT)
        return "stale"

    out = Outcome()
    job = Job(fn, **out.kwargs()).start()
    job.cancel()
    release.set()
    assert job.join(TIMEOUT)
    assert out.done == [] and out.cancelled == 1


def test_join_times_out_while_running_then_succeeds():
    release = threading.Event()
    out = Outcome()
    job = Job(lambda progress, cancel: release.wait(TIMEOUT), **out.kwargs()).start()
    try:
        assert job.join(0.05) is False and job.running
    finally:
        release.set()
    assert job.join(TIMEOUT) is True and not job.running
    assert out.done == [True]


def test_open_session_as_a_job(save_checkpoint):
    out = Outcome()
    path = save_checkpoint()
    run(lambda progress, cancel: open_session(path, "synthetic", progress=progress, cancel=cancel), out)
    assert out.errors == [] and len(out.done) == 1
    assert out.done[0].means.shape == (600, 2)
    assert [p[0] for p in out.progress][:2] == ["loading model", "loading data"]


def test_open_session_job_reports_a_bad_file(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x00" * 3)
    out = Outcome()
    run(lambda progress, cancel: open_session(path, "synthetic", progress=progress, cancel=cancel), out)
    assert len(out.errors) == 1 and str(path) in out.errors[0]


def test_open_session_job_cancelled_while_encoding(save_checkpoint):
    out = Outcome()
    path = save_checkpoint()
    holder: dict = {}

    def progress(stage, done, total):
        if stage == "encoding":
            holder["job"].cancel()  # the user presses cancel as encoding starts

    def fn(_progress, cancel):
        return open_session(path, "synthetic", progress=progress, cancel=cancel, batch_size=100)

    job = Job(fn, **out.kwargs())
    holder["job"] = job
    job.start()
    assert job.join(TIMEOUT)
    assert out.cancelled == 1 and out.done == [] and out.errors == []


def test_never_started_job_joins():
    job = Job(lambda progress, cancel: None, threads=1)
    assert job.join(0.01) is True and not job.running
