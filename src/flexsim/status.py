"""``flexsim status``: a realtime view of a workspace, read from RealTimeStatistics only.

Per refresh it makes one workspace RealTimeStatistics call plus one per task queue (run on
the access layer's pool); the queue list itself is re-read only every ``queue_refresh``
seconds. Snapshots are cached for the refresh interval, so several readers (the live view
and the demo's periodic lines) never multiply the calls. Twilio advises exactly this:
cache statistics rather than poll them hard.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

TASK_STATES = ("pending", "reserved", "assigned", "wrapping")


@dataclass(frozen=True)
class QueueStatus:
    """One queue's row: tasks by state, longest wait (s), available and eligible agents."""

    name: str
    pending: int = 0
    reserved: int = 0
    assigned: int = 0
    wrapping: int = 0
    longest_wait: int = 0
    available: int = 0
    eligible: int = 0


@dataclass(frozen=True)
class StatusSnapshot:
    """What a realtime dashboard shows at one instant."""

    taken_at: float
    activities: tuple[tuple[str, int], ...]
    total_workers: int
    tasks: Mapping[str, int]
    longest_wait: int
    queues: tuple[QueueStatus, ...]
    extra: Mapping[str, int] = field(default_factory=dict)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _by_status(stats: Mapping[str, Any]) -> dict[str, int]:
    raw = stats.get("tasks_by_status") or {}
    return {state: _int(raw.get(state)) for state in TASK_STATES}


def queue_status(name: str, stats: Mapping[str, Any]) -> QueueStatus:
    """Turn a TaskQueue RealTimeStatistics payload (wire field names) into a row."""
    counts = _by_status(stats)
    return QueueStatus(name=name, longest_wait=_int(stats.get("longest_task_waiting_age")),
                       available=_int(stats.get("total_available_workers")),
                       eligible=_int(stats.get("total_eligible_workers")), **counts)


def build_snapshot(workspace: Mapping[str, Any], queues: list[tuple[str, Mapping[str, Any]]],
                   taken_at: float, extra: Mapping[str, int] | None = None) -> StatusSnapshot:
    """Combine the workspace and per-queue RealTimeStatistics payloads into a snapshot."""
    activities = tuple((str(a.get("friendly_name")), _int(a.get("workers")))
                       for a in workspace.get("activity_statistics") or [])
    return StatusSnapshot(
        taken_at=taken_at, activities=activities, total_workers=_int(workspace.get("total_workers")),
        tasks=_by_status(workspace), longest_wait=_int(workspace.get("longest_task_waiting_age")),
        queues=tuple(queue_status(name, stats) for name, stats in sorted(queues, key=lambda q: q[0])),
        extra=dict(extra or {}))


def _clock(taken_at: float) -> str:
    return datetime.fromtimestamp(taken_at, tz=timezone.utc).strftime("%H:%M:%S")


def _queue_cells(q: QueueStatus) -> list[str]:
    return [q.name, str(q.pending), str(q.reserved), str(q.assigned), str(q.wrapping),
            f"{q.longest_wait}s", str(q.available), str(q.eligible)]


QUEUE_HEADERS = ["queue", "waiting", "reserved", "assigned", "wrapping", "longest", "available", "eligible"]
RICH_HEADERS = QUEUE_HEADERS[:6] + ["avail", "eligible"]  # fits an 80-column terminal


def _extras(snapshot: StatusSnapshot) -> str:
    return ", ".join(f"{k} {v}" for k, v in snapshot.extra.items())


def render_text(snapshot: StatusSnapshot) -> str:
    """A plain multi-line snapshot (``flexsim status --once``)."""
    t = snapshot.tasks
    head = (f"workspace at {_clock(snapshot.taken_at)} UTC: {snapshot.total_workers} agents; tasks "
            f"waiting {t['pending']}, reserved {t['reserved']}, assigned {t['assigned']}, "
            f"wrapping {t['wrapping']}; longest wait {snapshot.longest_wait}s")
    lines = [head]
    if snapshot.extra:
        lines.append(_extras(snapshot))
    lines.append("agents by activity: " + (", ".join(f"{n} {c}" for n, c in snapshot.activities) or "none"))
    rows = [QUEUE_HEADERS] + [_queue_cells(q) for q in snapshot.queues]
    widths = [max(len(r[i]) for r in rows) for i in range(len(QUEUE_HEADERS))]
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


