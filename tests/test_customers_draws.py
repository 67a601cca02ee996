"""custsim's draws from a generated config: mix, marker, locale and reproducibility (virtual clock)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from flexsim.clock import VirtualClock
from flexsim.config import load_config
from flexsim.arrivals import ArrivalDraws
from flexsim.customers import CustomerSim
from flexsim.genconfig import generate_config


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    root = tmp_path_factory.mktemp("cfg")
    generate_config(root / "domain", root / "config", random.Random(5), 5)
    return load_config(root / "config")


class RecordingGateway:
    def __init__(self):
        self.created = []

    def create(self, arrival):
        self.created.append(arrival)
        return f"WT{arrival.seq}"

    def cancel(self, sid):
        return False


def run(config, seed, seconds, locale=None):
    clock = VirtualClock(1_700_000_000.0)
    gateway = RecordingGateway()
    sim = CustomerSim(gateway, ArrivalDraws(config, random.Random(seed), locale), clock)
    sim.start()
    clock.run(until=clock.now() + seconds)
    return gateway.created, clock


def test_channel_and_topic_mix_match_the_portions(config):
    created, _ = run(config, seed=11, seconds=7.5 * 6000)   # mean gap 7.5 s -> about 6,000 tasks
    n = len(created)
    assert n > 5000
    channels = Counter(a.channel for a in created)
    topics = Counter(a.attributes["topic"] for a in created)
    for name, portion in {"voice": 0.4, "chat": 0.3, "sms": 0.3}.items():
        assert channels[name] / n == pytest.approx(portion, abs=0.02)
    for name, portion in {"Sales": 0.4, "Service": 0.35, "Support": 0.25}.items():
        assert topics[name] / n == pytest.approx(portion, abs=0.02)


def test_gaps_and_patience_stay_in_their_ranges_and_average_out(config):
    created, _ = run(config, seed=3, seconds=7.5 * 2000)
    dues = [a.due for a in created]
    gaps = [b - a for a, b in zip(dues, dues[1:])]
    assert min(gaps) >= 5 and max(gaps) <= 10
    assert sum(gaps) / len(gaps) == pytest.approx(7.5, abs=0.15)
    assert all(15 <= a.abandon_after <= 60 for a in created)


def test_attributes_carry_marker_name_and_arrival_props(config):
    created, _ = run(config, seed=1, seconds=100)
    first = created[0].attributes
    assert first["flexsim"] is True and isinstance(first["name"], str) and first["name"]
    assert set(first) == {"flexsim", "name", "topic"}


def test_same_seed_same_sequence_other_seed_differs(config):
    a, _ = run(config, seed=42, seconds=2000)
    b, _ = run(config, seed=42, seconds=2000)
    c, _ = run(config, seed=43, seconds=2000)
    as_tuple = lambda xs: [(x.due, x.channel, x.attributes, x.abandon_after) for x in xs]  # noqa: E731
    assert as_tuple(a) == as_tuple(b)
    assert as_tuple(a) != as_tuple(c)


def test_locale_override_changes_customer_names(config):
    en, _ = run(config, seed=9, seconds=500)
    es, _ = run(config, seed=9, seconds=500, locale="es-es")
    assert [x.attributes["topic"] for x in en] == [x.attributes["topic"] for x in es]
    assert [x.attributes["name"] for x in en] != [x.attributes["name"] for x in es]
