"""Engine routing on a virtual clock: workflows, queue order, capacity and worker choice."""

from __future__ import annotations

import json

import pytest

from engine_helpers import act, worker


def flow(engine, routing, **kw):
    return engine.create_workflow("wf", json.dumps({"task_routing": routing}), **kw)


def task(engine, wf, **attrs):
    return engine.create_task(attributes=json.dumps(attrs), workflow_sid=wf.sid)


def pending_res(engine, t):
    return [r for r in engine.list_reservations(task_sid=t.sid) if r.reservation_status == "pending"]


def test_first_matching_filter_only_and_default_filter(engine):
    sales = engine.create_task_queue("sales", target_workers="dept == 'sales'")
    support = engine.create_task_queue("support", target_workers="dept == 'support'")
    everyone = engine.list_task_queues(friendly_name="Everyone")[0]
    wf = flow(engine, {"filters": [
        {"filter_friendly_name": "s", "expression": "type == 'sale'", "targets": [{"queue": sales.sid}]},
        {"filter_friendly_name": "any", "expression": "type != 'x'", "targets": [{"queue": support.sid}]}],
        "default_filter": {"queue": everyone.sid}})
    assert task(engine, wf, type="sale").task_queue_sid == sales.sid
    assert task(engine, wf, type="help").task_queue_sid == support.sid
    assert task(engine, wf, other=1).task_queue_sid == everyone.sid  # no filter matched


def test_target_timeouts_move_the_task_then_workflow_timeout_cancels(engine, clock):
    q1 = engine.create_task_queue("q1", target_workers="1==1")
    q2 = engine.create_task_queue("q2", target_workers="1==1")
    wf = flow(engine, {"filters": [{"expression": "1==1", "targets": [
        {"queue": q1.sid, "timeout": 10}, {"queue": q2.sid, "timeout": 10, "priority": 7}]}]})
    t = task(engine, wf)
    assert t.task_queue_sid == q1.sid
    clock.advance(9.9)
    assert t.task_queue_sid == q1.sid
    clock.advance(0.2)
    assert t.task_queue_sid == q2.sid and t.priority == 7 and t.assignment_status == "pending"
    clock.advance(10)  # deadline of the second target is 20 s of task age
    assert t.assignment_status == "canceled"
    types = [e.event_type for e in engine.list_events(task_sid=t.sid)]
    assert "task-queue.moved" in types and "workflow.timeout" in types and types[-1] == "task.canceled"
    stats = engine.cumulative_workflow(wf.sid)
    assert stats["tasks_timed_out_in_workflow"] == 1 and stats["tasks_canceled"] == 1


def test_target_timeout_while_reserved_waits_for_the_reservation(engine, clock):
    q1 = engine.create_task_queue("q1", target_workers="1==1")
    q2 = engine.create_task_queue("q2", target_workers="1==2")
    wf = flow(engine, {"filters": [{"expression": "1==1", "targets": [
        {"queue": q1.sid, "timeout": 10}, {"queue": q2.sid}]}]}, task_reservation_timeout=30)
    w = worker(engine, "w")
    t = task(engine, wf)
    assert t.assignment_status == "reserved"
    clock.advance(15)
    assert t.task_queue_sid == q1.sid and t.assignment_status == "reserved"
    engine.update_reservation(pending_res(engine, t)[0].sid, reservation_status="rejected",
                              worker_activity_sid=act(engine, "Break"))
    assert t.task_queue_sid == q2.sid and t.assignment_status == "pending"
    assert engine.get_worker(w.sid).activity_sid == act(engine, "Break")


def test_skip_if_skips_a_step_with_no_available_worker(engine):
    q1 = engine.create_task_queue("q1", target_workers="team == 1")
    q2 = engine.create_task_queue("q2", target_workers="team == 2")
    wf = flow(engine, {"filters": [{"expression": "1==1", "targets": [
        {"queue": q1.sid, "skip_if": "workers.available == 0"}, {"queue": q2.sid}]}]})
    worker(engine, "off", available=False, team=1)
    t = task(engine, wf)
    assert t.task_queue_sid == q2.sid
    worker(engine, "on", team=1)
    assert task(engine, wf).task_queue_sid == q1.sid


def test_target_expression_and_order_by(engine):
    q = engine.create_task_queue("q", target_workers="1==1")
    wf = flow(engine, {"filters": [{"expression": "1==1", "targets": [
        {"queue": q.sid, "expression": "worker.lang == task.lang", "order_by": "worker.level DESC"}]}]})
    worker(engine, "fr", lang="fr", level=9)
    worker(engine, "en-low", lang="en", level=1)
    worker(engine, "en-none", lang="en")
    high = worker(engine, "en-high", lang="en", level=5)
    t = task(engine, wf, lang="en")
    assert pending_res(engine, t)[0].worker_sid == high.sid


