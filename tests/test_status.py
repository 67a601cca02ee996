"""Status view: snapshot building, rendering and caching (no network)."""

from __future__ import annotations

import io
import threading

from rich.console import Console

from flexsim.status import StatusReader, build_snapshot, render_line, render_rich, render_text, watch

WORKSPACE = {
    "activity_statistics": [{"sid": "WA1", "friendly_name": "Available", "workers": 7},
                            {"sid": "WA2", "friendly_name": "Break", "workers": 2},
                            {"sid": "WA3", "friendly_name": "Offline", "workers": 1}],
    "tasks_by_status": {"pending": "3", "reserved": 1, "assigned": 4, "wrapping": 2},
    "longest_task_waiting_age": 42, "total_workers": 10, "total_tasks": 10,
}
SALES = {"tasks_by_status": {"pending": 2, "reserved": 1, "assigned": 3, "wrapping": 1},
         "longest_task_waiting_age": 42, "total_available_workers": 5, "total_eligible_workers": 8}
SUPPORT = {"tasks_by_status": {"pending": 1, "reserved": 0, "assigned": 1, "wrapping": 1},
           "longest_task_waiting_age": 7, "total_available_workers": 2, "total_eligible_workers": 4}
T0 = 1_700_000_000.0   # 22:13:20 UTC


class FakeStats:
    """Statistics reads served from dicts, counting calls."""

    def __init__(self):
        self.calls = {"workspace": 0, "queues": 0, "queue": 0}

    def workspace_statistics(self):
        self.calls["workspace"] += 1
        return WORKSPACE

    def queues(self):
        self.calls["queues"] += 1
        return [("WQ2", "Support"), ("WQ1", "Sales")]

    def queue_statistics(self, sid):
        self.calls["queue"] += 1
        return {"WQ1": SALES, "WQ2": SUPPORT}[sid]

    def map(self, fn, items):
        return [fn(i) for i in items]


def snapshot(extra=None):
    return build_snapshot(WORKSPACE, [("Support", SUPPORT), ("Sales", SALES)], T0, extra)


def test_render_text_is_the_once_snapshot():
    assert render_text(snapshot()) == "\n".join([
        "workspace at 22:13:20 UTC: 10 agents; tasks waiting 3, reserved 1, assigned 4, wrapping 2; "
        "longest wait 42s",
        "agents by activity: Available 7, Break 2, Offline 1",
        "queue    waiting  reserved  assigned  wrapping  longest  available  eligible",
        "Sales          2         1         3         1      42s          5         8",
        "Support        1         0         1         1       7s          2         4",
    ])


def test_render_line_includes_extra_counters():
    line = render_line(snapshot({"completed": 12, "abandoned": 3}))
    assert line == ("22:13:20 agents Available=7 Break=2 Offline=1 | waiting 3 reserved 1 assigned 4 "
                    "wrapping 2 | longest 42s | completed 12, abandoned 3")


def test_render_rich_shows_queues_and_agents():
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(render_rich(snapshot({"completed": 1})))
    text = out.getvalue()
    for expected in ("Agents (10)", "Available", "Sales", "Support", "42s", "(all)", "completed 1"):
        assert expected in text


def test_reader_caches_per_interval_and_lists_queues_rarely():
    now = [T0]
    api = FakeStats()
    reader = StatusReader(api, interval=2.0, queue_refresh=60.0, now=lambda: now[0])
    first = reader.snapshot()
    assert reader.snapshot() is first
    assert api.calls == {"workspace": 1, "queues": 1, "queue": 2}
    now[0] += 2.0
    second = reader.snapshot()
    assert second is not first and [q.name for q in second.queues] == ["Sales", "Support"]
    assert api.calls == {"workspace": 2, "queues": 1, "queue": 4}
    now[0] += 60.0
    reader.snapshot()
    assert api.calls["queues"] == 2


def test_watch_without_terminal_prints_plain_lines_until_stopped():
    out = io.StringIO()
    stop = threading.Event()
    reader = StatusReader(FakeStats(), interval=0.01, now=lambda: T0)
    seen = []

    def extra():
        seen.append(1)
        if len(seen) >= 1:
            stop.set()
        return {"completed": 5}

    reader.extra = extra
    watch(reader, Console(file=out, width=200), stop)
    lines = out.getvalue().splitlines()
    assert lines and lines[0].endswith("| completed 5")


def counting_reader():
    calls = []

    def extra():
        calls.append(1)
        return {"completed": len(calls)}

    return StatusReader(FakeStats(), interval=60.0, now=lambda: T0, extra=extra)


def test_live_view_shows_the_title_and_ends_on_a_fresh_frame():
    out = io.StringIO()
    stop = threading.Event()
    stop.set()
    reader = counting_reader()
    watch(reader, Console(file=out, width=120, color_system=None), stop, live=True,
          title=lambda: "flexsim demo: 5 of 60 s", final_refresh=True)
    text = out.getvalue()
    assert "flexsim demo: 5 of 60 s" in text
    assert "completed 2" in text and reader.api.calls["workspace"] == 2   # cached otherwise


def test_plain_lines_end_with_a_fresh_line_when_asked():
    out = io.StringIO()
    stop = threading.Event()
    stop.set()
    watch(counting_reader(), Console(file=out, width=200), stop, live=False, final_refresh=True)
    assert [line.rsplit("| ", 1)[1] for line in out.getvalue().splitlines()] == ["completed 1"]
