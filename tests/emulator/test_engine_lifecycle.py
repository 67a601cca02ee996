"""Engine task/reservation lifecycles, timers, callbacks and refused transitions."""

from __future__ import annotations

import copy
import json
import random

import pytest

from flexsim.clock import VirtualClock
from flexsim.emulator.engine import Engine
from flexsim.emulator.errors import BadRequest, EmulatorError, IllegalTransition, NotFound, PreconditionFailed

from engine_helpers import act, worker


def new_task(engine, **kw):
    return engine.create_task(attributes=json.dumps(kw.pop("attrs", {"k": 1})), **kw)


def only_res(engine, t):
    [res] = engine.list_reservations(task_sid=t.sid, reservation_status="pending")
    return res


def snapshot(engine):
    """Everything a refused call must leave unchanged."""
    return copy.deepcopy((engine._tasks, engine._workers, engine._reservations, engine._queues,
                          engine._activities, engine._workflows, len(engine._events)))


def test_flex_like_workspace_and_worker_channels(engine):
    assert [a.friendly_name for a in engine.list_activities()] == ["Offline", "Available", "Unavailable", "Break"]
    assert engine.workspace.default_activity_sid == engine.workspace.timeout_activity_sid == act(engine, "Offline")
    assert engine.workspace.multi_task_enabled
    assert [c.unique_name for c in engine.list_task_channels()] == ["default", "voice", "chat", "sms", "video"]
    [queue] = engine.list_task_queues()
    assert (queue.friendly_name, queue.target_workers) == ("Everyone", "1==1")
    [wf] = engine.list_workflows()
    assert wf.friendly_name == "Assign to Anyone" and wf.routing.default_filter.queue_sid == queue.sid
    w = engine.create_worker("w")
    assert w.activity_sid == act(engine, "Offline")
    channels = engine.list_worker_channels(w.sid)
    assert len(channels) == 5 and all(c.configured_capacity == 1 and c.available for c in channels)
    engine.create_task_channel("Email", "email")
    assert len(engine.list_worker_channels(w.sid)) == 6


def test_sids_are_deterministic_with_a_seed():
    def run():
        e = Engine(VirtualClock(0), account_sid="AC" + "0" * 32, workspace_sid="WS" + "0" * 32, rng=random.Random(5))
        w = e.create_worker("x")
        return [a.sid for a in e.list_activities()] + [w.sid, new_task(e).sid]
    first, second = run(), run()
    assert first == second and all(len(s) == 34 for s in first)
    assert first[-1].startswith("WT") and first[-2].startswith("WK")


def test_events_in_order_for_a_normally_handled_task(engine):
    w = worker(engine, "w")
    seen = []
    engine.on_event.add_listener(lambda event: seen.append(event.event_type))
    t = new_task(engine)
    res = only_res(engine, t)
    engine.update_reservation(res.sid, reservation_status="accepted")
    engine.update_reservation(res.sid, reservation_status="wrapping")
    engine.update_reservation(res.sid, reservation_status="completed")
    assert seen == ["task.created", "workflow.entered", "workflow.target-matched", "task-queue.entered",
                    "reservation.created", "reservation.accepted", "task.wrapup", "reservation.wrapup",
                    "task.completed", "reservation.completed"]
    assert [e.event_type for e in engine.list_events(task_sid=t.sid)] == seen
    created = engine.list_events(event_type="reservation.created")[0]
    data = created.event_data
    assert created.resource_type == "reservation" and data["ResourceType"] == "reservation"
    assert data["TaskSid"] == t.sid and data["WorkerSid"] == w.sid and data["ReservationSid"] == res.sid
    assert data["WorkerActivityName"] == "Available" and data["TaskQueueName"] == "Everyone"
    assert data["WorkflowName"] == "Assign to Anyone" and data["TaskChannelUniqueName"] == "default"
    assert t.assignment_status == "completed" and res.reservation_status == "completed"