def render_line(snapshot: StatusSnapshot) -> str:
    """One line per refresh, for pipes and CI logs."""
    t = snapshot.tasks
    agents = " ".join(f"{n}={c}" for n, c in snapshot.activities)
    line = (f"{_clock(snapshot.taken_at)} agents {agents} | waiting {t['pending']} reserved {t['reserved']} "
            f"assigned {t['assigned']} wrapping {t['wrapping']} | longest {snapshot.longest_wait}s")
    return line + (f" | {_extras(snapshot)}" if snapshot.extra else "")


def render_rich(snapshot: StatusSnapshot) -> Group:
    """The live view: an agents-by-activity table and a per-queue table."""
    agents = Table(title=f"Agents ({snapshot.total_workers})", title_justify="left", box=box.SIMPLE_HEAD)
    agents.add_column("activity")
    agents.add_column("agents", justify="right")
    for name, count in snapshot.activities:
        agents.add_row(name, str(count))
    queues = Table(title=f"Queues at {_clock(snapshot.taken_at)} UTC", title_justify="left",
                   caption=_extras(snapshot) or None, caption_justify="left", box=None, pad_edge=False,
                   header_style="bold underline")
    for i, header in enumerate(RICH_HEADERS):
        queues.add_column(header, justify="left" if i == 0 else "right", no_wrap=True)
    for q in snapshot.queues:
        queues.add_row(*_queue_cells(q))
    t = snapshot.tasks
    queues.add_row("(all)", str(t["pending"]), str(t["reserved"]), str(t["assigned"]),
                   str(t["wrapping"]), f"{snapshot.longest_wait}s", "", "", style="bold")
    return Group(agents, queues)


class StatisticsApi(Protocol):
    """The three reads the status view needs (see ``TaskRouterStatistics``)."""

    def workspace_statistics(self) -> dict[str, Any]: ...

    def queues(self) -> list[tuple[str, str]]: ...

    def queue_statistics(self, sid: str) -> dict[str, Any]: ...

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]: ...


class StatusReader:
    """Fetches snapshots, cached for ``interval`` seconds; re-lists queues every ``queue_refresh``.

    :param api: the statistics reads, normally ``TaskRouterStatistics`` over the access layer.
    :param extra: optional callable adding counters (e.g. the demo's completed and abandoned).
    :param now: a time source (wall clock by default: this is a monitoring view, not a simulation).
    """

    def __init__(self, api: StatisticsApi, *, interval: float = 2.0, queue_refresh: float = 60.0,
                 extra: Callable[[], Mapping[str, int]] | None = None, now: Callable[[], float] = time.time):
        self.api = api
        self.interval = interval
        self.queue_refresh = queue_refresh
        self.extra = extra
        self._now = now
        self._lock = threading.Lock()
        self._cached: StatusSnapshot | None = None
        self._queues: list[tuple[str, str]] = []
        self._queues_at = float("-inf")

    def snapshot(self, fresh: bool = False) -> StatusSnapshot:
        """The current snapshot, fetched at most once per interval (``fresh`` fetches anyway)."""
        with self._lock:
            now = self._now()
            if not fresh and self._cached is not None and now - self._cached.taken_at < self.interval:
                return self._cached
            if now - self._queues_at >= self.queue_refresh:
                self._queues, self._queues_at = self.api.queues(), now
            workspace = self.api.workspace_statistics()
            stats = self.api.map(lambda q: (q[1], self.api.queue_statistics(q[0])), self._queues)
            self._cached = build_snapshot(workspace, stats, now, self.extra() if self.extra else None)
            return self._cached


