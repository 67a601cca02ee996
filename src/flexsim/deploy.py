"""deploy: make a TaskRouter workspace match the config, changing only what differs.

``deploy_config(config, tr, options)`` reads the workspace once, checks the prerequisites, plans
every change (:mod:`flexsim.plan`) and, unless ``dry_run``, applies it:

1. prerequisites (``create_missing`` only): TaskChannels, Activities, the ``Everyone`` queue;
2. flexsim TaskQueues, created or updated in place;
3. flexsim Workers, matched by friendly name, created or updated, with their WorkerChannel
   capacities set from the channel ``baseCapacity`` values;
4. the flexsim Workflow, updated in place (its SID survives) with queue names mapped to SIDs;
5. flexsim workflows, queues and workers the config no longer has: removed, workers moved
   Offline first, queues only once no workflow routes to them.

Nothing is written when nothing differs, so a second deploy makes zero write requests. Ownership
is described in :mod:`flexsim.ownership`; a same-named resource flexsim does not own is a conflict
unless ``adopt``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flexsim.config import Config
from flexsim.errors import FlexsimError, TwilioRequestFailed
from flexsim.ownership import (FLEXSIM_MARKER_KEY, FLEXSIM_MARKER_VALUE, foreign_queue_sids, is_flexsim,
                               is_flexsim_queue, is_flexsim_workflow, mark_target_workers, marker_filter,
                               unmark_target_workers)
from flexsim.plan import CREATE, DELETE, UNCHANGED, UPDATE, Change, Plan, ProgressFactory, RunReport
from flexsim.taskrouter import TaskRouter, describe, parse_attributes
from flexsim.workspace import (Snapshot, offline_activity, read_snapshot, remove_routing, run_steps,
                               sign_out_worker)

DEFAULT_RESERVATION_TIMEOUT = 120  # seconds: TaskRouter's default, ample for agentsim to accept
DEFAULT_CAPACITY = 1  # what a new WorkerChannel starts with


class PrerequisitesMissing(FlexsimError):
    """The workspace lacks TaskChannels, Activities or queues the config needs."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the workspace is not ready for this config:\n" + "\n".join(f"  - {p}" for p in problems))


class OwnershipConflict(FlexsimError):
    """A resource the config names exists but flexsim does not own it."""

    def __init__(self, conflicts: list[str]):
        self.conflicts = conflicts
        super().__init__("resources with the config's names exist but were not created by flexsim "
                         "(rename them, or rerun with --adopt to take them over):\n"
                         + "\n".join(f"  - {c}" for c in conflicts))


@dataclass(frozen=True)
class DeployOptions:
    """Choices for one deploy.

    :param assign_url: the workflow's AssignmentCallbackUrl (agentsim's ``/reservation``); None
        keeps the current one, or leaves a new workflow without one.
    :param create_missing: create missing TaskChannels, Activities and the ``Everyone`` queue.
    :param adopt: take over same-named Workers, TaskQueues and the Workflow that flexsim does not own.
    :param dry_run: plan only; write nothing.
    :param reservation_timeout: the workflow's TaskReservationTimeout in seconds.
    """

    assign_url: str | None = None
    create_missing: bool = False
    adopt: bool = False
    dry_run: bool = False
    reservation_timeout: int = DEFAULT_RESERVATION_TIMEOUT


@dataclass
class DeployReport(RunReport):
    """What deploy planned and (unless a dry run) did."""

    workflow_sid: str | None = None

    def summary(self) -> list[str]:
        """Counts per resource type, then the request totals."""
        lines = self.plan.summary()
        if self.dry_run:
            return [f"(dry run) would change {self.plan.writes} resources; nothing was written", *lines]
        if self.workflow_sid:
            lines.append(f"workflow SID: {self.workflow_sid}")
        lines.append(f"{self.requests} requests, {self.writes} of them writes")
        return lines


