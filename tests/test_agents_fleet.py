"""1,000 agents on a VirtualClock under task load: the activity time shares match the portions."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from flexsim.activity_model import ActivityModel
from flexsim.agents import Agent
from flexsim.clock import VirtualClock
from flexsim.scheduler import Scheduler

PORTIONS = {"Available": 0.75, "Busy": 0.05, "Break": 0.10, "Lunch": 0.10}
STAYS = {"Busy": 15, "Break": 30, "Lunch": 120}
AGENTS = 1_000
HOURS = 4


class UniformHandling:
    """Talk 15–45 s and wrap 5–25 s, as the default domain's ranges."""

    def talk_time(self, rng: random.Random) -> float:
        return rng.uniform(15, 45)

    def wrap_time(self, rng: random.Random) -> float:
        return rng.uniform(5, 25)

    def attributes(self, phase: str, rng: random.Random) -> dict:
        return {}


def run_fleet(rate: float, capacity: int = 2, seconds: float = HOURS * 3600.0):
    """Simulate the agents plus a crude router; return (shares, snapshot at 60 s, tasks offered)."""
    clock = VirtualClock(start=0.0)
    sched = Scheduler(clock)
    model = ActivityModel(PORTIONS, STAYS)
    agents = [Agent(f"Agent_{i:04d}", f"WK{i}", model, random.Random(f"9:agent:{i}"), sched,
                    UniformHandling(), lambda ops: None) for i in range(AGENTS)]
    for agent in agents:
        agent.sign_in(current="Offline")
    router = random.Random("router")
    offered = [0]

    def arrive() -> None:
        # Like TaskRouter: only agents in Available with free capacity get work (leaving ones too).
        for _ in range(30):
            agent = agents[router.randrange(AGENTS)]
            if agent.activity == "Available" and len(agent.work) < capacity:
                agent.offer(f"WT{offered[0]}", {})
                offered[0] += 1
                break
        clock.call_later(router.expovariate(rate), arrive)

    if rate:
        clock.call_later(0, arrive)
    clock.run(until=60)
    snapshot = Counter(a.activity for a in agents)
    clock.run(until=seconds)
    totals: Counter[str] = Counter()
    for agent in agents:
        totals.update(agent.shares())
    whole = sum(totals.values())
    return {k: v / whole for k, v in totals.items()}, {k: v / AGENTS for k, v in snapshot.items()}, offered[0]


@pytest.mark.parametrize("rate", [0.0, 12.0], ids=["idle", "busy"])
def test_time_shares_match_the_portions(rate):
    shares, first_minute, offered = run_fleet(rate)
    if rate:
        assert offered > 100_000  # the load is real: agents were often busy when a break came due
    for name, portion in PORTIONS.items():
        assert shares[name] == pytest.approx(portion, abs=0.05), (name, shares)
        assert shares[name] == pytest.approx(portion, abs=0.01), (name, shares)  # in fact much closer
        assert first_minute[name] == pytest.approx(portion, abs=0.05), (name, first_minute)
