"""custsim on a virtual clock: absolute arrival times, abandonment, stop; the gateway with `responses`."""

from __future__ import annotations

import random
from urllib.parse import parse_qs

import pytest
import responses

from flexsim.arrivals import Arrival, faker_locale
from flexsim.customers import CustomerSim, TaskRouterGateway
from flexsim.errors import NotDeployed, TwilioRequestFailed
from flexsim.options import TwilioSettings
from flexsim.taskrouter import TaskRouter

ACCOUNT = "AC" + "a" * 32
WORKSPACE = "WS" + "b" * 32
BASE = "http://tr.test"
WS_URL = f"{BASE}/v1/Workspaces/{WORKSPACE}"
TASK = "WT" + "c" * 32


class ScriptedSource:
    """Gaps and patience from fixed lists."""

    def __init__(self, gaps, patience=1000.0):
        self.gaps = list(gaps)
        self.patience = patience

    def gap(self):
        return self.gaps.pop(0) if self.gaps else 1e9

    def arrival(self, seq, due):
        return Arrival(seq, due, "voice", {"flexsim": True, "n": seq}, self.patience)


class FakeGateway:
    """Records (clock time, call) and answers as scripted."""

    def __init__(self, clock, cancel_result=True, fail_creates=()):
        self.clock = clock
        self.calls = []
        self.cancel_result = cancel_result
        self.fail_creates = set(fail_creates)

    def create(self, arrival):
        self.calls.append((self.clock.now(), "create", arrival.seq))
        if arrival.seq in self.fail_creates:
            raise TwilioRequestFailed("create", "task", 500, None, "boom")
        return f"WT{arrival.seq}"

    def cancel(self, sid):
        self.calls.append((self.clock.now(), "cancel", sid))
        return self.cancel_result


class LatentExecutor:
    """Runs submitted work ``latency`` virtual seconds later, as a slow API would."""

    def __init__(self, clock, latency):
        self.clock, self.latency = clock, latency

    def submit(self, fn, *args):
        self.clock.call_later(self.latency, fn, *args)


def test_arrivals_fall_on_absolute_times_whatever_the_latency(clock):
    t0 = clock.now()
    gaps = [1.0, 0.5, 2.0, 0.1, 0.1, 3.0]
    gateway = FakeGateway(clock)
    sim = CustomerSim(gateway, ScriptedSource(gaps), clock, executor=LatentExecutor(clock, 0.3))
    sim.start()
    clock.run(until=t0 + 7.0)
    dues = [r.arrival.due for r in sim.records]
    expected = [t0 + sum(gaps[:k + 1]) for k in range(len(gaps))]
    assert dues == pytest.approx(expected)
    creates = [t for t, kind, _ in gateway.calls if kind == "create"]
    assert creates == pytest.approx([d + 0.3 for d in expected])
    assert sim.summary.created == 6


def test_abandon_is_one_cancel_at_patience_after_confirmed_creation(clock):
    t0 = clock.now()
    gateway = FakeGateway(clock)
    sim = CustomerSim(gateway, ScriptedSource([2.0], patience=30.0), clock, executor=LatentExecutor(clock, 0.5))
    seen = []
    sim.on_abandoned.add_listener(lambda record: seen.append(record.sid))
    sim.start()
    clock.run(until=t0 + 100)
    assert gateway.calls == [(t0 + 2.5, "create", 1), (t0 + 2.5 + 30.0 + 0.5, "cancel", "WT1")]
    assert (sim.summary.created, sim.summary.abandoned, sim.summary.failed) == (1, 1, 0)
    assert seen == ["WT1"] and sim.records[0].outcome == "abandoned"


def test_answered_task_is_not_counted_as_abandoned(clock):
    gateway = FakeGateway(clock, cancel_result=False)
    sim = CustomerSim(gateway, ScriptedSource([1.0], patience=5.0), clock)
    sim.start()
    clock.run(until=clock.now() + 60)
    assert [kind for _, kind, _ in gateway.calls] == ["create", "cancel"]
    assert (sim.summary.abandoned, sim.summary.answered) == (0, 1)


def test_an_answer_learned_just_before_the_cancel_saves_the_call(clock):
    gateway = FakeGateway(clock)
    sim = CustomerSim(gateway, ScriptedSource([1.0, 1.0], patience=5.0), clock)
    sim.before_cancel = lambda: sim.answered("WT1")  # e.g. agentsim's /answered feed names WT1
    sim.start()
    clock.run(until=clock.now() + 60)
    assert [(kind, arg) for _, kind, arg in gateway.calls] == [("create", 1), ("create", 2), ("cancel", "WT2")]
    assert (sim.summary.answered, sim.summary.abandoned) == (1, 1)


def test_failed_create_is_counted_and_arrivals_go_on(clock):
    gateway = FakeGateway(clock, fail_creates={2})
    sim = CustomerSim(gateway, ScriptedSource([1.0, 1.0, 1.0]), clock)
    sim.start()
    clock.run(until=clock.now() + 10)
    assert (sim.summary.created, sim.summary.failed) == (2, 1)
    assert [r.outcome for r in sim.records] == ["created", "failed", "created"]


def test_stop_ends_arrivals_and_pending_abandonments(clock):
    t0 = clock.now()
    gateway = FakeGateway(clock)
    sim = CustomerSim(gateway, ScriptedSource([1.0] * 100, patience=10.0), clock)
    sim.start()
    clock.run(until=t0 + 5.5)
    sim.stop()
    clock.run(until=t0 + 100)
    assert [kind for _, kind, _ in gateway.calls] == ["create"] * 5
    assert clock.pending() == 0 and sim.wait_idle(0.1)


