"""custsim: simulated customers who create TaskRouter tasks and hang up when kept waiting.

Arrivals are scheduled on absolute times from the start: arrival k is due at
``t0 + gap1 + … + gapk`` on the injected clock, so neither API latency nor a slow create
stretches the gaps (the original awaited each create and then slept, so its real rate fell
short by the latency). Creates run on an executor, several at once when needed; the clock
thread only draws the next arrival and hands the create over.

Abandonment: ``abandonTime`` after TaskRouter confirmed the task (the customer cannot hang
up before being queued), custsim cancels it with ONE update (``AssignmentStatus=canceled``).
A 400 answer (the task is no longer pending or reserved: an agent took it) is expected and
ignored; there is no fetch-then-cancel. A task counts as abandoned only when the cancel
succeeded. When custsim runs beside agentsim (``flexsim demo``), agentsim's accept events
are fed to :meth:`CustomerSim.answered`, which calls the abandonment off, so an answered
task costs no cancel at all.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from flexsim.answers import AnswerPoller, feed_token
from flexsim.arrivals import Arrival, ArrivalDraws
from flexsim.clock import Clock, Timer, WallClock
from flexsim.config import Config
from flexsim.errors import NotDeployed, TwilioRequestFailed
from flexsim.hooks import EventHook
from flexsim.kpi import ABANDON_REASON
from flexsim.stopping import wait_for

log = logging.getLogger("flexsim.custsim")


@dataclass
class TaskRecord:
    """What happened to one arrival: ``outcome`` is created, failed, abandoned or answered."""

    arrival: Arrival
    sid: str | None = None
    created_at: float | None = None
    outcome: str = "creating"
    timer: Timer | None = field(default=None, repr=False)


@dataclass
class CustsimSummary:
    """Counters for the closing line: tasks created, abandoned, and API calls that failed."""

    created: int = 0
    abandoned: int = 0
    failed: int = 0
    answered: int = 0

    def text(self) -> str:
        """One line for the terminal."""
        return f"custsim: {self.created} tasks created, {self.abandoned} abandoned, {self.failed} failed"


class ArrivalSource(Protocol):
    """Draws for customers (see :class:`flexsim.arrivals.ArrivalDraws`)."""

    def gap(self) -> float: ...

    def arrival(self, seq: int, due: float) -> Arrival: ...


class TaskGateway(Protocol):
    """The two TaskRouter writes custsim makes."""

    def create(self, arrival: Arrival) -> str: ...

    def cancel(self, sid: str) -> bool: ...


class InlineExecutor:
    """Runs submitted work at once in the caller's thread (for virtual-clock tests)."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call ``fn(*args)`` now."""
        fn(*args)


