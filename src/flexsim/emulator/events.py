"""The engine's event journal: bounded storage, list filters and the PascalCase field groups.

``event_data`` uses the names of TaskRouter's event callback parameters (``TaskSid``,
``WorkerActivityName``, ...), common fields included, so the HTTP layer can POST it as is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from flexsim.emulator.model import Event

#: Which ``event_data`` key each list filter compares with.
_FILTER_KEYS = {
    "task_sid": "TaskSid",
    "worker_sid": "WorkerSid",
    "reservation_sid": "ReservationSid",
    "task_queue_sid": "TaskQueueSid",
    "workflow_sid": "WorkflowSid",
}


class EventLog:
    """The last ``maxlen`` events, oldest first."""

    def __init__(self, maxlen: int = 100_000):
        self._events: deque[Event] = deque(maxlen=maxlen)

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self):
        return iter(self._events)

    def append(self, event: Event) -> None:
        """Keep ``event`` (the oldest one drops out once the log is full)."""
        self._events.append(event)

    def select(self, *, now: float, event_type: str | None = None, minutes: float | None = None,
               start_date: float | None = None, end_date: float | None = None,
               task_channel_sids: Iterable[str] | None = None, **sids: str | None) -> list[Event]:
        """Events matching every filter given, oldest first.

        Without ``start_date`` the window starts ``minutes`` (default 15) before ``now``;
        with both, the later start wins. ``sids`` are the filters of ``_FILTER_KEYS``.
        """
        start = start_date if start_date is not None else now - 60.0 * (15 if minutes is None else minutes)
        if start_date is not None and minutes is not None:
            start = max(start_date, now - 60.0 * minutes)
        end = end_date if end_date is not None else float("inf")
        wanted = {_FILTER_KEYS[k]: v for k, v in sids.items() if v is not None}
        channels = set(task_channel_sids) if task_channel_sids is not None else None
        out = []
        for ev in self._events:
            if ev.event_date < start or ev.event_date > end:
                continue
            if event_type is not None and ev.event_type != event_type:
                continue
            data = ev.event_data
            if any(data.get(key) != value and ev.resource_sid != value for key, value in wanted.items()):
                continue
            if channels is not None and data.get("TaskChannelSid") not in channels:
                continue
            out.append(ev)
        return out


def task_fields(engine: Any, task: Any) -> dict[str, Any]:
    """The ``Task`` field group of an event."""
    queue = engine._queues.get(task.task_queue_sid) if task.task_queue_sid else None
    flow = engine._workflows.get(task.workflow_sid) if task.workflow_sid else None
    channel = engine._channels.get(task.task_channel_sid)
    data: dict[str, Any] = {
        "TaskSid": task.sid,
        "TaskAttributes": task.attributes_json,
        "TaskAge": int(engine.task_age(task)),
        "TaskPriority": task.priority,
        "TaskAssignmentStatus": task.assignment_status,
        "TaskDateCreated": int(task.date_created),
        "TaskVersion": task.version,
        "TaskQueueSid": task.task_queue_sid,
        "TaskQueueName": queue.friendly_name if queue else None,
        "WorkflowSid": task.workflow_sid,
        "WorkflowName": flow.friendly_name if flow else None,
        "TaskChannelSid": task.task_channel_sid,
        "TaskChannelUniqueName": channel.unique_name if channel else None,
    }
    if task.assignment_status == "canceled" and task.reason is not None:
        data["TaskCanceledReason"] = task.reason
    if task.assignment_status == "completed" and task.reason is not None:
        data["TaskCompletedReason"] = task.reason
    return data


def worker_fields(engine: Any, worker: Any) -> dict[str, Any]:
    """The ``Worker`` field group of an event."""
    activity = engine._activities.get(worker.activity_sid)
    return {
        "WorkerSid": worker.sid,
        "WorkerName": worker.friendly_name,
        "WorkerAttributes": worker.attributes_json,
        "WorkerActivitySid": worker.activity_sid,
        "WorkerActivityName": activity.friendly_name if activity else None,
        "WorkerVersion": worker.version,
    }


def reservation_fields(engine: Any, reservation: Any) -> dict[str, Any]:
    """Task, Worker, TaskQueueSid, ReservationSid and WorkflowSid of a reservation event."""
    data: dict[str, Any] = {}
    task = engine._tasks.get(reservation.task_sid)
    if task is not None:
        data.update(task_fields(engine, task))
    worker = engine._workers.get(reservation.worker_sid)
    if worker is not None:
        data.update(worker_fields(engine, worker))
    data["TaskQueueSid"] = reservation.task_queue_sid
    data["ReservationSid"] = reservation.sid
    data["WorkflowSid"] = reservation.workflow_sid
    return data


def queue_fields(queue: Any) -> dict[str, Any]:
    """The TaskQueue field group of ``task-queue.*`` resource events."""
    return {
        "TaskQueueSid": queue.sid,
        "TaskQueueName": queue.friendly_name,
        "TaskQueueTargetExpression": queue.target_workers,
    }


def activity_fields(activity: Any) -> dict[str, Any]:
    """The Activity field group."""
    return {"ActivitySid": activity.sid, "ActivityName": activity.friendly_name,
            "ActivityAvailable": activity.available}


def channel_fields(channel: Any) -> dict[str, Any]:
    """The TaskChannel field group."""
    return {"TaskChannelSid": channel.sid, "TaskChannelName": channel.friendly_name,
            "TaskChannelUniqueName": channel.unique_name,
            "TaskChannelOptimizedRouting": channel.channel_optimized_routing}


def workflow_fields(flow: Any) -> dict[str, Any]:
    """The Workflow field group of ``workflow.*`` resource events."""
    return {"WorkflowSid": flow.sid, "WorkflowName": flow.friendly_name}