def test_assignment_callback_params_and_responses(engine, clock):
    wf = engine.list_workflows()[0]
    engine.update_workflow(wf.sid, assignment_callback_url="http://127.0.0.1:9/cb",
                           fallback_assignment_callback_url="http://127.0.0.1:9/fb")
    calls = []
    engine.on_assignment.add_listener(lambda callback: calls.append(callback))
    w = worker(engine, "w", skill="x")
    clock.advance(3)
    t = engine.create_task(attributes='{"a": 1}', workflow_sid=wf.sid, priority=4)
    [cb] = calls
    assert cb.url.endswith("/cb") and cb.fallback_url.endswith("/fb")
    assert cb.params == {
        "Timestamp": str(int(clock.now())), "AccountSid": engine.workspace.account_sid,
        "WorkspaceSid": engine.workspace.sid, "WorkflowSid": wf.sid, "TaskQueueSid": t.task_queue_sid,
        "WorkerSid": w.sid, "WorkerAttributes": '{"skill": "x"}', "TaskSid": t.sid, "TaskAttributes": '{"a": 1}',
        "TaskAge": "0", "TaskPriority": "4", "ReservationSid": cb.reservation_sid}
    engine.handle_assignment_response(cb.reservation_sid, None)  # empty 200: stays pending
    assert t.assignment_status == "reserved"
    engine.handle_assignment_response(cb.reservation_sid, {"instruction": "reject", "activity_sid": act(engine, "Break")})
    assert t.assignment_status == "pending" and engine.get_worker(w.sid).activity_sid == act(engine, "Break")
    engine.handle_assignment_response(cb.reservation_sid, {"instruction": "accept"})  # no longer pending: ignored
    assert engine.get_reservation(cb.reservation_sid).reservation_status == "rejected"
    engine.update_worker(w.sid, activity_sid=act(engine, "Available"))
    engine.handle_assignment_response(calls[-1].reservation_sid, {"instruction": "dequeue", "to": "client:x"})
    assert t.assignment_status == "assigned"
    assert engine.get_reservation(calls[-1].reservation_sid).instruction == "dequeue"


def test_reservation_timeout_moves_worker_offline_and_reroutes(engine, clock):
    wf = engine.list_workflows()[0]
    engine.update_workflow(wf.sid, task_reservation_timeout=30)
    a = worker(engine, "a")
    clock.advance(1)
    b = worker(engine, "b")
    t = new_task(engine)
    first = only_res(engine, t)
    assert first.worker_sid == a.sid
    clock.advance(30)
    assert first.reservation_status == "timeout"
    assert engine.get_worker(a.sid).activity_sid == act(engine, "Offline")
    assert only_res(engine, t).worker_sid == b.sid
    assert engine.cumulative_workspace()["reservations_timed_out"] == 1


def test_task_ttl_cancels_with_reason(engine, clock):
    t = new_task(engine, timeout=60)
    clock.advance(59)
    assert t.assignment_status == "pending"
    clock.advance(1)
    assert t.assignment_status == "canceled" and t.reason == "Task TTL Exceeded"
    assert engine.list_events(event_type="task.canceled")[0].description == "Task TTL Exceeded"


def test_ttl_cancels_pending_reservations_and_frees_worker(engine, clock):
    w = worker(engine, "w")
    t = new_task(engine, timeout=10)
    res = only_res(engine, t)
    clock.advance(10)
    assert res.reservation_status == "canceled" and t.assignment_status == "canceled"
    assert engine.worker_channel_load(engine.get_worker_channel(w.sid, "default")) == (0, 0)


def test_purge_and_system_delete(engine, clock):
    engine.purge_after = 100
    t = new_task(engine)
    engine.update_task(t.sid, assignment_status="canceled")
    clock.advance(100)
    with pytest.raises(NotFound):
        engine.get_task(t.sid)
    w = worker(engine, "w")
    t2 = new_task(engine)
    engine.update_reservation(only_res(engine, t2).sid, reservation_status="accepted")
    clock.advance(86_400)
    with pytest.raises(NotFound):
        engine.get_task(t2.sid)
    assert engine.list_events(event_type="task.system-deleted", minutes=2000)[0].resource_sid == t2.sid
    assert engine.worker_channel_load(engine.get_worker_channel(w.sid, "default")) == (0, 0)


