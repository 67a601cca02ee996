"""Simulated agents: a small state machine per agent, driven by the shared scheduler.

States (``Agent.state``):

- ``available``: in the Available activity with no work; takes reservations.
- ``busy``: in Available, handling one or more tasks (talking or wrapping each).
- ``leaving``: its Available stay is over but work is still in hand; it keeps
  handling (and accepting) work and leaves for the chosen activity once it is idle.
- ``away``: in another activity (Break, Lunch, …) as the activity model dictates.
- ``offline``: signed out.

The activity timeline follows ``flexsim.activity_model``. An agent never leaves in the
middle of a task; the extra time spent in Available while ``leaving`` is carried as a
*debt* and subtracted from the next Available stay (when the debt exceeds that stay the
agent goes straight from one away activity to the next), so the long-run time shares
still equal the portions.

Handling a task costs two TaskRouter writes: after the talk time the task goes to
``wrapping`` with the assignment-phase attributes merged in, after the wrap time to
``completed`` with the completion-phase ones. The reservation itself is accepted by the
webhook's answer. Agents never call TaskRouter directly: they hand tuples of operations
(``SetActivity``, ``UpdateTask``) to an ``apply`` function that runs them in order on the
API pool. Methods here must be called with the scheduler's lock held.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from flexsim.activity_model import ActivityModel
from flexsim.clock import Timer
from flexsim.hooks import EventHook
from flexsim.scheduler import Scheduler

OFFLINE = "Offline"
FINISHED_MEMORY = 64  # recently finished tasks remembered per agent, to spot stale callbacks


@dataclass(frozen=True)
class SetActivity:
    """Move a worker to an activity; ``reject_pending`` when it is an unavailable one."""

    worker_sid: str
    activity: str
    reject_pending: bool


@dataclass(frozen=True)
class UpdateTask:
    """Set a task's assignment status, writing ``attributes`` (the whole object) when given."""

    task_sid: str
    status: str
    attributes: dict[str, Any] | None = None


Op = SetActivity | UpdateTask


@dataclass(frozen=True)
class AgentEvent:
    """Something an agent did, for logs and tests."""

    time: float
    agent: str
    kind: str
    detail: str = ""

    def answered_task(self) -> str | None:
        """The task SID when this event is an agent taking a task (accept or take-over), else None."""
        if self.kind in ("accept", "take-over") and self.detail:
            return self.detail.split()[0]
        return None


class Handling(Protocol):
    """Draws for handling a task, from the config's talkTime, wrapTime and task attributes."""

    def talk_time(self, rng: random.Random) -> float: ...

    def wrap_time(self, rng: random.Random) -> float: ...

    def attributes(self, phase: str, rng: random.Random) -> dict[str, Any]: ...


