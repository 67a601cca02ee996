"""The HTTP layer's helpers on their own: parameters, paging, faults, rate limits, signing."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from flexsim.emulator.dispatch import CallbackDispatcher, wanted
from flexsim.emulator.errors import BadRequest
from flexsim.emulator.faults import Faults, RateLimiter
from flexsim.emulator.paging import page_envelope
from flexsim.emulator.params import Params, parse_date, snake_case
from flexsim.emulator.request_log import RequestLog
from flexsim.emulator.wire import iso
from flexsim.hooks import EventHook


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("True", True), ("YES", True), ("1", True),
                                                ("false", False), ("False", False), ("no", False), ("0", False)])
def test_booleans_are_case_insensitive(text, expected):
    assert Params(MultiDict({"Available": text}), ["Available"]).boolean("Available") is expected


def test_params_refuse_unknown_names_and_bad_values():
    with pytest.raises(BadRequest, match="Unknown parameter.*Bogus"):
        Params(MultiDict({"FriendlyName": "x", "Bogus": "1"}), ["FriendlyName"])
    p = Params(MultiDict({"Available": "maybe", "Priority": "high", "Capacity": "99"}),
               ["Available", "Priority", "Capacity"])
    calls = (lambda: p.boolean("Available"), lambda: p.integer("Priority"), lambda: p.integer("Capacity", 0, 50))
    for call in calls:
        with pytest.raises(BadRequest):
            call()
    assert p.text("Missing") is None and p.integer("Missing") is None and p.boolean("Missing") is None


def test_multi_values_repeated_or_comma_joined():
    p = Params(MultiDict([("AssignmentStatus", "pending, reserved"), ("AssignmentStatus", "assigned")]),
               ["AssignmentStatus"])
    assert p.multi("AssignmentStatus") == ["pending", "reserved", "assigned"]


def test_dates_round_trip():
    assert iso(parse_date("StartDate", "2024-01-31T12:00:00Z")) == "2024-01-31T12:00:00Z"
    assert iso(1_700_000_000.7) == "2023-11-14T22:13:20Z"
    with pytest.raises(BadRequest):
        parse_date("StartDate", "yesterday")


def test_case_conversions():
    assert snake_case("DequeueStatusCallbackUrl") == "dequeue_status_callback_url"


def envelope(n: int, **args: str) -> dict:
    return page_envelope(list(range(n)), key="workers", serialize=lambda i: {"sid": i}, base_url="http://h:1",
                         path="/v1/Workspaces/WS1/Workers", args=MultiDict(args))


def test_paging_links_keep_filters_and_carry_tokens():
    first = envelope(120, ActivityName="Offline", PageSize="50")
    assert [w["sid"] for w in first["workers"]] == list(range(50))
    meta = first["meta"]
    assert (meta["key"], meta["page"], meta["page_size"], meta["previous_page_url"]) == ("workers", 0, 50, None)
    assert meta["next_page_url"] == ("http://h:1/v1/Workspaces/WS1/Workers?ActivityName=Offline&PageSize=50"
                                     "&Page=1&PageToken=PT50")
    last = envelope(120, ActivityName="Offline", PageSize="50", Page="2", PageToken="PT100")
    assert [w["sid"] for w in last["workers"]] == list(range(100, 120))
    assert last["meta"]["next_page_url"] is None
    assert "PageToken=PT50" in last["meta"]["previous_page_url"]
    assert envelope(0)["workers"] == [] and envelope(0)["meta"]["page_size"] == 50


@pytest.mark.parametrize("args", [{"PageSize": "0"}, {"PageSize": "1001"}, {"PageSize": "x"}, {"Page": "3"},
                                  {"PageToken": "bogus"}])
def test_paging_refuses_bad_parameters(args):
    with pytest.raises(BadRequest):
        envelope(10, **args)


def test_faults_are_deterministic_per_seed():
    def draws(seed):
        faults = Faults(error_rate=0.2, server_error_rate=0.2, rng=random.Random(seed))
        return [faults.draw() for _ in range(200)]

    assert draws(5) == draws(5)
    counts = draws(5)
    assert 20 < counts.count(429) < 60 and 20 < counts.count(500) < 60
    assert Faults().draw() is None
    with pytest.raises(ValueError):
        Faults(error_rate=1.5)


def test_faults_latency_uses_injected_sleep():
    slept = []
    Faults(latency_ms=250, sleep=slept.append).delay()
    assert slept == [0.25]


def test_rate_limiter_sliding_window():
    now = [100.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.allow("w")[0] for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("t")[0] is True  # each endpoint has its own budget
    now[0] += 1.01
    assert limiter.allow("w") == (True, 2)
    assert RateLimiter(0).allow("w") == (True, 0)


def test_events_filter_is_trimmed_comma_list():
    assert wanted("task.created", "task.created , task.canceled")
    assert not wanted("worker.created", "task.created,task.canceled")
    assert wanted("worker.created", None) and wanted("worker.created", "")


def test_signature_matches_the_sdk_validator():
    engine = SimpleNamespace(on_assignment=EventHook(), on_event=EventHook(),
                             workspace=SimpleNamespace(account_sid="AC1", sid="WS1"))
    dispatcher = CallbackDispatcher(engine, auth_token="secret", base_url="http://127.0.0.1:1")
    url, params = "http://127.0.0.1:5000/assign?x=1", {"TaskSid": "WT1", "TaskAttributes": '{"a": 1}'}
    try:
        assert RequestValidator("secret").validate(url, params, dispatcher.sign(url, params))
    finally:
        dispatcher.stop()


def test_request_log_keeps_the_last_entries_with_absolute_indices():
    log = RequestLog(maxlen=3)
    for i in range(5):
        log.append(("GET", f"/{i}"))
    assert len(log) == 5 and log.dropped == 2 and log.maxlen == 3
    assert list(log) == [("GET", "/2"), ("GET", "/3"), ("GET", "/4")]
    assert log[4] == log[-1] == ("GET", "/4") and log[2] == ("GET", "/2")
    assert log[3:] == [("GET", "/3"), ("GET", "/4")] and log[:3] == [("GET", "/2")]
    assert ("GET", "/3") in log and ("GET", "/0") not in log
    with pytest.raises(IndexError):
        log[1]  # dropped
    with pytest.raises(IndexError):
        log[5]
    with pytest.raises(ValueError):
        RequestLog(maxlen=0)
