"""The agent simulation: the flexsim Workers of a workspace, brought to life.

``AgentSim`` owns the agents and is what the webhook app talks to. Its life:

1. ``prepare()``: fetch the workspace's activities and the flexsim workers; fail clearly
   when an activity of the config is missing or no flexsim worker is deployed; take
   over tasks a crashed run left assigned to, wrapping with, or reserved for a flexsim
   agent (pending reservations are accepted, then the tasks are finished like any other).
2. ``sign_in()``: every agent enters a steady-state activity (see ``activity_model``).
   Call it once the webhook is listening, since available agents get reservations at once.
3. ``offer()`` for each assignment callback, from the web server's threads.
4. ``stop()``: refuse new work; sign agents out (Offline, completing held tasks) or, with
   ``sign_out=False``, leave everything as it is for the next run to take over.

TaskRouter writes go through the access layer (retries, one error type) on the
scheduler's pool; a write that finally fails is logged with its task or worker SID and
the simulation goes on. A task write refused because the task was canceled or deleted
meanwhile (a customer hung up as the agent accepted) is no failure: the agent drops it.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from flexsim.activity_model import AVAILABLE, ActivityModel
from flexsim.agents import OFFLINE, Agent, Op, SetActivity, UpdateTask
from flexsim.answers import AnswerFeed
from flexsim.config import Config, is_flexsim
from flexsim.errors import NotDeployed, TwilioRequestFailed
from flexsim.hooks import EventHook
from flexsim.scheduler import Scheduler
from flexsim.taskrouter import TaskRouter, describe, parse_attributes
from flexsim.webhook import Offer

log = logging.getLogger(__name__)
HELD_STATUSES = ("reserved", "assigned", "wrapping")
MOVE_RETRY_DELAY = 1.0  # wall seconds before retrying a move refused for a pending reservation


class ConfigHandling:
    """Handling draws from the config: ``talkTime``, ``wrapTime`` and task attributes by phase."""

    def __init__(self, config: Config):
        self._talk = config.prop("talkTime")
        self._wrap = config.prop("wrapTime")
        self._phases = {phase: config.task_instances(phase) for phase in ("assignment", "completion")}

    def talk_time(self, rng: random.Random) -> float:
        """Seconds of talk for one task."""
        return float(self._talk.draw(rng))

    def wrap_time(self, rng: random.Random) -> float:
        """Seconds of wrap-up for one task."""
        return float(self._wrap.draw(rng))

    def attributes(self, phase: str, rng: random.Random) -> dict[str, Any]:
        """The task attributes of ``phase``, keyed by (possibly dotted) attribute name."""
        return {inst.name: inst.draw(rng) for inst in self._phases.get(phase, ())}


def activity_model(config: Config) -> ActivityModel:
    """The activity model for the config's ``activity`` prop (portions and ``baseDur``)."""
    activities = config.activities()
    return ActivityModel({a.name: a.portion for a in activities},
                         {a.name: a.base_dur for a in activities if a.name != AVAILABLE})


@dataclass
class Stats:
    """Counters for the health page, updated under the scheduler's lock."""

    by_activity: Counter[str]
    handled_before: int = 0
    failures: int = 0
    offers: int = 0
    refused: int = 0
    ignored: int = 0
    gone: set[str] = field(default_factory=set)  # SIDs of tasks canceled or deleted under an agent