def merge_attributes(base: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``updates`` written in; dotted keys (``a.b``) write nested objects."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for path, value in updates.items():
        node = merged
        *parents, leaf = path.split(".")
        for key in parents:
            child = node.get(key)
            child = dict(child) if isinstance(child, dict) else {}
            node[key] = child
            node = child
        node[leaf] = value
    return merged


@dataclass
class Work:
    """A task an agent holds: its attributes so far and where it is in handling."""

    task_sid: str
    attributes: dict[str, Any]
    phase: str = "talking"
    timer: Timer | None = field(default=None, repr=False)


class Agent:
    """One simulated agent (a flexsim Worker).

    :param name: the worker's friendly name; ``sid`` its Worker SID.
    :param routable: activities in which TaskRouter may offer the worker work (the
        workspace's available activities). Offers in other activities are refused.
    :param apply: runs a tuple of operations, in order, off the lock (see module doc).
    :param events: fired with ``event=AgentEvent`` for every change.
    :param activity: the worker's activity in the workspace now (before ``sign_in``).

    ``on_activity(before, after)``, when set, is called on every activity change (for counters).
    """

    def __init__(self, name: str, sid: str, model: ActivityModel, rng: random.Random, sched: Scheduler,
                 handling: Handling, apply: Callable[[tuple[Op, ...]], None],
                 routable: frozenset[str] = frozenset({"Available"}), events: EventHook | None = None,
                 activity: str | None = None):
        self.name = name
        self.sid = sid
        self.model = model
        self.rng = rng
        self.sched = sched
        self.handling = handling
        self.apply = apply
        self.routable = routable
        self.events = events
        self.activity = activity
        self.work: dict[str, Work] = {}
        # Tasks this agent finished lately: a callback for one of them is a stale duplicate (say, a
        # reservation its break rejected, delivered late after the task came back and was done).
        self.finished: deque[str] = deque(maxlen=FINISHED_MEMORY)
        self.want: str | None = None
        self.want_since = 0.0
        self.debt = 0.0
        self.handled = 0
        self.stopped = False
        self.time_in: dict[str, float] = defaultdict(float)
        self._since = sched.now()
        self._timer: Timer | None = None
        self.on_activity: Callable[[str | None, str], None] | None = None

    @property
    def state(self) -> str:
        """The agent's named state (see the module docstring)."""
        if self.stopped and self.activity == OFFLINE:
            return "offline"
        if self.activity != self.model.available:
            return "away"
        if self.want:
            return "leaving"
        return "busy" if self.work else "available"

    # --- lifecycle -------------------------------------------------------------------

    def sign_in(self, current: str | None = None) -> None:
        """Start in a steady-state activity; ``current`` is the worker's activity now (no write if equal).

        Call ``take_over`` first for tasks a previous run left: an agent with work that
        draws an away activity stays Available (``leaving``) until the work is done.
        """
        self.time_in.clear()  # shares count from sign-in
        self._since = self.sched.now()
        activity, stay = self.model.initial(self.rng)
        if self.work and activity != self.model.available:
            self._set(self.model.available, write=current != self.model.available)
            self._want(activity)
            return
        self._set(activity, write=current != activity)
        self._schedule(stay)

    def sign_out(self, offline: str = OFFLINE, finish_work: bool = True) -> None:
        """Stop: move to ``offline`` first (no new offers), then complete held tasks if ``finish_work``."""
        ops: list[Op] = []
        for work in list(self.work.values()):
            if work.timer:
                work.timer.cancel()
            if finish_work:
                ops.append(self._completion(work))
        if finish_work:
            self.work.clear()
        self._stop_timers()
        self.stopped = True
        self.want = None
        self._set(offline, write=True, then=tuple(ops))

    def halt(self) -> None:
        """Stop without any API call, leaving tasks and activity as they are (``--stay-online``)."""
        for work in self.work.values():
            if work.timer:
                work.timer.cancel()
        self._stop_timers()
        self.stopped = True
        self._account()

    # --- tasks ------------------------------------------------------------------------

    def offer(self, task_sid: str, attributes: dict[str, Any]) -> bool:
        """A reservation for this agent: True to accept it (and start handling), False to refuse."""
        if task_sid in self.work:
            return True  # a repeated callback for a task already in hand
        if task_sid in self.finished:
            self._emit("stale", task_sid)
            return True  # TaskRouter ignores an accept for an ended reservation; nothing to handle
        if self.stopped or self.activity not in self.routable:
            self._emit("refuse", task_sid)
            return False
        assignment = self.handling.attributes("assignment", self.rng)
        work = Work(task_sid, merge_attributes(attributes, assignment))
        self.work[task_sid] = work
        self._emit("accept", task_sid)
        work.timer = self.sched.call_later(self.handling.talk_time(self.rng), self._talk_over, work)
        return True

    def take_over(self, task_sid: str, attributes: dict[str, Any], status: str) -> None:
        """Finish a task a previous run left ``assigned`` (talk, wrap) or ``wrapping`` (wrap)."""
        if task_sid in self.work or self.stopped:
            return
        assignment = self.handling.attributes("assignment", self.rng) if status == "assigned" else {}
        work = Work(task_sid, merge_attributes(attributes, assignment))
        self.work[task_sid] = work
        self._emit("take-over", f"{task_sid} {status}")
        if status == "wrapping":
            work.phase = "wrapping"
            work.timer = self.sched.call_later(self.handling.wrap_time(self.rng), self._wrap_over, work)
        else:
            work.timer = self.sched.call_later(self.handling.talk_time(self.rng), self._talk_over, work)

    def drop(self, task_sid: str) -> bool:
        """Forget a task that went away (canceled or deleted); False when it was not held.

        Its timers stop and its slot is free; a ``leaving`` agent that is now idle leaves.
        """
        work = self.work.pop(task_sid, None)
        if work is None:
            return False
        if work.timer:
            work.timer.cancel()
        self._emit("gone", task_sid)
        if self.want and not self.work and not self.stopped:
            self._leave()
        return True

    def _talk_over(self, work: Work) -> None:
        if self.work.get(work.task_sid) is not work:
            return
        work.phase = "wrapping"
        self._emit("wrap", work.task_sid)
        self.apply((UpdateTask(work.task_sid, "wrapping", work.attributes),))
        work.timer = self.sched.call_later(self.handling.wrap_time(self.rng), self._wrap_over, work)

    def _wrap_over(self, work: Work) -> None:
        if self.work.pop(work.task_sid, None) is not work:
            return
        self.handled += 1
        self.finished.append(work.task_sid)
        self._emit("complete", work.task_sid)
        done = (self._completion(work),)
        if self.want and not self.work:
            self._leave(then=done)  # leave first, then complete: the freed capacity draws no new reservation
        else:
            self.apply(done)

    def _completion(self, work: Work) -> UpdateTask:
        completion = self.handling.attributes("completion", self.rng)
        return UpdateTask(work.task_sid, "completed", merge_attributes(work.attributes, completion))

    # --- activities --------------------------------------------------------------------

    def _stay_over(self) -> None:
        self._timer = None
        if self.stopped:
            return
        if self.activity == self.model.available:
            activity = self.model.next_away(self.rng)
            if self.work:
                self._want(activity)
            else:
                self._go_away(activity)
        else:
            self._come_back()

    def _want(self, activity: str) -> None:
        self.want = activity
        self.want_since = self.sched.now()
        self._emit("leaving", activity)

    def _leave(self, then: tuple[Op, ...] = ()) -> None:
        """A ``leaving`` agent, now idle, goes to the activity it wants; the extra stay becomes debt."""
        self.debt += self.sched.now() - self.want_since
        activity, self.want = self.want, None
        assert activity is not None  # set by _want
        self._go_away(activity, then=then)

    def _come_back(self) -> None:
        stay = self.model.draw_stay(self.model.available, self.rng)
        if self.model.away and self.debt >= stay:
            self.debt -= stay
            self._go_away(self.model.next_away(self.rng))
            return
        stay, self.debt = stay - self.debt, 0.0
        self._set(self.model.available)
        self._schedule(stay)

    def _go_away(self, activity: str, then: tuple[Op, ...] = ()) -> None:
        self._set(activity, then=then)
        self._schedule(self.model.draw_stay(activity, self.rng))

    def _schedule(self, stay: float) -> None:
        if stay != float("inf"):
            self._timer = self.sched.call_later(stay, self._stay_over)

    def _stop_timers(self) -> None:
        if self._timer:
            self._timer.cancel()
            self._timer = None

    def _set(self, activity: str, write: bool = True, then: tuple[Op, ...] = ()) -> None:
        """Record the move to ``activity`` and write it (before ``then``) when ``write``."""
        before = self.activity
        self._account()
        self.activity = activity
        if self.on_activity:
            self.on_activity(before, activity)
        self._emit("activity", activity)
        # Only signing out rejects pending reservations. A break never does: a reservation offered
        # while the move is in flight could otherwise be rejected under an agent that, its callback
        # arriving after it came back, accepts it and then writes to a task it does not hold.
        # TaskRouter refuses such a move instead; the callback then gets "reject" + the activity.
        reject = self.stopped and activity not in self.routable
        ops: tuple[Op, ...] = (SetActivity(self.sid, activity, reject),) if write else ()
        if ops or then:
            self.apply(ops + then)

    def _account(self) -> None:
        now = self.sched.now()
        if self.activity is not None:
            self.time_in[self.activity] += now - self._since
        self._since = now

    def shares(self) -> dict[str, float]:
        """Time spent in each activity so far, in simulated seconds (up to now)."""
        self._account()
        return dict(self.time_in)

    def _emit(self, kind: str, detail: str = "") -> None:
        if self.events is not None:
            self.events.fire(event=AgentEvent(self.sched.now(), self.name, kind, detail))
