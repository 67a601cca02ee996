"""Error paths over HTTP: each answers like Twilio, changes nothing, and the server keeps serving."""

from __future__ import annotations

import json
import time

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from flexsim.emulator.server import EmulatorServer

from emulator_http import make_client

pytestmark = pytest.mark.integration


def raw(srv, method: str, path: str, **kwargs) -> requests.Response:
    """A request below the workspace URL with the right credentials, bypassing the SDK."""
    return requests.request(method, f"{srv.url}/v1/Workspaces/{srv.workspace_sid}{path}",
                            auth=(srv.account_sid, srv.auth_token), timeout=10, **kwargs)


def assert_twilio_error(response: requests.Response, status: int, code: int) -> dict:
    body = response.json()
    assert response.status_code == status
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    assert body == {"code": code, "message": body["message"], "more_info": more_info, "status": status}
    assert body["message"]
    return body


def test_wrong_credentials_answer_401_20003(srv, ws):
    bad = make_client(srv, password="0" * 32).taskrouter.v1.workspaces(srv.workspace_sid)
    with pytest.raises(TwilioRestException) as caught:
        bad.workers.create(friendly_name="intruder")
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert requests.get(f"{srv.url}/v1/Workspaces", timeout=10).status_code == 401
    assert ws.workers.list() == []
    assert ("POST", f"/v1/Workspaces/{srv.workspace_sid}/Workers") not in srv.requests


def test_api_key_credentials_are_accepted():
    with EmulatorServer(port=0, api_key="SK" + "1" * 32, api_secret="s3cret") as srv:
        client = make_client(srv, username="SK" + "1" * 32, password="s3cret")
        assert client.taskrouter.v1.workspaces(srv.workspace_sid).fetch().sid == srv.workspace_sid