def test_order_by_puts_workers_without_the_attribute_last(engine):
    q = engine.create_task_queue("q", target_workers="1==1", max_reserved_workers=3)
    wf = flow(engine, {"filters": [{"expression": "1==1", "targets": [
        {"queue": q.sid, "order_by": "worker.level ASC"}]}]})
    none = worker(engine, "none")
    two = worker(engine, "two", level=2)
    one = worker(engine, "one", level=1)
    t = task(engine, wf)
    assert [r.worker_sid for r in pending_res(engine, t)] == [one.sid, two.sid, none.sid]


def test_known_worker_routing(engine):
    q = engine.create_task_queue("q", target_workers="1==1")
    wf = flow(engine, {"filters": [{"expression": "1==1", "targets": [
        {"queue": q.sid, "known_worker_sid": "task.agent"}]}]})
    worker(engine, "a")
    b = worker(engine, "b")
    t = task(engine, wf, agent=b.sid)
    assert [r.worker_sid for r in pending_res(engine, t)] == [b.sid]


def test_priority_then_age_in_fifo_queues(engine, clock):
    wf = engine.list_workflows()[0]
    low_old = engine.create_task(attributes="{}", workflow_sid=wf.sid, priority=1)
    clock.advance(1)
    high = engine.create_task(attributes="{}", workflow_sid=wf.sid, priority=5)
    clock.advance(1)
    low_new = engine.create_task(attributes="{}", workflow_sid=wf.sid, priority=1)
    w = worker(engine, "w")
    for expected in (high, low_old, low_new):
        res = engine.list_reservations(worker_sid=w.sid, reservation_status="pending")
        assert [r.task_sid for r in res] == [expected.sid]
        engine.update_reservation(res[0].sid, reservation_status="accepted")
        engine.update_task(expected.sid, assignment_status="completed")


def test_lifo_queue_serves_newest_first_ignoring_priority(engine, clock):
    q = engine.create_task_queue("lifo", target_workers="1==1", task_order="LIFO")
    wf = flow(engine, {"default_filter": {"queue": q.sid}})
    old = engine.create_task(attributes="{}", workflow_sid=wf.sid, priority=10)
    clock.advance(1)
    new = engine.create_task(attributes="{}", workflow_sid=wf.sid, priority=0)
    w = worker(engine, "w")
    assert [r.task_sid for r in engine.list_reservations(worker_sid=w.sid)] == [new.sid]
    assert old.assignment_status == "pending"


def test_multitasking_capacity_chat_two_tasks(engine):
    wf = engine.list_workflows()[0]
    w = worker(engine, "w")
    engine.update_worker_channel(w.sid, "chat", capacity=2)
    tasks = [engine.create_task(attributes="{}", workflow_sid=wf.sid, task_channel="chat") for _ in range(3)]
    assert [t.assignment_status for t in tasks] == ["reserved", "reserved", "pending"]
    voice = engine.create_task(attributes="{}", workflow_sid=wf.sid, task_channel="voice")
    assert voice.assignment_status == "reserved"  # capacity is per channel
    assert engine.worker_channel_load(engine.get_worker_channel(w.sid, "chat")) == (0, 2)
    first = pending_res(engine, tasks[0])[0]
    engine.update_reservation(first.sid, reservation_status="accepted")
    assert engine.worker_channel_load(engine.get_worker_channel(w.sid, "chat")) == (1, 2)
    engine.update_task(tasks[0].sid, assignment_status="completed")
    assert tasks[2].assignment_status == "reserved"
    assert engine.get_worker(w.sid).activity_sid == act(engine, "Available")  # never changed by work


def test_longest_idle_worker_is_chosen(engine, clock):
    wf = engine.list_workflows()[0]
    a = worker(engine, "a")
    clock.advance(5)
    b = worker(engine, "b")
    t1 = engine.create_task(attributes="{}", workflow_sid=wf.sid)
    assert pending_res(engine, t1)[0].worker_sid == a.sid
    r = pending_res(engine, t1)[0]
    engine.update_reservation(r.sid, reservation_status="accepted")
    clock.advance(1)
    engine.update_task(t1.sid, assignment_status="completed")  # a idle again, but since now
    t2 = engine.create_task(attributes="{}", workflow_sid=wf.sid)
    assert pending_res(engine, t2)[0].worker_sid == b.sid


def test_max_reserved_workers_and_rescind(engine):
    q = engine.create_task_queue("q", target_workers="1==1", max_reserved_workers=3)
    wf = flow(engine, {"default_filter": {"queue": q.sid}})
    ws = [worker(engine, f"w{i}") for i in range(4)]
    t = task(engine, wf)
    res = pending_res(engine, t)
    assert len(res) == 3 and {r.worker_sid for r in res} == {w.sid for w in ws[:3]}
    engine.update_reservation(res[1].sid, reservation_status="accepted")
    statuses = [engine.get_reservation(r.sid).reservation_status for r in res]
    assert statuses == ["rescinded", "accepted", "rescinded"]
    assert t.assignment_status == "assigned"
    with pytest.raises(Exception) as err:
        engine.update_reservation(res[0].sid, reservation_status="accepted")
    assert err.value.status == 410


