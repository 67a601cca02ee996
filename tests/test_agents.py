"""The activity model and the agent state machine, on a VirtualClock (no network)."""

from __future__ import annotations

import random

import pytest

from flexsim.activity_model import ActivityModel
from flexsim.agents import Agent, SetActivity, UpdateTask, merge_attributes
from flexsim.clock import VirtualClock
from flexsim.hooks import EventHook
from flexsim.scheduler import Scheduler

PORTIONS = {"Available": 0.75, "Busy": 0.05, "Break": 0.10, "Lunch": 0.10}
STAYS = {"Busy": 15, "Break": 30, "Lunch": 120}


class FixedHandling:
    """Constant talk and wrap times and fixed phase attributes."""

    def __init__(self, talk: float = 30.0, wrap: float = 10.0):
        self.talk, self.wrap = talk, wrap

    def talk_time(self, rng: random.Random) -> float:
        return self.talk

    def wrap_time(self, rng: random.Random) -> float:
        return self.wrap

    def attributes(self, phase: str, rng: random.Random) -> dict:
        return {"assignment": {"survey.offered": True}, "completion": {"outcome": "resolved"}}.get(phase, {})


def make_agent(clock, seed="1", model=None, handling=None, log=None, events=None):
    ops: list = []
    agent = Agent(f"Agent_{seed}", f"WK{seed}", model or ActivityModel(PORTIONS, STAYS),
                  random.Random(f"7:agent:{seed}"), Scheduler(clock), handling or FixedHandling(),
                  ops.append if log is None else log.append, events=events)
    return agent, ops


def test_model_matches_the_renewal_formulas():
    model = ActivityModel(PORTIONS, STAYS)
    rate = 0.05 / 15 + 0.10 / 30 + 0.10 / 120
    assert model.rate == pytest.approx(rate)
    assert model.mean_stays["Available"] == pytest.approx(0.75 / rate)  # 100 s
    assert model.mean_stays["Available"] == pytest.approx(100.0)
    rng = random.Random(3)
    picks = [model.next_away(rng) for _ in range(20_000)]
    for name in STAYS:
        expected = PORTIONS[name] / STAYS[name] / rate
        assert picks.count(name) / len(picks) == pytest.approx(expected, abs=0.015)


def test_initial_states_follow_the_portions():
    model = ActivityModel(PORTIONS, STAYS)
    rng = random.Random(5)
    starts = [model.initial(rng)[0] for _ in range(20_000)]
    for name, portion in PORTIONS.items():
        assert starts.count(name) / len(starts) == pytest.approx(portion, abs=0.015)


def test_model_refuses_bad_input():
    with pytest.raises(ValueError, match="include 'Available'"):
        ActivityModel({"Break": 1.0}, {"Break": 10})
    with pytest.raises(ValueError, match="sum to 1"):
        ActivityModel({"Available": 0.5, "Break": 0.2}, {"Break": 10})
    with pytest.raises(ValueError, match="baseDur"):
        ActivityModel({"Available": 0.5, "Break": 0.5}, {"Break": 0})


def test_always_available_agents_never_move(clock):
    agent, ops = make_agent(clock, model=ActivityModel({"Available": 1.0, "Break": 0.0}, {}))
    agent.sign_in(current="Offline")
    clock.advance(86_400)
    assert ops == [(SetActivity("WK1", "Available", False),)]
    assert clock.pending() == 0


def test_merge_attributes_writes_nested_paths_without_touching_the_input():
    base = {"topic": "Sales", "survey": {"sent": False}}
    merged = merge_attributes(base, {"survey.offered": True, "outcome": "ok"})
    assert merged == {"topic": "Sales", "survey": {"sent": False, "offered": True}, "outcome": "ok"}
    assert base == {"topic": "Sales", "survey": {"sent": False}}


def test_a_task_is_talked_wrapped_and_completed_with_phase_attributes(clock):
    agent, ops = make_agent(clock, model=ActivityModel({"Available": 1.0}, {}))
    agent.sign_in(current="Available")
    assert ops == []  # already Available: no write
    assert agent.offer("WT1", {"topic": "Sales"}) is True
    assert agent.state == "busy"
    clock.advance(29.9)
    assert ops == []
    clock.advance(0.1)
    wrapped = {"topic": "Sales", "survey": {"offered": True}}
    assert ops == [(UpdateTask("WT1", "wrapping", wrapped),)]
    clock.advance(10)
    assert ops[1] == (UpdateTask("WT1", "completed", {**wrapped, "outcome": "resolved"}),)
    assert agent.handled == 1 and agent.state == "available"