def test_unknown_sids_and_paths_answer_404_20404(srv, ws):
    with pytest.raises(TwilioRestException) as caught:
        ws.workers("WK" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    with pytest.raises(TwilioRestException) as caught:
        ws.tasks("WT" + "0" * 32).update(assignment_status="canceled")
    assert caught.value.status == 404
    other = make_client(srv).taskrouter.v1.workspaces("WS" + "0" * 32)
    with pytest.raises(TwilioRestException) as caught:
        other.fetch()
    assert caught.value.code == 20404
    assert_twilio_error(raw(srv, "GET", "/Nonsense"), 404, 20404)
    assert_twilio_error(raw(srv, "DELETE", "/Workers"), 405, 20004)


def test_if_match_mismatch_answers_412_and_changes_nothing(ws):
    worker = ws.workers.create(friendly_name="hal")
    with pytest.raises(TwilioRestException) as caught:
        ws.workers(worker.sid).update(friendly_name="changed", if_match='"999"')
    assert caught.value.status == 412
    assert ws.workers(worker.sid).fetch().friendly_name == "hal"
    task = ws.tasks.create(attributes="{}")
    with pytest.raises(TwilioRestException) as caught:
        ws.tasks(task.sid).update(assignment_status="canceled", if_match='"999"')
    assert caught.value.status == 412
    assert ws.tasks(task.sid).fetch().assignment_status == "pending"


def test_illegal_transition_answers_400_20001(ws):
    task = ws.tasks.create(attributes="{}")
    with pytest.raises(TwilioRestException) as caught:
        ws.tasks(task.sid).update(assignment_status="completed")
    assert (caught.value.status, caught.value.code) == (400, 20001)
    assert "not currently assigned" in caught.value.msg
    assert ws.tasks(task.sid).fetch().assignment_status == "pending"


def test_unavailable_move_with_pending_reservation_needs_reject_flag(ws):
    available = next(a.sid for a in ws.activities.list(friendly_name="Available"))
    offline = next(a.sid for a in ws.activities.list(friendly_name="Offline"))
    worker = ws.workers.create(friendly_name="ivy", activity_sid=available)
    task = ws.tasks.create(attributes="{}")
    with pytest.raises(TwilioRestException) as caught:
        ws.workers(worker.sid).update(activity_sid=offline)
    assert (caught.value.status, caught.value.code) == (400, 20001)
    assert ws.workers(worker.sid).fetch().activity_name == "Available"
    moved = ws.workers(worker.sid).update(activity_sid=offline, reject_pending_reservations=True)
    assert moved.activity_name == "Offline"
    assert ws.tasks(task.sid).fetch().assignment_status == "pending"


def test_invalid_expressions_answer_400(ws):
    with pytest.raises(TwilioRestException) as caught:
        ws.task_queues.create(friendly_name="Broken", target_workers="skills HAS")
    assert caught.value.status == 400
    with pytest.raises(TwilioRestException):
        ws.workflows.create(friendly_name="Broken", configuration=json.dumps(
            {"task_routing": {"filters": [{"expression": "a ==", "targets": [{"queue": "WQ" + "0" * 32}]}]}}))
    with pytest.raises(TwilioException) as caught:
        ws.workers.list(target_workers_expression="skills HAS (")
    assert caught.value.args[1].status_code == 400
    assert [q.friendly_name for q in ws.task_queues.list()] == ["Everyone"]
    assert [f.friendly_name for f in ws.workflows.list()] == ["Assign to Anyone"]


def test_malformed_and_oversize_attributes_answer_400(ws, srv):
    with pytest.raises(TwilioRestException) as caught:
        ws.workers.create(friendly_name="jay", attributes="{not json")
    assert caught.value.status == 400
    with pytest.raises(TwilioRestException) as caught:
        ws.tasks.create(attributes=json.dumps({"blob": "x" * 4100}))
    assert caught.value.status == 400
    worker = ws.workers.create(friendly_name="kim", attributes='{"a": 1}')
    with pytest.raises(TwilioRestException):
        ws.workers(worker.sid).update(attributes=json.dumps({"blob": "x" * 4100}))
    assert ws.workers(worker.sid).fetch().attributes == '{"a": 1}'
    assert [w.friendly_name for w in ws.workers.list()] == ["kim"]
    assert ws.tasks.list() == []


def test_unknown_parameters_and_bad_values_answer_400(srv, ws):
    bogus = {"FriendlyName": "lee", "Bogus": "1"}
    body = assert_twilio_error(raw(srv, "POST", "/Workers", data=bogus), 400, 20001)
    assert "Bogus" in body["message"]
    assert_twilio_error(raw(srv, "GET", "/Workers", params={"Colour": "red"}), 400, 20001)
    maybe = {"FriendlyName": "x", "Available": "maybe"}
    assert_twilio_error(raw(srv, "POST", "/Activities", data=maybe), 400, 20001)
    assert_twilio_error(raw(srv, "POST", "/Tasks", data={"Priority": "high"}), 400, 20001)
    assert_twilio_error(raw(srv, "GET", "/Workers", params={"PageSize": "1001"}), 400, 20001)
    assert_twilio_error(raw(srv, "GET", "/Workers", params={"Page": "2"}), 400, 40153)
    assert ws.workers.list() == []
    assert ws.tasks.list() == []


def test_queue_used_by_a_workflow_cannot_be_deleted(ws):
    everyone = ws.task_queues.list()[0]
    with pytest.raises(TwilioRestException) as caught:
        ws.task_queues(everyone.sid).delete()
    assert caught.value.status == 400
    assert ws.task_queues(everyone.sid).fetch().sid == everyone.sid


def test_unexpected_exception_answers_500_and_server_survives(srv, ws):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    srv.engine.list_activities = boom
    assert_twilio_error(raw(srv, "GET", "/Activities"), 500, 20500)
    assert ws.fetch().sid == srv.workspace_sid


def test_injected_429_has_retry_after_and_executes_nothing():
    with EmulatorServer(port=0, error_rate=1.0, seed=3) as srv:
        response = raw(srv, "POST", "/Workers", data={"FriendlyName": "mo"})
        assert_twilio_error(response, 429, 20429)
        assert response.headers["Retry-After"] == "1"
        with pytest.raises(TwilioRestException) as caught:
            make_client(srv).taskrouter.v1.workspaces(srv.workspace_sid).workers.create(friendly_name="mo")
        assert (caught.value.status, caught.value.code) == (429, 20429)
        assert srv.engine.list_workers() == []


def test_injected_500_and_determinism_with_seed():
    def statuses(seed: int) -> list[int]:
        with EmulatorServer(port=0, error_rate=0.3, server_error_rate=0.3, seed=seed) as srv:
            return [raw(srv, "GET", "").status_code for _ in range(30)]

    first = statuses(11)
    assert set(first) == {200, 429, 500}
    assert statuses(11) == first


def test_latency_delays_responses():
    with EmulatorServer(port=0, latency_ms=150) as srv:
        start = time.monotonic()
        assert raw(srv, "GET", "").status_code == 200
        assert time.monotonic() - start >= 0.15


def test_filtered_lists_are_rate_limited():
    with EmulatorServer(port=0, filtered_list_rps=3) as srv:
        answers = [raw(srv, "GET", "/Workers", params={"TargetWorkersExpression": "1==1"}) for _ in range(4)]
        assert [r.status_code for r in answers[:3]] == [200, 200, 200]
        assert_twilio_error(answers[3], 429, 20429)
        assert answers[3].headers["Retry-After"] == "1"
        assert answers[0].headers["X-Rate-Limit-Limit"] == "3"
        assert raw(srv, "GET", "/Workers").status_code == 200  # unfiltered lists are not limited
        assert raw(srv, "GET", "/Tasks", params={"EvaluateTaskAttributes": "1==1"}).status_code == 200
