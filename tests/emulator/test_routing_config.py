"""Workflow configuration JSON: parsing, defaults, queue inheritance and every rejection."""

from __future__ import annotations

import json

import pytest

from flexsim.emulator.expressions import parse
from flexsim.emulator.routing_config import (
    MAX_CONFIG_BYTES,
    Filter,
    RoutingConfig,
    Target,
    WorkflowConfigError,
    parse_routing_config,
    validate_queue_refs,
)

Q1 = "WQ" + "1" * 32
Q2 = "WQ" + "ab" * 16
Q3 = "WQ" + "C" * 32


def config(**task_routing) -> str:
    return json.dumps({"task_routing": task_routing})


def test_minimal_default_filter():
    parsed = parse_routing_config('{"task_routing":{"default_filter":{"queue":"' + Q1 + '"}}}')
    assert parsed == RoutingConfig(filters=(), default_filter=Target(queue_sid=Q1))
    assert parsed.queue_sids() == frozenset({Q1})


def test_full_configuration():
    text = config(
        filters=[
            {"filter_friendly_name": "Sales", "expression": "type == 'sales' AND vip == true",
             "targets": [
                 {"queue": Q1, "expression": "task.lang IN worker.langs", "priority": "10",
                  "timeout": 30, "order_by": "worker.level DESC, worker.routing.tenure",
                  "skip_if": "workers.available == 0", "known_worker_sid": "task.agent_sid"},
                 {"timeout": "60", "priority": 5, "expression": None},
                 {"queue": Q2, "known_worker_friendly_name": "task.crm.agent_name"},
             ]},
            {"expression": "1==1", "targets": [{"queue": Q3}]},
        ],
        default_filter={"queue": Q2, "priority": 1, "expression": "worker.level > 1"},
    )
    parsed = parse_routing_config(text)
    sales, catch_all = parsed.filters
    assert sales.name == "Sales"
    assert sales.expression == parse("type == 'sales' AND vip == true")
    first, second, third = sales.targets
    assert first == Target(
        queue_sid=Q1, expression=parse("task.lang IN worker.langs", require_prefix=True),
        priority=10, timeout=30, order_by=(("level", True), ("routing.tenure", False)),
        skip_if=parse("workers.available == 0", prefixes=["workers"]),
        known_worker_sid="agent_sid")
    assert second == Target(queue_sid=Q1, priority=5, timeout=60)
    assert third == Target(queue_sid=Q2, known_worker_friendly_name="crm.agent_name")
    assert catch_all == Filter(name="Filter 2", expression=parse("1==1"),
                               targets=(Target(queue_sid=Q3),))
    assert parsed.default_filter == Target(queue_sid=Q2, priority=1,
                                           expression=parse("worker.level > 1"))
    assert parsed.queue_sids() == frozenset({Q1, Q2, Q3})
    assert sales.expression.evaluate({"type": "sales", "vip": True}) is True


def test_targets_inherit_the_previous_targets_queue():
    parsed = parse_routing_config(config(filters=[{"expression": "1==1", "targets": [
        {"queue": Q1, "timeout": 10}, {"timeout": 20}, {"queue": Q2, "timeout": 30}, {}]}]))
    assert [t.queue_sid for t in parsed.filters[0].targets] == [Q1, Q1, Q2, Q2]
    # expression and timeout are not inherited
    assert [t.timeout for t in parsed.filters[0].targets] == [10, 20, 30, None]


def test_filters_only_and_friendly_name_alias():
    parsed = parse_routing_config(config(filters=[
        {"friendly_name": "Old style", "expression": "a == 1", "targets": ONE}]))
    assert parsed.filters[0].name == "Old style"
    assert parsed.default_filter is None


def test_empty_optional_expressions_and_nulls_count_as_absent():
    parsed = parse_routing_config(config(
        filters=None, default_filter={"queue": Q1, "expression": "", "skip_if": "", "priority": None}))
    assert parsed.default_filter == Target(queue_sid=Q1)