def test_a_repeated_offer_is_accepted_once(clock):
    agent, ops = make_agent(clock, model=ActivityModel({"Available": 1.0}, {}))
    agent.sign_in()
    assert agent.offer("WT1", {}) and agent.offer("WT1", {})
    clock.advance(100)
    assert [op.status for batch in ops for op in batch if isinstance(op, UpdateTask)] == ["wrapping", "completed"]


def test_a_late_callback_for_a_task_already_finished_starts_no_second_handling(clock):
    # E.g. a reservation rejected by the agent's break, delivered after the task came back to it
    # under a new reservation and was completed: TaskRouter ignores the accept; nothing to handle.
    agent, ops = make_agent(clock, model=ActivityModel({"Available": 1.0}, {}))
    agent.sign_in()
    agent.offer("WT1", {})
    clock.advance(100)
    assert agent.offer("WT1", {}) is True
    assert agent.state == "available" and agent.handled == 1
    clock.advance(100)
    assert [op.status for batch in ops for op in batch if isinstance(op, UpdateTask)] == ["wrapping", "completed"]


def test_an_agent_finishes_its_work_before_leaving_and_carries_the_overrun(clock):
    model = ActivityModel({"Available": 0.5, "Break": 0.5}, {"Break": 60})
    agent, ops = make_agent(clock, model=model, handling=FixedHandling(talk=300, wrap=20))
    agent.activity, agent._since = "Available", clock.now()  # pin the start for this test
    agent._schedule(50.0)
    agent.offer("WT1", {})
    clock.advance(50)
    assert agent.state == "leaving" and agent.want == "Break"
    assert ops == []
    clock.advance(250)  # talk over at 300
    assert ops == [(UpdateTask("WT1", "wrapping", {"survey": {"offered": True}}),)]
    clock.advance(20)  # wrap over at 320: leave first, then complete, in one ordered batch
    assert ops[1] == (SetActivity("WK1", "Break", False),
                      UpdateTask("WT1", "completed", {"survey": {"offered": True}, "outcome": "resolved"}))
    assert agent.debt == pytest.approx(270.0)
    assert agent.state == "away"


def test_debt_is_paid_from_the_next_available_stays(clock):
    model = ActivityModel({"Available": 0.5, "Break": 0.5}, {"Break": 60})
    agent, ops = make_agent(clock, model=model)
    agent.activity, agent._since, agent.debt = "Break", clock.now(), 1_000.0
    agent._schedule(10.0)
    clock.advance(10)
    # Mean Available stay is 60 s: a 1,000 s debt skips Available and goes Break -> Break.
    assert ops == [(SetActivity("WK1", "Break", False),)]
    assert 0 < agent.debt < 1_000


def test_offers_are_refused_while_away_or_stopped(clock):
    model = ActivityModel({"Available": 0.5, "Break": 0.5}, {"Break": 60})
    agent, ops = make_agent(clock, model=model)
    agent.activity = "Break"
    assert agent.offer("WT1", {}) is False
    agent.activity = "Available"
    agent.halt()
    assert agent.offer("WT2", {}) is False
    assert agent.work == {}


def test_sign_out_moves_offline_before_completing_held_work(clock):
    agent, ops = make_agent(clock, model=ActivityModel({"Available": 1.0}, {}))
    agent.sign_in(current="Available")
    agent.offer("WT1", {"topic": "Sales"})
    clock.advance(5)
    agent.sign_out("Offline")
    assert ops == [(SetActivity("WK1", "Offline", True),
                    UpdateTask("WT1", "completed", {"topic": "Sales", "survey": {"offered": True},
                                                    "outcome": "resolved"}))]
    clock.advance(1_000)
    assert len(ops) == 1 and agent.state == "offline"


