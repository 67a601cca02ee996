"""Contact-center KPIs computed from a TaskRouter event stream.

The input is the list of TaskRouter events (wire shape: ``event_type``, ``event_date_ms``,
``event_data`` with PascalCase fields such as ``TaskSid``), as the Events endpoint or the
emulator returns them. Events are the workspace's own record of what happened, so the
figures do not depend on what the simulators believe they did.

Definitions (every duration in simulated seconds: wall time × ``speed``):

- created: flexsim tasks with a ``task.created`` event.
- handled: tasks an agent accepted (``reservation.accepted``).
- abandoned: tasks canceled with the customer's abandon reason; the rate is abandoned / created.
- ASA (average speed of answer): mean wait from creation to acceptance over handled tasks.
- service level: tasks answered within the threshold (20 s) / (handled + abandoned), i.e.
  over the tasks whose wait ended; tasks still waiting at the end are left out.
- occupancy: time agents spent holding at least one accepted task (until it completed) /
  time they spent in an available activity.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SERVICE_LEVEL_THRESHOLD = 20.0
ABANDON_REASON = "abandoned"


@dataclass
class TaskTimeline:
    """When one task was created, accepted, canceled and completed (seconds, wall time)."""

    sid: str
    created: float | None = None
    accepted: float | None = None
    canceled: float | None = None
    completed: float | None = None
    cancel_reason: str | None = None
    worker_sid: str | None = None


@dataclass(frozen=True)
class KpiSummary:
    """The demo's closing figures; durations in simulated seconds, rates as fractions."""

    created: int
    handled: int
    completed: int
    abandoned: int
    still_waiting: int
    asa: float | None
    service_level: float | None
    occupancy: float | None
    threshold: float = SERVICE_LEVEL_THRESHOLD
    source: str = "TaskRouter events"

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned / created, or None when nothing was created."""
        return self.abandoned / self.created if self.created else None

    def lines(self) -> list[str]:
        """The summary as ``label: value`` lines."""
        return [
            f"tasks created: {self.created}",
            f"tasks handled: {self.handled} (completed {self.completed})",
            f"tasks abandoned: {self.abandoned} ({_pct(self.abandon_rate)})",
            f"still waiting at the end: {self.still_waiting}",
            f"average speed of answer: {_secs(self.asa)}",
            f"service level (answered within {self.threshold:g} s): {_pct(self.service_level)}",
            f"agent occupancy: {_pct(self.occupancy)}",
            f"(computed from {self.source}; durations in simulated seconds)",
        ]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def event_time(event: Mapping[str, Any]) -> float:
    """An event's time in seconds: ``event_date_ms`` when present, else ``event_date`` (epoch)."""
    if event.get("event_date_ms") is not None:
        return int(event["event_date_ms"]) / 1000.0
    return float(event["event_date"])


def _is_marked(data: Mapping[str, Any], marker: str | None) -> bool:
    if marker is None:
        return True
    raw = data.get("TaskAttributes")
    if not raw:
        return False
    try:
        attributes = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return False
    return isinstance(attributes, dict) and marker in attributes


def task_timelines(events: Iterable[Mapping[str, Any]], marker: str | None = None) -> dict[str, TaskTimeline]:
    """Group task and reservation events into one timeline per task.

    :param marker: keep only tasks whose attributes hold this key (None keeps all).
    """
    timelines: dict[str, TaskTimeline] = {}
    for event in sorted(events, key=event_time):
        data = event.get("event_data") or {}
        sid = data.get("TaskSid")
        kind = event.get("event_type")
        if not sid:
            continue
        if kind == "task.created":
            if _is_marked(data, marker):
                timelines[sid] = TaskTimeline(sid, created=event_time(event))
            continue
        line = timelines.get(sid)
        if line is None:
            continue
        when = event_time(event)
        if kind == "reservation.accepted" and line.accepted is None:
            line.accepted, line.worker_sid = when, data.get("WorkerSid")
        elif kind == "task.canceled":
            line.canceled, line.cancel_reason = when, data.get("TaskCanceledReason")
        elif kind == "task.completed":
            line.completed = when
    return timelines


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def _clip(spans: list[tuple[float, float]], limits: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(max(a, c), min(b, d)) for a, b in spans for c, d in limits if min(b, d) > max(a, c)]


