"""cleansim's per-task handling with Twilio mocked by `responses`: races and already-purged tasks."""

from __future__ import annotations

import random
from urllib.parse import parse_qs

import pytest
import responses

from flexsim.cleanup import _end_task
from flexsim.errors import TwilioRequestFailed
from flexsim.options import TwilioSettings
from flexsim.plan import DELETE, Change
from flexsim.taskrouter import TaskRouter

ACCOUNT = "AC" + "a" * 32
WORKSPACE = "WS" + "b" * 32
TASK = "WT" + "c" * 32
BASE = "http://tr.test"
TASK_URL = f"{BASE}/v1/Workspaces/{WORKSPACE}/Tasks/{TASK}"


def make_tr() -> TaskRouter:
    settings = TwilioSettings(account_sid=ACCOUNT, auth_token="t", workspace_sid=WORKSPACE, taskrouter_url=BASE)
    return TaskRouter(settings, rng=random.Random(1), sleep=lambda s: None)


def task_json(status: str) -> dict:
    return {"sid": TASK, "account_sid": ACCOUNT, "workspace_sid": WORKSPACE, "assignment_status": status,
            "attributes": '{"flexsim": true}', "url": TASK_URL, "links": {}}


def error_json(status: int, message: str) -> dict:
    return {"code": 20001, "message": message, "more_info": "", "status": status}


def change(status: str) -> Change:
    finish = "canceled" if status in ("pending", "reserved") else "completed"
    return Change("task", TASK, DELETE, TASK, {"assignment_status": (status, finish)})


@responses.activate
def test_a_task_accepted_meanwhile_is_completed_instead_of_canceled():
    responses.post(TASK_URL, json=error_json(400, "Task is assigned; cannot cancel"), status=400)
    responses.get(TASK_URL, json=task_json("assigned"))
    responses.post(TASK_URL, json=task_json("completed"))
    responses.delete(TASK_URL, status=204)
    _end_task(make_tr(), change("reserved"))
    updates = [parse_qs(c.request.body)["AssignmentStatus"] for c in responses.calls if c.request.method == "POST"]
    assert updates == [["canceled"], ["completed"]]
    assert responses.calls[-1].request.method == "DELETE"


@responses.activate
def test_a_task_that_ended_meanwhile_is_just_deleted_and_a_purged_one_is_fine():
    responses.post(TASK_URL, json=error_json(400, "Task is completed"), status=400)
    responses.get(TASK_URL, json=task_json("completed"))
    responses.delete(TASK_URL, json=error_json(404, "not found"), status=404)
    _end_task(make_tr(), change("assigned"))
    assert [c.request.method for c in responses.calls] == ["POST", "GET", "DELETE"]


@responses.activate
def test_other_errors_stop_cleansim():
    responses.post(TASK_URL, json=error_json(403, "Forbidden"), status=403)
    with pytest.raises(TwilioRequestFailed) as info:
        _end_task(make_tr(), change("pending"))
    assert info.value.status == 403 and f"update task ({TASK})" in str(info.value)
