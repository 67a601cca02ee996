"""Issue points checked one by one over real HTTP: both reservation scopes, every list filter,
ETags and status codes, ReEvaluateTasks, instructions, the callback time limit, the request log."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests
from flask import Response
from twilio.base.exceptions import TwilioRestException

from flexsim.emulator.dispatch import ASSIGNMENT_TIMEOUT
from flexsim.emulator.server import EmulatorServer

from emulator_http import make_client, wait_for

pytestmark = pytest.mark.integration


def activity(ws, name: str) -> str:
    return next(a.sid for a in ws.activities.list(friendly_name=name))


def raw(srv, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{srv.url}/v1/Workspaces/{srv.workspace_sid}{path}",
                            auth=(srv.account_sid, srv.auth_token), timeout=10, **kwargs)


def reserved(ws, name: str = "uma"):
    """A worker holding a pending reservation for a new task: (worker, task, reservation SID)."""
    worker = ws.workers.create(friendly_name=name, activity_sid=activity(ws, "Available"))
    task = ws.tasks.create(attributes=json.dumps({"type": "ticket"}))
    [res] = ws.tasks(task.sid).reservations.list(reservation_status="pending")
    return worker, task, res.sid


def test_accept_by_worker_path_then_wrap_and_complete_by_task_path(ws):
    worker, task, rsid = reserved(ws)
    accepted = ws.workers(worker.sid).reservations(rsid).update(reservation_status="accepted")
    assert (accepted.reservation_status, accepted.worker_sid) == ("accepted", worker.sid)
    assert ws.tasks(task.sid).fetch().assignment_status == "assigned"
    wrapping = ws.tasks(task.sid).reservations(rsid).update(reservation_status="wrapping")
    assert wrapping.reservation_status == "wrapping"
    assert ws.tasks(task.sid).fetch().assignment_status == "wrapping"
    done = ws.tasks(task.sid).reservations(rsid).update(reservation_status="completed")
    assert done.reservation_status == "completed"
    assert ws.tasks(task.sid).fetch().assignment_status == "completed"
    assert ws.workers(worker.sid).worker_channels("default").fetch().assigned_tasks == 0


def test_reject_with_worker_activity_by_worker_path(ws):
    worker, task, rsid = reserved(ws, "vic")
    rejected = ws.workers(worker.sid).reservations(rsid).update(
        reservation_status="rejected", worker_activity_sid=activity(ws, "Break"))
    assert rejected.reservation_status == "rejected"
    assert ws.workers(worker.sid).fetch().activity_name == "Break"
    assert ws.tasks(task.sid).fetch().assignment_status == "pending"
    # A reservation is reachable only under its own task and worker.
    other = ws.workers.create(friendly_name="wes")
    with pytest.raises(TwilioRestException) as caught:
        ws.workers(other.sid).reservations(rsid).fetch()
    assert caught.value.status == 404


def test_completed_only_after_accept_and_wrapping_only_from_accepted(ws):
    worker, task, rsid = reserved(ws, "xan")
    for status in ("wrapping", "completed"):
        with pytest.raises(TwilioRestException) as caught:
            ws.workers(worker.sid).reservations(rsid).update(reservation_status=status)
        assert (caught.value.status, caught.value.code) == (400, 20001)
    assert ws.tasks(task.sid).reservations(rsid).fetch().reservation_status == "pending"


def test_uncarried_instruction_is_accepted_and_logged(ws, caplog):
    caplog.set_level(logging.INFO, logger="flexsim.emulator")
    worker, task, rsid = reserved(ws, "yul")
    res = ws.tasks(task.sid).reservations(rsid).update(instruction="dequeue", dequeue_from="+15550100",
                                                       dequeue_post_work_activity_sid=activity(ws, "Break"))
    assert res.reservation_status == "accepted"
    assert ws.tasks(task.sid).fetch().assignment_status == "assigned"
    assert any(rsid in r.getMessage() and "dequeue" in r.getMessage() for r in caplog.records)
    accepted = ws.events.list(reservation_sid=rsid, event_type="reservation.accepted")
    assert len(accepted) == 1 and "dequeue" in accepted[0].description


def test_tasks_list_by_queue_and_ordering(ws):
    sales = ws.task_queues.create(friendly_name="Sales", target_workers="1==1")
    config = json.dumps({"task_routing": {"filters": [
        {"expression": "type == 'sale'", "targets": [{"queue": sales.sid}]}],
        "default_filter": {"queue": ws.task_queues.list(friendly_name="Everyone")[0].sid}}})
    flow = ws.workflows.create(friendly_name="split", configuration=config)
    sale = ws.tasks.create(attributes=json.dumps({"type": "sale"}), workflow_sid=flow.sid, priority=1)
    other = ws.tasks.create(attributes=json.dumps({"type": "other"}), workflow_sid=flow.sid, priority=9)
    assert [t.sid for t in ws.tasks.list(task_queue_sid=sales.sid)] == [sale.sid]
    assert [t.sid for t in ws.tasks.list(task_queue_name="Sales")] == [sale.sid]
    assert [t.sid for t in ws.tasks.list(workflow_name="split")] == [sale.sid, other.sid]
    assert [t.sid for t in ws.tasks.list(ordering="Priority:desc")] == [other.sid, sale.sid]
    assert [t.sid for t in ws.tasks.list(ordering="Priority:asc")] == [sale.sid, other.sid]


def test_re_evaluate_tasks_reroutes_waiting_tasks(ws):
    everyone = ws.task_queues.list(friendly_name="Everyone")[0].sid
    overflow = ws.task_queues.create(friendly_name="Overflow", target_workers="1==1").sid
    flow = ws.workflows.create(friendly_name="moving", configuration=json.dumps(
        {"task_routing": {"default_filter": {"queue": everyone}}}))
    first = ws.tasks.create(attributes="{}", workflow_sid=flow.sid)
    second = ws.tasks.create(attributes="{}", workflow_sid=flow.sid)
    to_overflow = json.dumps({"task_routing": {"default_filter": {"queue": overflow}}})
    ws.workflows(flow.sid).update(configuration=to_overflow)
    assert ws.tasks(first.sid).fetch().task_queue_sid == everyone  # no ReEvaluateTasks: tasks stay
    ws.workflows(flow.sid).update(configuration=to_overflow, re_evaluate_tasks="true")
    assert {ws.tasks(t.sid).fetch().task_queue_sid for t in (first, second)} == {overflow}
    moved = ws.events.list(task_sid=first.sid, event_type="task-queue.moved")
    assert len(moved) == 1


def test_events_list_filters(ws):
    worker, task, rsid = reserved(ws, "zed")
    queue = ws.task_queues.list(friendly_name="Everyone")[0].sid
    flow = ws.workflows.list()[0].sid
    ws.tasks(task.sid).reservations(rsid).update(reservation_status="accepted")
    by_reservation = ws.events.list(reservation_sid=rsid)
    assert {e.event_type for e in by_reservation} == {"reservation.created", "reservation.accepted"}
    assert "worker.created" in {e.event_type for e in ws.events.list(worker_sid=worker.sid)}
    assert {e.event_data.get("task_sid") for e in ws.events.list(worker_sid=worker.sid,
                                                                   event_type="reservation.created")} == {task.sid}
    assert "task-queue.entered" in {e.event_type for e in ws.events.list(task_queue_sid=queue)}
    assert "task.created" in {e.event_type for e in ws.events.list(workflow_sid=flow)}
    assert "task.created" in {e.event_type for e in ws.events.list(task_channel="default")}
    assert ws.events.list(task_channel="video") == []
    now = datetime.now(timezone.utc)
    assert ws.events.list(task_sid=task.sid, start_date=now + timedelta(hours=1)) == []
    assert ws.events.list(task_sid=task.sid, end_date=now - timedelta(hours=1)) == []
    recent = ws.events.list(task_sid=task.sid, minutes=5)
    assert recent and [e.sid for e in recent] == [e.sid for e in ws.events.list(task_sid=task.sid)]
    one = recent[0]
    assert [e.sid for e in ws.events.list(sid=one.sid)] == [one.sid]


def test_etags_where_the_spec_has_them_and_create_delete_statuses(srv, ws):
    worker, task, rsid = reserved(ws, "amy")
    tagged = [
        raw(srv, "GET", "/Workers"), raw(srv, "GET", f"/Workers/{worker.sid}"),
        raw(srv, "POST", f"/Workers/{worker.sid}", data={"Attributes": '{"x": 1}'}),
        raw(srv, "GET", "/Tasks"), raw(srv, "GET", f"/Tasks/{task.sid}"),
        raw(srv, "POST", f"/Tasks/{task.sid}", data={"Attributes": '{"y": 2}'}),
        raw(srv, "GET", f"/Tasks/{task.sid}/Reservations"), raw(srv, "GET", f"/Tasks/{task.sid}/Reservations/{rsid}"),
        raw(srv, "GET", f"/Workers/{worker.sid}/Reservations"),
    ]
    assert [r.status_code for r in tagged] == [200] * len(tagged)
    assert all(r.headers.get("ETag") for r in tagged), [r.url for r in tagged if not r.headers.get("ETag")]
    fetched, updated = tagged[1], tagged[2]
    assert fetched.headers["ETag"] != updated.headers["ETag"]  # every change bumps the version
    assert raw(srv, "POST", f"/Workers/{worker.sid}", data={"FriendlyName": "x"},
               headers={"If-Match": fetched.headers["ETag"]}).status_code == 412
    assert raw(srv, "POST", f"/Workers/{worker.sid}", data={"FriendlyName": "x"},
               headers={"If-Match": updated.headers["ETag"]}).status_code == 200

    created = {path: raw(srv, "POST", path, data=data) for path, data in (
        ("/Activities", {"FriendlyName": "Lunch", "Available": "false"}),
        ("/TaskChannels", {"FriendlyName": "Email", "UniqueName": "email"}),
        ("/Workers", {"FriendlyName": "ben"}),
        ("/TaskQueues", {"FriendlyName": "Spare", "TargetWorkers": "1==1"}),
        ("/Tasks", {"Attributes": "{}"}))}
    assert {path: r.status_code for path, r in created.items()} == dict.fromkeys(created, 201)
    assert created["/Workers"].headers.get("ETag") and created["/Tasks"].headers.get("ETag")
    for path, response in created.items():
        deleted = raw(srv, "DELETE", f"{path}/{response.json()['sid']}")
        assert (deleted.status_code, deleted.content) == (204, b""), path


def test_page_size_up_to_1000(srv, ws):
    for i in range(3):
        ws.workers.create(friendly_name=f"p{i}")
    body = raw(srv, "GET", "/Workers", params={"PageSize": "1000"}).json()
    assert body["meta"]["page_size"] == 1000 and body["meta"]["key"] == "workers"
    assert len(body["workers"]) == 3 and body["meta"]["next_page_url"] is None
    two = raw(srv, "GET", "/Workers", params={"PageSize": "2"}).json()["meta"]
    assert two["next_page_url"].startswith(f"{srv.url}/v1/Workspaces/{srv.workspace_sid}/Workers?")
    assert "PageToken=PT2" in two["next_page_url"]


def test_malformed_task_attributes_change_nothing(srv, ws):
    for bad in ("{not json", "[1, 2]", "42"):
        response = raw(srv, "POST", "/Tasks", data={"Attributes": bad})
        assert response.status_code == 400, bad
    task = ws.tasks.create(attributes='{"a": 1}')
    assert raw(srv, "POST", f"/Tasks/{task.sid}", data={"Attributes": "{oops"}).status_code == 400
    assert ws.tasks(task.sid).fetch().attributes == '{"a": 1}'
    assert [t.sid for t in ws.tasks.list()] == [task.sid]


def test_assignment_callback_time_limit_then_fallback(srv, ws, callback_server):
    assert ASSIGNMENT_TIMEOUT == 5.0
    srv._dispatcher.assignment_timeout = 0.3  # the 5 s limit, shortened so the test is quick
    release = threading.Event()

    def answer(path: str) -> Response:
        if path == "/slow":
            release.wait(10)
        return Response(json.dumps({"instruction": "accept"}), mimetype="application/json")

    callback_server.answer = answer
    flow = ws.workflows.list()[0].sid
    ws.workflows(flow).update(assignment_callback_url=f"{callback_server.url}/slow",
                              fallback_assignment_callback_url=f"{callback_server.url}/fallback")
    ws.workers.create(friendly_name="cal", activity_sid=activity(ws, "Available"))
    try:
        task = ws.tasks.create(attributes="{}")
        wait_for(lambda: callback_server.posts("/fallback"), what="the fallback callback")
        wait_for(lambda: ws.tasks(task.sid).fetch().assignment_status == "assigned", what="accept via fallback")
        assert len(callback_server.posts("/slow")) == 1
    finally:
        release.set()


def test_request_log_is_bounded_but_counts_everything():
    with EmulatorServer(port=0, request_log_size=5) as srv:
        ws = make_client(srv).taskrouter.v1.workspaces(srv.workspace_sid)
        for _ in range(8):
            ws.fetch()
        before = len(srv.requests)
        ws.workers.create(friendly_name="dee")
        assert len(srv.requests) == before + 1 == 9
        assert srv.requests[before:] == [("POST", f"/v1/Workspaces/{srv.workspace_sid}/Workers")]
        assert len(list(srv.requests)) == 5 and srv.requests.dropped == 4
        assert srv.requests[0:3] == []  # too old: no longer kept


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("GET", "/Tasks", {"params": {"EvaluateTaskAttributes": "type =="}}, 400),
    ("GET", "/TaskQueues", {"params": {"EvaluateWorkerAttributes": "{bad json"}}, 400),
    ("GET", "/Workers", {"params": {"TargetWorkersExpression": "a IN"}}, 400),
    ("POST", "/TaskQueues", {"data": {"FriendlyName": "q", "TargetWorkers": "(a == 1"}}, 400),
    ("POST", "/Workflows", {"data": {"FriendlyName": "w", "Configuration": "not json"}}, 400),
    ("POST", "/Tasks", {"data": {"Attributes": "{}", "WorkflowSid": "WW" + "0" * 32}}, 404),
    ("POST", "/Workers", {"data": {"FriendlyName": "a", "ActivitySid": "WA" + "0" * 32}}, 404),
    ("POST", "/TaskQueues/RealTimeStatistics", {"data": "[1, 2]", "headers": {"Content-Type": "application/json"}},
     400),
    ("POST", "/TaskQueues/RealTimeStatistics", {"json": {"TaskQueueSids": [1, 2]}}, 400),
])
def test_bad_input_is_refused_and_changes_nothing(srv, ws, method, path, kwargs, status):
    before = (len(ws.tasks.list()), len(ws.workers.list()), len(ws.task_queues.list()), len(ws.workflows.list()))
    response = raw(srv, method, path, **kwargs)
    assert response.status_code == status
    assert set(response.json()) == {"code", "message", "more_info", "status"}
    after = (len(ws.tasks.list()), len(ws.workers.list()), len(ws.task_queues.list()), len(ws.workflows.list()))
    assert after == before


def test_cumulative_statistics_count_completions_per_queue(ws):
    worker, task, rsid = reserved(ws, "eve")
    queue = ws.task_queues.list(friendly_name="Everyone")[0].sid
    spare = ws.task_queues.create(friendly_name="Spare", target_workers="1==2").sid
    ws.tasks(task.sid).reservations(rsid).update(reservation_status="accepted")
    ws.tasks(task.sid).update(assignment_status="completed", reason="done")
    canceled = ws.tasks.create(attributes="{}")
    ws.tasks(canceled.sid).update(assignment_status="canceled")
    total = ws.cumulative_statistics().fetch()
    assert (total.tasks_created, total.tasks_completed, total.tasks_canceled) == (2, 1, 1)
    # the second task was offered to the freed worker too, and that offer ended with the cancel
    assert (total.reservations_created, total.reservations_accepted, total.reservations_canceled) == (2, 1, 1)
    assert total.wait_duration_until_accepted["max"] >= 0
    per_queue = ws.task_queues(queue).cumulative_statistics().fetch()
    assert (per_queue.tasks_entered, per_queue.tasks_completed, per_queue.tasks_canceled) == (2, 1, 1)
    assert ws.task_queues(spare).cumulative_statistics().fetch().tasks_entered == 0
    assert ws.task_queues(spare).real_time_statistics().fetch().total_tasks == 0
    assert ws.task_queues(queue).real_time_statistics().fetch().total_tasks == 0


@pytest.mark.parametrize("answer", [Response("OK", status=200, mimetype="text/plain"),
                                    Response("{not json", status=200, mimetype="application/json"),
                                    Response('{"hello": 1}', status=200, mimetype="application/json")])
def test_non_json_or_instructionless_answers_leave_the_reservation_pending(srv, ws, callback_server, answer):
    callback_server.answer = lambda path: answer
    handled = []
    original = srv.engine.handle_assignment_response

    def spy(rsid, instruction):
        original(rsid, instruction)
        handled.append((rsid, instruction))

    srv.engine.handle_assignment_response = spy
    ws.workflows(ws.workflows.list()[0].sid).update(assignment_callback_url=f"{callback_server.url}/assign")
    ws.workers.create(friendly_name="fin", activity_sid=activity(ws, "Available"))
    task = ws.tasks.create(attributes="{}")
    rsid = wait_for(lambda: callback_server.posts("/assign"))[0]["form"]["ReservationSid"]
    assert wait_for(lambda: handled, what="the answer to be handled") == [(rsid, None)]
    assert ws.tasks(task.sid).reservations(rsid).fetch().reservation_status == "pending"
    assert ws.tasks(task.sid).fetch().assignment_status == "reserved"
