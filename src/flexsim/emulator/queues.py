"""TaskQueues and Workflows: CRUD and the re-routing their changes cause (Engine mixin)."""

from __future__ import annotations

from typing import Any

from flexsim.emulator.errors import BadRequest, IllegalTransition
from flexsim.emulator.events import queue_fields, workflow_fields
from flexsim.emulator.expressions import ExpressionError, parse
from flexsim.emulator.locking import locked
from flexsim.emulator.model import ACTIVE_STATUSES, TaskQueue, Workflow
from flexsim.emulator.routing_config import WorkflowConfigError, parse_routing_config, validate_queue_refs
from flexsim.emulator.workers import ordered

MAX_RESERVATION_TIMEOUT = 86_400


class QueueMixin:
    """TaskQueue and Workflow resources of :class:`~flexsim.emulator.engine.Engine`."""

    # --- task queues -------------------------------------------------------------------------
    @locked
    def list_task_queues(self, *, friendly_name: str | None = None, evaluate_worker_attributes: str | None = None,
                         worker_sid: str | None = None, ordering: str | None = None) -> list[TaskQueue]:
        """Queues matching the filters; ``evaluate_worker_attributes`` is a worker attributes JSON."""
        attrs = None
        if evaluate_worker_attributes is not None:
            attrs, _ = self._parse_attributes(evaluate_worker_attributes, "EvaluateWorkerAttributes")
        queues = [q for q in self._queues.values()
                  if (friendly_name is None or q.friendly_name == friendly_name)
                  and (worker_sid is None or q.sid in self._index.worker_queues.get(worker_sid, ()))
                  and (attrs is None or (q.target_expression is not None and q.target_expression.evaluate(attrs)))]
        return ordered(queues, ordering, {"DateCreated": lambda q: q.date_created,
                                          "DateUpdated": lambda q: q.date_updated})

    @locked
    def get_task_queue(self, sid: str) -> TaskQueue:
        """One queue, or NotFound."""
        return self._lookup(self._queues, "TaskQueues", sid)

    @locked
    def create_task_queue(self, friendly_name: str, *, target_workers: str | None = None,
                          max_reserved_workers: int | None = None, task_order: str | None = None,
                          reservation_activity_sid: str | None = None,
                          assignment_activity_sid: str | None = None) -> TaskQueue:
        """A new queue; TargetWorkers defaults to ``1==1`` (every worker)."""
        if not friendly_name or not friendly_name.strip():
            raise BadRequest("Missing required parameter FriendlyName in the post body")
        if len(self._queues) >= 5000:
            raise BadRequest("A workspace may have at most 5000 TaskQueues")
        expr = self._queue_expression(target_workers if target_workers is not None else "1==1")
        self._check_queue_fields(max_reserved_workers, task_order, reservation_activity_sid, assignment_activity_sid)
        queue = self._create_queue_record(friendly_name, target_workers if target_workers is not None else "1==1",
                                          self._now(), expr)
        queue.max_reserved_workers = max_reserved_workers or 1
        queue.task_order = task_order or "FIFO"
        queue.reservation_activity_sid = reservation_activity_sid
        queue.assignment_activity_sid = assignment_activity_sid
        self._emit("task-queue.created", "taskqueue", queue.sid, f"TaskQueue {friendly_name} created",
                   queue_fields(queue))
        return queue

    @locked
    def update_task_queue(self, sid: str, *, friendly_name: str | None = None, target_workers: str | None = None,
                          max_reserved_workers: int | None = None, task_order: str | None = None,
                          reservation_activity_sid: str | None = None,
                          assignment_activity_sid: str | None = None) -> TaskQueue:
        """Change a queue; a new TargetWorkers re-indexes membership, a new order re-sorts tasks."""
        queue = self.get_task_queue(sid)
        if friendly_name is not None and not friendly_name.strip():
            raise BadRequest("FriendlyName must not be empty")
        expr = self._queue_expression(target_workers) if target_workers is not None else None
        self._check_queue_fields(max_reserved_workers, task_order, reservation_activity_sid, assignment_activity_sid)
        if friendly_name is not None:
            queue.friendly_name = friendly_name
        if reservation_activity_sid is not None:
            queue.reservation_activity_sid = reservation_activity_sid
        if assignment_activity_sid is not None:
            queue.assignment_activity_sid = assignment_activity_sid
        if max_reserved_workers is not None:
            queue.max_reserved_workers = max_reserved_workers
        if task_order is not None and task_order != queue.task_order:
            queue.task_order = task_order
            for tsid in self._index.waiting_in_queue(sid):
                self._wait(self._tasks[tsid])
        queue.date_updated = self._now()
        if expr is not None and target_workers != queue.target_workers:
            queue.target_workers, queue.target_expression = target_workers, expr
            self._reindex_queue(queue)
            self._emit("task-queue.expression.updated", "taskqueue", sid,
                       f"TaskQueue {queue.friendly_name} TargetWorkers updated", queue_fields(queue))
        for tsid in self._index.waiting_in_queue(sid):
            self._dirty_tasks[tsid] = None
        return queue

    @locked
    def delete_task_queue(self, sid: str) -> None:
        """Delete a queue that no workflow references and no active task sits in."""
        queue = self.get_task_queue(sid)
        users = [w.friendly_name for w in self._workflows.values() if sid in w.routing.queue_sids()]
        if users:
            raise IllegalTransition(f"TaskQueue {sid} cannot be deleted because it is referenced by "
                                    f"workflow(s): {', '.join(users)}")
        if any(t.task_queue_sid == sid and t.assignment_status in ACTIVE_STATUSES for t in self._tasks.values()):
            raise IllegalTransition(f"TaskQueue {sid} cannot be deleted because it has active tasks")
        del self._queues[sid]
        self._index.remove_queue(sid)
        self._emit("task-queue.deleted", "taskqueue", sid, f"TaskQueue {queue.friendly_name} deleted",
                   queue_fields(queue))

    def _queue_expression(self, text: str) -> Any:
        try:
            return parse(text)
        except ExpressionError as exc:
            raise BadRequest(f"Invalid TargetWorkers expression: {exc}") from None

    def _check_queue_fields(self, max_reserved: int | None, order: str | None, res_act: str | None,
                            assign_act: str | None) -> None:
        if max_reserved is not None and (not isinstance(max_reserved, int) or not 1 <= max_reserved <= 50):
            raise BadRequest(f"MaxReservedWorkers must be an integer from 1 to 50, not {max_reserved!r}")
        if order is not None and order not in ("FIFO", "LIFO"):
            raise BadRequest(f"TaskOrder must be FIFO or LIFO, not {order!r}")
        for act in (res_act, assign_act):
            if act is not None:
                self.get_activity(act)

    def _create_queue_record(self, name: str, target_workers: str, now: float, expr: Any = None) -> TaskQueue:
        queue = TaskQueue(sid=self.sids.new("WQ"), friendly_name=name, target_workers=target_workers,
                          target_expression=expr if expr is not None else parse(target_workers),
                          date_created=now, date_updated=now)
        self._queues[queue.sid] = queue
        self._index.add_queue(queue.sid)
        self._reindex_queue(queue)
        return queue

    def _reindex_queue(self, queue: TaskQueue) -> None:
        """Recompute one queue's members from scratch (a TargetWorkers change: O(workers))."""
        expr = queue.target_expression
        for worker in self._workers.values():
            queues = set(self._index.worker_queues.get(worker.sid, ()))
            member = expr is not None and expr.evaluate(self._membership_context(worker, expr))
            if member != (queue.sid in queues):
                (queues.add if member else queues.discard)(queue.sid)
                if self._index.set_membership(worker.sid, queues):
                    self._dirty_workers[worker.sid] = None

    # --- workflows ---------------------------------------------------------------------------
    @locked
    def list_workflows(self, *, friendly_name: str | None = None) -> list[Workflow]:
        """Workflows, optionally by friendly name."""
        return [w for w in self._workflows.values() if friendly_name is None or w.friendly_name == friendly_name]

    @locked
    def get_workflow(self, sid: str) -> Workflow:
        """One workflow, or NotFound."""
        return self._lookup(self._workflows, "Workflows", sid)

    @locked
    def create_workflow(self, friendly_name: str, configuration: str, *, assignment_callback_url: str | None = None,
                        fallback_assignment_callback_url: str | None = None,
                        task_reservation_timeout: int | None = None) -> Workflow:
        """A new workflow; its configuration is validated now, queues included."""
        if not friendly_name or not friendly_name.strip():
            raise BadRequest("Missing required parameter FriendlyName in the post body")
        if len(self._workflows) >= 1000:
            raise BadRequest("A workspace may have at most 1000 workflows")
        routing = self._routing(configuration)
        self._check_timeout(task_reservation_timeout)
        flow = self._create_workflow_record(friendly_name, configuration, self._now(), routing)
        flow.assignment_callback_url = assignment_callback_url or None
        flow.fallback_assignment_callback_url = fallback_assignment_callback_url or None
        if task_reservation_timeout is not None:
            flow.task_reservation_timeout = task_reservation_timeout
        self._emit("workflow.created", "workflow", flow.sid, f"Workflow {friendly_name} created", workflow_fields(flow))
        return flow

    @locked
    def update_workflow(self, sid: str, *, friendly_name: str | None = None, configuration: str | None = None,
                        assignment_callback_url: str | None = None, fallback_assignment_callback_url: str | None = None,
                        task_reservation_timeout: int | None = None, re_evaluate_tasks: bool = False) -> Workflow:
        """Change a workflow; with ``re_evaluate_tasks`` its pending tasks are routed again."""
        flow = self.get_workflow(sid)
        if friendly_name is not None and not friendly_name.strip():
            raise BadRequest("FriendlyName must not be empty")
        routing = self._routing(configuration) if configuration is not None else None
        self._check_timeout(task_reservation_timeout)
        if friendly_name is not None:
            flow.friendly_name = friendly_name
        if routing is not None:
            flow.configuration, flow.routing = configuration, routing
        if assignment_callback_url is not None:
            flow.assignment_callback_url = assignment_callback_url or None
        if fallback_assignment_callback_url is not None:
            flow.fallback_assignment_callback_url = fallback_assignment_callback_url or None
        if task_reservation_timeout is not None:
            flow.task_reservation_timeout = task_reservation_timeout
        flow.date_updated = self._now()
        self._emit("workflow.updated", "workflow", sid, f"Workflow {flow.friendly_name} updated", workflow_fields(flow))
        if re_evaluate_tasks:
            for task in [t for t in self._tasks.values()
                         if t.workflow_sid == sid and t.assignment_status == "pending"]:
                self._enter_workflow(task)
        return flow

    @locked
    def delete_workflow(self, sid: str) -> None:
        """Delete a workflow that has no active task."""
        flow = self.get_workflow(sid)
        if any(t.workflow_sid == sid and t.assignment_status in ACTIVE_STATUSES for t in self._tasks.values()):
            raise IllegalTransition(f"Workflow {sid} cannot be deleted because it has active tasks")
        del self._workflows[sid]
        self._emit("workflow.deleted", "workflow", sid, f"Workflow {flow.friendly_name} deleted", workflow_fields(flow))

    def _routing(self, configuration: str | None) -> Any:
        if configuration is None or not str(configuration).strip():
            raise BadRequest("Missing required parameter Configuration in the post body")
        try:
            routing = parse_routing_config(configuration)
        except (WorkflowConfigError, ExpressionError) as exc:
            raise BadRequest(f"Invalid workflow configuration: {exc}") from None
        missing = validate_queue_refs(routing, self._queues)
        if missing:
            raise BadRequest(f"Invalid workflow configuration: TaskQueue {missing[0]} does not exist in "
                             "this workspace")
        return routing

    @staticmethod
    def _check_timeout(value: int | None) -> None:
        if value is not None and (not isinstance(value, int) or not 1 <= value <= MAX_RESERVATION_TIMEOUT):
            raise BadRequest(f"TaskReservationTimeout must be an integer from 1 to {MAX_RESERVATION_TIMEOUT}")

    def _create_workflow_record(self, name: str, configuration: str, now: float, routing: Any = None) -> Workflow:
        flow = Workflow(sid=self.sids.new("WW"), friendly_name=name, configuration=configuration,
                        routing=routing if routing is not None else parse_routing_config(configuration),
                        date_created=now, date_updated=now)
        self._workflows[flow.sid] = flow
        return flow
