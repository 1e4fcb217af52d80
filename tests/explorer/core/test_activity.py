"""The activity model (explorer/core/activity.py): jobs start, report, end and cancel, with one event each."""

from explorer.core.activity import Activity


def test_jobs_report_progress_and_the_newest_is_current():
    act = Activity()
    events: list[int] = []
    act.changed.connect(lambda: events.append(len(act.jobs)))
    stopped: list[str] = []
    a = act.start("opening m.safetensors", cancel=lambda: stopped.append("a"))
    b = act.start("spread of m.safetensors", 10)
    assert act.current is b and act.jobs == (a, b) and not act.idle
    act.update(b, 4, 10)
    assert (b.done, b.total, b.name) == (4, 10, "spread of m.safetensors")
    act.update(a, 3, 7, "encoding")
    assert (a.done, a.total, a.name) == (3, 7, "encoding")
    act.end(b)
    act.end(b)  # twice: harmless, no event
    act.update(b, 9)  # an ended job's late report changes nothing
    assert act.current is a and b.done == 4
    act.cancel()  # the Cancel button: the current job's own cancel, and it leaves the list
    assert stopped == ["a"] and act.idle and act.current is None
    assert events == [1, 2, 2, 2, 1, 0]