class AgentSim:
    """The simulated agents of one workspace, answering assignment callbacks.

    :param config: the loaded config (activities, talk/wrap times, task attribute phases, workers).
    :param tr: the access layer for the workspace.
    :param sched: the scheduler (clock, lock, API pool).
    :param seed: agents draw from ``random.Random(f"{seed}:agent:{name}")``.
    :param signature_token: auth token for ``X-Twilio-Signature``; None skips the check.
    :param public_url: the URL TaskRouter calls, for signature checks (None = as received).
    :param speed: the clock's speed, only to report wall-clock uptime.
    """

    def __init__(self, config: Config, tr: TaskRouter, sched: Scheduler, *, seed: int,
                 signature_token: str | None = None, public_url: str | None = None, speed: float = 1.0):
        self.config = config
        self.tr = tr
        self.sched = sched
        self.seed = seed
        self.signature_token = signature_token
        self.public_url = public_url
        self.speed = speed
        self.model = activity_model(config)
        self.handling = ConfigHandling(config)
        self.events = EventHook()
        self.answers = AnswerFeed()
        self.events.add_listener(self._record_answer)
        self.agents: dict[str, Agent] = {}
        self.stats = Stats(Counter())
        self.activity_sids: dict[str, str] = {}
        self._move_retries: set[SetActivity] = set()
        self.routable: frozenset[str] = frozenset()
        self.offline = OFFLINE
        self.stopping = False
        self.stay_online = False
        self.started_at = sched.now()

    def _record_answer(self, event: Any) -> None:
        task_sid = event.answered_task()
        if task_sid:
            self.answers.add(task_sid)

    # --- start-up ----------------------------------------------------------------------

    def prepare(self) -> None:
        """Check the workspace, build the agents and take over left-over tasks (API calls)."""
        activities = self.tr.list_activities()
        self.activity_sids = {a.friendly_name: a.sid for a in activities}
        self.routable = frozenset(a.friendly_name for a in activities if a.available)
        missing = [a.name for a in self.config.activities() if a.name not in self.activity_sids]
        if missing:
            raise NotDeployed(f"activity {', '.join(repr(m) for m in missing)} not in the workspace: "
                              "run flexsim deploy --create-missing")
        if OFFLINE not in self.activity_sids:
            workspace = self.tr.fetch_workspace()
            self.offline = workspace.default_activity_name
        wanted = {w.friendly_name for w in self.config.workers}
        workers = [w for w in self.tr.list_workers()
                   if w.friendly_name in wanted and is_flexsim(parse_attributes(w.attributes))]
        if not workers:
            raise NotDeployed("no flexsim worker of the config is in the workspace: run flexsim deploy")
        if len(workers) < len(wanted):
            log.warning("%d of the config's %d workers are not deployed; simulating the %d found",
                        len(wanted) - len(workers), len(wanted), len(workers))
        with self.sched.lock:
            for worker in sorted(workers, key=lambda w: w.friendly_name):
                self._add_agent(worker.friendly_name, worker.sid, worker.activity_name)
        self._take_over_tasks()

    def _add_agent(self, name: str, sid: str, activity: str | None) -> None:
        agent = Agent(name, sid, self.model, random.Random(f"{self.seed}:agent:{name}"), self.sched,
                      self.handling, partial(self._apply, key=sid), self.routable, self.events,
                      activity=activity)
        agent.on_activity = self._count_activity
        if activity:
            self.stats.by_activity[activity] += 1
        self.agents[sid] = agent

    def _count_activity(self, before: str | None, after: str) -> None:
        if before:
            self.stats.by_activity[before] -= 1
        self.stats.by_activity[after] += 1

    def _take_over_tasks(self) -> None:
        tasks = self.tr.list_tasks(list(HELD_STATUSES))
        held = self.tr.map(self._holder, tasks)
        taken = 0
        with self.sched.lock:
            for task, holder in zip(tasks, held):
                if holder is not None:
                    agent_sid, status = holder
                    self.agents[agent_sid].take_over(task.sid, parse_attributes(task.attributes), status)
                    taken += 1
        if taken:
            log.info("took over %d task(s) left by a previous run", taken)

    def _holder(self, task: Any) -> tuple[str, str] | None:
        """The flexsim agent holding ``task`` and the task's status for ``take_over``, or None."""
        try:
            reservations = self._reservations(task.sid)
        except TwilioRequestFailed as exc:
            log.error("task %s: could not list its reservations, not taken over: %s", task.sid, exc)
            return None
        for res in reservations:
            if res.worker_sid not in self.agents:
                continue
            if res.reservation_status in ("accepted", "wrapping"):
                return res.worker_sid, "wrapping" if task.assignment_status == "wrapping" else "assigned"
            if res.reservation_status == "pending":
                try:
                    self.tr.call("accept", describe("reservation", sid=res.sid),
                                 lambda r=res: self.tr.workspace.tasks(task.sid).reservations(r.sid)
                                 .update(reservation_status="accepted"))
                except TwilioRequestFailed as exc:
                    log.warning("task %s: could not accept left-over reservation: %s", task.sid, exc)
                    return None
                return res.worker_sid, "assigned"
        return None

    def sign_in(self) -> None:
        """Put every agent in its steady-state starting activity (writes only real changes)."""
        with self.sched.lock:
            self.started_at = self.sched.now()
            for agent in self.agents.values():
                agent.sign_in(current=agent.activity)  # the worker's activity as prepare() found it
        log.info("signed in %d agents", len(self.agents))

    # --- callbacks -----------------------------------------------------------------------

    def offer(self, offer: Offer) -> dict[str, Any] | None:
        """Answer an assignment callback: accept, reject (agent away or stopping) or None (not ours)."""
        with self.sched.lock:
            agent = self.agents.get(offer.worker_sid)
            if agent is None:
                self.stats.ignored += 1
                log.info("reservation %s is for worker %s, not a flexsim agent: left to them",
                         offer.reservation_sid, offer.worker_sid)
                return None
            self.stats.offers += 1
            if self.stopping and self.stay_online:
                return None  # left pending: the next run takes it over
            if agent.offer(offer.task_sid, offer.task_attributes):
                return {"instruction": "accept"}
            self.stats.refused += 1
            target = self.offline if self.stopping else (agent.activity or self.offline)
            reply: dict[str, Any] = {"instruction": "reject"}
            if target in self.activity_sids:
                reply["activity_sid"] = self.activity_sids[target]
            return reply

    def health(self) -> dict[str, Any]:
        """Agents by activity, tasks in progress and handled, uptime: the ``GET /`` page."""
        with self.sched.lock:
            elapsed = self.sched.now() - self.started_at
            return {
                "agents": {name: n for name, n in sorted(self.stats.by_activity.items()) if n},
                "agents_total": len(self.agents),
                "tasks_in_progress": sum(len(a.work) for a in self.agents.values()),
                "tasks_handled": sum(a.handled for a in self.agents.values()),
                "tasks_gone": len(self.stats.gone),
                "reservations_offered": self.stats.offers,
                "reservations_refused": self.stats.refused,
                "reservations_ignored": self.stats.ignored,
                "api_failures": self.stats.failures,
                "uptime_seconds": round(elapsed / self.speed, 1),
                "simulated_seconds": round(elapsed, 1),
                "stopping": self.stopping,
            }

    # --- shutdown --------------------------------------------------------------------------

    def stop(self, sign_out: bool = True) -> None:
        """Refuse new work; sign agents out (Offline) or, without ``sign_out``, leave all as is."""
        with self.sched.lock:
            self.stopping = True
            self.stay_online = not sign_out
            for agent in self.agents.values():
                if sign_out:
                    agent.sign_out(self.offline, finish_work=True)
                else:
                    agent.halt()
        log.info("%s %d agents", "signing out" if sign_out else "left online", len(self.agents))

    # --- TaskRouter writes ------------------------------------------------------------------

    def _apply(self, ops: tuple[Op, ...], key: str | None = None) -> None:
        """Send an agent's batch to the pool; ``key`` (its worker SID) keeps its batches in order."""
        self.sched.submit(lambda: self._run_ops(ops, key), key=key)

    def _run_ops(self, ops: tuple[Op, ...], worker_sid: str | None = None) -> None:
        """Run one agent's batch in order; ``worker_sid`` is the agent's (for refused task writes)."""
        for op in ops:
            try:
                if isinstance(op, SetActivity):
                    self._set_activity(op)
                else:
                    self._update_task(op)
            except TwilioRequestFailed as exc:
                if isinstance(op, UpdateTask) and self._went_away(op, exc, worker_sid):
                    continue
                if isinstance(op, SetActivity) and self._move_refused(op, exc):
                    continue
                with self.sched.lock:
                    self.stats.failures += 1
                what = op.task_sid if isinstance(op, UpdateTask) else op.worker_sid
                log.error("%s: %s failed: %s", what, _verb(op), exc)

    def _went_away(self, op: UpdateTask, exc: TwilioRequestFailed, worker_sid: str | None) -> bool:
        """Whether a refused task write means the task is gone; if so, free the agent holding it.

        A customer may abandon a task just as an agent accepts it: TaskRouter cancels the task
        and ignores the late accept, so the agent's ``wrapping``/``completed`` get 400/20001
        (or 404 once the task is deleted). That is the simulation working, not an API failure.
        """
        if exc.status == 404:
            status: str | None = "deleted"
        elif exc.status == 400 and exc.code == 20001:
            status = self._task_status(op.task_sid)
            if status is None:
                return False
            if status not in ("canceled", "deleted"):
                if self._still_ours(op.task_sid, worker_sid):
                    return False  # a real failure: the task is still this agent's
                status = "no longer reserved for its agent"  # e.g. its reservation was rejected meanwhile
        else:
            return False
        with self.sched.lock:
            self.stats.gone.add(op.task_sid)
            holder = self.agents.get(worker_sid or "") or next(
                (a for a in self.agents.values() if op.task_sid in a.work), None)
            if holder is not None:
                holder.drop(op.task_sid)  # False when its timers already finished it locally
        log.info("task %s was %s before it could be set %s: no longer handled", op.task_sid, status, op.status)
        return True

    def _move_refused(self, op: SetActivity, exc: TwilioRequestFailed) -> bool:
        """Whether a refused move to an unavailable activity is the expected pending-reservation case.

        TaskRouter refuses it while a reservation is pending for the worker. That reservation's
        callback reaches an agent that is already away locally and answers "reject" with this
        activity, which moves the worker; one retry a moment later covers a lost callback.
        """
        if exc.status != 400 or exc.code != 20001 or op.reject_pending or op.activity in self.routable:
            return False
        with self.sched.lock:
            agent = self.agents.get(op.worker_sid)
            if agent is None or agent.stopped or agent.activity != op.activity:
                return True  # the agent has moved on; its newer write sets the activity
            if op not in self._move_retries:
                self._move_retries.add(op)
                self.sched.call_later(MOVE_RETRY_DELAY * self.speed, self._retry_move, op)
        log.info("worker %s: move to %s waits for a pending reservation", op.worker_sid, op.activity)
        return True

    def _retry_move(self, op: SetActivity) -> None:
        agent = self.agents.get(op.worker_sid)
        if agent is not None and not agent.stopped and agent.activity == op.activity:
            self._apply((op,), key=op.worker_sid)
        self._move_retries.discard(op)

    def _still_ours(self, task_sid: str, holder: str | None) -> bool:
        """Whether worker ``holder`` has an accepted reservation for ``task_sid`` (True if unsure).

        A reservation rejected by the agent's own earlier move to a break (RejectPendingReservations)
        can still reach it as a callback after it came back; its "accept" is then ignored.
        """
        if holder is None:
            return True
        try:
            reservations = self._reservations(task_sid)
        except TwilioRequestFailed:
            return True
        return any(r.worker_sid == holder and r.reservation_status in ("accepted", "wrapping", "completed")
                   for r in reservations)

    def _reservations(self, task_sid: str) -> list[Any]:
        """Every reservation of the task (raises TwilioRequestFailed)."""
        return self.tr.list_all("list", describe("reservations of task", sid=task_sid),
                                lambda: self.tr.workspace.tasks(task_sid).reservations.page(page_size=50))

    def _task_status(self, sid: str) -> str | None:
        """The task's assignment status now; "deleted" when it no longer exists, None if unknown."""
        try:
            task = self.tr.call("fetch", describe("task", sid=sid), self.tr.workspace.tasks(sid).fetch)
        except TwilioRequestFailed as exc:
            return "deleted" if exc.status == 404 else None
        return str(task.assignment_status)

    def _set_activity(self, op: SetActivity) -> None:
        sid = self.activity_sids.get(op.activity)
        if sid is None:
            raise TwilioRequestFailed("update", describe("worker", sid=op.worker_sid), None, None,
                                      f"no activity named {op.activity!r} in the workspace")
        kwargs: dict[str, Any] = {"activity_sid": sid}
        if op.reject_pending:
            kwargs["reject_pending_reservations"] = True
        self.tr.call("update", describe("worker", sid=op.worker_sid),
                     lambda: self.tr.workspace.workers(op.worker_sid).update(**kwargs))

    def _update_task(self, op: UpdateTask) -> None:
        kwargs: dict[str, Any] = {"assignment_status": op.status}
        if op.attributes is not None:
            kwargs["attributes"] = json.dumps(op.attributes, separators=(",", ":"))
        self.tr.call("update", describe("task", sid=op.task_sid),
                     lambda: self.tr.workspace.tasks(op.task_sid).update(**kwargs))


def _verb(op: Op) -> str:
    if isinstance(op, SetActivity):
        return f"move to {op.activity}"
    return f"set {op.status}"
