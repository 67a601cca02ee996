"""Workers and WorkerChannels: CRUD, queue membership and readiness bookkeeping (Engine mixin)."""

from __future__ import annotations

from typing import Any

from flexsim.emulator.errors import BadRequest, Conflict, IllegalTransition
from flexsim.emulator.events import worker_fields
from flexsim.emulator.expressions import ExpressionError, parse
from flexsim.emulator.locking import locked
from flexsim.emulator.model import Activity, TaskChannel, Worker, WorkerChannel
from flexsim.emulator.routing import BUSY, IDLE

MAX_CAPACITY = 50
MAX_WORKERS = 15_000


class WorkerMixin:
    """Worker resources of :class:`~flexsim.emulator.engine.Engine`."""

    # --- reads ---------------------------------------------------------------------------
    @locked
    def get_worker(self, sid: str) -> Worker:
        """One worker, or NotFound."""
        return self._lookup(self._workers, "Workers", sid)

    @locked
    def worker_activity(self, worker: Worker) -> Activity:
        """The worker's current activity."""
        return self._activities[worker.activity_sid]

    @locked
    def list_workers(self, *, activity_name: str | None = None, activity_sid: str | None = None,
                     available: bool | None = None, friendly_name: str | None = None,
                     target_workers_expression: str | None = None, task_queue_sid: str | None = None,
                     task_queue_name: str | None = None, ordering: str | None = None) -> list[Worker]:
        """Workers matching every filter given (creation order, or ``ordering``)."""
        expr = None
        if target_workers_expression is not None:
            try:
                expr = parse(target_workers_expression)
            except ExpressionError as exc:
                raise BadRequest(f"Invalid TargetWorkersExpression: {exc}") from None
        members: set[str] | None = None
        if task_queue_sid is not None:
            members = set(self._index.members.get(task_queue_sid, ()))
        if task_queue_name is not None:
            named = [q.sid for q in self._queues.values() if q.friendly_name == task_queue_name]
            found = set().union(*(self._index.members.get(q, set()) for q in named)) if named else set()
            members = found if members is None else members & found
        out = []
        for w in self._workers.values():
            act = self._activities[w.activity_sid]
            if activity_sid is not None and w.activity_sid != activity_sid:
                continue
            if activity_name is not None and act.friendly_name != activity_name:
                continue
            if available is not None and act.available != available:
                continue
            if friendly_name is not None and w.friendly_name.lower() != friendly_name.lower():
                continue
            if members is not None and w.sid not in members:
                continue
            if expr is not None and not expr.evaluate(self._membership_context(w, expr)):
                continue
            out.append(w)
        return ordered(out, ordering, {"DateStatusChanged": lambda w: w.date_status_changed,
                                        "DateCreated": lambda w: w.date_created})

    # --- create / update / delete ----------------------------------------------------------
    @locked
    def create_worker(self, friendly_name: str, *, activity_sid: str | None = None,
                      attributes: str | None = None) -> Worker:
        """A new worker with a WorkerChannel (capacity 1) per TaskChannel."""
        if not friendly_name or not friendly_name.strip():
            raise BadRequest("Missing required parameter FriendlyName in the post body")
        if friendly_name.lower() in self._worker_names:
            raise Conflict(f"Worker with friendly name {friendly_name} already exists", code=20001)
        if len(self._workers) >= MAX_WORKERS:
            raise BadRequest(f"A workspace may have at most {MAX_WORKERS} workers")
        attrs, text = self._parse_attributes(attributes, "Attributes")
        act_sid = activity_sid or self.workspace.default_activity_sid
        self.get_activity(act_sid)
        now = self._now()
        worker = Worker(sid=self.sids.new("WK"), friendly_name=friendly_name, activity_sid=act_sid,
                        attributes=attrs, attributes_json=text, date_created=now, date_updated=now,
                        date_status_changed=now, last_idle=now, last_work_change=now)
        self._workers[worker.sid] = worker
        self._worker_names[friendly_name.lower()] = worker.sid
        for ch in self._channels.values():
            self._add_worker_channel(worker, ch, now)
        self._index.add_worker(worker.sid)
        self._update_membership(worker)
        self._refresh_worker(worker)
        self._emit("worker.created", "worker", worker.sid, f"Worker {friendly_name} created",
                   worker_fields(self, worker))
        return worker

    @locked
    def update_worker(self, sid: str, *, activity_sid: str | None = None, attributes: str | None = None,
                      friendly_name: str | None = None, reject_pending_reservations: bool = False,
                      if_match: str | None = None) -> Worker:
        """Change a worker's activity, attributes or name (validated fully before any change)."""
        worker = self.get_worker(sid)
        self._check_if_match(worker, if_match)
        new_act = self.get_activity(activity_sid) if activity_sid is not None else None
        pending = [r for r in self._worker_reservations(worker.sid) if r.reservation_status == "pending"]
        to_unavailable = new_act is not None and not new_act.available
        if reject_pending_reservations and not to_unavailable:
            raise BadRequest("RejectPendingReservations is only valid when moving a worker to an "
                             "unavailable activity")
        if to_unavailable and pending and not reject_pending_reservations:
            raise IllegalTransition(f"Worker {sid} cannot be moved to unavailable activity "
                                    f"{new_act.friendly_name} because it has pending reservations; "
                                    "set RejectPendingReservations=true to reject them")
        attrs = text = None
        if attributes is not None:
            attrs, text = self._parse_attributes(attributes, "Attributes")
        if friendly_name is not None:
            if not friendly_name.strip():
                raise BadRequest("FriendlyName must not be empty")
            owner = self._worker_names.get(friendly_name.lower())
            if owner is not None and owner != sid:
                raise Conflict(f"Worker with friendly name {friendly_name} already exists", code=20001)
        now = self._now()
        if to_unavailable and pending:
            for res in pending:
                self._reject(res, None)
        if friendly_name is not None and friendly_name != worker.friendly_name:
            del self._worker_names[worker.friendly_name.lower()]
            self._worker_names[friendly_name.lower()] = sid
            worker.friendly_name = friendly_name
            self._touch_worker(worker, now)
        if attrs is not None:
            worker.attributes, worker.attributes_json = attrs, text
            self._touch_worker(worker, now)
            self._update_membership(worker)
            self._emit("worker.attributes.update", "worker", sid,
                       f"Worker {worker.friendly_name} updated attributes", worker_fields(self, worker))
        if new_act is not None and new_act.sid != worker.activity_sid:
            self._set_activity(worker, new_act)
        return worker

    @locked
    def delete_worker(self, sid: str, *, if_match: str | None = None) -> None:
        """Delete a worker that has no pending, accepted or wrapping reservation."""
        worker = self.get_worker(sid)
        self._check_if_match(worker, if_match)
        if any(r.reservation_status in ("pending", "accepted", "wrapping")
               for r in self._worker_reservations(sid)):
            raise IllegalTransition(f"Worker {sid} cannot be deleted because it has pending, "
                                    "accepted or wrapping reservations")
        del self._workers[sid]
        self._worker_names.pop(worker.friendly_name.lower(), None)
        self._worker_ctx.pop(sid, None)
        self._worker_res.pop(sid, None)
        self._index.remove_worker(sid)
        self._dirty_workers.pop(sid, None)
        self._emit("worker.deleted", "worker", sid, f"Worker {worker.friendly_name} deleted",
                   worker_fields(self, worker))

    # --- worker channels -------------------------------------------------------------------
    @locked
    def list_worker_channels(self, worker_sid: str) -> list[WorkerChannel]:
        """The worker's channels, in TaskChannel order."""
        return list(self.get_worker(worker_sid).channels.values())

    @locked
    def get_worker_channel(self, worker_sid: str, sid_or_unique_name: str) -> WorkerChannel:
        """A WorkerChannel by its WC SID, its TaskChannel SID or the TaskChannel unique name."""
        worker = self.get_worker(worker_sid)
        for ch in worker.channels.values():
            if sid_or_unique_name in (ch.sid, ch.task_channel_sid) or \
                    self._channels[ch.task_channel_sid].unique_name == sid_or_unique_name:
                return ch
        raise self._not_found(f"Workers/{worker_sid}/Channels/{sid_or_unique_name}")

    @locked
    def update_worker_channel(self, worker_sid: str, sid_or_unique_name: str, *, capacity: int | None = None,
                              available: bool | None = None) -> WorkerChannel:
        """Set a WorkerChannel's capacity (0..50) or availability."""
        ch = self.get_worker_channel(worker_sid, sid_or_unique_name)
        worker = self._workers[worker_sid]
        if capacity is not None and (not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY):
            raise BadRequest(f"Capacity must be an integer from 0 to {MAX_CAPACITY}, not {capacity!r}")
        now = self._now()
        task_channel = self._channels[ch.task_channel_sid]
        if capacity is not None and capacity != ch.configured_capacity:
            previous, ch.configured_capacity = ch.configured_capacity, capacity
            ch.date_updated = now
            self._channel_event(worker, ch, task_channel, "worker.capacity.update",
                                f"Worker {worker.friendly_name} capacity on {task_channel.unique_name} "
                                f"updated to {capacity}", previous)
        if available is not None and available != ch.available:
            ch.available = bool(available)
            ch.date_updated = now
            self._channel_event(worker, ch, task_channel, "worker.channel.availability.update",
                                f"Worker {worker.friendly_name} channel {task_channel.unique_name} "
                                f"availability updated to {ch.available}", ch.configured_capacity)
        self._refresh_worker(worker)
        return ch

    def worker_channel_load(self, channel: WorkerChannel) -> tuple[int, int]:
        """``(assigned_tasks, reservations pending + accepted + wrapping)`` of a WorkerChannel."""
        return channel.assigned, channel.assigned + channel.reserved

    # --- internals -------------------------------------------------------------------------
    def _channel_event(self, worker: Worker, ch: WorkerChannel, task_channel: TaskChannel,
                       event_type: str, description: str, previous_capacity: int) -> None:
        data = worker_fields(self, worker)
        data.update({"WorkerChannelAvailable": ch.available,
                     "WorkerChannelAvailableCapacity": max(0, ch.configured_capacity - ch.reserved - ch.assigned),
                     "WorkerChannelPreviousCapacity": previous_capacity,
                     "WorkerChannelTaskCount": ch.assigned + ch.reserved,
                     "TaskChannelSid": task_channel.sid, "TaskChannelUniqueName": task_channel.unique_name})
        self._emit(event_type, "worker", worker.sid, description, data)

    def _add_worker_channel(self, worker: Worker, task_channel: TaskChannel, now: float) -> None:
        worker.channels[task_channel.sid] = WorkerChannel(
            sid=self.sids.new("WC"), worker_sid=worker.sid, task_channel_sid=task_channel.sid,
            date_created=now, date_updated=now, last_idle=now)

    def _touch_worker(self, worker: Worker, now: float) -> None:
        worker.version += 1
        worker.date_updated = now
        self._worker_ctx.pop(worker.sid, None)

    def _set_activity(self, worker: Worker, activity: Activity) -> None:
        """Move a worker to ``activity`` (no checks) and emit ``worker.activity.update``."""
        now = self._now()
        previous = self._activities.get(worker.activity_sid)
        was_available = previous is not None and previous.available
        spent = now - worker.date_status_changed
        worker.activity_sid = activity.sid
        worker.date_status_changed = now
        if activity.available and not was_available and worker.work == 0:
            worker.last_idle = now  # idle time counts from becoming available
        self._touch_worker(worker, now)
        self._stats.activity_change(worker.sid, previous.sid if previous else None, spent, now)
        if self._dynamic_queues:
            self._update_membership(worker)
        self._refresh_worker(worker)
        data = worker_fields(self, worker)
        data.update({"WorkerTimeInPreviousActivity": int(spent),
                     "WorkerTimeInPreviousActivityMs": int(spent * 1000),
                     "WorkerPreviousActivitySid": previous.sid if previous else None,
                     "WorkerPreviousActivityName": previous.friendly_name if previous else None})
        self._emit("worker.activity.update", "worker", worker.sid,
                   f"Worker {worker.friendly_name} updated to {activity.friendly_name} Activity", data)

    def _worker_reservations(self, worker_sid: str) -> list[Any]:
        return [self._reservations[r] for r in self._worker_res.get(worker_sid, ())]

    def _worker_context(self, worker: Worker, with_channels: bool = False) -> dict[str, Any]:
        """The ``worker`` mapping target expressions see (cached until the worker changes)."""
        ctx = self._worker_ctx.get(worker.sid)
        if ctx is None:
            act = self._activities.get(worker.activity_sid)
            ctx = dict(worker.attributes)
            ctx.update(sid=worker.sid, friendly_name=worker.friendly_name, activity_sid=worker.activity_sid,
                       activity_name=act.friendly_name if act else None,
                       available=bool(act and act.available))
            self._worker_ctx[worker.sid] = ctx
        if with_channels:
            ctx = dict(ctx)
            ctx["channel"] = {
                self._channels[c.task_channel_sid].unique_name: {
                    "configured_capacity": c.configured_capacity, "assigned_tasks": c.assigned,
                    "available": c.available,
                    "available_capacity_percentage": capacity_percentage(c)}
                for c in worker.channels.values()}
        return ctx

    def _membership_context(self, worker: Worker, expr: Any) -> dict[str, Any]:
        if "worker" in expr.roots and "worker" not in worker.attributes:
            return {**worker.attributes, "worker": self._worker_context(worker, expr.reads_worker_channels)}
        return worker.attributes

    @property
    def _dynamic_queues(self) -> bool:
        """Whether a queue's TargetWorkers reads ``worker.*`` fields that change with the activity."""
        return any(q.target_expression is not None and "worker" in q.target_expression.roots
                   for q in self._queues.values())

    def _update_membership(self, worker: Worker) -> None:
        """Re-evaluate every queue's TargetWorkers for one worker (O(queues))."""
        member_of = [q.sid for q in self._queues.values()
                     if q.target_expression is not None
                     and q.target_expression.evaluate(self._membership_context(worker, q.target_expression))]
        if self._index.set_membership(worker.sid, member_of):
            self._dirty_workers[worker.sid] = None

    def _refresh_worker(self, worker: Worker) -> None:
        """Recompute where the worker is ready; mark it for routing if it became readier."""
        tiers: dict[str, tuple[int, float]] = {}
        act = self._activities.get(worker.activity_sid)
        single = not self.workspace.multi_task_enabled
        if act is not None and act.available and not (single and worker.work > 0):
            for ch in worker.channels.values():
                load = ch.reserved + ch.assigned
                if not ch.available or load >= ch.configured_capacity:
                    continue
                if self._channels[ch.task_channel_sid].channel_optimized_routing:
                    tiers[ch.task_channel_sid] = (IDLE, ch.last_idle) if load == 0 else (BUSY, worker.last_work_change)
                else:
                    tiers[ch.task_channel_sid] = (IDLE, worker.last_idle) if worker.work == 0 \
                        else (BUSY, worker.last_work_change)
        old = self._index.tiers.get(worker.sid, {})
        if not self._index.set_tiers(worker.sid, tiers):
            return
        if any(c not in old or tiers[c][0] < old[c][0] for c in tiers):
            self._dirty_workers[worker.sid] = None  # newly ready somewhere: look for waiting tasks


def capacity_percentage(ch: WorkerChannel) -> int:
    """A WorkerChannel's ``available_capacity_percentage`` (0 with no capacity configured)."""
    if ch.configured_capacity <= 0:
        return 0
    return max(0, int((1 - (ch.reserved + ch.assigned) / ch.configured_capacity) * 100))


def ordered(items: list[Any], ordering: str | None, keys: dict[str, Any]) -> list[Any]:
    """Sort by ``ordering`` like ``"DateStatusChanged:desc"``; unknown fields are refused."""
    if not ordering:
        return items
    for part in reversed([p.strip() for p in ordering.split(",") if p.strip()]):
        field, _, direction = part.partition(":")
        if field not in keys or direction.lower() not in ("", "asc", "desc"):
            raise BadRequest(f"Invalid Ordering {ordering!r}")
        items = sorted(items, key=keys[field], reverse=direction.lower() == "desc")
    return items
