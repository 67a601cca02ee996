"""Engine statistics and event listing on a virtual clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_helpers import worker

SPEC = Path(__file__).resolve().parents[3] / "shared" / "reference" / "twilio_taskrouter_v1.json"


def accept_pending(engine, t):
    [res] = engine.list_reservations(task_sid=t.sid, reservation_status="pending")
    engine.update_reservation(res.sid, reservation_status="accepted")
    return res


@pytest.fixture
def busy_day(engine, clock):
    """Two tasks accepted after 10 s and 30 s, one canceled after 50 s, one still pending."""
    queue = engine.list_task_queues()[0]
    wf = engine.list_workflows()[0]
    t1 = engine.create_task(attributes="{}", workflow_sid=wf.sid, priority=2)
    t2 = engine.create_task(attributes="{}", workflow_sid=wf.sid, task_channel="chat")
    clock.advance(10)
    w = worker(engine, "w")
    engine.update_worker_channel(w.sid, "chat", capacity=2)
    accept_pending(engine, t1)
    clock.advance(20)
    accept_pending(engine, t2)
    t3 = engine.create_task(attributes="{}", workflow_sid=wf.sid, priority=2)  # default channel is full
    clock.advance(50)
    engine.update_task(t3.sid, assignment_status="canceled")
    t4 = engine.create_task(attributes="{}", workflow_sid=wf.sid, priority=5)
    clock.advance(5)
    engine.update_task(t1.sid, assignment_status="wrapping")
    return {"queue": queue, "wf": wf, "worker": w, "tasks": (t1, t2, t3, t4)}


def test_realtime_statistics(engine, busy_day):
    t1, t2, t3, t4 = busy_day["tasks"]
    ws = engine.realtime_workspace()
    # t4 waits: the worker's default channel is still held by t1 (wrapping)
    assert ws["tasks_by_status"] == {"pending": 1, "reserved": 0, "assigned": 1, "wrapping": 1}
    assert ws["total_tasks"] == 3 and ws["total_workers"] == 1
    assert ws["tasks_by_priority"] == {"2": 1, "0": 1, "5": 1}
    assert ws["longest_task_waiting_sid"] == t4.sid and ws["longest_task_waiting_age"] == 5
    by_name = {a["friendly_name"]: a["workers"] for a in ws["activity_statistics"]}
    assert by_name == {"Offline": 0, "Available": 1, "Unavailable": 0, "Break": 0}
    q = engine.realtime_queue(busy_day["queue"].sid)
    assert q["total_eligible_workers"] == 1 and q["total_available_workers"] == 1
    assert q["longest_relative_task_sid_in_queue"] == t4.sid and q["longest_relative_task_age_in_queue"] == 5
    chat = engine.realtime_workspace(task_channel="chat")
    assert chat["total_tasks"] == 1 and chat["tasks_by_status"]["assigned"] == 1
    assert engine.realtime_workflow(busy_day["wf"].sid)["total_tasks"] == 3
    assert engine.realtime_workers()["total_workers"] == 1


def test_cumulative_statistics(engine, busy_day):
    stats = engine.cumulative_workspace(split_by_wait_time="20")
    assert stats["tasks_created"] == 4 and stats["tasks_canceled"] == 1 and stats["tasks_completed"] == 0
    assert stats["reservations_created"] == 2 and stats["reservations_accepted"] == 2
    assert stats["wait_duration_until_accepted"] == {"avg": 20, "min": 10, "max": 30, "total": 40}
    assert stats["avg_task_acceptance_time"] == 20
    assert stats["wait_duration_until_canceled"] == {"avg": 50, "min": 50, "max": 50, "total": 50}
    assert stats["split_by_wait_time"] == {"20": {
        "above": {"tasks_canceled": 1, "reservations_accepted": 1},
        "below": {"tasks_canceled": 0, "reservations_accepted": 1}}}
    assert stats["end_time"] - stats["start_time"] == 900
    queue = engine.cumulative_queue(busy_day["queue"].sid)
    assert queue["tasks_entered"] == 4 and queue["task_queue_sid"] == busy_day["queue"].sid
    assert queue["wait_duration_in_queue_until_accepted"]["max"] == 30
    flow = engine.cumulative_workflow(busy_day["wf"].sid)
    assert flow["tasks_entered"] == 4 and flow["tasks_timed_out_in_workflow"] == 0
    assert engine.cumulative_workspace(task_channel="chat")["tasks_created"] == 1
    assert engine.cumulative_workspace(minutes=1)["tasks_created"] == 2  # t3 (at 30 s) and t4 (80 s)
    workers = engine.cumulative_workers()
    available = [a for a in workers["activity_durations"] if a["friendly_name"] == "Available"][0]
    assert available["total"] == 75


def test_list_events_filters(engine, busy_day, clock):
    t1 = busy_day["tasks"][0]
    assert all(e.event_data.get("TaskSid") == t1.sid for e in engine.list_events(task_sid=t1.sid))
    assert {e.event_type for e in engine.list_events(worker_sid=busy_day["worker"].sid)} >= {
        "worker.created", "worker.activity.update", "reservation.accepted"}
    assert len(engine.list_events(event_type="task.created")) == 4
    assert len(engine.list_events(task_channel="chat", event_type="task.created")) == 1
    clock.advance(16 * 60)
    assert engine.list_events() == []
    assert len(engine.list_events(minutes=60, event_type="task.created")) == 4


@pytest.mark.skipif(not SPEC.exists(), reason="Twilio's OpenAPI spec is not available here")
@pytest.mark.parametrize("schema,call", [
    ("workspace_real_time_statistics", lambda e, d: e.realtime_workspace()),
    ("task_queue.task_queue_real_time_statistics", lambda e, d: e.realtime_queue(d["queue"].sid)),
    ("workflow.workflow_real_time_statistics", lambda e, d: e.realtime_workflow(d["wf"].sid)),
    ("worker.workers_real_time_statistics", lambda e, d: e.realtime_workers()),
    ("workspace_cumulative_statistics", lambda e, d: e.cumulative_workspace()),
    ("task_queue.task_queue_cumulative_statistics", lambda e, d: e.cumulative_queue(d["queue"].sid)),
    ("workflow.workflow_cumulative_statistics", lambda e, d: e.cumulative_workflow(d["wf"].sid)),
    ("worker.workers_cumulative_statistics", lambda e, d: e.cumulative_workers()),
])
def test_statistics_have_every_spec_field(engine, busy_day, schema, call):
    spec = json.loads(SPEC.read_text())
    props = spec["components"]["schemas"][f"taskrouter.v1.workspace.{schema}"]["properties"]
    payload = call(engine, busy_day)
    assert set(payload) == set(props) - {"account_sid", "workspace_sid", "url"}
    for name, prop in props.items():
        kind = prop.get("type")
        if name in payload and payload[name] is not None and kind in ("integer", "array"):
            assert isinstance(payload[name], int if kind == "integer" else list), name