def test_queue_membership_index_follows_attributes_and_queue_changes(engine):
    q = engine.create_task_queue("sales", target_workers="skills HAS 'sales'")
    w = worker(engine, "w", skills=["support"])
    assert engine.list_workers(task_queue_sid=q.sid) == []
    engine.update_worker(w.sid, attributes=json.dumps({"skills": ["sales"]}))
    assert [x.sid for x in engine.list_workers(task_queue_sid=q.sid)] == [w.sid]
    engine.update_task_queue(q.sid, target_workers="skills HAS 'vip'")
    assert engine.list_workers(task_queue_sid=q.sid) == []
    wf = flow(engine, {"default_filter": {"queue": q.sid}})
    t = task(engine, wf)
    assert t.assignment_status == "pending"
    engine.update_task_queue(q.sid, target_workers="skills HAS 'sales'")  # waiting task finds w
    assert t.assignment_status == "reserved"


def test_unavailable_channel_and_activity_receive_nothing(engine):
    wf = engine.list_workflows()[0]
    w = worker(engine, "w")
    engine.update_worker_channel(w.sid, "sms", available=False)
    t = engine.create_task(attributes="{}", workflow_sid=wf.sid, task_channel="sms")
    assert t.assignment_status == "pending"
    engine.update_worker_channel(w.sid, "sms", available=True)
    assert t.assignment_status == "reserved"


def test_attribute_update_of_pending_task_reroutes(engine):
    sales = engine.create_task_queue("sales", target_workers="1==1")
    wf = flow(engine, {"filters": [{"expression": "type == 'sale'", "targets": [{"queue": sales.sid}]}],
                       "default_filter": {"queue": engine.list_task_queues(friendly_name="Everyone")[0].sid}})
    t = task(engine, wf, type="other")
    assert t.task_queue_sid != sales.sid
    engine.update_task(t.sid, attributes=json.dumps({"type": "sale"}))
    assert t.task_queue_sid == sales.sid


def test_channel_optimized_routing_prefers_idle_on_that_channel(engine, clock):
    engine.update_task_channel(engine.get_task_channel("chat").sid, channel_optimized_routing=True)
    wf = engine.list_workflows()[0]
    a = worker(engine, "a")
    clock.advance(1)
    b = worker(engine, "b")
    engine.update_worker_channel(a.sid, "chat", capacity=2)
    voice = engine.create_task(attributes="{}", workflow_sid=wf.sid, task_channel="voice")
    assert pending_res(engine, voice)[0].worker_sid == a.sid
    chat = engine.create_task(attributes="{}", workflow_sid=wf.sid, task_channel="chat")
    # a is busy on voice but idle longest on chat
    assert pending_res(engine, chat)[0].worker_sid == a.sid
    assert b.sid not in {r.worker_sid for r in engine.list_reservations(task_sid=chat.sid)}


def test_worker_joining_a_queue_keeps_its_idle_rank(engine, clock):
    q = engine.create_task_queue("vip", target_workers="vip == true")
    wf = flow(engine, {"default_filter": {"queue": q.sid}})
    early = worker(engine, "early")
    clock.advance(5)
    late = worker(engine, "late")
    engine.update_worker(late.sid, attributes=json.dumps({"vip": True}))  # joins first...
    engine.update_worker(early.sid, attributes=json.dumps({"vip": True}))  # ...but idle longer
    t = task(engine, wf)
    assert pending_res(engine, t)[0].worker_sid == early.sid


def test_re_evaluate_tasks_routes_pending_tasks_by_the_new_configuration(engine):
    old = engine.create_task_queue("old", target_workers="1==1")
    new = engine.create_task_queue("new", target_workers="1==1")
    wf = flow(engine, {"filters": [{"expression": "1==1", "targets": [{"queue": old.sid}]}]})
    waiting = task(engine, wf)
    w = worker(engine, "busy", skill="x")
    held = task(engine, wf)  # reserved by the only worker
    assert (waiting.task_queue_sid, waiting.assignment_status) == (old.sid, "reserved")
    assert held.assignment_status == "pending"
    to_new = json.dumps({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": new.sid}]}]}})
    engine.update_workflow(wf.sid, configuration=to_new)
    assert held.task_queue_sid == old.sid  # without ReEvaluateTasks the task keeps its step
    engine.update_workflow(wf.sid, configuration=to_new, re_evaluate_tasks=True)
    assert held.task_queue_sid == new.sid and held.assignment_status == "pending"
    assert waiting.task_queue_sid == old.sid and waiting.assignment_status == "reserved"  # only pending move
    assert pending_res(engine, waiting)[0].worker_sid == w.sid
