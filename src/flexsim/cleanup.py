"""cleansim: end the simulation's work in a TaskRouter workspace, touching only what flexsim owns.

``clean_workspace(tr, options)`` needs no config: it finds flexsim's tasks, workers, queues and
workflow by their ownership markers (:mod:`flexsim.ownership`), so it works after the config has
changed or when nothing was deployed. In order:

1. flexsim Tasks: pending and reserved ones are canceled, assigned and wrapping ones completed
   (so statistics record how they ended), then every flexsim task is deleted;
2. flexsim Workers not already Offline are signed out (pending reservations rejected), so a
   finished demo stops accruing active-worker time; ``delete_workers`` then removes them;
3. with ``remove_all``: the flexsim workflow, then flexsim queues no other workflow routes to.

Anything else in the workspace is left exactly as it was.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from flexsim.errors import TwilioRequestFailed
from flexsim.ownership import foreign_queue_sids, is_flexsim, is_flexsim_queue, is_flexsim_workflow
from flexsim.plan import DELETE, UNCHANGED, UPDATE, Change, Plan, ProgressFactory, RunReport
from flexsim.taskrouter import TaskRouter, describe, parse_attributes
from flexsim.workspace import (Snapshot, offline_activity, read_snapshot, remove_routing, run_steps,
                               sign_out_worker)

#: how each live assignment status is ended before the task is deleted
FINISH = {"pending": "canceled", "reserved": "canceled", "assigned": "completed", "wrapping": "completed"}
REASON = "flexsim cleansim"


@dataclass(frozen=True)
class CleanupOptions:
    """What cleansim removes besides ending tasks and signing workers out.

    :param delete_workers: also delete flexsim workers.
    :param remove_all: also delete the flexsim workflow and queues (implies nothing about workers).
    :param dry_run: plan only; write nothing.
    """

    delete_workers: bool = False
    remove_all: bool = False
    dry_run: bool = False


@dataclass
class CleanupReport(RunReport):
    """What cleansim found and (unless a dry run) did."""

    def summary(self) -> list[str]:
        """What happened per resource type, or that nothing flexsim-owned was found."""
        if not self.plan.changes:
            return ["nothing to clean: the workspace holds no flexsim tasks, workers, queues or workflow"]
        verb = "would be " if self.dry_run else ""
        lines = ["(dry run) nothing was written"] if self.dry_run else []
        tasks = self.plan.of("task")
        if tasks:
            ended = Counter(c.fields["assignment_status"][1] for c in tasks if c.fields)
            lines.append(f"tasks: {ended['canceled']} {verb}canceled, {ended['completed']} {verb}completed, "
                         f"{len(tasks)} {verb}deleted")
        workers = self.plan.of("worker")
        if workers:
            signed_out = sum(1 for c in workers if "activity" in c.fields)
            lines.append(f"workers: {signed_out} {verb}signed out, {len(self.plan.of('worker', DELETE))} "
                         f"{verb}deleted, {len(workers) - signed_out} already offline")
        for kind in ("workflow", "queue"):
            if self.plan.of(kind):
                lines.append(f"{kind}s: {len(self.plan.of(kind))} {verb}removed")
        if not self.dry_run:
            lines.append(f"{self.requests} requests, {self.writes} of them writes")
        return lines


def clean_workspace(tr: TaskRouter, options: CleanupOptions | None = None,
                    progress: ProgressFactory | None = None) -> CleanupReport:
    """End flexsim's tasks and sign out its workers; see the module docstring.

    :raises TwilioRequestFailed: when a request fails for good.
    """
    options = options or CleanupOptions()
    before = (tr.requests_made, tr.writes_made)
    snap = read_snapshot(tr)
    plan = Plan()
    for task in tr.list_tasks():
        if is_flexsim(parse_attributes(task.attributes)):
            finish = FINISH.get(task.assignment_status)
            plan.add(Change("task", task.sid, DELETE, task.sid,
                            {"assignment_status": (task.assignment_status, finish)} if finish else {}))
    offline = offline_activity(snap)
    _plan_workers(snap, offline, options.delete_workers, plan)
    warnings = _plan_routing(snap, plan) if options.remove_all else []
    if offline is None and plan.of("worker", UPDATE):
        warnings.append("the workspace has no unavailable Activity to sign workers out to")
    report = CleanupReport(plan, options.dry_run, warnings)
    if not options.dry_run:
        _apply(tr, plan, offline, progress)
        report.requests, report.writes = tr.requests_made - before[0], tr.writes_made - before[1]
    return report


def _plan_workers(snap: Snapshot, offline: str | None, delete: bool, plan: Plan) -> None:
    for worker in snap.workers:
        if not is_flexsim(parse_attributes(worker.attributes)):
            continue
        sign_out = offline is not None and worker.activity_sid != offline
        fields = {"activity": (worker.activity_name, "Offline")} if sign_out else {}
        action = DELETE if delete else UPDATE if sign_out else UNCHANGED
        plan.add(Change("worker", worker.friendly_name, action, worker.sid, fields))


def _plan_routing(snap: Snapshot, plan: Plan) -> list[str]:
    for workflow in snap.workflows:
        if is_flexsim_workflow(workflow.configuration):
            plan.add(Change("workflow", workflow.friendly_name, DELETE, workflow.sid))
    foreign = foreign_queue_sids(snap.workflows)
    warnings = []
    for queue in snap.queues:
        if not is_flexsim_queue(queue.target_workers):
            continue
        if queue.sid in foreign:
            warnings.append(f"queue {queue.friendly_name!r} ({queue.sid}) is kept: a workflow flexsim does not "
                            "own routes to it")
        else:
            plan.add(Change("queue", queue.friendly_name, DELETE, queue.sid))
    return warnings


def _apply(tr: TaskRouter, plan: Plan, offline: str | None, progress: ProgressFactory | None) -> None:
    run_steps(tr, "Ending tasks", lambda c: _end_task(tr, c), plan.of("task"), progress)
    workers = [c for c in plan.of("worker") if c.action != UNCHANGED]
    run_steps(tr, "Signing out workers", lambda c: _sign_out(tr, c, offline), workers, progress)
    remove_routing(tr, plan, progress)


def _end_task(tr: TaskRouter, change: Change) -> None:
    """Cancel or complete the task as its status allows, then delete it.

    The status may move on between listing and updating (agentsim may accept a reservation), so
    a refused update re-reads the task and tries what its new status allows.
    """
    task = tr.workspace.tasks(change.sid)
    status = change.fields.get("assignment_status", (None, None))[0]
    for _ in range(3):
        finish = FINISH.get(status or "")
        if finish is None:
            break
        try:
            tr.call("update", describe("task", sid=change.sid),
                    lambda: task.update(assignment_status=finish, reason=REASON))
            break
        except TwilioRequestFailed as exc:
            if exc.status != 400:
                raise
            status = tr.fetch_task(change.sid).assignment_status
    try:
        tr.call("delete", describe("task", sid=change.sid), task.delete)
    except TwilioRequestFailed as exc:
        if exc.status != 404:  # already purged: nothing left to do
            raise


def _sign_out(tr: TaskRouter, change: Change, offline: str | None) -> None:
    if "activity" in change.fields and offline is not None:
        sign_out_worker(tr, change, offline)
    if change.action == DELETE:
        tr.call("delete", describe("worker", change.name, change.sid), tr.workspace.workers(change.sid).delete)


__all__ = ["CleanupOptions", "CleanupReport", "clean_workspace"]