def canonical(value: Any) -> str:
    """JSON text that is equal for equal JSON values, whatever the key order or spacing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def deploy_config(config: Config, tr: TaskRouter, options: DeployOptions | None = None,
                  progress: ProgressFactory | None = None) -> DeployReport:
    """Reconcile the workspace behind ``tr`` with ``config``; see the module docstring.

    :raises PrerequisitesMissing: before any write, listing every missing prerequisite.
    :raises OwnershipConflict: before any write, listing every conflict (unless ``adopt``).
    :raises TwilioRequestFailed: when a request fails for good.
    """
    options = options or DeployOptions()
    before = (tr.requests_made, tr.writes_made)
    snap = read_snapshot(tr)
    plan = Plan()
    _plan_prerequisites(config, snap, options.create_missing, plan)
    conflicts: list[str] = []
    _plan_queues(config, snap, options.adopt, plan, conflicts)
    _plan_workers(config, snap, tr, options.adopt, plan, conflicts, progress)
    warnings = _plan_workflow(config, snap, options, plan, conflicts)
    warnings += _plan_stale_queues(snap, plan)
    if conflicts:
        raise OwnershipConflict(conflicts)
    report = DeployReport(plan, options.dry_run, warnings)
    if not options.dry_run:
        report.workflow_sid = _apply(config, options, snap, plan, tr, progress)
    else:
        report.workflow_sid = next((c.sid for c in plan.of("workflow") if c.action != DELETE), None)
    report.requests, report.writes = tr.requests_made - before[0], tr.writes_made - before[1]
    return report


# ------------------------------------------------------------------------------------- planning

def _plan_prerequisites(config: Config, snap: Snapshot, create_missing: bool, plan: Plan) -> None:
    have_channels = {c.unique_name for c in snap.channels}
    have_activities = {a.friendly_name for a in snap.activities}
    default_queue = config.workflow.default_queue
    missing = [("task channel", name, f"TaskChannel {name!r}: create it (unique name {name!r}) in the "
                "Console under TaskRouter > Task Channels")
               for name in config.channel_capacities() if name not in have_channels]
    missing += [("activity", a.name, f"Activity {a.name!r}: create it "
                 f"({'available' if a.name == 'Available' else 'unavailable'}) under TaskRouter > Activities")
                for a in config.activities() if a.name not in have_activities]
    if not any(q.friendly_name == default_queue for q in snap.queues):
        missing.append(("queue", default_queue, f"TaskQueue {default_queue!r} (Flex creates it): create it "
                        "with TargetWorkers 1==1"))
    if missing and not create_missing:
        raise PrerequisitesMissing([text for _, _, text in missing] + [
            "or rerun deploy with --create-missing to create all of these"])
    for kind, name, _ in missing:
        plan.add(Change(kind, name, CREATE, data={"prerequisite": True}))


def _plan_queues(config: Config, snap: Snapshot, adopt: bool, plan: Plan, conflicts: list[str]) -> None:
    by_name = {q.friendly_name: q for q in snap.queues}
    wanted = set()
    for spec in config.queues:
        wanted.add(spec.friendly_name)
        target = mark_target_workers(spec.target_workers)
        current = by_name.get(spec.friendly_name)
        if current is None:
            plan.add(Change("queue", spec.friendly_name, CREATE, data={"target_workers": target}))
            continue
        if not is_flexsim_queue(current.target_workers) and not adopt:
            conflicts.append(f"TaskQueue {spec.friendly_name!r} ({current.sid})")
        diff = {} if current.target_workers == target else {"target_workers": (current.target_workers, target)}
        plan.add(Change("queue", spec.friendly_name, UPDATE if diff else UNCHANGED, current.sid, diff,
                        data={"target_workers": target}))
    for queue in snap.queues:
        if is_flexsim_queue(queue.target_workers) and queue.friendly_name not in wanted:
            plan.add(Change("queue", queue.friendly_name, DELETE, queue.sid,
                            data={"stale": True, "target_workers": unmark_target_workers(queue.target_workers)}))


def _plan_workers(config: Config, snap: Snapshot, tr: TaskRouter, adopt: bool, plan: Plan,
                  conflicts: list[str], progress: ProgressFactory | None) -> None:
    capacities = config.channel_capacities()
    by_name = {w.friendly_name.casefold(): w for w in snap.workers}
    matched: list[tuple[Any, Change]] = []
    wanted = set()
    for spec in config.workers:
        wanted.add(spec.friendly_name.casefold())
        attributes = {**spec.attributes, FLEXSIM_MARKER_KEY: FLEXSIM_MARKER_VALUE}
        current = by_name.get(spec.friendly_name.casefold())
        if current is None:
            plan.add(Change("worker", spec.friendly_name, CREATE, data={"attributes": attributes}))
            for channel, capacity in capacities.items():
                _plan_channel(plan, spec.friendly_name, channel, None, DEFAULT_CAPACITY, capacity)
            continue
        old = parse_attributes(current.attributes)
        if not is_flexsim(old) and not adopt:
            conflicts.append(f"Worker {current.friendly_name!r} ({current.sid})")
        diff = {f"attributes.{key}": (old.get(key), attributes.get(key))
                for key in sorted(set(old) | set(attributes))
                if canonical(old.get(key)) != canonical(attributes.get(key)) or (key in old) != (key in attributes)}
        change = plan.add(Change("worker", spec.friendly_name, UPDATE if diff else UNCHANGED, current.sid, diff,
                                 data={"attributes": attributes}))
        matched.append((current, change))
    _plan_existing_channels(tr, matched, capacities, plan, progress)
    for worker in snap.workers:
        if worker.friendly_name.casefold() not in wanted and is_flexsim(parse_attributes(worker.attributes)):
            plan.add(Change("worker", worker.friendly_name, DELETE, worker.sid,
                            data={"activity_sid": worker.activity_sid}))


def _plan_existing_channels(tr: TaskRouter, matched: list[tuple[Any, Change]], capacities: dict[str, int],
                            plan: Plan, progress: ProgressFactory | None) -> None:
    if not matched or not capacities:
        return
    read = lambda pair: tr.list_worker_channels(pair[0].sid, pair[0].friendly_name)  # noqa: E731
    listed = run_steps(tr, "Reading worker channels", read, matched, progress)
    for (worker, _), channels in zip(matched, listed):
        by_name = {c.task_channel_unique_name: c for c in channels}
        for channel, capacity in capacities.items():
            current = by_name.get(channel)
            old = current.configured_capacity if current is not None else None
            _plan_channel(plan, worker.friendly_name, channel, current.sid if current else None, old, capacity)


def _plan_channel(plan: Plan, worker: str, channel: str, sid: str | None, old: int | None, new: int) -> None:
    action = UNCHANGED if old == new else UPDATE
    plan.add(Change("worker channel", f"{worker}/{channel}", action, sid,
                    {"capacity": (old, new)} if action == UPDATE else {},
                    data={"worker": worker, "channel": channel, "capacity": new}))


def _queue_sids(snap: Snapshot, plan: Plan) -> dict[str, str]:
    """Queue name -> SID; queues still to be created get a readable placeholder."""
    sids = {q.friendly_name: q.sid for q in snap.queues}
    for change in plan.changes:
        if change.kind == "queue" and change.action == CREATE:
            sids[change.name] = change.sid or f"<new queue {change.name}>"
    return sids


def desired_configuration(config: Config, queue_sids: dict[str, str]) -> dict[str, Any]:
    """The workflow Configuration to store: the config's routing plus the ownership marker filter."""
    configuration = config.workflow.configuration(queue_sids)
    everyone = queue_sids[config.workflow.default_queue]
    configuration["task_routing"]["filters"].append(marker_filter(everyone))
    return configuration


