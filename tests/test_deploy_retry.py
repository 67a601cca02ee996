"""deploy's worker create when a retried create meets its own first attempt (Twilio mocked by `responses`)."""

from __future__ import annotations

import pytest
import responses
from test_taskrouter import WORKER, WS_URL, FakeTime, error_json, make_tr, page_json, worker_json

from flexsim.deploy import _create_worker
from flexsim.errors import TwilioRequestFailed


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def _first_attempt_applied_then_duplicate() -> None:
    responses.add(responses.POST, f"{WS_URL}/Workers", status=503, json=error_json(503, 20500, "Unavailable"))
    responses.add(responses.POST, f"{WS_URL}/Workers", status=409,
                  json=error_json(409, 20001, "Worker with friendly name Agent_000 already exists"))


@responses.activate
def test_a_duplicate_after_a_retried_create_uses_flexsims_own_worker(fake_time):
    _first_attempt_applied_then_duplicate()
    responses.add(responses.GET, f"{WS_URL}/Workers", json=page_json("workers", [worker_json(attributes=None)]))
    responses.add(responses.GET, f"{WS_URL}/Workers/{WORKER}", json=worker_json())
    assert _create_worker(make_tr(fake_time), "Agent_000", '{"flexsim": true}') == WORKER


@responses.activate
def test_a_duplicate_that_is_someone_elses_worker_still_fails(fake_time):
    _first_attempt_applied_then_duplicate()
    responses.add(responses.GET, f"{WS_URL}/Workers", json=page_json("workers", [worker_json(attributes=None)]))
    responses.add(responses.GET, f"{WS_URL}/Workers/{WORKER}", json=worker_json(attributes='{"team": "humans"}'))
    with pytest.raises(TwilioRequestFailed) as caught:
        _create_worker(make_tr(fake_time), "Agent_000", '{"flexsim": true}')
    assert caught.value.status == 409