def test_faker_locale_spelling():
    assert faker_locale("es-es") == "es_ES" and faker_locale("en_US") == "en_US" and faker_locale("fr") == "fr"


# --------------------------------------------------------------- the gateway over the access layer

def make_tr() -> TaskRouter:
    settings = TwilioSettings(account_sid=ACCOUNT, auth_token="t", workspace_sid=WORKSPACE,
                              taskrouter_url=BASE, concurrency=2)
    return TaskRouter(settings, rng=random.Random(1), sleep=lambda s: None)


def task_json(status="canceled"):
    return {"sid": TASK, "account_sid": ACCOUNT, "workspace_sid": WORKSPACE, "assignment_status": status,
            "attributes": "{}", "url": f"{WS_URL}/Tasks/{TASK}", "links": {}}


@responses.activate
def test_cancel_is_a_single_update_and_a_400_means_answered():
    gateway = TaskRouterGateway(make_tr(), "WW" + "d" * 32)
    responses.post(f"{WS_URL}/Tasks/{TASK}", json=task_json(), status=200)
    assert gateway.cancel(TASK) is True
    form = parse_qs(responses.calls[0].request.body)
    assert form == {"AssignmentStatus": ["canceled"], "Reason": ["abandoned"]}
    responses.replace(responses.POST, f"{WS_URL}/Tasks/{TASK}", status=400, json={
        "code": 20001, "status": 400, "more_info": "",
        "message": f"Cannot cancel task {TASK} because it is not pending or reserved."})
    assert gateway.cancel(TASK) is False
    assert [c.request.method for c in responses.calls] == ["POST", "POST"]   # never a fetch


@responses.activate
def test_cancel_failing_otherwise_raises():
    gateway = TaskRouterGateway(make_tr(), "WW" + "d" * 32)
    responses.post(f"{WS_URL}/Tasks/{TASK}", status=403, json={"code": 20003, "status": 403,
                                                             "message": "Forbidden", "more_info": ""})
    with pytest.raises(TwilioRequestFailed):
        gateway.cancel(TASK)


@responses.activate
def test_create_sends_workflow_channel_and_attributes():
    gateway = TaskRouterGateway(make_tr(), "WW" + "d" * 32)
    responses.post(f"{WS_URL}/Tasks", json=task_json("pending"), status=201)
    sid = gateway.create(Arrival(1, 0.0, "chat", {"flexsim": True, "topic": "Sales"}, 10.0))
    assert sid == TASK
    form = parse_qs(responses.calls[0].request.body)
    assert form == {"WorkflowSid": ["WW" + "d" * 32], "TaskChannel": ["chat"],
                    "Attributes": ['{"flexsim": true, "topic": "Sales"}']}


def _list(key, items):
    return {key: items, "meta": {"key": key, "page": 0, "page_size": 1000, "next_page_url": None,
                                 "previous_page_url": None, "first_page_url": "", "url": ""}}


@responses.activate
def test_resolve_names_what_is_missing_and_says_run_deploy():
    responses.get(f"{WS_URL}/Workflows", json=_list("workflows", []))
    responses.get(f"{WS_URL}/TaskChannels", json=_list("channels", [
        {"sid": "TC1", "unique_name": "voice", "friendly_name": "Voice"}]))
    with pytest.raises(NotDeployed) as info:
        TaskRouterGateway.resolve(make_tr(), "Owl Industries Workflow", ["voice", "chat"])
    message = str(info.value)
    assert "'Owl Industries Workflow' does not exist" in message and "chat" in message
    assert "run flexsim deploy" in message


def test_answered_calls_abandonment_off_without_any_call(clock):
    gateway = FakeGateway(clock)
    sim = CustomerSim(gateway, ScriptedSource([1.0, 1.0], patience=30.0), clock)
    sim.answered("WT2")               # the accept can beat the create's answer
    sim.start()
    clock.run(until=clock.now() + 1.5)
    sim.answered("WT1")
    sim.answered("WT1")               # twice is harmless
    clock.run(until=clock.now() + 100)
    assert [kind for _, kind, _ in gateway.calls] == ["create", "create"]
    assert (sim.summary.created, sim.summary.answered, sim.summary.abandoned) == (2, 2, 0)
    assert [r.outcome for r in sim.records] == ["answered", "answered"]


# --------------------------------------------------------------- the command's options

@pytest.mark.parametrize("given, expected", [([], 3600.0), (["--timeLim", "90"], 90.0),
                                             (["--time-limit", "10m"], 600.0)])
def test_time_limit_spellings_and_default(given, expected, cfg_dir, cli_runner, monkeypatch):
    from flexsim import customers
    from flexsim.cli import cli

    seen = {}

    def fake_run(config, tr, **kwargs):
        seen.update(kwargs)
        return CustomerSim(FakeGateway(None), ScriptedSource([]), None)

    monkeypatch.setattr(customers, "run_custsim", fake_run)
    result = cli_runner.invoke(cli, ["custsim", "--cfgdir", str(cfg_dir), "--acct", ACCOUNT, "--auth", "t",
                                     "--wrkspc", WORKSPACE, "--taskrouter-url", BASE, "--speed", "25",
                                     "--seed", "3", "--locale", "es-es", *given], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen["time_limit"] == expected and seen["speed"] == 25.0 and seen["locale"] == "es-es"
    assert result.output.splitlines()[-1] == "custsim: 0 tasks created, 0 abandoned, 0 failed"