def test_rejections_without_activity_reoffer_and_cap_at_1000(engine):
    w = worker(engine, "w")
    t = new_task(engine)
    for _ in range(999):
        engine.update_reservation(only_res(engine, t).sid, reservation_status="rejected")
    assert t.assignment_status == "reserved"
    engine.update_reservation(only_res(engine, t).sid, reservation_status="rejected")
    assert t.assignment_status == "canceled"
    assert engine.list_reservations(worker_sid=w.sid, reservation_status="pending") == []


ILLEGAL = {
    "cancel assigned task": lambda e, s: e.update_task(s["assigned"].sid, assignment_status="canceled"),
    "wrap pending task": lambda e, s: e.update_task(s["pending"].sid, assignment_status="wrapping"),
    "complete reserved task": lambda e, s: e.update_task(s["reserved"].sid, assignment_status="completed"),
    "update completed task": lambda e, s: e.update_task(s["completed"].sid, attributes="{}"),
    "cancel completed task": lambda e, s: e.update_task(s["completed"].sid, assignment_status="canceled"),
    "wrap completed task": lambda e, s: e.update_task(s["completed"].sid, assignment_status="wrapping"),
    "set a task back to pending": lambda e, s: e.update_task(s["assigned"].sid, assignment_status="pending"),
    "complete pending reservation": lambda e, s: e.update_reservation(s["pending_res"].sid,
                                                                      reservation_status="completed"),
    "reject accepted reservation": lambda e, s: e.update_reservation(s["accepted_res"].sid,
                                                                     reservation_status="rejected"),
    "accept accepted reservation": lambda e, s: e.update_reservation(s["accepted_res"].sid,
                                                                     reservation_status="accepted"),
    "wrap pending reservation": lambda e, s: e.update_reservation(s["pending_res"].sid,
                                                                  reservation_status="wrapping"),
    "unavailable with pending reservations": lambda e, s: e.update_worker(s["busy"].sid,
                                                                          activity_sid=act(e, "Break")),
    "reject flag with available activity": lambda e, s: e.update_worker(
        s["busy"].sid, activity_sid=act(e, "Available"), reject_pending_reservations=True),
    "delete worker with work": lambda e, s: e.delete_worker(s["busy"].sid),
    "delete activity in use": lambda e, s: e.delete_activity(act(e, "Available")),
    "delete default activity": lambda e, s: e.delete_activity(act(e, "Offline")),
    "delete referenced queue": lambda e, s: e.delete_task_queue(s["pending"].task_queue_sid),
    "delete workflow with tasks": lambda e, s: e.delete_workflow(s["pending"].workflow_sid),
    "if-match mismatch": lambda e, s: e.update_task(s["pending"].sid, priority=3, if_match='"999"'),
    "bad attributes": lambda e, s: e.update_worker(s["busy"].sid, attributes="{nope"),
    "oversize attributes": lambda e, s: e.create_worker("big", attributes=json.dumps({"x": "y" * 5000})),
    "bad target workers": lambda e, s: e.create_task_queue("bad", target_workers="a === 1"),
    "unknown queue in workflow": lambda e, s: e.create_workflow(
        "bad", json.dumps({"task_routing": {"default_filter": {"queue": "WQ" + "0" * 32}}})),
    "capacity over 50": lambda e, s: e.update_worker_channel(s["busy"].sid, "chat", capacity=51),
    "duplicate worker name": lambda e, s: e.create_worker("BUSY"),
}


