"""Assignment and event callbacks: signed POSTs to a real callback server, and their effects."""

from __future__ import annotations

import json
import threading

import pytest
from flask import Response
from twilio.request_validator import RequestValidator

from flexsim.emulator.server import EmulatorServer

from emulator_http import make_client, wait_for

pytestmark = pytest.mark.integration

ASSIGNMENT_PARAMS = {"Timestamp", "AccountSid", "WorkspaceSid", "WorkflowSid", "TaskQueueSid", "WorkerSid",
                     "WorkerAttributes", "TaskSid", "TaskAttributes", "TaskAge", "TaskPriority", "ReservationSid"}


def activity(ws, name: str) -> str:
    return next(a.sid for a in ws.activities.list(friendly_name=name))


def route_to(ws, url: str, fallback: str | None = None) -> str:
    flow = ws.workflows.list()[0]
    ws.workflows(flow.sid).update(assignment_callback_url=url, fallback_assignment_callback_url=fallback)
    return flow.sid


def json_answer(body: dict) -> Response:
    return Response(json.dumps(body), mimetype="application/json")


def test_signed_assignment_callback_accepts(srv, ws, callback_server):
    url = f"{callback_server.url}/assign?source=test"
    flow_sid = route_to(ws, url)
    worker = ws.workers.create(friendly_name="nia", activity_sid=activity(ws, "Available"),
                               attributes=json.dumps({"skills": ["sales"]}))
    task = ws.tasks.create(attributes=json.dumps({"type": "ticket"}), priority=3)

    post = wait_for(lambda: callback_server.posts("/assign"), what="the assignment callback")[0]
    assert post["url"] == url
    assert RequestValidator(srv.auth_token).validate(post["url"], post["form"], post["signature"])
    assert not RequestValidator("f" * 32).validate(post["url"], post["form"], post["signature"])
    form = post["form"]
    assert set(form) >= ASSIGNMENT_PARAMS
    assert (form["TaskSid"], form["WorkerSid"], form["WorkflowSid"]) == (task.sid, worker.sid, flow_sid)
    assert (form["AccountSid"], form["WorkspaceSid"]) == (srv.account_sid, srv.workspace_sid)
    assert form["TaskPriority"] == "3"
    assert json.loads(form["TaskAttributes"]) == {"type": "ticket"}
    assert json.loads(form["WorkerAttributes"]) == {"skills": ["sales"]}
    assert form["Timestamp"].isdigit()

    wait_for(lambda: ws.tasks(task.sid).fetch().assignment_status == "assigned", what="the task to be assigned")
    reservation = ws.tasks(task.sid).reservations(form["ReservationSid"]).fetch()
    assert reservation.reservation_status == "accepted"


def test_empty_answer_leaves_reservation_pending_for_rest(ws, callback_server):
    callback_server.answer = lambda path: Response("", status=200)
    route_to(ws, f"{callback_server.url}/assign")
    ws.workers.create(friendly_name="oli", activity_sid=activity(ws, "Available"))
    task = ws.tasks.create(attributes="{}")
    rsid = wait_for(lambda: callback_server.posts("/assign"))[0]["form"]["ReservationSid"]
    assert ws.tasks(task.sid).reservations(rsid).fetch().reservation_status == "pending"
    ws.tasks(task.sid).reservations(rsid).update(reservation_status="accepted")
    assert ws.tasks(task.sid).fetch().assignment_status == "assigned"


def test_reject_instruction_moves_worker(ws, callback_server):
    on_break = activity(ws, "Break")
    callback_server.answer = lambda path: json_answer({"instruction": "reject", "activity_sid": on_break})
    route_to(ws, f"{callback_server.url}/assign")
    worker = ws.workers.create(friendly_name="pat", activity_sid=activity(ws, "Available"))
    task = ws.tasks.create(attributes="{}")
    rsid = wait_for(lambda: callback_server.posts("/assign"))[0]["form"]["ReservationSid"]
    wait_for(lambda: ws.tasks(task.sid).reservations(rsid).fetch().reservation_status == "rejected")
    assert ws.workers(worker.sid).fetch().activity_name == "Break"
    assert ws.tasks(task.sid).fetch().assignment_status == "pending"


def test_failing_primary_falls_back(ws, callback_server):
    callback_server.answer = lambda path: (Response("down", status=503) if path == "/primary"
                                           else json_answer({"instruction": "accept"}))
    route_to(ws, f"{callback_server.url}/primary", fallback=f"{callback_server.url}/fallback")
    ws.workers.create(friendly_name="quin", activity_sid=activity(ws, "Available"))
    task = ws.tasks.create(attributes="{}")
    wait_for(lambda: ws.tasks(task.sid).fetch().assignment_status == "assigned", what="assignment via fallback")
    primary, fallback = callback_server.posts("/primary"), callback_server.posts("/fallback")
    assert len(primary) == 1 and len(fallback) == 1
    assert primary[0]["form"] == fallback[0]["form"]


def test_slow_callback_does_not_stall_the_emulator(ws, callback_server):
    release = threading.Event()

    def slow(path: str) -> Response:
        release.wait(10)
        return Response("", status=200)

    callback_server.answer = slow
    route_to(ws, f"{callback_server.url}/assign")
    ws.workers.create(friendly_name="ray", activity_sid=activity(ws, "Available"))
    try:
        ws.tasks.create(attributes="{}")
        wait_for(lambda: callback_server.posts("/assign"))
        # The callback is still hanging; REST and routing go on.
        second = ws.tasks.create(attributes="{}")
        assert ws.tasks(second.sid).fetch().assignment_status == "pending"
        assert len(ws.workers.list()) == 1
    finally:
        release.set()


def test_event_callbacks_are_filtered_and_signed(srv, ws, callback_server):
    callback_server.answer = lambda path: Response("", status=204, mimetype="application/json")
    ws.update(event_callback_url=f"{callback_server.url}/events", events_filter="task.created, task.canceled")
    task = ws.tasks.create(attributes=json.dumps({"type": "ticket"}))
    ws.tasks(task.sid).update(assignment_status="canceled", reason="test")
    posts = wait_for(lambda: (lambda p: p if len(p) >= 2 else None)(callback_server.posts("/events")))
    assert [p["form"]["EventType"] for p in posts] == ["task.created", "task.canceled"]
    validator = RequestValidator(srv.auth_token)
    assert all(validator.validate(p["url"], p["form"], p["signature"]) for p in posts)
    form = posts[1]["form"]
    assert (form["TaskSid"], form["AccountSid"]) == (task.sid, srv.account_sid)
    assert form["WorkspaceSid"] == srv.workspace_sid
    assert form["ResourceSid"] == task.sid and form["Timestamp"].isdigit()
    assert form["TaskCanceledReason"] == "test"


def test_events_file_gets_json_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    with EmulatorServer(port=0, events_file=str(path)) as srv:
        ws = make_client(srv).taskrouter.v1.workspaces(srv.workspace_sid)
        task = ws.tasks.create(attributes="{}")

        def created_lines():
            lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
            return [e for e in lines if e["event_type"] == "task.created"]

        event = wait_for(created_lines, what="task.created in the events file")[0]
    assert event["resource_sid"] == task.sid
    assert event["url"].startswith(f"{srv.url}/v1/Workspaces/{srv.workspace_sid}/Events/EV")