class CustomerSim:
    """Creates tasks at the drawn arrival times and abandons those kept waiting too long.

    :param gateway: creates and cancels tasks (``TaskRouterGateway`` over the access layer).
    :param source: draws gaps and arrivals (``ArrivalDraws``).
    :param clock: the injected clock; arrival times and patience are in its seconds.
    :param executor: where creates and cancels run; the default runs them inline.
    """

    def __init__(self, gateway: TaskGateway, source: ArrivalSource, clock: Clock,
                 executor: Executor | InlineExecutor | None = None):
        self.gateway = gateway
        self.source = source
        self.clock = clock
        self.executor = executor or InlineExecutor()
        self.summary = CustsimSummary()
        self.records: list[TaskRecord] = []
        self.on_created = EventHook()    # fire(record=TaskRecord)
        self.on_abandoned = EventHook()  # fire(record=TaskRecord)
        self._lock = threading.Condition()
        self._running = False
        self._next: Timer | None = None
        self._in_flight = 0
        self._seq = 0
        self._by_sid: dict[str, TaskRecord] = {}
        self._answered_early: set[str] = set()
        self.started_at: float | None = None
        #: called on the pool just before a cancel, to learn of answers first (see flexsim.answers)
        self.before_cancel: Callable[[], None] | None = None

    def start(self) -> None:
        """Schedule the first arrival one drawn gap from now."""
        with self._lock:
            self._running = True
            self.started_at = self.clock.now()
            first = self.started_at + self.source.gap()
            self._next = self.clock.call_at(first, self._arrive, first)

    def _arrive(self, due: float) -> None:
        with self._lock:
            if not self._running:
                return
            self._seq += 1
            record = TaskRecord(self.source.arrival(self._seq, due))
            self.records.append(record)
            # t_{k+1} = t_k + gap: absolute times, whatever this create costs.
            following = due + self.source.gap()
            self._next = self.clock.call_at(following, self._arrive, following)
        self._submit(self._create, record)

    def _submit(self, fn: Callable[[TaskRecord], None], record: TaskRecord) -> None:
        with self._lock:
            self._in_flight += 1
        try:
            self.executor.submit(self._guarded, fn, record)
        except RuntimeError:  # executor already shut down at stop
            self._done()

    def _guarded(self, fn: Callable[[TaskRecord], None], record: TaskRecord) -> None:
        try:
            fn(record)
        except Exception:  # never lose the in-flight count; log with the arrival
            log.exception("custsim: unexpected error for arrival %d", record.arrival.seq)
        finally:
            self._done()

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    def _create(self, record: TaskRecord) -> None:
        try:
            sid = self.gateway.create(record.arrival)
        except TwilioRequestFailed as exc:
            log.warning("custsim: task %d not created: %s", record.arrival.seq, exc)
            with self._lock:
                record.outcome = "failed"
                self.summary.failed += 1
            return
        with self._lock:
            record.sid, record.created_at, record.outcome = sid, self.clock.now(), "created"
            self.summary.created += 1
            self._by_sid[sid] = record
            if sid in self._answered_early:  # an agent took it before the create's answer arrived
                self._answered_early.discard(sid)
                record.outcome = "answered"
                self.summary.answered += 1
            elif self._running:
                record.timer = self.clock.call_at(record.created_at + record.arrival.abandon_after,
                                                  self._abandon_due, record)
        self.on_created.fire(record=record)

    def answered(self, task_sid: str) -> None:
        """An agent accepted the task: call off its abandonment (saves the refused cancel).

        Optional: without this feed (custsim apart from agentsim) the cancel is sent and its
        "not pending" 400 is ignored. Safe to call from any thread, for any task.
        """
        with self._lock:
            record = self._by_sid.get(task_sid)
            if record is None:
                self._answered_early.add(task_sid)
                return
            if record.outcome != "created":
                return
            if record.timer is not None:
                record.timer.cancel()
                record.timer = None
            record.outcome = "answered"
            self.summary.answered += 1

    def _abandon_due(self, record: TaskRecord) -> None:
        with self._lock:
            record.timer = None
            if not self._running or record.outcome != "created":
                return
        self._submit(self._abandon, record)

    def _abandon(self, record: TaskRecord) -> None:
        assert record.sid is not None
        if self.before_cancel is not None:
            self.before_cancel()
            with self._lock:
                if record.outcome != "created":  # an agent took it: no cancel to send
                    return
        try:
            canceled = self.gateway.cancel(record.sid)
        except TwilioRequestFailed as exc:
            log.warning("custsim: could not abandon task %s: %s", record.sid, exc)
            with self._lock:
                self.summary.failed += 1
            return
        with self._lock:
            if canceled:
                record.outcome = "abandoned"
                self.summary.abandoned += 1
            elif record.outcome == "created":
                record.outcome = "answered"
                self.summary.answered += 1
        if canceled:
            self.on_abandoned.fire(record=record)

    def stop(self) -> None:
        """Stop arrivals and pending abandonments; creates already under way still finish."""
        with self._lock:
            self._running = False
            timers = [self._next] + [r.timer for r in self.records]
            for timer in timers:
                if timer is not None:
                    timer.cancel()

    def wait_idle(self, timeout: float) -> bool:
        """Wait (wall time) until no create or cancel is in flight; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._in_flight == 0, timeout=timeout)


class TaskRouterGateway:
    """Creates and cancels flexsim tasks through the access layer (:class:`flexsim.taskrouter.TaskRouter`).

    :param workflow_sid: the flexsim workflow every task enters.
    """

    def __init__(self, tr: Any, workflow_sid: str, reason: str = ABANDON_REASON):
        self.tr = tr
        self.workflow_sid = workflow_sid
        self.reason = reason

    @classmethod
    def resolve(cls, tr: Any, workflow_name: str, channels: list[str]) -> "TaskRouterGateway":
        """Find the workflow by friendly name and check the TaskChannels exist.

        :raises NotDeployed: naming what is missing and that ``flexsim deploy`` creates it.
        """
        flows = [w for w in tr.list_workflows() if w.friendly_name == workflow_name]
        problems = []
        if not flows:
            problems.append(f"workflow {workflow_name!r} does not exist")
        known = {c.unique_name for c in tr.list_task_channels()}
        missing = [c for c in channels if c not in known]
        if missing:
            problems.append("TaskChannel(s) missing: " + ", ".join(missing))
        if problems:
            raise NotDeployed("; ".join(problems) + ": run flexsim deploy (with --create-missing "
                              "for channels) first")
        return cls(tr, flows[0].sid)

    def create(self, arrival: Arrival) -> str:
        """Create the task; returns its SID."""
        tasks = self.tr.workspace.tasks
        task = self.tr.call("create", f"task #{arrival.seq}", lambda: tasks.create(
            workflow_sid=self.workflow_sid, task_channel=arrival.channel,
            attributes=json.dumps(arrival.attributes)))
        return str(task.sid)

    def cancel(self, sid: str) -> bool:
        """Cancel a waiting task in one update; False when it is no longer pending or reserved."""
        context = self.tr.workspace.tasks(sid)
        try:
            self.tr.call("cancel", f"task ({sid})", lambda: context.update(
                assignment_status="canceled", reason=self.reason))
        except TwilioRequestFailed as exc:
            if exc.status in (400, 404):  # already assigned, or already gone: not an abandonment
                return False
            raise
        return True


def run_custsim(config: Config, tr: Any, *, time_limit: float, rng: random.Random, speed: float = 1.0,
                locale: str | None = None, stop: threading.Event | None = None,
                setup: Callable[[CustomerSim], None] | None = None, drain: float = 10.0,
                agentsim_url: str | None = None) -> CustomerSim:
    """Run custsim against the workspace of ``tr`` until ``time_limit`` wall seconds pass or ``stop`` is set.

    Simulated durations (gaps, patience) run ``speed`` times faster; the time limit does not.
    ``setup`` is called with the simulator before it starts (to add listeners). With
    ``agentsim_url`` (and an auth token), tasks agentsim's agents took are read from its
    ``/answered`` feed before each cancel, so they get none (:mod:`flexsim.answers`). At the end,
    calls under way get up to ``drain`` seconds to finish so that the summary is final.
    Returns the stopped simulator (``.summary``, ``.records``).

    :raises NotDeployed: when the workflow or a TaskChannel is missing.
    """
    source = ArrivalDraws(config, rng, locale)
    gateway = TaskRouterGateway.resolve(tr, source.workflow_name, source.channels)
    clock = WallClock(speed)
    pool = ThreadPoolExecutor(max_workers=max(2, tr.concurrency), thread_name_prefix="custsim")
    sim = CustomerSim(gateway, source, clock, executor=pool)
    if agentsim_url and tr.settings.auth_token:
        sim.before_cancel = AnswerPoller(agentsim_url, feed_token(tr.settings.auth_token), sim.answered).refresh
    if setup:
        setup(sim)
    clock.start()
    sim.start()
    try:
        wait_for(stop or threading.Event(), time_limit)
    finally:
        sim.stop()
        clock.stop()
        sim.wait_idle(timeout=drain)
        pool.shutdown(wait=False, cancel_futures=True)
    return sim
