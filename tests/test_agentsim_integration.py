"""agentsim over real HTTP: waitress on 127.0.0.1 free ports, against the TaskRouter emulator."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from flexsim.agentsim_server import AgentSimServer, AgentSimSettings
from flexsim.config import Config, is_flexsim, load_config
from flexsim.genconfig import generate_config
from flexsim.options import TwilioSettings
from flexsim.taskrouter import TaskRouter, parse_attributes

pytestmark = pytest.mark.integration

# Three agents who never leave Available; a phase-assignment and a phase-completion attribute.
SMALL_DOMAIN = {
    "agentCnt": 3,
    "props": {
        "talkTime": {"min": 20, "max": 30},
        "wrapTime": {"min": 10, "max": 20},
        "activity": {"values": ["Available", "Break"], "instances": [
            {"target": "system", "valueProps": [{"portion": 1.0, "baseDur": 60}, {"portion": 0.0, "baseDur": 30}]}]},
        "topic": {"values": ["Sales", "Support"], "instances": [
            {"target": "task", "phase": "arrival", "valueProps": [{"portion": 0.5}, {"portion": 0.5}]},
            {"target": "worker", "name": "routing.skills", "valueCnt": 2,
             "valueProps": [{"portion": 0.5}, {"portion": 0.5}]}]},
        "greeting": {"values": ["formal", "casual"], "instances": [
            {"target": "task", "phase": "assignment", "name": "agent.greeting",
             "valueProps": [{"portion": 0.5}, {"portion": 0.5}]}]},
        "resolution": {"values": ["solved", "escalated"], "instances": [
            {"target": "task", "phase": "completion", "name": "outcome.resolution",
             "valueProps": [{"portion": 0.5}, {"portion": 0.5}]}]},
    },
}


def make_config(tmp_path: Path, domain: dict) -> Config:
    domaindir = tmp_path / "domain"
    domaindir.mkdir()
    (domaindir / "domain.json").write_text(json.dumps(domain))
    generate_config(domaindir, tmp_path / "cfg", random.Random(3), 3)
    return load_config(tmp_path / "cfg")


def settings_for(srv) -> TwilioSettings:
    return TwilioSettings(account_sid=srv.account_sid, auth_token=srv.auth_token,
                          workspace_sid=srv.workspace_sid, taskrouter_url=srv.url)


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Workspace:
    """The emulator workspace set up for a config: activities, workers, queues; then a workflow."""

    def __init__(self, tr: TaskRouter, config: Config):
        self.tr = tr
        ws = tr.workspace
        names = {a.friendly_name: a.sid for a in tr.list_activities()}
        for activity in config.activities():
            if activity.name not in names:
                names[activity.name] = ws.activities.create(friendly_name=activity.name,
                                                             available=activity.name == "Available").sid
        self.activities = names
        self.workers = {}
        for spec in config.workers:
            worker = ws.workers.create(friendly_name=spec.friendly_name, attributes=json.dumps(spec.attributes))
            self.workers[worker.sid] = spec.friendly_name
        self.human = ws.workers.create(friendly_name="Human", attributes=json.dumps({"human": True}),
                                       activity_sid=names["Available"]).sid
        self.agents_queue = ws.task_queues.create(friendly_name="Agents", target_workers="flexsim == true").sid
        self.humans_queue = ws.task_queues.create(friendly_name="Humans", target_workers="human == true").sid
        self.workflow = None

    def route_to(self, callback_url: str) -> str:
        routing = {"task_routing": {
            "filters": [{"filter_friendly_name": "people", "expression": "for == 'human'",
                         "targets": [{"queue": self.humans_queue}]}],
            "default_filter": {"queue": self.agents_queue}}}
        self.workflow = self.tr.workspace.workflows.create(
            friendly_name="Test Workflow", configuration=json.dumps(routing),
            assignment_callback_url=callback_url, task_reservation_timeout=600).sid
        return self.workflow

    def create_task(self, **attributes) -> str:
        return self.tr.workspace.tasks.create(workflow_sid=self.workflow, task_channel="voice",
                                              attributes=json.dumps({"flexsim": True, **attributes})).sid

    def task(self, sid: str):
        return self.tr.workspace.tasks(sid).fetch()

    def status(self, sid: str) -> str:
        return self.task(sid).assignment_status


@pytest.fixture
def small_config(tmp_path) -> Config:
    return make_config(tmp_path, SMALL_DOMAIN)


@pytest.fixture
def tr(emulator):
    with TaskRouter(settings_for(emulator)) as client:
        yield client


def test_a_task_is_accepted_wrapped_and_completed_with_phase_attributes(emulator, tr, small_config):
    space = Workspace(tr, small_config)
    with AgentSimServer(small_config, settings_for(emulator), AgentSimSettings(port=0, speed=20, seed=1)) as server:
        space.route_to(server.reservation_url)
        sid = space.create_task(topic="Sales")
        wait_for(lambda: space.status(sid) == "completed", what="the task to be completed")
        health = server.sim.health()
    kinds = [e.event_type for e in sorted(emulator.engine.list_events(task_sid=sid), key=lambda e: e.event_date)]
    assert "reservation.accepted" in kinds
    assert kinds.index("reservation.accepted") < kinds.index("task.wrapup") < kinds.index("task.completed")
    attributes = parse_attributes(space.task(sid).attributes)
    assert attributes["topic"] == "Sales" and attributes["flexsim"] is True
    assert attributes["agent"]["greeting"] in ("formal", "casual")
    assert attributes["outcome"]["resolution"] in ("solved", "escalated")
    task_writes = [p for m, p in emulator.requests if m == "POST" and p.endswith(f"/Tasks/{sid}")]
    assert len(task_writes) == 2  # wrapping and completed, the attributes riding on them
    assert health["tasks_handled"] == 1 and health["reservations_offered"] == 1


def test_a_human_workers_reservation_is_left_pending(emulator, tr, small_config):
    space = Workspace(tr, small_config)
    with AgentSimServer(small_config, settings_for(emulator), AgentSimSettings(port=0, speed=20, seed=1)) as server:
        space.route_to(server.reservation_url)
        human_task = space.create_task(**{"for": "human"})
        wait_for(lambda: server.sim.health()["reservations_ignored"] == 1, what="the human's callback")
        # A later agent task completing shows the emulator has long processed the human's answer.
        agent_task = space.create_task(topic="Support")
        wait_for(lambda: space.status(agent_task) == "completed", what="the agent task")
        reservations = tr.workspace.tasks(human_task).reservations.list()
        assert [(r.worker_sid, r.reservation_status) for r in reservations] == [(space.human, "pending")]
        assert space.status(human_task) == "reserved"


def test_a_task_left_by_a_killed_agentsim_is_finished_after_a_restart(emulator, tr, small_config):
    space = Workspace(tr, small_config)
    first = AgentSimServer(small_config, settings_for(emulator), AgentSimSettings(port=0, speed=1, seed=1)).start()
    try:
        space.route_to(first.reservation_url)
        sid = space.create_task(topic="Sales")
        wait_for(lambda: space.status(sid) == "assigned", what="the task to be assigned")
    finally:
        first.stop(sign_out=False)  # as if killed mid-talk: no sign-out, the task stays assigned
    assert space.status(sid) == "assigned"
    with AgentSimServer(small_config, settings_for(emulator), AgentSimSettings(port=0, speed=50, seed=2)) as second:
        wait_for(lambda: space.status(sid) == "completed", what="the taken-over task to complete")
        assert second.sim.health()["tasks_handled"] == 1
    attributes = parse_attributes(space.task(sid).attributes)
    assert "greeting" in attributes["agent"] and "resolution" in attributes["outcome"]


def test_stop_signs_agents_out(emulator, tr, small_config):
    space = Workspace(tr, small_config)
    with AgentSimServer(small_config, settings_for(emulator), AgentSimSettings(port=0, seed=1)):
        online = wait_for(lambda: all(w.activity_name == "Available" for w in flexsim_workers(tr)),
                          what="agents to sign in")
        assert online
    assert {w.activity_name for w in flexsim_workers(tr)} == {"Offline"}
    assert tr.workspace.workers(space.human).fetch().activity_name == "Available"


def test_a_missing_activity_fails_clearly(emulator, tr, tmp_path):
    config = make_config(tmp_path, {"agentCnt": 2})  # the default domain needs Busy and Lunch
    from flexsim.errors import NotDeployed

    with pytest.raises(NotDeployed, match="'Busy', 'Lunch' not in the workspace: run flexsim deploy --create-missing"):
        AgentSimServer(config, settings_for(emulator), AgentSimSettings(port=0, seed=1)).start()


def flexsim_workers(tr: TaskRouter) -> list:
    return [w for w in tr.list_workers() if is_flexsim(parse_attributes(w.attributes))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("signum", "flags", "after"), [
    (signal.SIGTERM, [], "Offline"),
    (signal.SIGINT, [], "Offline"),
    (signal.SIGTERM, ["--stay-online"], "Available"),
], ids=["sigterm", "sigint", "sigterm-stay-online"])
def test_a_signal_signs_agents_out_and_exits_0(emulator, tr, small_config, signum, flags, after):
    Workspace(tr, small_config)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("ASSIGN_URL", "AGENTSIM_PORT", "TWILIO_API_KEY")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flexsim", "agentsim", "--cfgdir", str(small_config.cfgdir), "--port", str(port),
         "--acct", emulator.account_sid, "--auth", emulator.auth_token, "--wrkspc", emulator.workspace_sid,
         "--taskrouter-url", emulator.url, "--seed", "5", "--speed", "10", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=small_config.cfgdir.parent, text=True)
    try:
        wait_for(lambda: all(w.activity_name == "Available" for w in flexsim_workers(tr)), what="sign-in")
        health = wait_for(lambda: _get_json(f"http://127.0.0.1:{port}/"), what="the health page")
        assert health["agents"] == {"Available": 3} and health["stopping"] is False
        proc.send_signal(signum)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "agentsim stopped: 0 tasks handled" in output
    assert "Traceback" not in output
    assert {w.activity_name for w in flexsim_workers(tr)} == {after}


def _get_json(url: str):
    try:
        return requests.get(url, timeout=2).json()
    except requests.RequestException:
        return None


@pytest.mark.parametrize(("agents", "speed", "seconds"), [(50, 100, 25), (1000, 30, 20)], ids=["50x100", "1000x30"])
def test_activity_shares_over_real_http(emulator, tr, tmp_path, agents, speed, seconds):
    """Agents at high speed for hundreds of simulated seconds, handling tasks: the workspace shows the portions.

    50 agents at speed 100 live ~2,500 simulated seconds each; 1,000 at speed 30 (about 450
    activity writes/s) ~600. tests/test_agents_fleet.py runs 1,000 agents for 4 simulated hours.
    """
    config = make_config(tmp_path, {"agentCnt": agents})
    space = Workspace(tr, config)
    portions = {a.name: a.portion for a in config.activities()}
    samples: Counter[str] = Counter()
    with AgentSimServer(config, settings_for(emulator), AgentSimSettings(port=0, speed=speed, seed=11)) as server:
        space.route_to(server.reservation_url)
        wait_for(lambda: "Offline" not in activities_of(emulator), timeout=60, what="sign-in")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            samples.update(activities_of(emulator))
            space.create_task(topic="Sales")
            time.sleep(0.05)
        own: Counter[str] = Counter()
        with server.sched.lock:
            for agent in server.sim.agents.values():
                own.update(agent.shares())
        health = server.sim.health()
    assert health["tasks_handled"] > 100
    assert health["api_failures"] == 0, health
    seen = {k: v / sum(samples.values()) for k, v in samples.items()}
    mine = {k: v / sum(own.values()) for k, v in own.items()}
    for name, portion in portions.items():
        assert seen.get(name, 0) == pytest.approx(portion, abs=0.05), (name, seen)
        assert mine.get(name, 0) == pytest.approx(portion, abs=0.05), (name, mine)


def activities_of(emulator) -> list[str]:
    """The activity of every flexsim worker, as the emulator has it now."""
    engine = emulator.engine
    return [engine.worker_activity(w).friendly_name for w in engine.list_workers() if is_flexsim(w.attributes)]


def test_a_task_canceled_as_the_agent_accepts_is_dropped_without_api_failures(emulator, tr, small_config, caplog):
    """The customer abandons the task while the accept answer is on its way back to TaskRouter."""
    space = Workspace(tr, small_config)
    with AgentSimServer(small_config, settings_for(emulator), AgentSimSettings(port=0, speed=20, seed=1)) as server:
        sim = server.sim
        real_offer = sim.offer

        def offer_then_customer_hangs_up(offer):
            answer = real_offer(offer)  # the agent has taken the task ...
            tr.workspace.tasks(offer.task_sid).update(assignment_status="canceled")  # ... as the customer leaves
            return answer

        sim.offer = offer_then_customer_hangs_up
        space.route_to(server.reservation_url)
        with caplog.at_level(logging.INFO, logger="flexsim.agentsim"):
            sid = space.create_task(topic="Sales")
            wait_for(lambda: sim.health()["tasks_gone"] == 1, what="the canceled task to be dropped")
            health = sim.health()
        sim.offer = real_offer
        later = space.create_task(topic="Support")  # the agents still take and finish work
        wait_for(lambda: space.status(later) == "completed", what="a later task to complete")
    assert space.status(sid) == "canceled"
    assert (health["api_failures"], health["tasks_in_progress"], health["tasks_handled"]) == (0, 0, 0)
    assert f"task {sid} was canceled before it could be set wrapping: no longer handled" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and sid in r.getMessage()]
    kinds = {e.event_type for e in emulator.engine.list_events(task_sid=sid)}
    assert "reservation.accepted" not in kinds and "task.canceled" in kinds


WRAP_DOMAIN = {**SMALL_DOMAIN, "agentCnt": 1,
               "props": {**SMALL_DOMAIN["props"], "talkTime": {"min": 1, "max": 2}, "wrapTime": {"min": 600, "max": 660}}}


def test_a_task_left_wrapping_by_a_killed_agentsim_is_completed_after_a_restart(emulator, tr, tmp_path):
    config = make_config(tmp_path, WRAP_DOMAIN)
    space = Workspace(tr, config)
    first = AgentSimServer(config, settings_for(emulator), AgentSimSettings(port=0, speed=10, seed=1)).start()
    try:
        space.route_to(first.reservation_url)
        sid = space.create_task(topic="Sales")
        wait_for(lambda: space.status(sid) == "wrapping", what="the task to be wrapping")  # wrap lasts 60 s wall
    finally:
        first.stop(sign_out=False)  # as if killed mid-wrap: no sign-out
    assert space.status(sid) == "wrapping"
    second = AgentSimServer(config, settings_for(emulator), AgentSimSettings(port=0, speed=600, seed=2))
    with second:
        wait_for(lambda: space.status(sid) == "completed", what="the taken-over task to complete")
        assert second.sim.health()["tasks_handled"] == 1
    task_writes = [p for m, p in emulator.requests if m == "POST" and p.endswith(f"/Tasks/{sid}")]
    assert len(task_writes) == 2  # wrapping by the first run, completed by the second: no second wrap-up
    attributes = parse_attributes(space.task(sid).attributes)
    assert "greeting" in attributes["agent"] and "resolution" in attributes["outcome"]
    kinds = [e.event_type for e in sorted(emulator.engine.list_events(task_sid=sid), key=lambda e: e.event_date)]
    assert kinds.count("task.wrapup") == 1 and "task.completed" in kinds


def test_signatures_are_checked_against_the_public_url(emulator, tr, small_config, caplog):
    """The emulator signs the URL it calls; agentsim checks against --public-url (a bare origin works)."""
    space = Workspace(tr, small_config)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    settings = AgentSimSettings(port=port, speed=50, seed=1, public_url=origin)
    with AgentSimServer(small_config, settings_for(emulator), settings) as server:
        space.route_to(origin + "/reservation")
        sid = space.create_task(topic="Sales")
        wait_for(lambda: space.status(sid) == "completed", what="the signed task to complete")
        assert server.sim.public_url == origin + "/reservation"
    space.tr.workspace.workflows(space.workflow).delete()
    stale = AgentSimSettings(port=port, speed=50, seed=1, public_url="https://old-tunnel.ngrok.app")
    with AgentSimServer(small_config, settings_for(emulator), stale) as server:
        space.route_to(origin + "/reservation")
        sid = space.create_task(topic="Sales")
        with caplog.at_level(logging.WARNING, logger="flexsim.webhook"):
            wait_for(lambda: "wrong X-Twilio-Signature for https://old-tunnel.ngrok.app/reservation" in caplog.text,
                     what="the emulator's callback to be refused")
        stranger = requests.post(server.reservation_url, data={"TaskSid": sid}, timeout=5)
        assert stranger.status_code == 403
        assert server.sim.health()["reservations_offered"] == 0
        assert space.status(sid) == "reserved"


def test_health_over_http(emulator, tr, small_config):
    space = Workspace(tr, small_config)
    with AgentSimServer(small_config, settings_for(emulator), AgentSimSettings(port=0, speed=20, seed=1)) as server:
        space.route_to(server.reservation_url)
        sid = space.create_task(topic="Sales")
        wait_for(lambda: space.status(sid) == "completed", what="the task to complete")
        health = requests.get(server.url + "/", timeout=5).json()
    assert health["agents"] == {"Available": 3}
    assert (health["tasks_in_progress"], health["tasks_handled"]) == (0, 1)
    assert health["uptime_seconds"] > 0 and health["simulated_seconds"] == pytest.approx(
        health["uptime_seconds"] * 20, rel=0.05)
