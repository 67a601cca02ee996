"""Task and reservation state changes, capacity bookkeeping and timers (Engine mixin).

Callers have validated everything; these methods only apply a legal change, emit its events
and mark what may route next (``_dirty_workers`` / ``_dirty_tasks``).
"""

from __future__ import annotations

import logging
from typing import Any

from flexsim.emulator.assignment import AssignmentCallback
from flexsim.emulator.events import reservation_fields, task_fields
from flexsim.emulator.model import Reservation, Task, TaskQueue, Worker

log = logging.getLogger(__name__)

ASSIGNED_TTL = 86_400.0  # assigned tasks are deleted by the system after a day
MAX_ASSIGNMENTS = 1_000
_EVENT_OF = {"rejected": "reservation.rejected", "timeout": "reservation.timeout",
             "canceled": "reservation.canceled", "rescinded": "reservation.rescinded"}
_STAT_OF = {"rejected": "r_rejected", "timeout": "r_timed_out", "canceled": "r_canceled",
            "rescinded": "r_rescinded"}


class LifecycleMixin:
    """State transitions of :class:`~flexsim.emulator.engine.Engine`."""

    def _touch_task(self, task: Task, now: float | None = None) -> None:
        task.version += 1
        task.date_updated = self._now() if now is None else now

    def _touch_res(self, res: Reservation) -> None:
        res.version += 1
        res.date_updated = self._now()

    def _load(self, worker: Worker, channel_sid: str, reserved: int, assigned: int) -> None:
        """Change a worker's load on one channel and keep its idle times and readiness current."""
        ch = worker.channels.get(channel_sid)
        if ch is None:
            return
        now = self._now()
        before = worker.work
        ch.reserved += reserved
        ch.assigned += assigned
        worker.work += reserved + assigned
        if worker.work != before:
            worker.last_work_change = now
            if worker.work == 0:
                worker.last_idle = now
            if ch.reserved + ch.assigned == 0:
                ch.last_idle = now
        self._refresh_worker(worker)

    # --- reservations --------------------------------------------------------------------
    def _reserve(self, task: Task, worker: Worker, queue: TaskQueue) -> Reservation:
        now = self._now()
        res = Reservation(sid=self.sids.new("WR"), task_sid=task.sid, worker_sid=worker.sid,
                          task_queue_sid=queue.sid, reservation_status="pending", date_created=now,
                          date_updated=now, workflow_sid=task.workflow_sid)
        self._reservations[res.sid] = res
        self._worker_res.setdefault(worker.sid, {})[res.sid] = None
        task.reservation_sids.append(res.sid)
        if task.assignment_status == "pending":
            task.assignment_status = "reserved"
            task.assignment_count += 1
        self._touch_task(task, now)
        self._load(worker, task.task_channel_sid, 1, 0)
        flow = self._workflows.get(task.workflow_sid)
        timeout = flow.task_reservation_timeout if flow else 120
        self._schedule("reservation", res.sid, now + timeout, self._reservation_timed_out, res.sid)
        self._stats.add("r_created", task, queue_sid=queue.sid)
        self._emit("reservation.created", "reservation", res.sid,
                   f"Reservation {res.sid} created for worker {worker.friendly_name}", reservation_fields(self, res))
        if not self.workspace.multi_task_enabled and queue.reservation_activity_sid:
            self._set_activity(worker, self._activities[queue.reservation_activity_sid])
        if flow is not None and flow.assignment_callback_url:
            self._notices.append(("assignment", AssignmentCallback(
                reservation_sid=res.sid, url=flow.assignment_callback_url,
                fallback_url=flow.fallback_assignment_callback_url,
                params=self._callback_params(task, worker, queue, res, now))))
        return res

    def _callback_params(self, task: Task, worker: Worker, queue: TaskQueue, res: Reservation,
                         now: float) -> dict[str, str]:
        ws = self.workspace
        return {"Timestamp": str(int(now)), "AccountSid": ws.account_sid, "WorkspaceSid": ws.sid,
                "WorkflowSid": task.workflow_sid or "", "TaskQueueSid": queue.sid, "WorkerSid": worker.sid,
                "WorkerAttributes": worker.attributes_json, "TaskSid": task.sid,
                "TaskAttributes": task.attributes_json, "TaskAge": str(int(self.task_age(task))),
                "TaskPriority": str(task.priority), "ReservationSid": res.sid}

    def _accept(self, res: Reservation, instruction: str | None = None) -> None:
        task, worker = self._tasks[res.task_sid], self._workers[res.worker_sid]
        now = self._now()
        res.reservation_status = "accepted"
        res.instruction = instruction
        self._touch_res(res)
        self._cancel_timer("reservation", res.sid)
        self._load(worker, task.task_channel_sid, -1, 1)
        task.assignment_status = "assigned"
        task.assigned_at = now
        self._touch_task(task, now)
        self._leave_route(task)
        self._cancel_timer("ttl", task.sid)
        self._schedule("sysdel", task.sid, now + ASSIGNED_TTL, self._system_delete, task.sid)
        self._stats.add("r_accepted", task, queue_sid=res.task_queue_sid)
        self._stats.accepted(task, res.task_queue_sid, now)
        note = f" (instruction {instruction} recorded, not carried out)" if instruction else ""
        if instruction:
            log.info("reservation %s: instruction %r accepted without carrying it out", res.sid, instruction)
        self._emit("reservation.accepted", "reservation", res.sid,
                   f"Reservation {res.sid} accepted by worker {worker.friendly_name}{note}",
                   reservation_fields(self, res))
        if not self.workspace.multi_task_enabled:
            queue = self._queues.get(res.task_queue_sid)
            if queue is not None and queue.assignment_activity_sid:
                self._set_activity(worker, self._activities[queue.assignment_activity_sid])
        for other in self._pending_reservations(task):
            self._end_reservation(other, "rescinded")

    def _end_reservation(self, res: Reservation, status: str) -> None:
        """End a pending reservation as rejected, timeout, canceled or rescinded."""
        task, worker = self._tasks[res.task_sid], self._workers.get(res.worker_sid)
        res.reservation_status = status
        self._touch_res(res)
        self._cancel_timer("reservation", res.sid)
        if worker is not None:
            self._load(worker, task.task_channel_sid, -1, 0)
        self._stats.add(_STAT_OF[status], task, queue_sid=res.task_queue_sid)
        self._emit(_EVENT_OF[status], "reservation", res.sid, f"Reservation {res.sid} {status}",
                   reservation_fields(self, res))

    def _reject(self, res: Reservation, activity: Any) -> None:
        worker = self._workers[res.worker_sid]
        self._end_reservation(res, "rejected")
        if activity is not None and activity.sid != worker.activity_sid:
            self._set_activity(worker, activity)
        self._after_reservation(self._tasks[res.task_sid])

    def _reservation_timed_out(self, res_sid: str) -> None:
        res = self._reservations.get(res_sid)
        if res is None or res.reservation_status != "pending":
            return
        self._end_reservation(res, "timeout")
        worker = self._workers.get(res.worker_sid)
        timeout_act = self._activities.get(self.workspace.timeout_activity_sid)
        if worker is not None and timeout_act is not None and worker.activity_sid != timeout_act.sid:
            self._set_activity(worker, timeout_act)
        self._after_reservation(self._tasks[res.task_sid])

    def _after_reservation(self, task: Task) -> None:
        """A pending reservation ended unaccepted: the task waits again (or moves on)."""
        if task.assignment_status != "reserved":
            return
        if not self._pending_reservations(task):
            task.assignment_status = "pending"
            self._touch_task(task)
            if task.assignment_count >= MAX_ASSIGNMENTS:
                self._cancel_task(task, "Max Assignment Count Exceeded", "Max Assignment Count Exceeded")
                return
            route = self._routes.get(task.sid)
            if route is not None and route.expired:
                self._next_target(task, route)
                return
        self._wait(task)
        self._dirty_tasks[task.sid] = None

    # --- tasks ---------------------------------------------------------------------------
    def _cancel_task(self, task: Task, reason: str | None, description: str | None = None) -> None:
        for res in self._pending_reservations(task):
            self._end_reservation(res, "canceled")
        now = self._now()
        task.assignment_status = "canceled"
        if reason is not None:
            task.reason = reason
        task.ended_at = now
        self._touch_task(task, now)
        self._leave_route(task)
        self._cancel_timer("ttl", task.sid)
        self._stats.add("canceled", task, value=now - task.date_created)
        self._emit("task.canceled", "task", task.sid, description or f"Task {task.sid} canceled",
                   task_fields(self, task))
        self._schedule("purge", task.sid, now + self.purge_after, self._purge, task.sid)

    def _active_reservation(self, task: Task) -> Reservation | None:
        for sid in reversed(task.reservation_sids):
            res = self._reservations[sid]
            if res.reservation_status in ("accepted", "wrapping"):
                return res
        return None

    def _wrap_task(self, task: Task) -> None:
        task.assignment_status = "wrapping"
        self._touch_task(task)
        self._emit("task.wrapup", "task", task.sid, f"Task {task.sid} wrapping up", task_fields(self, task))
        res = self._active_reservation(task)
        if res is not None:
            res.reservation_status = "wrapping"
            self._touch_res(res)
            self._emit("reservation.wrapup", "reservation", res.sid, f"Reservation {res.sid} wrapping up",
                       reservation_fields(self, res))

    def _complete_task(self, task: Task, reason: str | None) -> None:
        now = self._now()
        res = self._active_reservation(task)
        task.assignment_status = "completed"
        if reason is not None:
            task.reason = reason
        task.ended_at = now
        self._touch_task(task, now)
        self._cancel_timer("sysdel", task.sid)
        self._stats.add("completed", task, value=now - task.date_created)
        self._emit("task.completed", "task", task.sid, f"Task {task.sid} completed", task_fields(self, task))
        if res is not None:
            res.reservation_status = "completed"
            self._touch_res(res)
            worker = self._workers.get(res.worker_sid)
            if worker is not None:
                self._load(worker, task.task_channel_sid, 0, -1)
            self._emit("reservation.completed", "reservation", res.sid, f"Reservation {res.sid} completed",
                       reservation_fields(self, res))
        self._schedule("purge", task.sid, now + self.purge_after, self._purge, task.sid)

    def _remove_task(self, task: Task, event_type: str) -> None:
        """Delete a task in any state (API delete or system delete), freeing its workers."""
        for res in self._pending_reservations(task):
            self._end_reservation(res, "canceled")
        res = self._active_reservation(task)
        if res is not None and res.worker_sid in self._workers:
            self._load(self._workers[res.worker_sid], task.task_channel_sid, 0, -1)
        self._stats.add("deleted", task)
        self._emit(event_type, "task", task.sid, f"Task {task.sid} deleted", task_fields(self, task))
        self._forget_task(task)

    def _forget_task(self, task: Task) -> None:
        self._leave_route(task)
        for kind in ("ttl", "sysdel", "purge"):
            self._cancel_timer(kind, task.sid)
        for sid in task.reservation_sids:
            res = self._reservations.pop(sid, None)
            self._cancel_timer("reservation", sid)
            if res is not None:
                self._worker_res.get(res.worker_sid, {}).pop(sid, None)
        self._tasks.pop(task.sid, None)
        self._dirty_tasks.pop(task.sid, None)

    # --- timers --------------------------------------------------------------------------
    def _ttl_expired(self, task_sid: str) -> None:
        task = self._tasks.get(task_sid)
        if task is not None and task.assignment_status in ("pending", "reserved"):
            self._cancel_task(task, "Task TTL Exceeded", "Task TTL Exceeded")

    def _system_delete(self, task_sid: str) -> None:
        task = self._tasks.get(task_sid)
        if task is not None and task.assignment_status in ("assigned", "wrapping"):
            self._remove_task(task, "task.system-deleted")

    def _purge(self, task_sid: str) -> None:
        task = self._tasks.get(task_sid)
        if task is not None and task.assignment_status in ("completed", "canceled"):
            self._forget_task(task)
