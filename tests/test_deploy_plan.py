"""Ownership markers and plans: pure functions, no network."""

from __future__ import annotations

import json

from flexsim.deploy import canonical
from flexsim.ownership import (OWNER_CLAUSE, is_flexsim, is_flexsim_queue, is_flexsim_workflow,
                               mark_target_workers, marker_filter, referenced_queue_sids, unmark_target_workers)
from flexsim.plan import CREATE, DELETE, UNCHANGED, UPDATE, Change, Plan


def test_queue_marker_round_trips_and_is_recognised():
    marked = mark_target_workers("routing.skills HAS 'Sales'")
    assert marked == "(routing.skills HAS 'Sales') OR (flexsim_owner == 'flexsim')"
    assert is_flexsim_queue(marked)
    assert unmark_target_workers(marked) == "routing.skills HAS 'Sales'"
    assert is_flexsim_queue('(1==1) OR (flexsim_owner = "flexsim")')


def test_foreign_queues_are_not_flexsim():
    for target in (None, "", "1==1", "routing.skills HAS 'Sales'", "flexsim == true",
                   "(a == 1) OR (flexsim_owner == 'someone')"):
        assert not is_flexsim_queue(target)
    assert unmark_target_workers("1==1") == "1==1"


def test_workflow_marker_filter():
    config = {"task_routing": {"filters": [{"filter_friendly_name": "Sales", "expression": "topic=='Sales'",
                                            "targets": [{"queue": "WQ1", "timeout": 300}]},
                                           marker_filter("WQ0")],
                               "default_filter": {"queue": "WQ0"}}}
    assert is_flexsim_workflow(json.dumps(config))
    assert marker_filter("WQ0")["expression"] == OWNER_CLAUSE
    assert referenced_queue_sids(json.dumps(config)) == {"WQ0", "WQ1"}
    config["task_routing"]["filters"].pop()
    assert not is_flexsim_workflow(json.dumps(config))
    assert not is_flexsim_workflow("not json") and not is_flexsim_workflow(None)
    assert referenced_queue_sids("[]") == set()


def test_worker_and_task_marker_needs_the_exact_value():
    assert is_flexsim({"flexsim": True})
    assert not is_flexsim({"flexsim": "true"}) and not is_flexsim({}) and not is_flexsim(None)


def test_canonical_json_ignores_key_order_and_spacing_but_not_types():
    assert canonical(json.loads('{"b": [1, 2], "a": {"y": 1, "x": 2}}')) == canonical({"a": {"x": 2, "y": 1},
                                                                                       "b": [1, 2]})
    assert canonical({"a": True}) != canonical({"a": 1})
    assert canonical({"a": [1, 2]}) != canonical({"a": [2, 1]})


def test_plan_describe_and_summary():
    plan = Plan()
    plan.add(Change("worker", "Agent_000", CREATE))
    plan.add(Change("worker", "Agent_001", UPDATE, "WK1", {"attributes.lang": ("en-us", "es-es")}))
    plan.add(Change("worker", "Agent_002", UNCHANGED, "WK2"))
    plan.add(Change("worker", "Agent_009", DELETE, "WK9"))
    plan.add(Change("activity", "Busy", CREATE))
    assert plan.writes == 4
    assert plan.describe() == [
        "+ create worker 'Agent_000'",
        "~ update worker 'Agent_001' (WK1): attributes.lang: 'en-us' -> 'es-es'",
        "- delete worker 'Agent_009' (WK9)",
        "+ create activity 'Busy'",
        "= unchanged worker: Agent_002",
    ]
    assert plan.summary() == ["workers: 1 created, 1 updated, 1 removed, 1 unchanged",
                              "activities: 1 created, 0 updated, 0 removed, 0 unchanged"]


def test_plan_groups_many_unchanged_resources():
    plan = Plan([Change("queue", f"Q{i}", UNCHANGED) for i in range(8)])
    assert plan.describe() == ["= unchanged queues: Q0, Q1, Q2, Q3, Q4, …"]
    assert Plan().describe() == ["nothing to do"]