def _workflow_fields(config: Config, options: DeployOptions, queue_sids: dict[str, str]) -> dict[str, Any]:
    fields = {"friendly_name": config.workflow.friendly_name,
              "configuration": desired_configuration(config, queue_sids),
              "task_reservation_timeout": options.reservation_timeout}
    if options.assign_url:
        fields["assignment_callback_url"] = options.assign_url
    return fields


def _workflow_diff(current: Any, fields: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    diff = {}
    for key, new in fields.items():
        old = getattr(current, key)
        if key == "configuration":
            old_value = json.loads(old or "{}")
            if canonical(old_value) != canonical(new):
                diff[key] = (old_value, new)
        elif old != new:
            diff[key] = (old, new)
    return diff


def _plan_workflow(config: Config, snap: Snapshot, options: DeployOptions, plan: Plan,
                   conflicts: list[str]) -> list[str]:
    name = config.workflow.friendly_name
    owned = [w for w in snap.workflows if is_flexsim_workflow(w.configuration)]
    same_name = [w for w in snap.workflows if w.friendly_name == name]
    chosen = next((w for w in owned if w.friendly_name == name), None)
    if chosen is None and same_name:
        if not options.adopt:
            conflicts.append(f"Workflow {name!r} ({same_name[0].sid})")
        chosen = same_name[0]
    if chosen is None and owned:
        chosen = owned[0]  # renamed in config: update that workflow in place, keeping its SID
    fields = _workflow_fields(config, options, _queue_sids(snap, plan))
    if chosen is None:
        plan.add(Change("workflow", name, CREATE, data={"fields": fields}))
    else:
        diff = _workflow_diff(chosen, fields)
        plan.add(Change("workflow", name, UPDATE if diff else UNCHANGED, chosen.sid, diff, data={"fields": fields}))
    for other in owned:
        if other is not chosen:
            plan.add(Change("workflow", other.friendly_name, DELETE, other.sid, data={"stale": True}))
    warnings = []
    if not options.assign_url:
        current = chosen.assignment_callback_url if chosen is not None else None
        warnings.append(f"no --assign-url given: keeping the workflow's assignment callback {current}" if current
                        else "no --assign-url (ASSIGN_URL) given: the workflow has no assignment callback, "
                             "so no reservations will reach agentsim")
    return warnings


def _plan_stale_queues(snap: Snapshot, plan: Plan) -> list[str]:
    """Keep stale flexsim queues that a workflow flexsim does not own still routes to."""
    foreign = foreign_queue_sids(snap.workflows)
    warnings = []
    for change in list(plan.of("queue", DELETE)):
        if change.sid in foreign:
            plan.changes.remove(change)
            warnings.append(f"queue {change.name!r} ({change.sid}) is no longer in the config but a workflow "
                            "flexsim does not own routes to it; left in place")
    return warnings


# ------------------------------------------------------------------------------------- applying

def _apply(config: Config, options: DeployOptions, snap: Snapshot, plan: Plan, tr: TaskRouter,
           progress: ProgressFactory | None) -> str | None:
    ws = tr.workspace
    for change in [c for c in plan.changes if c.data.get("prerequisite")]:
        _create_prerequisite(tr, change)
    queues = [c for c in plan.of("queue", CREATE, UPDATE) if not c.data.get("prerequisite")]
    run_steps(tr, "Deploying queues", lambda c: _apply_queue(tr, c), queues, progress)
    run_steps(tr, "Deploying workers", lambda unit: _apply_worker(tr, *unit), _worker_units(plan), progress)
    workflow_sid = None
    for change in plan.of("workflow", CREATE, UPDATE, UNCHANGED):
        fields = _workflow_fields(config, options, _queue_sids(snap, plan))  # all SIDs known now
        if change.action == CREATE:
            fields["configuration"] = json.dumps(fields["configuration"])
            change.sid = tr.call("create", describe("workflow", change.name),
                                 lambda: ws.workflows.create(**fields)).sid
        elif change.action == UPDATE:
            current = next(w for w in snap.workflows if w.sid == change.sid)
            send = {k: fields[k] for k in _workflow_diff(current, fields)}
            if "configuration" in send:
                send["configuration"] = json.dumps(send["configuration"])
            tr.call("update", describe("workflow", change.name, change.sid),
                    lambda: ws.workflows(change.sid).update(**send))
        workflow_sid = change.sid
    remove_routing(tr, plan, progress)
    offline = offline_activity(snap)
    run_steps(tr, "Removing workers", lambda c: _remove_worker(tr, c, offline), plan.of("worker", DELETE), progress)
    return workflow_sid


def _create_prerequisite(tr: TaskRouter, change: Change) -> None:
    ws = tr.workspace
    if change.kind == "task channel":
        made = tr.call("create", describe("task channel", change.name),
                       lambda: ws.task_channels.create(friendly_name=change.name, unique_name=change.name))
    elif change.kind == "activity":
        made = tr.call("create", describe("activity", change.name),
                       lambda: ws.activities.create(friendly_name=change.name, available=change.name == "Available"))
    else:
        made = tr.call("create", describe("queue", change.name),
                       lambda: ws.task_queues.create(friendly_name=change.name, target_workers="1==1"))
    change.sid = made.sid


def _apply_queue(tr: TaskRouter, change: Change) -> None:
    ws, target = tr.workspace, change.data["target_workers"]
    if change.action == CREATE:
        made = tr.call("create", describe("queue", change.name),
                       lambda: ws.task_queues.create(friendly_name=change.name, target_workers=target))
        change.sid = made.sid
    else:
        tr.call("update", describe("queue", change.name, change.sid),
                lambda: ws.task_queues(change.sid).update(target_workers=target))


def _worker_units(plan: Plan) -> list[tuple[Change, list[Change]]]:
    """Per worker: its own change and the channel changes to make after it (it must exist first)."""
    channels: dict[str, list[Change]] = {}
    for change in plan.of("worker channel", UPDATE):
        channels.setdefault(change.data["worker"], []).append(change)
    return [(c, channels.get(c.name, [])) for c in plan.of("worker", CREATE, UPDATE, UNCHANGED)
            if c.action != UNCHANGED or c.name in channels]


def _apply_worker(tr: TaskRouter, change: Change, channels: list[Change]) -> None:
    ws = tr.workspace
    attributes = json.dumps(change.data["attributes"])
    if change.action == CREATE:
        change.sid = _create_worker(tr, change.name, attributes)
    elif change.action == UPDATE:
        tr.call("update", describe("worker", change.name, change.sid),
                lambda: ws.workers(change.sid).update(attributes=attributes))
    for channel in channels:
        key = channel.sid or channel.data["channel"]  # a WorkerChannel answers to its SID or unique name
        tr.call("update", describe("worker channel", channel.name, channel.sid),
                lambda key=key, channel=channel: ws.workers(change.sid).worker_channels(key).update(
                    capacity=channel.data["capacity"]))


def _create_worker(tr: TaskRouter, name: str, attributes: str) -> str:
    """Create a worker and return its SID.

    A create that timed out or failed with a 5xx may still have been applied; its retry then
    meets a duplicate name. When the worker found under that name is flexsim's own, it is the
    one this call made, so it is used instead of failing the deploy.
    """
    ws = tr.workspace
    try:
        return str(tr.call("create", describe("worker", name),
                           lambda: ws.workers.create(friendly_name=name, attributes=attributes)).sid)
    except TwilioRequestFailed as exc:
        if exc.status != 409:
            raise
        found = tr.call("list", describe("worker", name), lambda: ws.workers.list(friendly_name=name))
        for worker in found:  # list pages may leave attributes out: fetch the worker itself
            fetched = tr.call("fetch", describe("worker", name, worker.sid), ws.workers(worker.sid).fetch)
            if is_flexsim(parse_attributes(fetched.attributes)):
                return str(fetched.sid)
        raise


def _remove_worker(tr: TaskRouter, change: Change, offline_sid: str | None) -> None:
    if offline_sid and change.data.get("activity_sid") != offline_sid:
        sign_out_worker(tr, change, offline_sid)
    tr.call("delete", describe("worker", change.name, change.sid), tr.workspace.workers(change.sid).delete)


__all__ = ["DEFAULT_RESERVATION_TIMEOUT", "DeployOptions", "DeployReport", "OwnershipConflict",
           "PrerequisitesMissing", "canonical", "deploy_config", "desired_configuration"]
