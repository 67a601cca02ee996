"""Cumulative statistics from a time-ordered log of facts (task and reservation history).

Each fact is ``(time, kind, task_sid, queue_sid, workflow_sid, channel_sid, value, value2)``;
a window ``[start, end]`` is found by bisection, so a dashboard query costs the facts in its
window only. The log keeps at most ``max_facts`` (the oldest drop out in halves).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any

RESERVATION_KINDS = {"r_created": "reservations_created", "r_accepted": "reservations_accepted",
                     "r_rejected": "reservations_rejected", "r_timed_out": "reservations_timed_out",
                     "r_canceled": "reservations_canceled", "r_rescinded": "reservations_rescinded"}
TASK_KINDS = {"canceled": "tasks_canceled", "completed": "tasks_completed", "deleted": "tasks_deleted",
              "moved": "tasks_moved"}


class StatsLog:
    """Append-only facts, with windowed aggregation for the three cumulative scopes."""

    def __init__(self, now: Callable[[], float], max_facts: int = 2_000_000):
        self._now = now
        self.max_facts = max_facts
        self._times: list[float] = []
        self._facts: list[tuple[Any, ...]] = []
        self._stints: list[tuple[float, str, str, float]] = []  # (end, worker, activity, duration)

    def add(self, kind: str, task: Any, *, queue_sid: str | None = None, value: float = 0.0,
            value2: float = 0.0, now: float | None = None) -> None:
        """Record one fact about ``task`` (its current queue unless ``queue_sid`` is given)."""
        t = self._now() if now is None else now
        if self._times and t < self._times[-1]:
            t = self._times[-1]  # keep the log sorted even if a record's clock lagged
        self._times.append(t)
        self._facts.append((t, kind, task.sid, queue_sid or task.task_queue_sid, task.workflow_sid,
                            task.task_channel_sid, value, value2))
        if len(self._facts) > self.max_facts:
            half = len(self._facts) // 2
            del self._times[:half], self._facts[:half]

    def accepted(self, task: Any, queue_sid: str, now: float) -> None:
        """A task accepted: its wait since creation and since entering its queue."""
        entered = task.task_queue_entered_date or task.date_created
        self.add("accepted", task, queue_sid=queue_sid, value=now - task.date_created,
                 value2=now - entered, now=now)

    def activity_change(self, worker_sid: str, activity_sid: str | None, spent: float, now: float) -> None:
        """A worker left ``activity_sid`` after ``spent`` seconds."""
        if activity_sid is not None:
            self._stints.append((now, worker_sid, activity_sid, spent))
            if len(self._stints) > self.max_facts:
                del self._stints[: len(self._stints) // 2]

    def window(self, start: float, end: float) -> list[tuple[Any, ...]]:
        """Facts with ``start <= time <= end``."""
        lo = bisect.bisect_left(self._times, start)
        hi = bisect.bisect_right(self._times, end)
        return self._facts[lo:hi]

    def stints(self, start: float, end: float) -> Iterable[tuple[float, str, str, float]]:
        """Finished activity stints that ended inside the window."""
        return (s for s in self._stints if start <= s[0] <= end)

    def cumulative(self, start: float, end: float, *, queue_sid: str | None = None,
                   workflow_sid: str | None = None, channel_sid: str | None = None,
                   split: Iterable[int] = ()) -> dict[str, Any]:
        """Counters and wait durations of the window, for the workspace, a queue or a workflow."""
        out: dict[str, Any] = {v: 0 for v in (*RESERVATION_KINDS.values(), *TASK_KINDS.values())}
        out.update(tasks_created=0, tasks_entered=0, tasks_timed_out_in_workflow=0)
        accepted: list[float] = []
        in_queue: list[float] = []
        canceled: list[float] = []
        for _, kind, _, q, wf, ch, value, value2 in self.window(start, end):
            if (queue_sid is not None and q != queue_sid) or (workflow_sid is not None and wf != workflow_sid) \
                    or (channel_sid is not None and ch != channel_sid):
                continue
            if kind in RESERVATION_KINDS:
                out[RESERVATION_KINDS[kind]] += 1
            elif kind in TASK_KINDS:
                out[TASK_KINDS[kind]] += 1
                if kind == "canceled":
                    canceled.append(value)
            elif kind == "created":
                out["tasks_created"] += 1
            elif kind == "wf_entered" and workflow_sid is not None:
                out["tasks_entered"] += 1
            elif kind == "q_entered" and queue_sid is not None:
                out["tasks_entered"] += 1
            elif kind == "wf_timeout":
                out["tasks_timed_out_in_workflow"] += 1
            elif kind == "accepted":
                accepted.append(value)
                in_queue.append(value2)
        out["avg_task_acceptance_time"] = int(round(sum(accepted) / len(accepted))) if accepted else 0
        out["wait_duration_until_accepted"] = durations(accepted)
        out["wait_duration_until_canceled"] = durations(canceled)
        out["wait_duration_in_queue_until_accepted"] = durations(in_queue)
        thresholds = sorted(set(split))
        out["split_by_wait_time"] = {
            str(t): {"above": {"tasks_canceled": sum(1 for v in canceled if v > t),
                               "reservations_accepted": sum(1 for v in accepted if v > t)},
                     "below": {"tasks_canceled": sum(1 for v in canceled if v <= t),
                               "reservations_accepted": sum(1 for v in accepted if v <= t)}}
            for t in thresholds} if thresholds else None
        out["start_time"], out["end_time"] = start, end
        return out


def durations(values: list[float]) -> dict[str, int]:
    """``{avg, min, max, total}`` in whole seconds (all 0 when empty)."""
    if not values:
        return {"avg": 0, "min": 0, "max": 0, "total": 0}
    total = sum(values)
    return {"avg": int(round(total / len(values))), "min": int(min(values)), "max": int(max(values)),
            "total": int(round(total))}