@pytest.fixture
def scene(engine):
    q = engine.create_task_queue("held", target_workers="1==2")
    wf = engine.create_workflow("held", json.dumps({"task_routing": {"default_filter": {"queue": q.sid}}}))
    pending = engine.create_task(attributes="{}", workflow_sid=wf.sid)
    busy = worker(engine, "busy")
    engine.update_worker_channel(busy.sid, "default", capacity=3)
    everyone = engine.list_workflows(friendly_name="Assign to Anyone")[0]
    assigned, reserved, completed = (engine.create_task(attributes="{}", workflow_sid=everyone.sid) for _ in range(3))
    accepted_res = only_res(engine, assigned)
    engine.update_reservation(accepted_res.sid, reservation_status="accepted")
    engine.update_reservation(only_res(engine, completed).sid, reservation_status="accepted")
    engine.update_task(completed.sid, assignment_status="completed")
    return {"pending": pending, "busy": busy, "assigned": assigned, "reserved": reserved,
            "completed": completed, "accepted_res": accepted_res, "pending_res": only_res(engine, reserved)}


@pytest.mark.parametrize("name", sorted(ILLEGAL))
def test_refused_changes_leave_state_unchanged(engine, scene, name):
    before = snapshot(engine)
    with pytest.raises(EmulatorError) as err:
        ILLEGAL[name](engine, scene)
    assert err.value.status in (400, 409, 410, 412)
    assert snapshot(engine) == before


def test_refusal_kinds_and_messages(engine, scene):
    with pytest.raises(IllegalTransition, match="not pending or reserved"):
        engine.update_task(scene["assigned"].sid, assignment_status="canceled")
    with pytest.raises(IllegalTransition, match="not currently assigned"):
        engine.update_task(scene["pending"].sid, assignment_status="completed")
    with pytest.raises(PreconditionFailed):
        engine.delete_task(scene["pending"].sid, if_match="0")
    with pytest.raises(BadRequest):
        engine.create_task(attributes="[1]")
    with pytest.raises(NotFound):
        engine.get_worker("WK" + "0" * 32)


def test_unavailable_move_with_reject_pending_reservations(engine, scene):
    busy, res = scene["busy"], scene["pending_res"]
    version = busy.version
    engine.update_worker(busy.sid, activity_sid=act(engine, "Break"), reject_pending_reservations=True)
    assert res.reservation_status == "rejected" and scene["reserved"].assignment_status == "pending"
    assert busy.activity_sid == act(engine, "Break") and busy.version > version
    engine.update_task(scene["assigned"].sid, assignment_status="completed")  # work goes on
    engine.update_worker(busy.sid, activity_sid=act(engine, "Available"), if_match=str(busy.version))
    assert scene["reserved"].assignment_status == "reserved"


def test_cancel_and_delete_end_pending_reservations(engine, scene):
    res = scene["pending_res"]
    engine.update_task(scene["reserved"].sid, assignment_status="canceled", reason="gone")
    assert res.reservation_status == "canceled" and scene["reserved"].reason == "gone"
    engine.delete_task(scene["assigned"].sid)
    with pytest.raises(NotFound):
        engine.get_task(scene["assigned"].sid)
    assert engine.worker_channel_load(engine.get_worker_channel(scene["busy"].sid, "default")) == (0, 0)
    types = [e.event_type for e in engine.list_events()]
    assert "task.deleted" in types and "reservation.canceled" in types


def test_default_reservation_timeout_and_ttl_and_the_workspace_timeout_activity(engine, clock):
    engine.update_workspace(timeout_activity_sid=act(engine, "Break"))
    w = worker(engine, "w")
    t = new_task(engine)
    assert t.timeout == 86_400 and engine.list_workflows()[0].task_reservation_timeout == 120
    res = only_res(engine, t)
    clock.advance(119.9)
    assert res.reservation_status == "pending"
    clock.advance(0.1)
    assert res.reservation_status == "timeout"
    assert engine.get_worker(w.sid).activity_sid == act(engine, "Break")  # the workspace's timeout activity
    assert t.assignment_status == "pending"
    clock.advance(86_400 - 120 - 0.1)
    assert t.assignment_status == "pending"
    clock.advance(0.1)
    assert t.assignment_status == "canceled" and t.reason == "Task TTL Exceeded"
