"""AgentSim without a server: answers to offers, health, config draws, failed writes (HTTP mocked)."""

from __future__ import annotations

import logging
import random
from collections import Counter

import pytest
import responses

from flexsim.agents import SetActivity, UpdateTask
from flexsim.agentsim import MOVE_RETRY_DELAY, AgentSim, ConfigHandling, activity_model
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
    sim._run_ops = lambda batch, worker=None: ops.append(batch)  # keep writes off the network
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


def sim_over_http(config, clock):
    settings = TwilioSettings(account_sid=ACCOUNT, auth_token="t" * 32, workspace_sid=WORKSPACE, taskrouter_url=URL)
    tr = TaskRouter(settings, sleep=lambda s: None, retry=RetryPolicy(max_attempts=2))
    sim = make_sim(config, clock, tr)
    sim._add_agent("Agent_000", "WK0", "Available")
    return sim, sim.agents["WK0"]


REFUSED = {"code": 20001, "status": 400,
           "message": f"Cannot update task WT1 in workspace {WORKSPACE} for account {ACCOUNT} because it is canceled."}


@responses.activate
def test_a_task_canceled_as_it_was_accepted_is_dropped_not_counted_as_a_failure(config, clock, caplog):
    # The customer hung up just as the agent accepted: TaskRouter canceled the task and ignored
    # the accept, so the agent's wrapping write is refused. The agent frees the slot and goes on.
    sim, agent = sim_over_http(config, clock)
    task_url = f"{URL}/v1/Workspaces/{WORKSPACE}/Tasks/WT1"
    responses.post(task_url, status=400, json=REFUSED)
    responses.get(task_url, json={"sid": "WT1", "assignment_status": "canceled", "workspace_sid": WORKSPACE})
    assert sim.offer(offer()) == {"instruction": "accept"}
    with caplog.at_level(logging.INFO, logger="flexsim.agentsim"):
        clock.advance(60)  # past any talk time: the wrapping write goes out (inline) and is refused
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]  # refused once, then checked
    assert agent.work == {} and agent.handled == 0
    health = sim.health()
    assert (health["api_failures"], health["tasks_gone"], health["tasks_in_progress"]) == (0, 1, 0)
    [record] = [r for r in caplog.records if "WT1" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert record.getMessage() == "task WT1 was canceled before it could be set wrapping: no longer handled"
    clock.advance(3_600)
    assert len(responses.calls) == 2  # no completed write for a task that went away


@responses.activate
def test_a_deleted_task_is_dropped_not_counted_as_a_failure(config, clock):
    sim, agent = sim_over_http(config, clock)
    task_url = f"{URL}/v1/Workspaces/{WORKSPACE}/Tasks/WT1"
    responses.post(task_url, status=404, json={"code": 20404, "status": 404, "message": "not found"})
    sim.offer(offer())
    clock.advance(60)
    assert agent.work == {} and len(responses.calls) == 1
    assert (sim.stats.failures, sim.health()["tasks_gone"]) == (0, 1)


@responses.activate
def test_a_refused_write_on_a_task_still_there_is_a_real_failure(config, clock, caplog):
    sim, agent = sim_over_http(config, clock)
    task_url = f"{URL}/v1/Workspaces/{WORKSPACE}/Tasks/WT1"
    responses.post(task_url, status=400, json={**REFUSED, "message": "Cannot wrap up a task because it's not currently assigned"})
    responses.get(task_url, json={"sid": "WT1", "assignment_status": "completed", "workspace_sid": WORKSPACE})
    sim.offer(offer())
    with caplog.at_level(logging.ERROR, logger="flexsim.agentsim"):
        clock.advance(60)
    assert sim.stats.failures >= 1 and sim.health()["tasks_gone"] == 0
    assert "WT1: set wrapping failed" in caplog.text


def test_a_leaving_agent_whose_last_task_went_away_leaves(config, clock):
    sim = make_sim(config, clock)
    ops = recording(sim)
    sim._add_agent("Agent_000", "WK0", "Available")
    agent = sim.agents["WK0"]
    agent.offer("WT1", {})
    agent._want("Break")
    assert agent.state == "leaving"
    assert agent.drop("WT1") is True and agent.drop("WT1") is False
    assert agent.state == "away" and agent.activity == "Break"
    assert ops[-1] == (SetActivity("WK0", "Break", False),)


def test_health_reports_activities_tasks_and_uptime(config, clock):
    sim = AgentSim(config, None, Scheduler(clock), seed=1, speed=10)
    sim.activity_sids, sim.routable = dict(SIDS), frozenset({"Available"})
    recording(sim)
    for i in range(20):
        sim._add_agent(f"Agent_{i:03d}", f"WK{i}", "Offline")
    sim.sign_in()
    available = [sid for sid, a in sim.agents.items() if a.activity == "Available"][:2]
    for n, sid in enumerate(available):
        assert sim.offer(offer(sid, f"WT{n}")) == {"instruction": "accept"}
    clock.advance(5)
    health = sim.health()
    assert health["agents"] == dict(sorted(Counter(a.activity for a in sim.agents.values()).items()))
    assert "Offline" not in health["agents"] and health["agents_total"] == 20
    assert (health["tasks_in_progress"], health["tasks_handled"]) == (2, 0)
    assert (health["simulated_seconds"], health["uptime_seconds"]) == (5.0, 0.5)  # speed 10
    clock.advance(120)  # talk (15-45 s) and wrap (5-25 s) are over
    health = sim.health()
    assert (health["tasks_in_progress"], health["tasks_handled"]) == (0, 2)
    assert health["uptime_seconds"] == 12.5


def run_cli_capturing(cli_runner, monkeypatch, args, env=None):
    """Invoke ``flexsim agentsim`` with run_agentsim replaced; return (result, settings it got)."""
    import flexsim.agentsim_server as server_module
    from flexsim.cli import cli

    got: dict = {}

    def fake_run(config, twilio, settings):
        got["settings"], got["twilio"] = settings, twilio
        return {"tasks_handled": 0}

    monkeypatch.setattr(server_module, "run_agentsim", fake_run)
    result = cli_runner.invoke(cli, ["agentsim", *args], env=env)
    return result, got.get("settings")


def test_cli_defaults_and_environment(cli_runner, cfg_dir, monkeypatch):
    creds = ["--cfgdir", str(cfg_dir), "--acct", ACCOUNT, "--auth", "t" * 32, "--wrkspc", WORKSPACE]
    result, settings = run_cli_capturing(cli_runner, monkeypatch, creds)
    assert result.exit_code == 0, result.output
    assert (settings.host, settings.port, settings.public_url, settings.speed) == ("127.0.0.1", 3000, None, 1.0)
    assert not settings.skip_signature_check and not settings.stay_online
    result, settings = run_cli_capturing(cli_runner, monkeypatch, creds,
                                         env={"ASSIGN_URL": "https://abc.ngrok.app", "AGENTSIM_PORT": "4001"})
    assert (settings.port, settings.public_url) == (4001, "https://abc.ngrok.app")
    result, settings = run_cli_capturing(cli_runner, monkeypatch, [*creds, "--public-url", "https://x.ngrok.app/cb"],
                                         env={"ASSIGN_URL": "https://abc.ngrok.app"})
    assert settings.public_url == "https://x.ngrok.app/cb"  # the option beats the environment


def test_cli_skip_signature_check_with_api_keys_warns_loudly(cli_runner, cfg_dir, monkeypatch, caplog):
    result, settings = run_cli_capturing(cli_runner, monkeypatch, [
        "--cfgdir", str(cfg_dir), "--acct", ACCOUNT, "--wrkspc", WORKSPACE,
        "--api-key", "SK" + "3" * 32, "--api-secret", "secret", "--skip-signature-check"])
    assert result.exit_code == 0, result.output
    assert settings.skip_signature_check
    assert "WARNING: --skip-signature-check: anyone who can reach this server" in result.stderr
    from flexsim.agentsim_server import signature_token

    with caplog.at_level(logging.WARNING, logger="flexsim.agentsim_server"):
        assert signature_token(TwilioSettings(account_sid=ACCOUNT, workspace_sid=WORKSPACE), skip=True) is None
    assert "--skip-signature-check: ANYONE who can reach this server" in caplog.text


@responses.activate
def test_a_task_whose_reservation_was_rejected_meanwhile_is_dropped(config, clock, caplog):
    # The agent left for a break (rejecting pending reservations) and came back before the
    # callback arrived: its accept was ignored and another worker has the task.
    sim, agent = sim_over_http(config, clock)
    task_url = f"{URL}/v1/Workspaces/{WORKSPACE}/Tasks/WT1"
    responses.post(task_url, status=400, json={**REFUSED, "message": "Cannot wrap up task WT1 because it's not currently assigned."})
    responses.get(task_url, json={"sid": "WT1", "assignment_status": "wrapping", "workspace_sid": WORKSPACE})
    responses.get(task_url + "/Reservations", json={"reservations": [
        {"sid": "WR1", "task_sid": "WT1", "worker_sid": "WK0", "reservation_status": "rejected"},
        {"sid": "WR2", "task_sid": "WT1", "worker_sid": "WKother", "reservation_status": "wrapping"}],
        "meta": {"next_page_url": None, "key": "reservations", "page": 0, "page_size": 50}})
    sim.offer(offer())
    with caplog.at_level(logging.INFO, logger="flexsim.agentsim"):
        clock.advance(3_600)
    assert agent.work == {} and (sim.stats.failures, sim.health()["tasks_gone"]) == (0, 1)
    assert "task WT1 was no longer reserved for its agent before it could be set wrapping" in caplog.text
    assert [c.request.method for c in responses.calls] == ["POST", "GET", "GET"]


@responses.activate
def test_a_break_refused_for_a_pending_reservation_is_retried_not_counted(config, clock, caplog):
    # A break never rejects pending reservations; TaskRouter refuses the move while one is
    # pending, its callback gets "reject" + Break, and the move is tried once more a moment later.
    sim, agent = sim_over_http(config, clock)
    worker_url = f"{URL}/v1/Workspaces/{WORKSPACE}/Workers/WK0"
    refused = {"code": 20001, "status": 400, "message": "Worker WK0 has pending reservations"}
    responses.post(worker_url, status=400, json=refused)
    responses.post(worker_url, json={"sid": "WK0", "activity_name": "Break", "workspace_sid": WORKSPACE})
    agent._set("Break")
    assert "RejectPendingReservations" not in responses.calls[0].request.body
    assert sim.offer(offer("WK0", "WT5")) == {"instruction": "reject", "activity_sid": "WA3"}
    clock.advance(MOVE_RETRY_DELAY * sim.speed)
    assert [c.request.body for c in responses.calls] == ["ActivitySid=WA3", "ActivitySid=WA3"]
    assert sim.health()["api_failures"] == 0


@responses.activate
def test_a_refused_break_is_not_retried_once_the_agent_came_back(config, clock):
    sim, agent = sim_over_http(config, clock)
    worker_url = f"{URL}/v1/Workspaces/{WORKSPACE}/Workers/WK0"
    responses.post(worker_url, status=400, json={"code": 20001, "status": 400, "message": "pending reservations"})
    responses.post(worker_url, json={"sid": "WK0", "activity_name": "Available", "workspace_sid": WORKSPACE})
    agent._set("Break")
    agent._set("Available")
    clock.advance(10 * MOVE_RETRY_DELAY * sim.speed)
    assert [c.request.body for c in responses.calls] == ["ActivitySid=WA3", "ActivitySid=WA1"]
    assert sim.health()["api_failures"] == 0