def test_take_over_of_a_wrapping_task_only_completes_it(clock):
    agent, ops = make_agent(clock, model=ActivityModel({"Available": 1.0}, {}))
    agent.take_over("WT9", {"topic": "Support"}, "wrapping")
    agent.sign_in(current="Available")
    clock.advance(10)
    assert ops == [(UpdateTask("WT9", "completed", {"topic": "Support", "outcome": "resolved"}),)]


def test_a_recovered_agent_drawn_away_stays_available_until_done(clock):
    model = ActivityModel({"Available": 0.001, "Break": 0.999}, {"Break": 60})
    agent, ops = make_agent(clock, model=model)
    agent.take_over("WT9", {}, "assigned")
    agent.sign_in(current="Offline")
    assert agent.state == "leaving"
    assert ops == [(SetActivity("WK1", "Available", False),)]
    clock.advance(40)
    assert ops[-1][0] == SetActivity("WK1", "Break", False)


def test_the_event_log_is_reproducible_for_a_seed(clock):
    def run() -> list:
        vc = VirtualClock(start=0)
        hook = EventHook()
        log: list = []
        hook.add_listener(lambda event: log.append((round(event.time, 1), event.kind, event.detail)))
        agent, _ = make_agent(vc, seed="41", events=hook, handling=FixedHandling(talk=90, wrap=15))
        agent.sign_in()
        vc.call_at(120, agent.offer, "WT1", {})
        vc.run(until=600)
        return log

    assert run() == run()
    assert run() == EXPECTED_LOG


# Seed 41 shows a steady-state start in Lunch, a wanted Break that waits for the task, and
# the 98 s overrun paid back by skipping Available twice (Break -> Busy -> Busy -> Available).
EXPECTED_LOG = [
    (0.0, "activity", "Lunch"), (77.0, "activity", "Available"), (120.0, "accept", "WT1"),
    (127.6, "leaving", "Break"), (210.0, "wrap", "WT1"), (225.0, "complete", "WT1"),
    (225.0, "activity", "Break"), (234.7, "activity", "Busy"), (244.3, "activity", "Busy"),
    (246.7, "activity", "Available"), (311.8, "activity", "Busy"), (314.0, "activity", "Available"),
    (476.8, "activity", "Lunch"),
]


def test_jobs_with_one_key_run_in_order_while_other_keys_go_on(clock):
    """One agent's write batches must reach TaskRouter in order, even on a many-threaded pool."""
    import threading

    from concurrent.futures import ThreadPoolExecutor

    sched = Scheduler(clock, ThreadPoolExecutor(max_workers=4))
    first_running, release = threading.Event(), threading.Event()
    done: list[str] = []

    def slow_first() -> None:
        first_running.set()
        assert release.wait(5)
        done.append("WK1:Break")

    sched.submit(slow_first, key="WK1")
    assert first_running.wait(5)
    sched.submit(lambda: done.append("WK1:Available"), key="WK1")
    other = threading.Event()
    sched.submit(lambda: (done.append("WK2:Break"), other.set()), key="WK2")
    assert other.wait(5)  # another agent's write is not held up
    assert done == ["WK2:Break"]  # WK1's second batch waits for its first
    release.set()
    sched.shutdown(wait=True)
    assert done == ["WK2:Break", "WK1:Break", "WK1:Available"]
    assert sched._queues == {}


def test_an_agent_holds_several_tasks_at_once(clock):
    """Capacity is TaskRouter's to enforce (chat, sms): the agent handles each offered task on its own timers."""
    agent, ops = make_agent(clock, model=ActivityModel({"Available": 1.0}, {}))
    agent.sign_in(current="Available")
    assert agent.offer("WT1", {}) is True
    clock.advance(10)
    assert agent.offer("WT2", {}) is True
    assert set(agent.work) == {"WT1", "WT2"} and agent.state == "busy"
    clock.advance(20)  # WT1's talk is over at 30, WT2's at 40
    assert [(op.task_sid, op.status) for batch in ops for op in batch] == [("WT1", "wrapping")]
    clock.advance(30)
    assert [(op.task_sid, op.status) for batch in ops for op in batch] == [
        ("WT1", "wrapping"), ("WT2", "wrapping"), ("WT1", "completed"), ("WT2", "completed")]
    assert agent.handled == 2 and agent.work == {}
