"""Tasks and Reservations as the REST API sees them: validation, then one legal change (Engine mixin)."""

from __future__ import annotations

import logging
from typing import Any

from flexsim.emulator.errors import BadRequest, IllegalTransition
from flexsim.emulator.events import task_fields
from flexsim.emulator.expressions import ExpressionError, parse
from flexsim.emulator.lifecycle import LifecycleMixin
from flexsim.emulator.locking import locked
from flexsim.emulator.model import Reservation, Task
from flexsim.emulator.routing_config import Target
from flexsim.emulator.workers import ordered

log = logging.getLogger(__name__)

DEFAULT_TTL = 86_400
MAX_TTL = 1_209_600
MAX_PRIORITY = 2_147_483_647
EPOCH_1900 = -2_208_988_800.0
STATUSES = ("pending", "reserved", "assigned", "canceled", "completed", "wrapping")
UNSUPPORTED_INSTRUCTIONS = ("call", "dequeue", "conference", "redirect")


class TaskMixin(LifecycleMixin):
    """Task and Reservation resources of :class:`~flexsim.emulator.engine.Engine`."""

    def task_age(self, task: Task) -> int:
        """Seconds since the task was created."""
        return int(max(0.0, self._now() - task.date_created))

    @locked
    def get_task(self, sid: str) -> Task:
        """One task, or NotFound."""
        return self._lookup(self._tasks, "Tasks", sid)

    @locked
    def list_tasks(self, *, assignment_status: list[str] | None = None, workflow_sid: str | None = None,
                   workflow_name: str | None = None, task_queue_sid: str | None = None,
                   task_queue_name: str | None = None, evaluate_task_attributes: str | None = None,
                   ordering: str | None = None, priority: int | None = None,
                   routing_target: str | None = None) -> list[Task]:
        """Tasks matching every filter (creation order, or ``ordering`` on DateCreated/Priority)."""
        statuses = None
        if assignment_status:
            statuses = {s.strip() for item in assignment_status for s in item.split(",") if s.strip()}
            bad = statuses - set(STATUSES)
            if bad:
                raise BadRequest(f"Invalid AssignmentStatus {sorted(bad)[0]!r}")
        expr = None
        if evaluate_task_attributes is not None:
            try:
                expr = parse(evaluate_task_attributes)
            except ExpressionError as exc:
                raise BadRequest(f"Invalid EvaluateTaskAttributes expression: {exc}") from None
        flows = {w.sid for w in self._workflows.values() if w.friendly_name == workflow_name} if workflow_name else None
        queues = {q.sid for q in self._queues.values() if q.friendly_name == task_queue_name} if task_queue_name else None
        out = [t for t in self._tasks.values()
               if (statuses is None or t.assignment_status in statuses)
               and (workflow_sid is None or t.workflow_sid == workflow_sid)
               and (flows is None or t.workflow_sid in flows)
               and (task_queue_sid is None or t.task_queue_sid == task_queue_sid)
               and (queues is None or t.task_queue_sid in queues)
               and (priority is None or t.priority == priority)
               and (routing_target is None or t.routing_target == routing_target)
               and (expr is None or expr.evaluate(self._task_context(t)))]
        return ordered(out, ordering, {"DateCreated": lambda t: t.date_created, "Priority": lambda t: t.priority})

    @locked
    def create_task(self, *, attributes: str | None = None, workflow_sid: str | None = None,
                    task_channel: str | None = None, priority: int | None = None, timeout: int | None = None,
                    task_queue_sid: str | None = None, virtual_start_time: float | None = None,
                    routing_target: str | None = None, ignore_capacity: bool = False) -> Task:
        """Create a task and route it at once (events ``task.created``, ``workflow.entered``...)."""
        attrs, text = self._parse_attributes(attributes, "Attributes")
        channel = self.get_task_channel(task_channel or "default")
        queue = self.get_task_queue(task_queue_sid) if task_queue_sid else None
        flow = None
        if workflow_sid is not None:
            flow = self.get_workflow(workflow_sid)
        elif queue is None:
            if len(self._workflows) != 1:
                raise BadRequest("Missing required parameter WorkflowSid: the workspace has "
                                 f"{len(self._workflows)} workflows")
            flow = next(iter(self._workflows.values()))
        self._check_priority(priority)
        if timeout is not None and (not isinstance(timeout, int) or not 1 <= timeout <= MAX_TTL):
            raise BadRequest(f"Timeout must be an integer from 1 to {MAX_TTL}, not {timeout!r}")
        now = self._now()
        self._check_vst(virtual_start_time, now)
        if routing_target is not None:
            self.get_worker(routing_target)
        if ignore_capacity and routing_target is None:
            raise BadRequest("IgnoreCapacity can only be used with RoutingTarget")
        task = Task(sid=self.sids.new("WT"), attributes=attrs, attributes_json=text, assignment_status="pending",
                    priority=priority or 0, timeout=timeout or DEFAULT_TTL, task_channel_sid=channel.sid,
                    workflow_sid=flow.sid if flow else None, date_created=now, date_updated=now,
                    virtual_start_time=virtual_start_time if virtual_start_time is not None else now,
                    routing_target=routing_target, ignore_capacity=bool(ignore_capacity))
        self._tasks[task.sid] = task
        self._schedule("ttl", task.sid, now + task.timeout, self._ttl_expired, task.sid)
        self._stats.add("created", task)
        self._emit("task.created", "task", task.sid, f"Task {task.sid} created", task_fields(self, task))
        if flow is not None:
            self._stats.add("wf_entered", task)
            self._emit("workflow.entered", "task", task.sid, f"Task {task.sid} entered workflow {flow.friendly_name}",
                       task_fields(self, task))
        if queue is not None and flow is None:
            self._enter_targets(task, -2, (Target(queue_sid=queue.sid),), 0)
        else:
            self._enter_workflow(task)
        return task

    @locked
    def update_task(self, sid: str, *, attributes: str | None = None, assignment_status: str | None = None,
                    reason: str | None = None, priority: int | None = None, task_channel: str | None = None,
                    virtual_start_time: float | None = None, if_match: str | None = None) -> Task:
        """Update fields or move the task (``canceled``, ``wrapping``, ``completed``), legally only."""
        task = self.get_task(sid)
        self._check_if_match(task, if_match)
        status = task.assignment_status
        where = f"task {sid} in workspace {self.workspace.sid} for account {self.workspace.account_sid}"
        if status in ("completed", "canceled") and any(
                v is not None for v in (attributes, priority, task_channel, virtual_start_time, assignment_status)):
            raise IllegalTransition(f"Cannot update {where} because it is {status}.")
        attrs = text = None
        if attributes is not None:
            attrs, text = self._parse_attributes(attributes, "Attributes")
        self._check_priority(priority)
        channel = self.get_task_channel(task_channel) if task_channel is not None else None
        now = self._now()
        self._check_vst(virtual_start_time, now)
        if assignment_status is not None:
            self._check_task_move(task, assignment_status, where)
        if channel is not None and channel.sid != task.task_channel_sid and status != "pending":
            raise IllegalTransition(f"Cannot change the TaskChannel of {where} because it is {status}.")
        changed = False
        if attrs is not None:
            task.attributes, task.attributes_json, changed = attrs, text, True
        if priority is not None and priority != task.priority:
            task.priority, changed = priority, True
        if channel is not None and channel.sid != task.task_channel_sid:
            task.task_channel_sid, changed = channel.sid, True
        if virtual_start_time is not None:
            task.virtual_start_time, changed = virtual_start_time, True
        if changed:
            self._touch_task(task, now)
            self._emit("task.updated", "task", sid, f"Task {sid} updated", task_fields(self, task))
            if attrs is not None and status == "pending" and task.workflow_sid:
                self._enter_workflow(task)  # new attributes: route again from the first filter
            else:
                self._wait(task)
                self._dirty_tasks[sid] = None
        if assignment_status == "canceled":
            self._cancel_task(task, reason)
        elif assignment_status == "wrapping":
            self._wrap_task(task)
        elif assignment_status == "completed":
            self._complete_task(task, reason)
        elif reason is not None and assignment_status is None:
            task.reason = reason
        return task

    def _check_task_move(self, task: Task, status: str, where: str) -> None:
        current = task.assignment_status
        if status == "canceled" and current not in ("pending", "reserved"):
            raise IllegalTransition(f"Cannot cancel {where} because it is not pending or reserved.")
        if status == "wrapping" and current != "assigned":
            raise IllegalTransition(f"Cannot wrap up {where} because it's not currently assigned.")
        if status == "completed" and current not in ("assigned", "wrapping"):
            raise IllegalTransition(f"Cannot complete {where} because it is not currently assigned.")
        if status not in ("canceled", "wrapping", "completed"):
            raise BadRequest(f"AssignmentStatus {status!r} cannot be set; use canceled, wrapping or completed")

    @locked
    def delete_task(self, sid: str, *, if_match: str | None = None) -> None:
        """Delete a task in any state; pending reservations are canceled, workers freed."""
        task = self.get_task(sid)
        self._check_if_match(task, if_match)
        self._remove_task(task, "task.deleted")

    @staticmethod
    def _check_priority(priority: int | None) -> None:
        if priority is not None and (not isinstance(priority, int) or not 0 <= priority <= MAX_PRIORITY):
            raise BadRequest(f"Priority must be an integer from 0 to {MAX_PRIORITY}, not {priority!r}")

    @staticmethod
    def _check_vst(vst: float | None, now: float) -> None:
        if vst is not None and (vst > now or vst < EPOCH_1900):
            raise BadRequest("VirtualStartTime cannot be in the future or before 1900")

    # --- reservations ----------------------------------------------------------------------
    @locked
    def list_reservations(self, *, task_sid: str | None = None, worker_sid: str | None = None,
                          reservation_status: str | None = None) -> list[Reservation]:
        """Reservations of a task or a worker (creation order), optionally by status."""
        if task_sid is not None:
            sids = list(self.get_task(task_sid).reservation_sids)
        elif worker_sid is not None:
            self.get_worker(worker_sid)
            sids = list(self._worker_res.get(worker_sid, ()))
        else:
            sids = list(self._reservations)
        out = [self._reservations[s] for s in sids]
        return [r for r in out if (worker_sid is None or r.worker_sid == worker_sid)
                and (reservation_status is None or r.reservation_status == reservation_status)]

    @locked
    def get_reservation(self, sid: str, *, task_sid: str | None = None, worker_sid: str | None = None) -> Reservation:
        """One reservation; NotFound if it does not belong to the given task or worker."""
        res = self._reservations.get(sid)
        if res is None or (task_sid is not None and res.task_sid != task_sid) or \
                (worker_sid is not None and res.worker_sid != worker_sid):
            owner = f"Tasks/{task_sid}" if task_sid else f"Workers/{worker_sid}"
            raise self._not_found(f"{owner}/Reservations/{sid}")
        return res

    @locked
    def update_reservation(self, sid: str, *, task_sid: str | None = None, worker_sid: str | None = None,
                           reservation_status: str | None = None, worker_activity_sid: str | None = None,
                           instruction: str | None = None, if_match: str | None = None,
                           **instruction_params: Any) -> Reservation:
        """accepted / rejected (pending only), wrapping / completed (accepted); instructions accept."""
        res = self.get_reservation(sid, task_sid=task_sid, worker_sid=worker_sid)
        self._check_if_match(res, if_match)
        activity = self.get_activity(worker_activity_sid) if worker_activity_sid is not None else None
        current = res.reservation_status
        task = self._tasks[res.task_sid]
        if instruction is not None and reservation_status is None:
            instr = instruction.lower()
            reservation_status = {"accept": "accepted", "reject": "rejected"}.get(instr)
            if reservation_status is None:
                if instr not in UNSUPPORTED_INSTRUCTIONS:
                    raise BadRequest(f"Unknown Instruction {instruction!r}")
                if current != "pending":
                    raise IllegalTransition(f"Reservation {sid} is not pending (it is {current}); "
                                            f"instruction {instr} cannot be applied", status=410, code=40135)
                log.info("reservation %s: %s instruction with %s treated as accept", sid, instr,
                         sorted(instruction_params))
                self._accept(res, instr)
                return res
        if reservation_status is None:
            raise BadRequest("Missing ReservationStatus or Instruction")
        if reservation_status in ("accepted", "rejected"):
            if current != "pending":
                raise IllegalTransition(f"Reservation {sid} is not pending (it is {current})",
                                        status=410 if current == "rescinded" else 400,
                                        code=40135 if current == "rescinded" else 20001)
            if reservation_status == "accepted":
                self._accept(res)
            else:
                self._reject(res, activity)
        elif reservation_status == "wrapping":
            if current != "accepted" or task.assignment_status != "assigned":
                raise IllegalTransition(f"Cannot wrap up reservation {sid} because it is {current}, not accepted")
            self._wrap_task(task)
        elif reservation_status == "completed":
            if current not in ("accepted", "wrapping") or task.assignment_status not in ("assigned", "wrapping"):
                raise IllegalTransition(f"Cannot complete reservation {sid} because it is {current}")
            self._complete_task(task, None)
        else:
            raise BadRequest(f"ReservationStatus {reservation_status!r} cannot be set")
        return res

    @locked
    def handle_assignment_response(self, reservation_sid: str, instruction: dict[str, Any] | None) -> None:
        """Apply an assignment callback's answer; ignored unless the reservation is still pending."""
        res = self._reservations.get(reservation_sid)
        if res is None or res.reservation_status != "pending" or not isinstance(instruction, dict):
            return
        instr = str(instruction.get("instruction", "")).lower()
        if instr == "accept":
            self._accept(res)
        elif instr == "reject":
            activity = self._activities.get(str(instruction.get("activity_sid")))
            if instruction.get("activity_sid") and activity is None:
                log.warning("reservation %s: reject with unknown activity_sid %r (40100)", reservation_sid,
                            instruction.get("activity_sid"))
            self._reject(res, activity)
        elif instr in UNSUPPORTED_INSTRUCTIONS:
            log.info("reservation %s: %s instruction treated as accept", reservation_sid, instr)
            self._accept(res, instr)
        else:
            log.warning("reservation %s: assignment response without a known instruction (40005): %r",
                        reservation_sid, instruction)