class _Heading:
    """A line of text re-read on every repaint (so a clock in it ticks between refreshes)."""

    def __init__(self, text: Callable[[], str]):
        self.text = text

    def __rich__(self) -> Text:
        return Text(self.text(), style="bold")


def watch(reader: StatusReader, console: Console, stop: threading.Event, *, live: bool | None = None,
          on_error: Callable[[Exception], None] | None = None, title: Callable[[], str] | None = None,
          final_refresh: bool = False) -> None:
    """Show snapshots until ``stop`` is set: a rich live view on a terminal, else plain lines.

    A failed refresh is passed to ``on_error`` (and the view goes on) rather than ending it.
    ``title`` gives a heading for the live view (e.g. the demo's progress); with
    ``final_refresh`` one more, uncached snapshot is shown once ``stop`` is set, so the last
    frame matches the final counts.
    """
    live = console.is_terminal if live is None else live

    def fetch(fresh: bool = False) -> StatusSnapshot | None:
        try:
            return reader.snapshot(fresh)
        except Exception as exc:  # a monitoring view survives a failed refresh
            if on_error:
                on_error(exc)
            return None

    if not live:
        while not stop.is_set():
            snap = fetch()
            if snap is not None:
                console.print(render_line(snap), highlight=False, soft_wrap=True)
            stop.wait(reader.interval)
        snap = fetch(fresh=True) if final_refresh else None
        if snap is not None:
            console.print(render_line(snap), highlight=False, soft_wrap=True)
        return

    def frame(snap: StatusSnapshot | None) -> Any:
        body = render_rich(snap) if snap else Text("waiting for the first statistics…")
        return Group(_Heading(title), body) if title else body

    with Live(frame(fetch()), console=console, refresh_per_second=4, transient=False) as view:
        while not stop.wait(reader.interval):
            snap = fetch()
            if snap is not None:
                view.update(frame(snap))
        snap = fetch(fresh=True) if final_refresh else None
        if snap is not None:
            view.update(frame(snap), refresh=True)


_STAT_FIELDS = ("activity_statistics", "longest_task_waiting_age", "tasks_by_status", "total_workers",
                "total_tasks", "total_available_workers", "total_eligible_workers")


def _fields(instance: Any) -> dict[str, Any]:
    return {name: getattr(instance, name, None) for name in _STAT_FIELDS}


class TaskRouterStatistics:
    """The status view's reads over the access layer (:class:`flexsim.taskrouter.TaskRouter`).

    Only RealTimeStatistics endpoints and the queue list are used, so the same view works
    against real Twilio and the emulator.
    """

    def __init__(self, tr: Any):
        self.tr = tr

    def workspace_statistics(self) -> dict[str, Any]:
        """The workspace RealTimeStatistics payload."""
        ws = self.tr.workspace
        return _fields(self.tr.call("fetch", "workspace realtime statistics",
                                    lambda: ws.real_time_statistics().fetch()))

    def queues(self) -> list[tuple[str, str]]:
        """``(sid, friendly_name)`` of every task queue."""
        return [(q.sid, q.friendly_name) for q in self.tr.list_task_queues()]

    def queue_statistics(self, sid: str) -> dict[str, Any]:
        """One task queue's RealTimeStatistics payload."""
        queue = self.tr.workspace.task_queues(sid)
        return _fields(self.tr.call("fetch", f"realtime statistics of queue {sid}",
                                    lambda: queue.real_time_statistics().fetch()))

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """Run the per-queue reads on the access layer's bounded pool."""
        return self.tr.map(fn, items)


def status_once(tr: Any) -> str:
    """One plain snapshot of the workspace behind ``tr`` (``flexsim status --once``)."""
    return render_text(StatusReader(TaskRouterStatistics(tr)).snapshot())


def run_status(tr: Any, console: Console, stop: threading.Event, *, interval: float = 2.0) -> None:
    """Show the workspace live (or as plain lines without a terminal) until ``stop`` is set."""
    reader = StatusReader(TaskRouterStatistics(tr), interval=interval)
    watch(reader, console, stop, on_error=lambda exc: console.print(f"status: {exc}", highlight=False))
