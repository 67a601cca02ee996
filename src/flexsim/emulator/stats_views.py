"""Events listing and the statistics payloads, in the wire's snake_case shape (Engine mixin).

Payloads leave out ``account_sid``, ``workspace_sid`` and ``url``, which the HTTP layer adds;
``start_time``/``end_time`` are epoch seconds that it formats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from flexsim.emulator.errors import BadRequest
from flexsim.emulator.locking import locked
from flexsim.emulator.model import ACTIVE_STATUSES, Event, Task
from flexsim.emulator.statistics import RESERVATION_KINDS, durations

EVENT_RETENTION = 30 * 86_400.0
_OPEN = ("pending", "reserved")


class StatsMixin:
    """Events and statistics of :class:`~flexsim.emulator.engine.Engine`."""

    @locked
    def list_events(self, *, event_type: str | None = None, minutes: int | None = None,
                    start_date: float | None = None, end_date: float | None = None, task_sid: str | None = None,
                    worker_sid: str | None = None, reservation_sid: str | None = None,
                    task_queue_sid: str | None = None, workflow_sid: str | None = None,
                    task_channel: str | None = None) -> list[Event]:
        """Stored events matching the filters, oldest first (Minutes defaults to 15)."""
        channels = None
        if task_channel is not None:
            channels = [c.sid for c in self._channels.values() if task_channel in (c.sid, c.unique_name)]
        return self._events.select(now=self._now(), event_type=event_type, minutes=minutes, start_date=start_date,
                                   end_date=end_date, task_channel_sids=channels, task_sid=task_sid,
                                   worker_sid=worker_sid, reservation_sid=reservation_sid,
                                   task_queue_sid=task_queue_sid, workflow_sid=workflow_sid)

    @locked
    def get_event(self, sid: str) -> Event:
        """One stored event of the last 30 days (as long as Twilio keeps them), or NotFound."""
        since = self._now() - EVENT_RETENTION
        for event in self._events:
            if event.sid == sid and event.event_date >= since:
                return event
        raise self._not_found(f"Events/{sid}")

    # --- real time -------------------------------------------------------------------------
    def _channel_filter(self, task_channel: str | None) -> str | None:
        return self.get_task_channel(task_channel).sid if task_channel else None

    def _active_tasks(self, channel_sid: str | None, pred: Any = None) -> list[Task]:
        return [t for t in self._tasks.values() if t.assignment_status in ACTIVE_STATUSES
                and (channel_sid is None or t.task_channel_sid == channel_sid) and (pred is None or pred(t))]

    def _task_summary(self, tasks: list[Task]) -> dict[str, Any]:
        by_status = {s: 0 for s in ACTIVE_STATUSES}
        by_priority: Counter[str] = Counter()
        longest: Task | None = None
        for t in tasks:
            by_status[t.assignment_status] += 1
            by_priority[str(t.priority)] += 1
            if t.assignment_status in _OPEN and (longest is None or t.date_created < longest.date_created):
                longest = t
        return {"tasks_by_status": by_status, "tasks_by_priority": dict(by_priority), "total_tasks": len(tasks),
                "longest_task_waiting_age": self.task_age(longest) if longest else 0,
                "longest_task_waiting_sid": longest.sid if longest else None}

    def _activity_statistics(self, worker_sids: Iterable[str] | None = None) -> list[dict[str, Any]]:
        workers = self._workers.values() if worker_sids is None else (self._workers[s] for s in worker_sids)
        counts = Counter(w.activity_sid for w in workers)
        return [{"sid": a.sid, "friendly_name": a.friendly_name, "workers": counts.get(a.sid, 0)}
                for a in self._activities.values()]

    @locked
    def realtime_workspace(self, task_channel: str | None = None) -> dict[str, Any]:
        """Workspace RealTimeStatistics."""
        out = self._task_summary(self._active_tasks(self._channel_filter(task_channel)))
        out.update(activity_statistics=self._activity_statistics(), total_workers=len(self._workers))
        return out

    @locked
    def realtime_workers(self, task_channel: str | None = None) -> dict[str, Any]:
        """Workers RealTimeStatistics (activities do not depend on the channel)."""
        self._channel_filter(task_channel)
        return {"activity_statistics": self._activity_statistics(), "total_workers": len(self._workers)}

    @locked
    def realtime_queue(self, sid: str, task_channel: str | None = None) -> dict[str, Any]:
        """TaskQueue RealTimeStatistics."""
        queue = self.get_task_queue(sid)
        channel_sid = self._channel_filter(task_channel)
        tasks = self._active_tasks(channel_sid, lambda t: t.task_queue_sid == sid)
        out = self._task_summary(tasks)
        relative = min((t for t in tasks if t.assignment_status in _OPEN),
                       key=lambda t: t.task_queue_entered_date or t.date_created, default=None)
        members = self._index.members.get(sid, set())
        available = sum(1 for w in members if self._activities[self._workers[w].activity_sid].available
                        and (channel_sid is None or (channel_sid in self._workers[w].channels
                                                     and self._workers[w].channels[channel_sid].available)))
        out.update(task_queue_sid=queue.sid, activity_statistics=self._activity_statistics(members),
                   longest_relative_task_age_in_queue=int(self._now() - (relative.task_queue_entered_date
                                                                          or relative.date_created)) if relative else 0,
                   longest_relative_task_sid_in_queue=relative.sid if relative else None,
                   total_available_workers=available, total_eligible_workers=len(members))
        return out

    @locked
    def realtime_workflow(self, sid: str, task_channel: str | None = None) -> dict[str, Any]:
        """Workflow RealTimeStatistics."""
        flow = self.get_workflow(sid)
        out = self._task_summary(self._active_tasks(self._channel_filter(task_channel),
                                                    lambda t: t.workflow_sid == sid))
        out["workflow_sid"] = flow.sid
        return out

    # --- cumulative ------------------------------------------------------------------------
    def _window(self, minutes: int | None, start_date: float | None, end_date: float | None) -> tuple[float, float]:
        now = self._now()
        end = min(end_date, now) if end_date is not None else now
        if start_date is not None:
            start = start_date
        else:
            start = end - 60.0 * (15 if minutes is None else minutes)
        if minutes is not None and start_date is not None:
            start = max(start, now - 60.0 * minutes)
        if start > end:
            raise BadRequest("StartDate must be before EndDate")
        return start, end

    @staticmethod
    def _split(split_by_wait_time: Any) -> list[int]:
        if split_by_wait_time is None or split_by_wait_time == "":
            return []
        items = split_by_wait_time.split(",") if isinstance(split_by_wait_time, str) else split_by_wait_time
        try:
            return [int(str(x).strip()) for x in items]
        except ValueError:
            raise BadRequest(f"Invalid SplitByWaitTime {split_by_wait_time!r}") from None

    @locked
    def cumulative_workspace(self, *, minutes: int | None = None, start_date: float | None = None,
                             end_date: float | None = None, task_channel: str | None = None,
                             split_by_wait_time: Any = None) -> dict[str, Any]:
        """Workspace CumulativeStatistics over the window (Minutes defaults to 15)."""
        start, end = self._window(minutes, start_date, end_date)
        out = self._stats.cumulative(start, end, channel_sid=self._channel_filter(task_channel),
                                     split=self._split(split_by_wait_time))
        for key in ("tasks_entered", "wait_duration_in_queue_until_accepted"):
            out.pop(key)
        return out

    @locked
    def cumulative_queue(self, sid: str, *, minutes: int | None = None, start_date: float | None = None,
                         end_date: float | None = None, task_channel: str | None = None,
                         split_by_wait_time: Any = None) -> dict[str, Any]:
        """TaskQueue CumulativeStatistics over the window."""
        self.get_task_queue(sid)
        start, end = self._window(minutes, start_date, end_date)
        out = self._stats.cumulative(start, end, queue_sid=sid, channel_sid=self._channel_filter(task_channel),
                                     split=self._split(split_by_wait_time))
        for key in ("tasks_created", "tasks_timed_out_in_workflow"):
            out.pop(key)
        out["task_queue_sid"] = sid
        return out

    @locked
    def cumulative_workflow(self, sid: str, *, minutes: int | None = None, start_date: float | None = None,
                            end_date: float | None = None, task_channel: str | None = None,
                            split_by_wait_time: Any = None) -> dict[str, Any]:
        """Workflow CumulativeStatistics over the window."""
        self.get_workflow(sid)
        start, end = self._window(minutes, start_date, end_date)
        out = self._stats.cumulative(start, end, workflow_sid=sid, channel_sid=self._channel_filter(task_channel),
                                     split=self._split(split_by_wait_time))
        for key in ("tasks_created", "wait_duration_in_queue_until_accepted"):
            out.pop(key)
        out["workflow_sid"] = sid
        return out

    @locked
    def cumulative_workers(self, *, minutes: int | None = None, start_date: float | None = None,
                           end_date: float | None = None, task_channel: str | None = None) -> dict[str, Any]:
        """Workers CumulativeStatistics: time per activity and reservation counters."""
        start, end = self._window(minutes, start_date, end_date)
        full = self._stats.cumulative(start, end, channel_sid=self._channel_filter(task_channel))
        spans: dict[str, list[float]] = {a: [] for a in self._activities}
        for _, _, activity_sid, spent in self._stats.stints(start, end):
            if activity_sid in spans:
                spans[activity_sid].append(spent)
        now = self._now()
        if end >= now:
            for w in self._workers.values():
                spans.setdefault(w.activity_sid, []).append(now - max(w.date_status_changed, start))
        out: dict[str, Any] = {v: full[v] for v in RESERVATION_KINDS.values()}
        out["activity_durations"] = [
            {"sid": sid, "friendly_name": self._activities[sid].friendly_name, **durations(values)}
            for sid, values in spans.items() if sid in self._activities]
        out["start_time"], out["end_time"] = start, end
        return out
