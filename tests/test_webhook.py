"""The agentsim Flask app, through Flask's test client (no sockets)."""

from __future__ import annotations

import json
import logging

import pytest
from twilio.request_validator import RequestValidator

from flexsim.agentsim_server import SignatureCheckImpossible, callback_url, signature_token
from flexsim.answers import AnswerFeed, feed_token
from flexsim.options import TwilioSettings
from flexsim.webhook import Offer, create_webhook_app

TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC = "https://abc.ngrok.app/reservation"
AGENT = "WK" + "a" * 32
HUMAN = "WK" + "b" * 32


class FakeSim:
    """Records offers; accepts for AGENT, ignores anyone else."""

    def __init__(self, token: str | None = TOKEN, public_url: str | None = PUBLIC):
        self.signature_token = token
        self.public_url = public_url
        self.offers: list[Offer] = []
        self.answers = AnswerFeed()

    def offer(self, offer: Offer):
        self.offers.append(offer)
        return {"instruction": "accept"} if offer.worker_sid == AGENT else None

    def health(self):
        return {"agents": {"Available": 1}, "tasks_in_progress": 0}


def params(worker: str = AGENT, **changes) -> dict:
    base = {"AccountSid": "AC" + "0" * 32, "WorkspaceSid": "WS" + "0" * 32, "WorkerSid": worker,
            "TaskSid": "WT" + "1" * 32, "ReservationSid": "WR" + "2" * 32, "TaskAge": "3",
            "TaskAttributes": json.dumps({"topic": "Sales", "flexsim": True}), "WorkerAttributes": "{}"}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(form: dict, url: str = PUBLIC, token: str = TOKEN) -> dict:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)}


@pytest.fixture
def sim():
    return FakeSim()


@pytest.fixture
def client(sim):
    return create_webhook_app(sim).test_client()


def test_a_signed_reservation_for_an_agent_is_accepted(client, sim):
    form = params()
    reply = client.post("/reservation", data=form, headers=signed(form))
    assert reply.status_code == 200
    assert reply.mimetype == "application/json"
    assert reply.get_json() == {"instruction": "accept"}
    assert sim.offers == [Offer("WT" + "1" * 32, AGENT, "WR" + "2" * 32, {"topic": "Sales", "flexsim": True})]


def test_another_workers_reservation_gets_an_empty_200(client, sim):
    form = params(worker=HUMAN)
    reply = client.post("/reservation", data=form, headers=signed(form))
    assert reply.status_code == 200
    assert reply.data == b""
    assert len(sim.offers) == 1


@pytest.mark.parametrize("headers", [
    {},
    {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    "wrong-token",
    "stale-url",
    "tampered",
], ids=["missing", "forged", "wrong-token", "stale-url", "tampered"])
def test_bad_signatures_get_403_and_change_nothing(client, sim, headers, caplog):
    form = params()
    if headers == "wrong-token":
        headers = signed(form, token="f" * 32)
    elif headers == "stale-url":
        headers = signed(form, url="https://old-tunnel.ngrok.app/reservation")
    elif headers == "tampered":
        headers = signed(form)
        form = params(TaskAttributes="{}")
    with caplog.at_level(logging.WARNING, logger="flexsim.webhook"):
        reply = client.post("/reservation", data=form, headers=headers)
    assert reply.status_code == 403
    assert sim.offers == []
    assert "X-Twilio-Signature" in caplog.text


def test_signatures_are_checked_against_the_public_url_not_the_local_one(client, sim):
    form = params()
    local = signed(form, url="http://localhost/reservation")
    assert client.post("/reservation", data=form, headers=local).status_code == 403


def test_without_a_public_url_the_received_url_is_used():
    sim = FakeSim(public_url=None)
    client = create_webhook_app(sim).test_client()
    form = params()
    reply = client.post("/reservation", data=form, headers=signed(form, url="http://localhost/reservation"))
    assert reply.status_code == 200 and reply.get_json() == {"instruction": "accept"}


def test_the_check_can_be_skipped():
    sim = FakeSim(token=None)
    reply = create_webhook_app(sim).test_client().post("/reservation", data=params())
    assert reply.get_json() == {"instruction": "accept"}


@pytest.mark.parametrize("changes", [
    {"TaskSid": None}, {"WorkerSid": None}, {"ReservationSid": None}, {"TaskSid": ""},
    {"TaskAttributes": "{not json"}, {"TaskAttributes": "[1, 2]"},
], ids=["no-task", "no-worker", "no-reservation", "empty-task", "bad-json", "not-object"])
def test_malformed_bodies_get_400(client, sim, changes):
    form = params(**changes)
    reply = client.post("/reservation", data=form, headers=signed(form))
    assert reply.status_code == 400
    assert sim.offers == []


def test_a_failing_simulation_never_crashes_the_server(sim, client):
    def boom(offer):
        raise RuntimeError("bug")

    sim.offer = boom
    form = params()
    assert client.post("/reservation", data=form, headers=signed(form)).status_code == 500
    assert client.get("/").status_code == 200


def test_health_is_json(client):
    reply = client.get("/")
    assert reply.status_code == 200
    assert reply.get_json() == {"agents": {"Available": 1}, "tasks_in_progress": 0}


def test_other_methods_and_paths_are_refused(client):
    assert client.get("/reservation").status_code == 405
    assert client.post("/other").status_code == 404


@pytest.mark.parametrize(("given", "expected"), [
    (None, None),
    ("https://abc.ngrok.app", "https://abc.ngrok.app/reservation"),
    ("https://abc.ngrok.app/", "https://abc.ngrok.app/reservation"),
    ("https://abc.ngrok.app/reservation", "https://abc.ngrok.app/reservation"),
    ("https://abc.ngrok.app/sim/cb?x=1", "https://abc.ngrok.app/sim/cb?x=1"),
])
def test_callback_url(given, expected):
    assert callback_url(given) == expected


def test_api_key_credentials_without_a_token_cannot_validate():
    keys = TwilioSettings(account_sid="AC" + "0" * 32, workspace_sid="WS" + "0" * 32,
                          api_key="SK" + "0" * 32, api_secret="secret")
    with pytest.raises(SignatureCheckImpossible, match="--skip-signature-check"):
        signature_token(keys, skip=False)
    assert signature_token(keys, skip=True) is None
    with_token = TwilioSettings(account_sid="AC" + "0" * 32, auth_token=TOKEN, workspace_sid="WS" + "0" * 32)
    assert signature_token(with_token, skip=False) == TOKEN


def test_the_answered_feed_needs_the_bearer_token_and_resumes_after_a_number(client, sim):
    for sid in ("WT1", "WT2", "WT3"):
        sim.answers.add(sid)
    auth = {"Authorization": f"Bearer {feed_token(TOKEN)}"}
    assert client.get("/answered", headers=auth).get_json() == {"next": 3, "tasks": ["WT1", "WT2", "WT3"]}
    assert client.get("/answered?after=2", headers=auth).get_json() == {"next": 3, "tasks": ["WT3"]}
    assert client.get("/answered?after=x", headers=auth).status_code == 400
    assert client.get("/answered").status_code == 403
    assert client.get("/answered", headers={"Authorization": f"Bearer {feed_token('other')}"}).status_code == 403
    assert client.get("/answered", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 403


def test_without_an_auth_token_the_answered_feed_is_off():
    app = create_webhook_app(FakeSim(token=None))
    assert app.test_client().get("/answered").status_code == 404
