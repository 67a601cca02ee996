"""AgentSim without a server: answers to offers, health, config draws, failed writes (HTTP mocked)."""

from __future__ import annotations

import logging
import random

import pytest
import responses

from flexsim.agents import SetActivity, UpdateTask
from flexsim.agentsim import AgentSim, ConfigHandling, activity_model
from flexsim.config import load_config
from flexsim.options import TwilioSettings
from flexsim.scheduler import Scheduler
from flexsim.taskrouter import RetryPolicy, TaskRouter
from flexsim.webhook import Offer

ACCOUNT, WORKSPACE = "AC" + "1" * 32, "WS" + "2" * 32
URL = "http://taskrouter.test"
SIDS = {"Offline": "WA0", "Available": "WA1", "Busy": "WA2", "Break": "WA3", "Lunch": "WA4"}


@pytest.fixture
def config(cfg_dir):
    return load_config(cfg_dir)


def make_sim(config, clock, tr=None):
    sim = AgentSim(config, tr, Scheduler(clock), seed=1)
    sim.activity_sids = dict(SIDS)
    sim.routable = frozenset({"Available"})
    return sim


def recording(sim) -> list:
    ops: list = []
    sim._run_ops = ops.append  # keep writes off the network
    return ops


def offer(worker="WK0", task="WT1") -> Offer:
    return Offer(task, worker, "WR1", {"topic": "Sales"})


def test_offers_are_accepted_refused_or_left_alone(config, clock):
    sim = make_sim(config, clock)
    recording(sim)
    sim._add_agent("Agent_000", "WK0", "Available")
    sim._add_agent("Agent_001", "WK1", "Break")
    assert sim.offer(offer("WKhuman")) is None
    assert sim.offer(offer("WK0")) == {"instruction": "accept"}
    assert sim.offer(offer("WK1", "WT2")) == {"instruction": "reject", "activity_sid": "WA3"}
    health = sim.health()
    assert health["agents"] == {"Available": 1, "Break": 1}
    assert health["tasks_in_progress"] == 1
    assert (health["reservations_offered"], health["reservations_refused"], health["reservations_ignored"]) == (2, 1, 1)


def test_stopping_with_sign_out_rejects_to_offline_and_completes_held_work(config, clock):
    sim = make_sim(config, clock)
    ops = recording(sim)
    sim._add_agent("Agent_000", "WK0", "Available")
    sim.offer(offer())
    sim.stop(sign_out=True)
    assert sim.offer(offer(task="WT9")) == {"instruction": "reject", "activity_sid": "WA0"}
    [batch] = ops
    assert batch[0] == SetActivity("WK0", "Offline", True)
    assert isinstance(batch[1], UpdateTask) and (batch[1].task_sid, batch[1].status) == ("WT1", "completed")
    assert sim.health()["agents"] == {"Offline": 1}


def test_stopping_online_leaves_new_reservations_pending_and_writes_nothing(config, clock):
    sim = make_sim(config, clock)
    ops = recording(sim)
    sim._add_agent("Agent_000", "WK0", "Available")
    sim.stop(sign_out=False)
    assert sim.offer(offer()) is None
    assert ops == []


def test_sign_in_writes_only_changed_activities(config, clock):
    sim = make_sim(config, clock)
    ops = recording(sim)
    for i in range(200):
        sim._add_agent(f"Agent_{i:03d}", f"WK{i}", "Available")
    sim.sign_in()
    moved = [batch[0].activity for batch in ops]
    assert "Available" not in moved
    assert 20 < len(moved) < 80  # about a quarter start away from Available
    assert sum(sim.health()["agents"].values()) == 200


def test_config_draws(config):
    handling = ConfigHandling(config)
    rng = random.Random(2)
    talks = [handling.talk_time(rng) for _ in range(200)]
    assert 15 <= min(talks) and max(talks) <= 45
    assert handling.attributes("assignment", rng) == {}  # the default domain has none
    model = activity_model(config)
    assert model.mean_stays["Available"] == pytest.approx(100.0)


@responses.activate
def test_a_failed_task_write_is_logged_with_its_sid_and_counted(config, clock, caplog):
    settings = TwilioSettings(account_sid=ACCOUNT, auth_token="t" * 32, workspace_sid=WORKSPACE, taskrouter_url=URL)
    tr = TaskRouter(settings, sleep=lambda s: None, retry=RetryPolicy(max_attempts=2))
    task_url = f"{URL}/v1/Workspaces/{WORKSPACE}/Tasks/WT1"
    responses.post(task_url, status=500, json={"code": 20500, "message": "boom", "status": 500})
    sim = make_sim(config, clock, tr)
    with caplog.at_level(logging.ERROR, logger="flexsim.agentsim"):
        sim._run_ops((UpdateTask("WT1", "wrapping", {"a": 1}), UpdateTask("WT1", "completed")))
    assert len(responses.calls) == 4  # two attempts per write; the second write still went out
    assert sim.stats.failures == 2
    assert "WT1: set wrapping failed" in caplog.text and "WT1: set completed failed" in caplog.text
    assert responses.calls[0].request.body == "Attributes=%7B%22a%22%3A1%7D&AssignmentStatus=wrapping"


def test_cli_refuses_api_key_credentials_without_a_token(cli_runner, cfg_dir):
    from flexsim.cli import cli

    result = cli_runner.invoke(cli, [
        "agentsim", "--cfgdir", str(cfg_dir), "--acct", ACCOUNT, "--wrkspc", WORKSPACE,
        "--api-key", "SK" + "3" * 32, "--api-secret", "secret", "--taskrouter-url", URL, "--seed", "4"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "Error: cannot validate X-Twilio-Signature without the account's auth token (API-key credentials "
        "cannot sign): pass --auth / AUTH_TOKEN as well, or --skip-signature-check on a trusted network")


def test_cli_needs_a_config(cli_runner):
    from flexsim.cli import cli

    result = cli_runner.invoke(cli, ["agentsim", "--cfgdir", "nowhere"])
    assert result.exit_code == 1
    assert "run flexsim genconfig first" in result.output
