"""Value generation: enum portions, uniform and bell ranges, distinct values, nested paths."""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest

from flexsim.config import props_from_dict
from flexsim.values import draw, draw_attributes, draw_enum, draw_range, set_path

N = 10_000


def test_enum_draws_follow_the_portions_within_two_points(rng):
    values, portions = ["voice", "chat", "sms"], [0.4, 0.3, 0.3]
    counts = Counter(draw_enum(values, portions, rng) for _ in range(N))
    for value, portion in zip(values, portions):
        assert abs(counts[value] / N - portion) <= 0.02, (value, counts[value])


def test_enum_with_a_zero_portion_never_draws_it(rng):
    counts = Counter(draw_enum(["a", "b", "c"], [0.5, 0.5, 0.0], rng) for _ in range(N))
    assert counts["c"] == 0


def test_value_count_gives_distinct_values_in_declared_order(rng):
    values, portions = ["Sales", "Service", "Support"], [0.4, 0.35, 0.25]
    draws = [draw_enum(values, portions, rng, count=2) for _ in range(N)]
    assert all(len(d) == 2 and len(set(d)) == 2 for d in draws)
    assert all(d == sorted(d, key=values.index) for d in draws)
    # Sampling without replacement: each value's inclusion rate is above its portion,
    # and the most common value stays the most common.
    inclusion = Counter(v for d in draws for v in d)
    assert inclusion["Sales"] > inclusion["Service"] > inclusion["Support"]
    assert sum(inclusion.values()) == 2 * N


def test_value_count_equal_to_the_number_of_values_yields_them_all(rng):
    assert draw_enum(["a", "b", "c"], [0.2, 0.3, 0.5], rng, count=3) == ["a", "b", "c"]


def test_enum_refuses_impossible_requests(rng):
    with pytest.raises(ValueError, match="3 values but 2 portions"):
        draw_enum(["a", "b", "c"], [0.5, 0.5], rng)
    with pytest.raises(ValueError, match="cannot draw 2 distinct values"):
        draw_enum(["a", "b"], [1.0, 0.0], rng, count=2)


def test_uniform_integers_cover_every_whole_number_equally(rng):
    counts = Counter(draw_range(5, 10, rng, "uniform", "integer") for _ in range(N))
    assert sorted(counts) == [5, 6, 7, 8, 9, 10]
    for value in counts:
        assert abs(counts[value] / N - 1 / 6) <= 0.02


def test_uniform_numbers_stay_in_bounds_with_three_decimals(rng):
    draws = [draw_range(1.5, 2.5, rng) for _ in range(N)]
    assert all(1.5 <= d <= 2.5 and round(d, 3) == d for d in draws)
    assert abs(statistics.fmean(draws) - 2.0) < 0.01


def test_bell_is_centred_clipped_and_has_sigma_a_sixth_of_the_span(rng):
    draws = [draw_range(15, 45, rng, "bell", "number") for _ in range(N)]
    assert min(draws) >= 15 and max(draws) <= 45
    assert abs(statistics.fmean(draws) - 30) < 0.15
    assert abs(statistics.pstdev(draws) - 5) < 0.15
    within_one_sigma = sum(25 <= d <= 35 for d in draws) / N
    assert abs(within_one_sigma - 0.6827) < 0.02


def test_bell_integers_are_rounded_and_clipped(rng):
    draws = [draw_range(0, 6, rng, "bell", "integer") for _ in range(N)]
    assert set(draws) <= set(range(7)) and all(isinstance(d, int) for d in draws)
    assert Counter(draws).most_common(1)[0][0] == 3


def test_degenerate_range_always_gives_its_bound(rng):
    assert {draw_range(7, 7, rng, "bell", "integer") for _ in range(50)} == {7}


def test_range_value_count_gives_sorted_distinct_values(rng):
    values = draw_range(1, 5, rng, "uniform", "integer", count=5)
    assert values == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="cannot draw 3 distinct values"):
        draw_range(1, 2, rng, "uniform", "integer", count=3)
    with pytest.raises(ValueError, match="min 3 is greater than max 1"):
        draw_range(3, 1, rng)


def test_unknown_curve_is_refused(rng):
    with pytest.raises(ValueError, match="unknown curve 'flat'"):
        draw_range(1, 2, rng, "flat")


def test_set_path_builds_nested_objects():
    target: dict = {"routing": {"levels": {}}}
    set_path(target, "routing.skills", ["Sales"])
    set_path(target, "lang", "en-us")
    set_path(target, "a.b.c", 1)
    assert target == {"routing": {"levels": {}, "skills": ["Sales"]}, "lang": "en-us", "a": {"b": {"c": 1}}}


PROPS = props_from_dict({
    "topic": {"dataType": "string", "expr": "enum", "values": ["Sales", "Service"], "instances": [
        {"target": "worker", "name": "routing.skills", "valueCnt": 2, "curve": "uniform",
         "valueProps": [{"portion": 0.5}, {"portion": 0.5}]}]},
    "vip": {"dataType": "boolean", "expr": "enum", "values": [True, False], "instances": [
        {"target": "task", "name": "vip", "phase": "arrival", "valueProps": [{"portion": 1}, {"portion": 0}]}]},
    "csat": {"dataType": "integer", "expr": "range", "min": 1, "max": 5, "instances": [
        {"target": "task", "name": "survey.csat", "phase": "completion", "curve": "bell"}]},
})


def test_draw_uses_the_instance_settings(rng):
    assert draw(PROPS["topic"].instances[0], rng) == ["Sales", "Service"]
    assert draw(PROPS["vip"].instances[0], rng) is True
    assert 1 <= PROPS["csat"].instances[0].draw(rng) <= 5


def test_draw_attributes_sets_nested_names_in_order(rng):
    instances = [PROPS["vip"].instances[0], PROPS["csat"].instances[0]]
    attributes = draw_attributes(instances, rng, {"flexsim": True})
    assert set(attributes) == {"flexsim", "vip", "survey"}
    assert set(attributes["survey"]) == {"csat"}


def test_same_seed_gives_the_same_draws():
    inst = PROPS["csat"].instances[0]
    first = [draw(inst, random.Random(99)) for _ in range(3)]
    again = [draw(inst, random.Random(99)) for _ in range(3)]
    assert first == again
    a, b = random.Random(5), random.Random(5)
    assert [draw_range(0, 100, a, "bell") for _ in range(100)] == [draw_range(0, 100, b, "bell") for _ in range(100)]
