"""The access layer: request shapes, retries and error translation, with Twilio mocked by `responses`."""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from urllib.parse import parse_qs

import pytest
import requests
import responses

from flexsim.errors import TwilioRequestFailed
from flexsim.options import TwilioSettings
from flexsim.taskrouter import CredentialsMissing, RetryPolicy, TaskRouter, describe, parse_attributes

ACCOUNT = "AC" + "a" * 32
WORKSPACE = "WS" + "b" * 32
BASE = "http://tr.test"
WS_URL = f"{BASE}/v1/Workspaces/{WORKSPACE}"
WORKER = "WK" + "c" * 32


class FakeTime:
    """An injected sleep and monotonic clock: sleeping advances time instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_tr(fake_time: FakeTime, **overrides) -> TaskRouter:
    fields = dict(account_sid=ACCOUNT, auth_token="secret-token", workspace_sid=WORKSPACE,
                  taskrouter_url=BASE, concurrency=4)
    fields.update(overrides)
    return TaskRouter(TwilioSettings(**fields), rng=random.Random(7), sleep=fake_time.sleep,
                      monotonic=fake_time.monotonic)


def worker_json(name: str = "Agent_000", attributes: str | None = '{"flexsim": true}') -> dict:
    return {"sid": WORKER, "account_sid": ACCOUNT, "workspace_sid": WORKSPACE, "friendly_name": name,
            "attributes": attributes, "activity_sid": "WA" + "0" * 32, "activity_name": "Offline",
            "available": False, "url": f"{WS_URL}/Workers/{WORKER}", "links": {}}


def page_json(key: str, records: list, next_url: str | None = None) -> dict:
    return {"meta": {"key": key, "next_page_url": next_url, "page": 0, "page_size": 1000,
                     "url": f"{WS_URL}/{key}", "first_page_url": f"{WS_URL}/{key}",
                     "previous_page_url": None}, key: records}


def error_json(status: int, code: int, message: str) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def update_worker(tr: TaskRouter, attrs: dict):
    return tr.call("update", describe("worker", "Agent_000", WORKER),
                   lambda: tr.workspace.workers(WORKER).update(attributes=json.dumps(attrs)))


@responses.activate
def test_update_sends_form_encoded_json_attributes_with_basic_auth(fake_time):
    responses.post(f"{WS_URL}/Workers/{WORKER}", json=worker_json(), status=200)
    tr = make_tr(fake_time)
    worker = update_worker(tr, {"flexsim": True, "skills": ["a"]})
    assert worker.friendly_name == "Agent_000"
    request = responses.calls[0].request
    assert parse_qs(request.body) == {"Attributes": ['{"flexsim": true, "skills": ["a"]}']}
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(
        f"{ACCOUNT}:secret-token".encode()).decode()
    assert tr.requests_made == 1 and tr.writes_made == 1


@responses.activate
def test_api_key_auth_and_real_twilio_host_by_default(fake_time):
    url = f"https://taskrouter.twilio.com/v1/Workspaces/{WORKSPACE}/Workers/{WORKER}"
    responses.get(url, json=worker_json())
    tr = make_tr(fake_time, auth_token=None, api_key="SK" + "d" * 32, api_secret="shh", taskrouter_url=None)
    tr.fetch_worker(WORKER)
    auth = responses.calls[0].request.headers["Authorization"]
    assert base64.b64decode(auth.split()[1]).decode() == "SK" + "d" * 32 + ":shh"


@responses.activate
def test_region_and_edge_from_the_environment_are_ignored(fake_time, monkeypatch):
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    responses.get(f"{WS_URL}/Workers/{WORKER}", json=worker_json())
    make_tr(fake_time).fetch_worker(WORKER)
    assert responses.calls[0].request.url == f"{WS_URL}/Workers/{WORKER}"


def test_incomplete_settings_list_every_problem():
    with pytest.raises(CredentialsMissing) as info:
        TaskRouter(TwilioSettings(account_sid=None, workspace_sid=None))
    assert "--acct" in str(info.value) and "--wrkspc" in str(info.value) and "--auth" in str(info.value)


@responses.activate
def test_401_is_not_retried_and_names_operation_resource_and_code(fake_time):
    responses.post(f"{WS_URL}/Workers/{WORKER}", json=error_json(401, 20003, "Authenticate"), status=401)
    tr = make_tr(fake_time)
    with pytest.raises(TwilioRequestFailed) as info:
        update_worker(tr, {})
    assert str(info.value) == f"update worker 'Agent_000' ({WORKER}) failed: Twilio error 20003: Authenticate"
    assert info.value.status == 401 and info.value.code == 20003
    assert len(responses.calls) == 1 and fake_time.sleeps == []


@responses.activate
def test_404_reports_twilio_message(fake_time):
    responses.get(f"{WS_URL}/Workers/{WORKER}",
                  json=error_json(404, 20404, "The requested resource was not found"), status=404)
    with pytest.raises(TwilioRequestFailed) as info:
        make_tr(fake_time).fetch_worker(WORKER)
    assert info.value.code == 20404
    assert str(info.value) == (f"fetch worker ({WORKER}) failed: Twilio error 20404: "
                               "The requested resource was not found")


@responses.activate
def test_429_then_success_waits_at_least_retry_after(fake_time):
    url = f"{WS_URL}/Workers/{WORKER}"
    responses.post(url, json=error_json(429, 20429, "Too Many Requests"), status=429,
                   headers={"Retry-After": "3"})
    responses.post(url, json=worker_json(), status=200)
    worker = update_worker(make_tr(fake_time), {})
    assert worker.sid == WORKER
    assert fake_time.sleeps == [3.0]
    assert len(responses.calls) == 2


@responses.activate
def test_backoff_grows_exponentially_with_jitter(fake_time):
    url = f"{WS_URL}/Workers/{WORKER}"
    for _ in range(4):
        responses.post(url, json=error_json(503, 503, "busy"), status=503)
    responses.post(url, json=worker_json())
    update_worker(make_tr(fake_time), {})
    ceilings = [0.5, 1.0, 2.0, 4.0]
    assert len(fake_time.sleeps) == 4
    for slept, ceiling in zip(fake_time.sleeps, ceilings):
        assert ceiling / 2 <= slept <= ceiling


@responses.activate
def test_persistent_500_gives_up_after_bounded_attempts(fake_time):
    responses.post(f"{WS_URL}/Workers/{WORKER}", json=error_json(500, 20500, "Internal Server Error"),
                   status=500)
    tr = make_tr(fake_time)
    with pytest.raises(TwilioRequestFailed) as info:
        update_worker(tr, {})
    assert len(responses.calls) == RetryPolicy().max_attempts
    assert info.value.status == 500 and info.value.code == 20500
    assert "Internal Server Error (gave up after 6 attempts" in str(info.value)


@responses.activate
def test_retry_after_beyond_the_time_budget_fails_at_once(fake_time):
    responses.post(f"{WS_URL}/Workers/{WORKER}", json=error_json(429, 20429, "Too Many Requests"),
                   status=429, headers={"Retry-After": "600"})
    with pytest.raises(TwilioRequestFailed) as info:
        update_worker(make_tr(fake_time), {})
    assert len(responses.calls) == 1 and fake_time.sleeps == []
    assert "gave up after 1 attempts" in str(info.value)


@responses.activate
def test_connection_error_is_retried(fake_time):
    url = f"{WS_URL}/Workers/{WORKER}"
    responses.get(url, body=requests.ConnectionError("refused"))
    responses.get(url, json=worker_json())
    assert make_tr(fake_time).fetch_worker(WORKER).sid == WORKER
    assert len(fake_time.sleeps) == 1


@responses.activate
def test_connection_error_that_persists_names_the_endpoint(fake_time):
    responses.get(f"{WS_URL}/Workers/{WORKER}", body=requests.ConnectionError("refused"))
    with pytest.raises(TwilioRequestFailed) as info:
        make_tr(fake_time).fetch_worker(WORKER)
    assert f"ConnectionError: could not reach {BASE}" in str(info.value)
    assert info.value.status is None


@responses.activate
def test_malformed_json_body_is_a_clear_error_without_retry(fake_time):
    responses.post(f"{WS_URL}/Workers/{WORKER}", body="<html>oops", status=200)
    with pytest.raises(TwilioRequestFailed) as info:
        update_worker(make_tr(fake_time), {})
    assert "the response was not valid JSON: '<html>oops'" in str(info.value)
    assert len(responses.calls) == 1


@responses.activate
def test_list_follows_pages_and_retries_a_page_that_gets_429(fake_time):
    second = f"{WS_URL}/Workers?PageSize=1&PageToken=PA1"
    responses.get(f"{WS_URL}/Workers", json=page_json("workers", [worker_json("A")], second),
                  match=[responses.matchers.query_param_matcher({"PageSize": "1000"})])
    responses.get(second, json=error_json(429, 20429, "Too Many Requests"), status=429,
                  headers={"Retry-After": "2"})
    responses.get(second, json=page_json("workers", [worker_json("B")]))
    workers = make_tr(fake_time).list_workers()
    assert [w.friendly_name for w in workers] == ["A", "B"]
    assert fake_time.sleeps == [2.0]
    assert len(responses.calls) == 3


@responses.activate
def test_list_page_that_keeps_failing_reports_twilio_code(fake_time):
    responses.get(f"{WS_URL}/TaskQueues", json=error_json(403, 20403, "Forbidden"), status=403)
    with pytest.raises(TwilioRequestFailed) as info:
        make_tr(fake_time).list_task_queues()
    assert str(info.value) == "list task queues failed: Twilio error 20403: Forbidden"


@responses.activate
def test_list_fetches_attributes_the_list_left_out(fake_time):
    responses.get(f"{WS_URL}/Workers", json=page_json("workers", [worker_json(attributes=None)]))
    responses.get(f"{WS_URL}/Workers/{WORKER}", json=worker_json(attributes='{"x": 1}'))
    [worker] = make_tr(fake_time).list_workers()
    assert parse_attributes(worker.attributes) == {"x": 1}


@responses.activate
def test_tasks_filter_by_repeated_assignment_status(fake_time):
    responses.get(f"{WS_URL}/Tasks", json=page_json("tasks", []))
    make_tr(fake_time).list_tasks(["pending", "reserved"])
    assert "AssignmentStatus=pending&AssignmentStatus=reserved" in responses.calls[0].request.url


@responses.activate
def test_tracer_sees_every_request(fake_time):
    url = f"{WS_URL}/Workers/{WORKER}"
    responses.get(url, status=503, json=error_json(503, 503, "busy"))
    responses.get(url, json=worker_json())
    seen = []
    tr = TaskRouter(TwilioSettings(account_sid=ACCOUNT, auth_token="t", workspace_sid=WORKSPACE,
                                   taskrouter_url=BASE),
                    rng=random.Random(1), sleep=fake_time.sleep, monotonic=fake_time.monotonic,
                    tracer=lambda method, u, status, elapsed: seen.append((method, u, status)))
    tr.fetch_worker(WORKER)
    assert seen == [("GET", url, 503), ("GET", url, 200)]
    assert tr.requests_made == 2 and tr.writes_made == 0


def test_map_keeps_order_and_bounds_concurrency(fake_time):
    tr = make_tr(fake_time, concurrency=3)
    running, peak, lock = [0], [0], threading.Lock()

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)  # real work stand-in: lets the pool overlap items
        with lock:
            running[0] -= 1
        return n * n

    ticks = []
    assert tr.map(work, range(20), on_done=lambda: ticks.append(1)) == [n * n for n in range(20)]
    assert peak[0] == 3 and len(ticks) == 20


def test_map_reraises_the_first_failure_and_starts_nothing_new(fake_time):
    tr = make_tr(fake_time, concurrency=2)
    started = []

    def work(n: int) -> int:
        started.append(n)
        if n == 1:
            raise TwilioRequestFailed("create", "worker 'x'", 400, 20001, "bad")
        time.sleep(0.01)
        return n

    with pytest.raises(TwilioRequestFailed):
        tr.map(work, range(50))
    assert len(started) < 50


def test_map_sequential_with_concurrency_one(fake_time):
    tr = make_tr(fake_time, concurrency=1)
    threads = set()
    tr.map(lambda n: threads.add(threading.get_ident()), range(5))
    assert threads == {threading.get_ident()}


@responses.activate
def test_requests_in_flight_never_exceed_the_pool_even_when_maps_nest(fake_time):
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow_reply(request):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.01)  # stands in for network latency, so requests overlap
        with lock:
            in_flight[0] -= 1
        return 200, {}, json.dumps(worker_json())

    responses.add_callback(responses.GET, f"{WS_URL}/Workers/{WORKER}", callback=slow_reply)
    tr = make_tr(fake_time, concurrency=3)
    tr.map(lambda _: tr.map(lambda _: tr.fetch_worker(WORKER), range(4)), range(4))
    assert len(responses.calls) == 16
    assert peak[0] == 3


@responses.activate
def test_emulator_url_is_per_client_not_patched_globally(fake_time):
    responses.get(f"{WS_URL}/Workers/{WORKER}", json=worker_json())
    responses.get(f"https://taskrouter.twilio.com/v1/Workspaces/{WORKSPACE}/Workers/{WORKER}", json=worker_json())
    local = make_tr(fake_time)
    real = make_tr(fake_time, taskrouter_url=None)
    local.fetch_worker(WORKER)
    real.fetch_worker(WORKER)
    assert [c.request.url.split("/v1/")[0] for c in responses.calls] == [BASE, "https://taskrouter.twilio.com"]
