"""Routing: workflow evaluation, eligible workers, queue order and settling (Engine mixin).

Two entry points find work. A task entering a step (or going back to pending) is *offered*
to the ready workers of its queue, idle longest first. A worker that becomes readier
(available again, capacity freed, new queue) is *served* the first waiting task, in queue
order, that it is eligible for. Both only walk the per-(queue, channel) indexes of
``routing.py``; neither scans all workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flexsim.emulator.events import task_fields
from flexsim.emulator.model import Task, TaskQueue, Worker
from flexsim.emulator.routing_config import Target


@dataclass(frozen=True)
class AssignmentCallback:
    """One assignment callback to POST: the documented form parameters, exactly as signed."""

    reservation_sid: str
    url: str
    fallback_url: str | None
    params: dict[str, str]


@dataclass
class Route:
    """Where a task stands in its workflow: the targets of the matched filter and the step."""

    targets: tuple[Target, ...]
    filter_index: int  # -1: default filter; -2: a queue given on create
    target_index: int
    deadline_age: float | None  # task age at which this step times out
    expired: bool = False  # the step timed out while the task was reserved


def _path(mapping: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(part)
    return mapping


class AssignmentMixin:
    """Routing internals of :class:`~flexsim.emulator.engine.Engine`."""

    # --- workflow evaluation ---------------------------------------------------------------
    def _task_context(self, task: Task) -> dict[str, Any]:
        attrs = task.attributes
        return attrs if "task" in attrs else {**attrs, "task": attrs}

    def _enter_workflow(self, task: Task) -> None:
        """(Re)evaluate the task's workflow from its first filter."""
        self._leave_route(task)
        flow = self._workflows.get(task.workflow_sid)
        if flow is None:
            return
        ctx = self._task_context(task)
        skipped = False
        for fi, flt in enumerate(flow.routing.filters):
            if flt.expression.evaluate(ctx):
                if self._enter_targets(task, fi, flt.targets, 0):
                    return
                skipped = True  # skipped out of a matched filter: try the next ones
        default = flow.routing.default_filter
        if default is not None:
            if self._enter_targets(task, -1, (default,), 0):
                return
            skipped = True
        if skipped:
            self._emit("workflow.skipped", "task", task.sid, f"Task {task.sid} skipped out of workflow "
                       f"{flow.friendly_name}", task_fields(self, task))
            self._cancel_task(task, "Task skipped out of the workflow", "Task skipped out of the workflow")
        # matched no filter and there is no default filter: it stays pending outside any queue

    def _enter_targets(self, task: Task, fi: int, targets: tuple[Target, ...], ti: int) -> bool:
        """Put the task in step ``ti`` or the first later one that applies; False if none does."""
        age = self.task_age(task)
        deadline = float(sum(t.timeout or 0 for t in targets[:ti]))
        while ti < len(targets):
            target = targets[ti]
            end = deadline + target.timeout if target.timeout else None
            if end is not None and age >= end:  # timeouts count on the task's age
                deadline, ti = end, ti + 1
                continue
            self._routes[task.sid] = Route(targets, fi, ti, end)
            task.filter_index, task.target_index, task.target_deadline_age = fi, ti, end
            self._enter_step(task, target)
            made = self._offer(task)
            if made == 0 and target.skip_if is not None and \
                    target.skip_if.evaluate(self._skip_context(target.queue_sid)):
                deadline, ti = (end if end is not None else deadline), ti + 1
                continue
            self._wait(task)
            if end is not None:
                self._schedule("target", task.sid, task.date_created + end, self._target_timed_out, task.sid, fi, ti)
            return True
        self._leave_route(task)
        return False

    def _enter_step(self, task: Task, target: Target) -> None:
        now = self._now()
        previous = task.task_queue_sid
        queue = self._queues[target.queue_sid]
        if target.priority is not None and target.priority != task.priority:
            task.priority = target.priority
            self._touch_task(task, now)
        data = task_fields(self, task)
        self._emit("workflow.target-matched", "task", task.sid,
                   f"Task {task.sid} matched a target of workflow {data['WorkflowName']}",
                   {**data, "TaskQueueTargetExpression": queue.target_workers})
        if previous == queue.sid:
            return
        task.task_queue_sid = queue.sid
        task.task_queue_entered_date = now
        self._touch_task(task, now)
        data = task_fields(self, task)
        if previous is not None:
            self._stats.add("moved", task, queue_sid=previous)
            self._emit("task-queue.moved", "task", task.sid, f"Task {task.sid} moved to TaskQueue "
                       f"{queue.friendly_name}", {**data, "TaskQueueMovedFromSid": previous})
        self._stats.add("q_entered", task)
        self._emit("task-queue.entered", "task", task.sid, f"Task {task.sid} entered TaskQueue "
                   f"{queue.friendly_name}", data)

    def _skip_context(self, queue_sid: str) -> dict[str, Any]:
        counts: dict[str, Any] = {"available": 0, "unavailable": 0}
        for wsid in self._index.members.get(queue_sid, ()):
            act = self._activities[self._workers[wsid].activity_sid]
            counts["available" if act.available else "unavailable"] += 1
            counts[act.sid] = counts.get(act.sid, 0) + 1
        return {"workers": counts}

    def _leave_route(self, task: Task) -> None:
        self._routes.pop(task.sid, None)
        self._index.remove_waiting(task.sid)
        self._cancel_timer("target", task.sid)

    def _target_timed_out(self, task_sid: str, fi: int, ti: int) -> None:
        """A step's timeout: move on to the next target, or leave the workflow (canceled)."""
        task = self._tasks.get(task_sid)
        route = self._routes.get(task_sid)
        if task is None or route is None or (route.filter_index, route.target_index) != (fi, ti):
            return
        if self._pending_reservations(task):
            route.expired = True  # moves on once its reservations end unaccepted
            return
        self._next_target(task, route)

    def _next_target(self, task: Task, route: Route) -> None:
        previous = task.task_queue_sid
        self._emit("task-queue.timeout", "task", task.sid, f"Task {task.sid} timed out of its target",
                   task_fields(self, task))
        self._cancel_timer("target", task.sid)
        self._index.remove_waiting(task.sid)
        if self._enter_targets(task, route.filter_index, route.targets, route.target_index + 1):
            return
        task.task_queue_sid = previous
        self._stats.add("wf_timeout", task)
        self._emit("workflow.timeout", "task", task.sid, f"Task {task.sid} timed out of its workflow",
                   task_fields(self, task))
        self._cancel_task(task, "Workflow Timeout", "Task timed out of the workflow")

    # --- queue order and offers ------------------------------------------------------------
    def _order_key(self, task: Task, queue: TaskQueue) -> tuple[Any, ...]:
        if queue.task_order == "LIFO":  # newest first, priority ignored
            return (-task.virtual_start_time, -task.date_created, task.sid)
        return (-task.priority, task.virtual_start_time, task.date_created, task.sid)

    def _wait(self, task: Task) -> None:
        """Put the task in (or take it out of) its queue's waiting list, as its state says."""
        route = self._routes.get(task.sid)
        queue = self._queues.get(task.task_queue_sid) if task.task_queue_sid else None
        if route is not None and queue is not None and task.assignment_status in ("pending", "reserved") \
                and len(self._pending_reservations(task)) < queue.max_reserved_workers:
            self._index.add_waiting(task.sid, queue.sid, task.task_channel_sid, self._order_key(task, queue))
        else:
            self._index.remove_waiting(task.sid)

    def _pending_reservations(self, task: Task) -> list[Any]:
        res = self._reservations
        return [res[r] for r in task.reservation_sids if res[r].reservation_status == "pending"]

    def _offer(self, task: Task) -> int:
        """Reserve ready eligible workers for the task, up to MaxReservedWorkers; how many."""
        route = self._routes.get(task.sid)
        if route is None or task.assignment_status not in ("pending", "reserved"):
            return 0
        queue = self._queues[task.task_queue_sid]
        pending = self._pending_reservations(task)
        room = queue.max_reserved_workers - len(pending)
        if room <= 0:
            return 0
        taken = {r.worker_sid for r in pending}
        chosen = self._pick_workers(task, queue, route.targets[route.target_index], room, taken)
        for worker in chosen:
            self._reserve(task, worker, queue)
        self._wait(task)
        return len(chosen)

    def _known_worker(self, task: Task, target: Target) -> tuple[bool, Worker | None]:
        """(whether the step names one worker, that worker if it exists)."""
        if task.routing_target:
            return True, self._workers.get(task.routing_target)
        if target.known_worker_sid:
            return True, self._workers.get(str(_path(task.attributes, target.known_worker_sid)))
        if target.known_worker_friendly_name:
            name = _path(task.attributes, target.known_worker_friendly_name)
            return True, self._workers.get(self._worker_names.get(str(name).lower(), ""))
        return False, None

    def _matches(self, task: Task, target: Target, worker: Worker) -> bool:
        expr = target.expression
        if expr is None:
            return True
        return expr.evaluate({"task": task.attributes,
                              "worker": self._worker_context(worker, expr.reads_worker_channels)})

    def _pick_workers(self, task: Task, queue: TaskQueue, target: Target, room: int, taken: set[str]) -> list[Worker]:
        known, worker = self._known_worker(task, target)
        channel = task.task_channel_sid
        if known:
            if worker is None or worker.sid in taken:
                return []
            if not task.routing_target and worker.sid not in self._index.members.get(queue.sid, ()):
                return []
            ready = channel in self._index.tiers.get(worker.sid, {})
            if not (ready or (task.ignore_capacity and channel in worker.channels)):
                return []
            return [worker] if self._matches(task, target, worker) else []
        workers = self._workers
        chosen: list[Worker] = []
        for wsid in self._index.ready(queue.sid, channel):
            if wsid in taken:
                continue
            worker = workers[wsid]
            if self._matches(task, target, worker):
                chosen.append(worker)
                if len(chosen) == room and not target.order_by:
                    break
        if target.order_by:
            chosen.sort(key=lambda w: _order_by_key(w, target.order_by))
            chosen = chosen[:room]
        return chosen

    def _fits(self, task: Task, worker: Worker) -> bool:
        """Whether the worker (ready on the task's channel) may take this waiting task."""
        route = self._routes.get(task.sid)
        if route is None:
            return False
        if any(r.worker_sid == worker.sid for r in self._pending_reservations(task)):
            return False
        target = route.targets[route.target_index]
        known, named = self._known_worker(task, target)
        if known and (named is None or named.sid != worker.sid):
            return False
        return self._matches(task, target, worker)

    def _serve_worker(self, worker: Worker) -> None:
        """Give a readier worker the best waiting tasks it is eligible for, while it has room."""
        prefer = self.workspace.prioritize_queue_order
        while True:
            tiers = self._index.tiers.get(worker.sid)
            if not tiers:
                return
            best: tuple[Any, ...] | None = None
            for qsid in self._index.worker_queues.get(worker.sid, ()):
                queue = self._queues[qsid]
                rank = 0 if queue.task_order == prefer else 1
                for channel in tiers:
                    for key, tsid in self._index.waiting(qsid, channel):
                        if best is not None and (rank, key) >= best[:2]:
                            break
                        if self._fits(self._tasks[tsid], worker):
                            best = (rank, key, tsid, queue)
                            break
            if best is None:
                return
            task = self._tasks[best[2]]
            self._reserve(task, worker, best[3])
            self._wait(task)

    def _settle(self) -> None:
        """Route what the last operation made possible: freed workers first, then tasks."""
        while self._dirty_workers or self._dirty_tasks:
            while self._dirty_workers:
                wsid = next(iter(self._dirty_workers))
                del self._dirty_workers[wsid]
                worker = self._workers.get(wsid)
                if worker is not None:
                    self._serve_worker(worker)
            while self._dirty_tasks:
                tsid = next(iter(self._dirty_tasks))
                del self._dirty_tasks[tsid]
                task = self._tasks.get(tsid)
                if task is not None:
                    self._offer(task)


def _order_by_key(worker: Worker, order_by: tuple[tuple[str, bool], ...]) -> tuple[Any, ...]:
    """Sort key for ``order_by``: integer attributes, workers lacking one after the others."""
    key: list[Any] = []
    for path, desc in order_by:
        value = _path(worker.attributes, path)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            key.append((0, -value if desc else value))
        else:
            key.append((1, 0))
    return tuple(key)
