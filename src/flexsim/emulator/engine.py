"""The routing engine's facade: one object that owns a workspace's whole state.

``Engine`` is assembled from mixins, one module per concern: this module holds the state,
locking, notifications and the workspace/activity/channel resources; ``workers.py`` workers
and their channels; ``queues.py`` task queues and workflows; ``tasks.py`` tasks and
reservations as the API sees them; ``lifecycle.py`` their state changes and timers;
``assignment.py`` routing (indexes in ``routing.py``); ``stats_views.py`` statistics and
events (``statistics.py``, ``events.py``). No method does I/O or reads the wall clock.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
from collections import deque
from typing import Any, Callable

from flexsim.clock import Clock, Timer
from flexsim.emulator.assignment import AssignmentCallback, AssignmentMixin
from flexsim.emulator.errors import BadRequest, Conflict, IllegalTransition, NotFound, PreconditionFailed
from flexsim.emulator.events import EventLog, activity_fields, channel_fields
from flexsim.emulator.model import ACTIVE_STATUSES, Activity, Event, TaskChannel, Workspace
from flexsim.emulator.queues import QueueMixin
from flexsim.emulator.routing import QueueIndex
from flexsim.emulator.sids import SidFactory
from flexsim.emulator.statistics import StatsLog
from flexsim.emulator.stats_views import StatsMixin
from flexsim.emulator.tasks import TaskMixin
from flexsim.emulator.locking import locked
from flexsim.emulator.workers import WorkerMixin
from flexsim.hooks import EventHook

__all__ = ["Engine", "AssignmentCallback"]

MAX_ATTRIBUTES = 4096
MAX_TASK_CHANNELS = 15
_UNIQUE_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_FLEX_ACTIVITIES = (("Offline", False), ("Available", True), ("Unavailable", False), ("Break", False))
_FLEX_CHANNELS = (("Default", "default"), ("Voice", "voice"), ("Chat", "chat"), ("SMS", "sms"),
                  ("Video", "video"))


class Engine(WorkerMixin, QueueMixin, TaskMixin, AssignmentMixin, StatsMixin):
    """A TaskRouter workspace in memory, set up like a Flex workspace.

    Thread safety: every public method holds ``self.lock`` (an RLock); timers fire on the
    clock's thread and take it too. Listeners of ``on_event`` (``event=Event``) and
    ``on_assignment`` (``callback=AssignmentCallback``) are called after the change that
    caused them is complete, still holding the lock: they must hand slow work (HTTP) to
    another thread. They may call back into the engine.
    """

    def __init__(self, clock: Clock, *, account_sid: str, workspace_sid: str, rng: random.Random,
                 friendly_name: str = "Flex Task Assignment", purge_after: float = 300.0,
                 sids: SidFactory | None = None, max_events: int = 100_000):
        self.clock = clock
        self.lock = threading.RLock()
        self.purge_after = purge_after
        self.sids = sids or SidFactory(rng)
        self.on_event = EventHook()
        self.on_assignment = EventHook()
        self._activities: dict[str, Activity] = {}
        self._channels: dict[str, TaskChannel] = {}
        self._workers: dict = {}
        self._worker_names: dict[str, str] = {}
        self._queues: dict = {}
        self._workflows: dict = {}
        self._tasks: dict = {}
        self._reservations: dict = {}
        self._worker_res: dict[str, dict[str, None]] = {}  # worker -> its reservation SIDs
        self._index = QueueIndex()
        self._events = EventLog(max_events)
        self._stats = StatsLog(clock.now)
        self._timers: dict[tuple[str, str], Timer] = {}
        self._routes: dict[str, Any] = {}
        self._worker_ctx: dict[str, dict[str, Any]] = {}
        self._dirty_workers: dict[str, None] = {}
        self._dirty_tasks: dict[str, None] = {}
        self._notices: deque[tuple[str, Any]] = deque()
        self._depth = 0
        self._flushing = False
        self._seq = itertools.count()
        now = clock.now()
        acts = [self._new_activity(name, avail, now) for name, avail in _FLEX_ACTIVITIES]
        self.workspace = Workspace(sid=workspace_sid, account_sid=account_sid,
                                   friendly_name=friendly_name, default_activity_sid=acts[0].sid,
                                   timeout_activity_sid=acts[0].sid, date_created=now, date_updated=now)
        for name, unique in _FLEX_CHANNELS:
            self._new_channel(name, unique, False, now)
        everyone = self._create_queue_record("Everyone", "1==1", now)
        self._create_workflow_record(
            "Assign to Anyone",
            json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": everyone.sid}}}),
            now)

    # --- infrastructure ------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.now()

    def _emit(self, event_type: str, resource_type: str, resource_sid: str, description: str,
              data: dict[str, Any]) -> Event:
        """Record an event and queue it for ``on_event``."""
        now = self._now()
        sid = self.sids.new("EV")
        ws = self.workspace
        event_data = {"Sid": sid, "EventType": event_type, "AccountSid": ws.account_sid,
                      "WorkspaceSid": ws.sid, "WorkspaceName": ws.friendly_name,
                      "EventDescription": description, "ResourceType": resource_type,
                      "ResourceSid": resource_sid, "Timestamp": str(int(now)),
                      "TimestampMs": str(int(round(now * 1000))), **data}
        event = Event(sid=sid, event_type=event_type, event_date=now, description=description,
                      resource_type=resource_type, resource_sid=resource_sid, event_data=event_data,
                      actor_type="workspace", actor_sid=ws.sid)
        self._events.append(event)
        self._notices.append(("event", event))
        return event

    def _settle_and_flush(self) -> None:
        """After the outermost operation: finish routing, then notify listeners in order."""
        if self._flushing:
            return
        self._flushing = True
        try:
            self._settle()
            while self._notices:
                kind, payload = self._notices.popleft()
                if kind == "event":
                    self.on_event.fire(event=payload)
                else:
                    self.on_assignment.fire(callback=payload)
        finally:
            self._flushing = False

    def _schedule(self, kind: str, sid: str, when: float, fn: Callable[..., Any], *args: Any) -> None:
        """(Re)arm the one timer of ``kind`` for ``sid``."""
        self._cancel_timer(kind, sid)
        self._timers[(kind, sid)] = self.clock.call_at(when, self._fire_timer, kind, sid, fn, args)

    def _cancel_timer(self, kind: str, sid: str) -> None:
        timer = self._timers.pop((kind, sid), None)
        if timer is not None:
            timer.cancel()

    @locked
    def _fire_timer(self, kind: str, sid: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._timers.pop((kind, sid), None)
        fn(*args)

    def _not_found(self, path: str) -> NotFound:
        """404 for ``path`` below the workspace (``"Workers/WK..."``)."""
        return NotFound(f"The requested resource /Workspaces/{self.workspace.sid}/{path} was not found")

    def _lookup(self, table: dict[str, Any], path: str, sid: str) -> Any:
        """``table[sid]``, or NotFound for ``path/sid``."""
        try:
            return table[sid]
        except KeyError:
            raise self._not_found(f"{path}/{sid}") from None

    @staticmethod
    def _check_if_match(record: Any, if_match: str | None) -> None:
        if if_match is None:
            return
        tag = if_match.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if tag != "*" and tag != str(record.version):
            raise PreconditionFailed(f"The If-Match header value {if_match!r} does not match "
                                     f"the current version {record.version} of {record.sid}")

    @staticmethod
    def _parse_attributes(text: str | None, what: str) -> tuple[dict[str, Any], str]:
        if text is None:
            return {}, "{}"
        if not isinstance(text, str):
            raise BadRequest(f"{what} must be a JSON string")
        if len(text) > MAX_ATTRIBUTES:
            raise BadRequest(f"{what} is {len(text)} characters long; the limit is {MAX_ATTRIBUTES}")
        try:
            value = json.loads(text) if text.strip() else {}
        except ValueError:
            raise BadRequest(f"{what} is not valid JSON: {text[:80]!r}") from None
        if not isinstance(value, dict):
            raise BadRequest(f"{what} must be a JSON object")
        return value, text

    # --- workspace -------------------------------------------------------------------------
    @locked
    def update_workspace(self, *, friendly_name: str | None = None, event_callback_url: str | None = None,
                         events_filter: str | None = None, default_activity_sid: str | None = None,
                         timeout_activity_sid: str | None = None, multi_task_enabled: bool | None = None,
                         prioritize_queue_order: str | None = None) -> Workspace:
        """Change workspace settings; unknown activities and bad orders are refused."""
        ws = self.workspace
        for sid in (default_activity_sid, timeout_activity_sid):
            if sid is not None:
                self.get_activity(sid)
        if prioritize_queue_order is not None and prioritize_queue_order not in ("FIFO", "LIFO"):
            raise BadRequest("PrioritizeQueueOrder must be FIFO or LIFO")
        if friendly_name is not None:
            if not friendly_name.strip():
                raise BadRequest("FriendlyName must not be empty")
            ws.friendly_name = friendly_name
        if event_callback_url is not None:
            ws.event_callback_url = event_callback_url
        if events_filter is not None:
            ws.events_filter = events_filter or None
        if default_activity_sid is not None:
            ws.default_activity_sid = default_activity_sid
        if timeout_activity_sid is not None:
            ws.timeout_activity_sid = timeout_activity_sid
        if prioritize_queue_order is not None:
            ws.prioritize_queue_order = prioritize_queue_order
        if multi_task_enabled is not None and multi_task_enabled != ws.multi_task_enabled:
            ws.multi_task_enabled = multi_task_enabled
            for worker in self._workers.values():
                self._refresh_worker(worker)
        ws.date_updated = self._now()
        self._emit("workspace.updated", "workspace", ws.sid, f"Workspace {ws.friendly_name} updated", {})
        return ws

    # --- activities ----------------------------------------------------------------------
    def _new_activity(self, name: str, available: bool, now: float) -> Activity:
        act = Activity(sid=self.sids.new("WA"), friendly_name=name, available=available,
                       date_created=now, date_updated=now)
        self._activities[act.sid] = act
        return act

    @locked
    def list_activities(self, *, friendly_name: str | None = None, available: bool | None = None) -> list[Activity]:
        """Activities in creation order, optionally filtered."""
        return [a for a in self._activities.values()
                if (friendly_name is None or a.friendly_name == friendly_name)
                and (available is None or a.available == available)]

    @locked
    def get_activity(self, sid: str) -> Activity:
        """One activity, or NotFound."""
        return self._lookup(self._activities, "Activities", sid)

    @locked
    def create_activity(self, friendly_name: str, available: bool = True) -> Activity:
        """A new activity (``available`` is fixed for its life)."""
        if not friendly_name or not friendly_name.strip():
            raise BadRequest("Missing required parameter FriendlyName in the post body")
        if len(self._activities) >= 100:
            raise BadRequest("A workspace may have at most 100 activities")
        act = self._new_activity(friendly_name, bool(available), self._now())
        self._emit("activity.created", "activity", act.sid, f"Activity {friendly_name} created", activity_fields(act))
        return act

    @locked
    def update_activity(self, sid: str, *, friendly_name: str) -> Activity:
        """Rename an activity."""
        act = self.get_activity(sid)
        if not friendly_name or not friendly_name.strip():
            raise BadRequest("FriendlyName must not be empty")
        act.friendly_name = friendly_name
        act.date_updated = self._now()
        for w in self._workers.values():
            if w.activity_sid == sid:
                self._worker_ctx.pop(w.sid, None)
        self._emit("activity.updated", "activity", sid, f"Activity {friendly_name} updated", activity_fields(act))
        return act

    @locked
    def delete_activity(self, sid: str) -> None:
        """Delete an activity no worker uses and that is neither default nor timeout activity."""
        act = self.get_activity(sid)
        ws = self.workspace
        if sid in (ws.default_activity_sid, ws.timeout_activity_sid):
            raise IllegalTransition(f"Activity {sid} cannot be deleted because it is the workspace's "
                                    "default or timeout activity")
        if any(w.activity_sid == sid for w in self._workers.values()):
            raise IllegalTransition(f"Activity {sid} cannot be deleted because it is in use by one or more workers")
        if any(sid in (q.reservation_activity_sid, q.assignment_activity_sid) for q in self._queues.values()):
            raise IllegalTransition(f"Activity {sid} cannot be deleted because a TaskQueue references it")
        del self._activities[sid]
        self._emit("activity.deleted", "activity", sid, f"Activity {act.friendly_name} deleted", activity_fields(act))

    # --- task channels ---------------------------------------------------------------------
    def _new_channel(self, name: str, unique: str, optimized: bool, now: float) -> TaskChannel:
        ch = TaskChannel(sid=self.sids.new("TC"), friendly_name=name, unique_name=unique,
                         date_created=now, date_updated=now, channel_optimized_routing=optimized)
        self._channels[ch.sid] = ch
        return ch

    @locked
    def list_task_channels(self) -> list[TaskChannel]:
        """TaskChannels in creation order."""
        return list(self._channels.values())

    @locked
    def get_task_channel(self, sid_or_unique_name: str) -> TaskChannel:
        """A TaskChannel by SID or unique name, or NotFound."""
        ch = self._channels.get(sid_or_unique_name)
        if ch is None:
            ch = next((c for c in self._channels.values() if c.unique_name == sid_or_unique_name), None)
        if ch is None:
            raise self._not_found(f"TaskChannels/{sid_or_unique_name}")
        return ch

    @locked
    def create_task_channel(self, friendly_name: str, unique_name: str,
                            channel_optimized_routing: bool = False) -> TaskChannel:
        """A new TaskChannel; every worker gets a WorkerChannel for it (capacity 1)."""
        if not friendly_name or not unique_name:
            raise BadRequest("Missing required parameter FriendlyName or UniqueName in the post body")
        if not _UNIQUE_NAME.fullmatch(unique_name):
            raise BadRequest(f"UniqueName {unique_name!r} may contain only letters, digits, _ and $, "
                             "and may not start with a digit")
        if any(c.unique_name == unique_name for c in self._channels.values()):
            raise Conflict(f"A TaskChannel with UniqueName {unique_name} already exists")
        if len(self._channels) >= MAX_TASK_CHANNELS:
            raise BadRequest(f"A workspace may have at most {MAX_TASK_CHANNELS} TaskChannels")
        now = self._now()
        ch = self._new_channel(friendly_name, unique_name, bool(channel_optimized_routing), now)
        for worker in self._workers.values():
            self._add_worker_channel(worker, ch, now)
            self._refresh_worker(worker)
        self._emit("task-channel.created", "task-channel", ch.sid, f"TaskChannel {unique_name} created",
                   channel_fields(ch))
        return ch

    @locked
    def update_task_channel(self, sid: str, *, friendly_name: str | None = None,
                            channel_optimized_routing: bool | None = None) -> TaskChannel:
        """Rename a TaskChannel or switch channel-optimized routing."""
        ch = self.get_task_channel(sid)
        if friendly_name is not None and not friendly_name.strip():
            raise BadRequest("FriendlyName must not be empty")
        if friendly_name is not None:
            ch.friendly_name = friendly_name
        if channel_optimized_routing is not None and channel_optimized_routing != ch.channel_optimized_routing:
            ch.channel_optimized_routing = channel_optimized_routing
            self._index.drop_channel(ch.sid)
            for worker in self._workers.values():
                self._refresh_worker(worker)
        ch.date_updated = self._now()
        self._emit("task-channel.updated", "task-channel", ch.sid, f"TaskChannel {ch.unique_name} updated",
                   channel_fields(ch))
        return ch

    @locked
    def delete_task_channel(self, sid: str) -> None:
        """Delete a TaskChannel no active task uses; workers lose that WorkerChannel."""
        ch = self.get_task_channel(sid)
        if any(t.task_channel_sid == ch.sid for t in self._tasks.values()
               if t.assignment_status in ACTIVE_STATUSES):
            raise IllegalTransition(f"TaskChannel {ch.unique_name} cannot be deleted because tasks use it")
        del self._channels[ch.sid]
        self._index.drop_channel(ch.sid)
        for worker in self._workers.values():
            worker.channels.pop(ch.sid, None)
        self._emit("task-channel.deleted", "task-channel", ch.sid, f"TaskChannel {ch.unique_name} deleted",
                   channel_fields(ch))