@pytest.mark.parametrize("direction", ["asc", "ASC", "desc", "Desc", None])
def test_order_by_directions(direction):
    text = "worker.level" + (f" {direction}" if direction else "")
    parsed = parse_routing_config(config(default_filter={"queue": Q1, "order_by": text}))
    assert parsed.default_filter.order_by == (("level", direction is not None
                                               and direction.upper() == "DESC"),)


def test_validate_queue_refs():
    parsed = parse_routing_config(config(
        filters=[{"expression": "1==1", "targets": [{"queue": Q3}, {"queue": Q1}]}],
        default_filter={"queue": Q2}))
    assert validate_queue_refs(parsed, [Q1, Q2, Q3]) == []
    assert validate_queue_refs(parsed, {Q2}) == sorted([Q1, Q3])


def test_configuration_up_to_one_megabyte_is_accepted():
    filler = {"expression": "a == '" + "x" * 1000 + "'", "targets": ONE}
    filters = [filler] * ((MAX_CONFIG_BYTES - 2000) // len(json.dumps(filler)))
    text = config(filters=filters)
    assert len(text) <= MAX_CONFIG_BYTES
    assert len(parse_routing_config(text).filters) == len(filters)


def _target(**fields) -> str:
    return config(filters=[{"expression": "1==1", "targets": [{"queue": Q1}, fields]}])


F = "task_routing.filters[0]"
T = F + ".targets[1]"
ONE = [{"queue": Q1}]

INVALID = [
    ("", "configuration: invalid JSON at line 1 column 1"),
    ('{"task_routing": {\n  "filters": [}', "configuration: invalid JSON at line 2 column 15"),
    ("[]", "configuration: must be a JSON object"),
    ("{}", "task_routing: is required"),
    ('{"task_routing": {}, "extra": 1}', "extra: unknown key"),
    ('{"task_routing": []}', "task_routing: must be a JSON object"),
    (config(), "task_routing: needs at least one filter or a default_filter"),
    (config(filters=[]), "task_routing: needs at least one filter or a default_filter"),
    (config(default_filter={"queue": Q1}, fallback=1), "task_routing.fallback: unknown key"),
    (config(filters={}), "task_routing.filters: must be a list"),
    (config(filters=["x"]), f"{F}: must be a JSON object"),
    (config(filters=[{"targets": ONE}]), f"{F}.expression: is required"),
    (config(filters=[{"expression": "1==1", "targets": ONE},
                     {"expression": "a ==", "targets": ONE}]),
     "task_routing.filters[1].expression: expected a value after '==' at position 4"),
    (config(filters=[{"expression": 5, "targets": ONE}]),
     f"{F}.expression: must be a string"),
    (config(filters=[{"expression": "1==1"}]), f"{F}.targets: must be a non-empty list"),
    (config(filters=[{"expression": "1==1", "targets": []}]), f"{F}.targets: must be"),
    (config(filters=[{"expression": "1==1", "targets": {"queue": Q1}}]), f"{F}.targets: must be a non-empty"),
    (config(filters=[{"expression": "1==1", "targets": ONE, "timeout": 5}]),
     f"{F}.timeout: unknown key"),
    (config(filters=[{"filter_friendly_name": "", "expression": "1==1", "targets": ONE}]),
     f"{F}.filter_friendly_name: must be a non-empty string"),
    (config(filters=[{"filter_friendly_name": "a", "friendly_name": "b", "expression": "1==1",
                      "targets": ONE}]), f"{F}: give filter_friendly_name"),
    (config(filters=[{"expression": "1==1", "targets": [{"timeout": 5}]}]),
     f"{F}.targets[0].queue: is required"),
    (config(filters=[{"expression": "1==1", "targets": ["WQx"]}]),
     f"{F}.targets[0]: must be a JSON object"),
    (_target(queue="WQ123"), f"{T}.queue: must be a TaskQueue SID"),
    (_target(queue="WW" + "1" * 32), f"{T}.queue: must be a TaskQueue SID"),
    (_target(queue="WQ" + "g" * 32), f"{T}.queue: must be a TaskQueue SID"),
    (_target(queue=5), f"{T}.queue: must be a TaskQueue SID"),
    (_target(timeout=0), f"{T}.timeout: must be a positive integer"),
    (_target(timeout=-5), f"{T}.timeout: must be a positive integer"),
    (_target(timeout=1.5), f"{T}.timeout: must be a positive integer"),
    (_target(timeout="soon"), f"{T}.timeout: must be a positive integer"),
    (_target(timeout=True), f"{T}.timeout: must be a positive integer"),
    (_target(priority=-1), f"{T}.priority: must be an integer from 0 to 2147483647"),
    (_target(priority=2**31), f"{T}.priority: must be an integer"),
    (_target(priority="high"), f"{T}.priority: must be an integer"),
    (_target(priority=[1]), f"{T}.priority: must be an integer"),
    (_target(expression="lang == 'en'"),
     f"{T}.expression: key 'lang' must start with 'task.' or 'worker.'"),
    (_target(expression="task.lang =="), f"{T}.expression: expected a value after '=='"),
    (_target(expression=["task.x == 1"]), f"{T}.expression: must be a string"),
    (_target(skip_if="worker.available == 0"),
     f"{T}.skip_if: key 'worker.available' must start with 'workers.'"),
    (_target(skip_if="workers.available =="), f"{T}.skip_if: expected a value"),
    (_target(order_by="level DESC"), f"{T}.order_by: 'level' must be a key starting with 'worker.'"),
    (_target(order_by="worker.level SIDEWAYS"), f"{T}.order_by: direction 'SIDEWAYS' must be ASC or DESC"),
    (_target(order_by="worker.level DESC extra"), f"{T}.order_by: cannot read 'worker.level DESC extra'"),
    (_target(order_by="worker.level,"), f"{T}.order_by: cannot read ''"),
    (_target(order_by="worker.top-level"), f"{T}.order_by: 'worker.top-level' must be a key"),
    (_target(order_by=""), f"{T}.order_by: must be a string"),
    (_target(order_by=["worker.level"]), f"{T}.order_by: must be a string"),
    (_target(known_worker_sid="agent_sid"), f"{T}.known_worker_sid: must name a task attribute"),
    (_target(known_worker_sid="task."), f"{T}.known_worker_sid: must name a task attribute"),
    (_target(known_worker_friendly_name=7), f"{T}.known_worker_friendly_name: must name"),
    (_target(known_worker_sid="task.a", known_worker_friendly_name="task.b"),
     f"{T}: give known_worker_sid or known_worker_friendly_name, not both"),
    (_target(task_queue_sid=Q1), f"{T}.task_queue_sid: unknown key"),
    (config(default_filter={}), "task_routing.default_filter.queue: is required"),
    (config(default_filter=Q1), "task_routing.default_filter: must be a JSON object"),
    (config(default_filter={"queue": Q1, "timeout": 30}),
     "task_routing.default_filter.timeout: is not allowed in default_filter"),
    (config(default_filter={"queue": "WQnope"}),
     "task_routing.default_filter.queue: must be a TaskQueue SID"),
    (config(default_filter={"queue": Q1, "filters": []}), "task_routing.default_filter.filters: unknown key"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_configurations(text, message):
    with pytest.raises(WorkflowConfigError) as info:
        parse_routing_config(text)
    assert message in str(info.value)
    assert str(info.value).startswith(message.split(":")[0])


def test_oversize_configuration_is_rejected():
    text = config(default_filter={"queue": Q1, "expression": "worker.a == '" + "x" * MAX_CONFIG_BYTES + "'"})
    with pytest.raises(WorkflowConfigError, match=r"^configuration: \d+ bytes is over the limit"):
        parse_routing_config(text)


def test_non_string_is_rejected():
    with pytest.raises(WorkflowConfigError, match="must be a JSON string"):
        parse_routing_config({"task_routing": {}})  # type: ignore[arg-type]


def test_parsed_config_is_frozen():
    parsed = parse_routing_config(config(default_filter={"queue": Q1}))
    with pytest.raises(AttributeError):
        parsed.default_filter.queue_sid = Q2  # type: ignore[misc]
