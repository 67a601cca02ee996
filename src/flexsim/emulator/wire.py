"""TaskRouter v1 wire format: each engine record as the exact snake_case JSON the SDK reads.

Every record carries absolute ``url`` and ``links`` pointing back at the emulator (the base
URL the client used), dates are ``YYYY-MM-DDTHH:MM:SSZ`` in UTC, and JSON-valued fields
(``attributes``, ``configuration``, ``addons``) are strings inside the JSON body.
Serializers read derived fields (activity names, queue names, channel loads) from the
engine, so callers should hold ``engine.lock`` for a consistent snapshot.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from flexsim.emulator.errors import EmulatorError
from flexsim.emulator.params import snake_case
from flexsim.emulator.workers import capacity_percentage
from flexsim.emulator.model import (
    Activity,
    Event,
    Reservation,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)

# Where each event resource type lives below the workspace URL (Twilio mixes the cases).
_RESOURCE_PATHS = {
    "task": "Tasks", "worker": "Workers", "activity": "Activities", "workflow": "Workflows",
    "taskqueue": "TaskQueues", "task-queue": "TaskQueues", "task_queue": "TaskQueues",
    "taskchannel": "TaskChannels", "task-channel": "TaskChannels", "task_channel": "TaskChannels",
}


def iso(t: float | None) -> str | None:
    """Format an epoch time as TaskRouter does (``2024-01-31T12:00:00Z``); None stays None."""
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _safe(get: Callable[[], Any]) -> Any:
    """Run a lookup that may hit a deleted record; answer None instead of failing the response."""
    try:
        return get()
    except EmulatorError:
        return None


class Wire:
    """Serializes engine records for one request's base URL (``http://host:port``)."""

    def __init__(self, engine: Any, base_url: str):
        self.engine = engine
        self.base = base_url.rstrip("/")
        ws = engine.workspace
        self.account_sid = ws.account_sid
        self.workspace_sid = ws.sid
        self.ws_url = f"{self.base}/v1/Workspaces/{ws.sid}"

    def _common(self, sid: str, url: str, created: float, updated: float) -> dict[str, Any]:
        return {"sid": sid, "account_sid": self.account_sid, "workspace_sid": self.workspace_sid,
                "url": url, "date_created": iso(created), "date_updated": iso(updated)}

    def _name(self, get: Callable[[str], Any], sid: str | None, attr: str = "friendly_name") -> str | None:
        """``attr`` of the record ``get(sid)``; None without a SID or for a deleted record."""
        if not sid:
            return None
        record = _safe(lambda: get(sid))
        return getattr(record, attr) if record else None

    def _activity_name(self, sid: str | None) -> str | None:
        return self._name(self.engine.get_activity, sid)

    # --- Workspace, Activity, TaskChannel
    def workspace(self, ws: Workspace) -> dict[str, Any]:
        """The Workspace instance."""
        body = self._common(ws.sid, self.ws_url, ws.date_created, ws.date_updated)
        del body["workspace_sid"]
        body.update(
            friendly_name=ws.friendly_name,
            default_activity_sid=ws.default_activity_sid,
            default_activity_name=self._activity_name(ws.default_activity_sid),
            timeout_activity_sid=ws.timeout_activity_sid,
            timeout_activity_name=self._activity_name(ws.timeout_activity_sid),
            event_callback_url=ws.event_callback_url or "",
            events_filter=ws.events_filter,
            multi_task_enabled=ws.multi_task_enabled,
            prioritize_queue_order=ws.prioritize_queue_order,
            links={name: f"{self.ws_url}/{path}" for name, path in (
                ("activities", "Activities"), ("statistics", "Statistics"),
                ("real_time_statistics", "RealTimeStatistics"),
                ("cumulative_statistics", "CumulativeStatistics"), ("task_queues", "TaskQueues"),
                ("tasks", "Tasks"), ("workers", "Workers"), ("workflows", "Workflows"),
                ("task_channels", "TaskChannels"), ("events", "Events"))},
        )
        return body

    def activity(self, a: Activity) -> dict[str, Any]:
        """An Activity instance."""
        body = self._common(a.sid, f"{self.ws_url}/Activities/{a.sid}", a.date_created, a.date_updated)
        body.update(friendly_name=a.friendly_name, available=a.available, links={"workspace": self.ws_url})
        return body

    def task_channel(self, c: TaskChannel) -> dict[str, Any]:
        """A TaskChannel instance."""
        body = self._common(c.sid, f"{self.ws_url}/TaskChannels/{c.sid}", c.date_created, c.date_updated)
        body.update(friendly_name=c.friendly_name, unique_name=c.unique_name,
                    channel_optimized_routing=c.channel_optimized_routing, links={"workspace": self.ws_url})
        return body

    # --- Workers
    def worker(self, w: Worker) -> dict[str, Any]:
        """A Worker instance; ``available`` mirrors its Activity."""
        url = f"{self.ws_url}/Workers/{w.sid}"
        activity = _safe(lambda: self.engine.worker_activity(w))
        body = self._common(w.sid, url, w.date_created, w.date_updated)
        body.update(
            friendly_name=w.friendly_name,
            activity_sid=w.activity_sid,
            activity_name=activity.friendly_name if activity else None,
            available=bool(activity.available) if activity else False,
            attributes=w.attributes_json,
            date_status_changed=iso(w.date_status_changed),
            links={
                "channels": f"{url}/Channels",
                "activity": f"{self.ws_url}/Activities/{w.activity_sid}",
                "workspace": self.ws_url,
                "statistics": f"{self.ws_url}/Workers/Statistics",
                "real_time_statistics": f"{self.ws_url}/Workers/RealTimeStatistics",
                "cumulative_statistics": f"{self.ws_url}/Workers/CumulativeStatistics",
                "worker_statistics": f"{url}/Statistics",
                "worker_channels": f"{url}/Channels",
                "reservations": f"{url}/Reservations",
            },
        )
        return body

    def worker_channel(self, ch: WorkerChannel) -> dict[str, Any]:
        """A WorkerChannel instance (it has no ``links``)."""
        url = f"{self.ws_url}/Workers/{ch.worker_sid}/Channels/{ch.sid}"
        assigned, _ = self.engine.worker_channel_load(ch)
        body = self._common(ch.sid, url, ch.date_created, ch.date_updated)
        body.update(
            worker_sid=ch.worker_sid,
            task_channel_sid=ch.task_channel_sid,
            task_channel_unique_name=self._name(self.engine.get_task_channel, ch.task_channel_sid, "unique_name"),
            configured_capacity=ch.configured_capacity,
            assigned_tasks=assigned,
            available=ch.available,
            available_capacity_percentage=capacity_percentage(ch),
        )
        return body

    # --- TaskQueues and Workflows
    def task_queue(self, q: TaskQueue) -> dict[str, Any]:
        """A TaskQueue instance."""
        url = f"{self.ws_url}/TaskQueues/{q.sid}"
        body = self._common(q.sid, url, q.date_created, q.date_updated)
        body.update(
            friendly_name=q.friendly_name,
            target_workers=q.target_workers,
            max_reserved_workers=q.max_reserved_workers,
            task_order=q.task_order,
            reservation_activity_sid=q.reservation_activity_sid,
            reservation_activity_name=self._activity_name(q.reservation_activity_sid),
            assignment_activity_sid=q.assignment_activity_sid,
            assignment_activity_name=self._activity_name(q.assignment_activity_sid),
            links={
                "assignment_activity": f"{self.ws_url}/Activities/{q.assignment_activity_sid}",
                "reservation_activity": f"{self.ws_url}/Activities/{q.reservation_activity_sid}",
                "workspace": self.ws_url,
                "statistics": f"{url}/Statistics",
                "real_time_statistics": f"{url}/RealTimeStatistics",
                "cumulative_statistics": f"{url}/CumulativeStatistics",
                "list_statistics": f"{self.ws_url}/TaskQueues/Statistics",
                "bulk_real_time_statistics": f"{self.ws_url}/TaskQueues/RealTimeStatistics",
            },
        )
        return body

    def workflow(self, wf: Workflow) -> dict[str, Any]:
        """A Workflow instance."""
        url = f"{self.ws_url}/Workflows/{wf.sid}"
        body = self._common(wf.sid, url, wf.date_created, wf.date_updated)
        body.update(
            friendly_name=wf.friendly_name,
            configuration=wf.configuration,
            assignment_callback_url=wf.assignment_callback_url,
            fallback_assignment_callback_url=wf.fallback_assignment_callback_url,
            task_reservation_timeout=wf.task_reservation_timeout,
            document_content_type="application/json",
            links={"statistics": f"{url}/Statistics", "real_time_statistics": f"{url}/RealTimeStatistics",
                   "cumulative_statistics": f"{url}/CumulativeStatistics"},
        )
        return body

    # --- Tasks and Reservations
    def task(self, t: Task) -> dict[str, Any]:
        """A Task instance; ``age`` is computed from the engine's clock."""
        url = f"{self.ws_url}/Tasks/{t.sid}"
        body = self._common(t.sid, url, t.date_created, t.date_updated)
        body.update(
            assignment_status=t.assignment_status,
            attributes=t.attributes_json,
            addons="{}",
            age=int(self.engine.task_age(t)),
            priority=t.priority,
            reason=t.reason,
            timeout=t.timeout,
            task_queue_sid=t.task_queue_sid,
            task_queue_friendly_name=self._name(self.engine.get_task_queue, t.task_queue_sid),
            task_queue_entered_date=iso(t.task_queue_entered_date),
            workflow_sid=t.workflow_sid,
            workflow_friendly_name=self._name(self.engine.get_workflow, t.workflow_sid),
            task_channel_sid=t.task_channel_sid,
            task_channel_unique_name=self._name(self.engine.get_task_channel, t.task_channel_sid, "unique_name"),
            virtual_start_time=iso(t.virtual_start_time),
            ignore_capacity=t.ignore_capacity,
            routing_target=t.routing_target,
            links={
                "task_queue": f"{self.ws_url}/TaskQueues/{t.task_queue_sid}",
                "workflow": f"{self.ws_url}/Workflows/{t.workflow_sid}",
                "workspace": self.ws_url,
                "reservations": f"{url}/Reservations",
            },
        )
        return body

    def reservation(self, r: Reservation, scope: str = "task") -> dict[str, Any]:
        """A Reservation as seen below its Task (``scope="task"``) or its Worker (``"worker"``)."""
        parent = f"Tasks/{r.task_sid}" if scope == "task" else f"Workers/{r.worker_sid}"
        body = self._common(r.sid, f"{self.ws_url}/{parent}/Reservations/{r.sid}", r.date_created, r.date_updated)
        body.update(
            reservation_status=r.reservation_status,
            task_sid=r.task_sid,
            worker_sid=r.worker_sid,
            worker_name=self._name(self.engine.get_worker, r.worker_sid),
            links={"task": f"{self.ws_url}/Tasks/{r.task_sid}", "worker": f"{self.ws_url}/Workers/{r.worker_sid}",
                   "workspace": self.ws_url},
        )
        return body

    # --- Events and statistics
    def _resource_url(self, kind: str | None, sid: str | None, data: dict[str, Any]) -> str | None:
        if not kind or not sid:
            return None
        kind = kind.lower()
        if kind == "workspace":
            return self.ws_url
        if kind == "reservation":
            task_sid = data.get("task_sid") or data.get("TaskSid")
            return f"{self.ws_url}/Tasks/{task_sid}/Reservations/{sid}" if task_sid else None
        path = _RESOURCE_PATHS.get(kind)
        return f"{self.ws_url}/{path}/{sid}" if path else None

    def event(self, e: Event) -> dict[str, Any]:
        """An Event instance (no dates besides ``event_date``, no links)."""
        return {
            "sid": e.sid,
            "account_sid": self.account_sid,
            "workspace_sid": self.workspace_sid,
            "url": f"{self.ws_url}/Events/{e.sid}",
            "event_type": e.event_type,
            "event_date": iso(e.event_date),
            "event_date_ms": int(round(e.event_date * 1000)),
            "description": e.description,
            "actor_type": e.actor_type,
            "actor_sid": e.actor_sid,
            "actor_url": self._resource_url(e.actor_type, e.actor_sid, {}),
            "resource_type": e.resource_type,
            "resource_sid": e.resource_sid,
            "resource_url": self._resource_url(e.resource_type, e.resource_sid, e.event_data),
            # Stored events show their data in snake_case (the spec's example); callbacks use PascalCase.
            "event_data": {snake_case(k): v for k, v in (e.event_data or {}).items()},
            "source": e.source,
            "source_ip_address": e.source_ip_address,
        }

    def statistics(self, stats: dict[str, Any], path: str) -> dict[str, Any]:
        """A statistics payload from the engine, completed with account, workspace and url.

        Numeric ``start_time``/``end_time`` values are formatted as dates.
        """
        body = {"account_sid": self.account_sid, "workspace_sid": self.workspace_sid,
                "url": f"{self.ws_url}/{path}" if path else self.ws_url}
        body.update(_format_dates(stats))
        return body


def _format_dates(stats: dict[str, Any]) -> dict[str, Any]:
    """Format numeric ``start_time``/``end_time`` values, also in nested payloads."""
    out = {}
    for key, value in stats.items():
        if key in ("start_time", "end_time") and isinstance(value, (int, float)):
            value = iso(value)
        elif isinstance(value, dict) and key in ("realtime", "cumulative"):
            value = _format_dates(value)
        out[key] = value
    return out