def available_spans(events: Iterable[Mapping[str, Any]], available: set[str], end: float
                    ) -> dict[str, list[tuple[float, float]]]:
    """Per worker SID, the time spans spent in an activity named in ``available``.

    Built from ``worker.activity.update`` events; before its first event a worker is taken
    to be in that event's previous activity since the first event of the stream.
    """
    ordered = sorted(events, key=event_time)
    if not ordered:
        return {}
    origin = event_time(ordered[0])
    spans: dict[str, list[tuple[float, float]]] = {}
    since: dict[str, float | None] = {}
    for event in ordered:
        if event.get("event_type") != "worker.activity.update":
            continue
        data = event.get("event_data") or {}
        worker, when = data.get("WorkerSid"), event_time(event)
        if not worker:
            continue
        if worker not in since:
            since[worker] = origin if data.get("WorkerPreviousActivityName") in available else None
        if since[worker] is not None:
            spans.setdefault(worker, []).append((since[worker], when))  # type: ignore[arg-type]
        since[worker] = when if data.get("WorkerActivityName") in available else None
    for worker, start in since.items():
        if start is not None and end > start:
            spans.setdefault(worker, []).append((start, end))
    return spans


def occupancy(timelines: Iterable[TaskTimeline], spans: Mapping[str, list[tuple[float, float]]],
              end: float) -> float | None:
    """Busy time (holding an accepted task) / available time, summed over workers."""
    busy: dict[str, list[tuple[float, float]]] = {}
    for line in timelines:
        if line.accepted is not None and line.worker_sid:
            busy.setdefault(line.worker_sid, []).append((line.accepted, line.completed or end))
    available_total = sum(_union_length(s) for s in spans.values())
    if available_total <= 0:
        return None
    busy_total = sum(_union_length(_clip(b, spans.get(w, []))) for w, b in busy.items())
    return busy_total / available_total


@dataclass
class _Counts:
    waits: list[float] = field(default_factory=list)
    abandoned: int = 0
    completed: int = 0
    waiting: int = 0


def compute_kpis(events: Iterable[Mapping[str, Any]], *, speed: float = 1.0, end: float | None = None,
                 marker: str | None = None, available: set[str] | None = None,
                 threshold: float = SERVICE_LEVEL_THRESHOLD, abandon_reason: str = ABANDON_REASON,
                 source: str = "TaskRouter events") -> KpiSummary:
    """Compute the KPI summary from a list of events.

    :param speed: the simulation speed; wall-time durations are multiplied by it.
    :param end: the end of the measured period (wall seconds); default the last event.
    :param marker: count only tasks whose attributes hold this key.
    :param available: names of available activities (default ``{"Available"}``).
    """
    events = list(events)
    if end is None:
        end = max((event_time(e) for e in events), default=0.0)
    lines = task_timelines(events, marker)
    counts = _Counts()
    for line in lines.values():
        if line.accepted is not None and line.created is not None:
            counts.waits.append((line.accepted - line.created) * speed)
            counts.completed += line.completed is not None
        elif line.canceled is not None and line.cancel_reason == abandon_reason:
            counts.abandoned += 1
        elif line.canceled is None:
            counts.waiting += 1
    spans = available_spans(events, available or {"Available"}, end)
    answered = len(counts.waits)
    ended = answered + counts.abandoned
    return KpiSummary(
        created=len(lines), handled=answered, completed=counts.completed, abandoned=counts.abandoned,
        still_waiting=counts.waiting,
        asa=sum(counts.waits) / answered if answered else None,
        service_level=sum(w <= threshold for w in counts.waits) / ended if ended else None,
        occupancy=occupancy(lines.values(), spans, end), threshold=threshold, source=source)
