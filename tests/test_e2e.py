"""End to end over real HTTP: emulator + deploy + agentsim + custsim (+ cleansim), at high speed.

Each run here is a few wall seconds at speed 30-60; the whole file stays well under a minute
or two on two cores. The channel/topic mix over thousands of tasks is checked on a virtual
clock in test_customers_draws.py; here the mix at the emulator must equal what custsim drew.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager

import pytest

from flexsim.agentsim_server import AgentSimServer, AgentSimSettings
from flexsim.cleanup import clean_workspace
from flexsim.config import load_config
from flexsim.customers import run_custsim
from flexsim.demo import link_answers
from flexsim.deploy import DeployOptions, deploy_config
from flexsim.emulator.server import EmulatorServer
from flexsim.genconfig import generate_config
from flexsim.kpi import task_timelines
from flexsim.options import TwilioSettings
from flexsim.taskrouter import TaskRouter

pytestmark = pytest.mark.integration
LIVE = ("pending", "reserved", "assigned", "wrapping")


@contextmanager
def workspace(tmp_path, agents=3, seed=5, **faults):
    """An emulator with a deployed config; yields (srv, config, twilio settings, tr, events)."""
    generate_config(tmp_path / "domain", tmp_path / "config", random.Random(seed), seed, agent_cnt=agents)
    config = load_config(tmp_path / "config")
    with EmulatorServer(seed=seed, **faults) as srv:
        events: list[dict] = []
        lock = threading.Lock()

        def collect(event):
            with lock:
                events.append({"event_type": event.event_type, "event_date": event.event_date,
                               "event_data": event.event_data})

        srv.engine.on_event.add_listener(collect)
        twilio = TwilioSettings(account_sid=srv.account_sid, auth_token=srv.auth_token,
                                workspace_sid=srv.workspace_sid, taskrouter_url=srv.url)
        statuses: Counter = Counter()
        tracer = lambda method, url, status, elapsed: statuses.update([status])  # noqa: E731
        with TaskRouter(twilio, tracer=tracer) as tr:
            tr.statuses = statuses  # what the emulator answered, for the fault test
            deploy_config(config, tr, DeployOptions(create_missing=True))
            yield srv, config, twilio, tr, events


def simulate(srv, config, twilio, tr, *, seconds, speed, seed=3, link=True):
    """agentsim + custsim for ``seconds`` wall seconds, then agents signed out and cleansim.

    With ``link`` custsim hears of accepts as in the demo; without, it sends refused cancels.
    """
    agents = AgentSimServer(config, twilio, AgentSimSettings(port=0, seed=seed, speed=speed), tr=tr).start()
    setup = (lambda sim: link_answers(agents.sim.events, sim)) if link else None
    try:
        deploy_config(config, tr, DeployOptions(assign_url=agents.reservation_url))
        sim = run_custsim(config, tr, time_limit=seconds, speed=speed, rng=random.Random(seed), setup=setup)
    finally:
        health = agents.stop()
    clean_workspace(tr)
    return sim, health


def flexsim_tasks(srv):
    with srv.engine.lock:
        return [t for t in srv.engine.list_tasks() if t.attributes.get("flexsim") is True]


def within_tolerance(counts: Counter, portions: dict, n: int) -> bool:
    """Each share within 4.5 standard errors of its portion (the draws are seeded, so no flake)."""
    return all(abs(counts[k] / n - p) <= 4.5 * math.sqrt(p * (1 - p) / n) for k, p in portions.items())


def test_full_run_ends_every_task_and_abandons_only_after_patience(tmp_path, caplog):
    speed = 40.0
    with workspace(tmp_path, agents=2) as (srv, config, twilio, tr, events):
        sim, health = simulate(srv, config, twilio, tr, seconds=6.0, speed=speed)
        summary = sim.summary
        assert summary.created >= 20 and summary.failed == 0
        # The one race a real contact center has too: the customer hangs up while the agent's
        # phone rings (cancel of a reserved task beats the accept). agentsim's later wrap-up
        # writes are then refused; any other agentsim failure fails the test.
        abandoned_sids = {r.sid for r in sim.records if r.outcome == "abandoned"}
        refused = [rec.getMessage() for rec in caplog.records
                   if rec.name.startswith("flexsim.agentsim") and rec.levelname == "ERROR"]
        assert health["api_failures"] <= len(refused)
        assert all("because it is canceled" in m and re.search(r"WT[0-9a-f]{32}", m).group(0) in abandoned_sids
                   for m in refused), refused
        # nothing left alive after cleansim
        assert [t.sid for t in flexsim_tasks(srv) if t.assignment_status in LIVE] == []
        lines = task_timelines(events, marker="flexsim")
        created = [r for r in sim.records if r.sid]
        assert {r.sid for r in created} == set(lines)
        # every task ended: completed (handled) or canceled (abandoned, or by cleansim)
        assert all(line.completed is not None or line.canceled is not None for line in lines.values())
        # agents handled some, customers abandoned some
        assert sum(1 for line in lines.values() if line.completed is not None) > 0
        abandoned = [r for r in created if r.outcome == "abandoned"]
        assert abandoned and summary.abandoned == len(abandoned)
        for record in abandoned:
            line = lines[record.sid]
            assert line.cancel_reason == "abandoned" and line.accepted is None
            waited = (line.canceled - line.created) * speed
            assert waited >= record.arrival.abandon_after - 0.05 * speed   # 50 ms of clock granularity
        # the tasks at the emulator carry exactly what custsim drew
        for record in created:
            data = json.loads(next(e["event_data"]["TaskAttributes"] for e in events
                                   if e["event_type"] == "task.created" and e["event_data"]["TaskSid"] == record.sid))
            assert data == record.arrival.attributes
        # API calls on each task before cleansim: handled = create + wrapping + completed, abandoned = + cancel
        for record in created:
            calls = [m for m, path in srv.requests if path.endswith(f"/Tasks/{record.sid}")]
            if record.outcome == "abandoned":
                assert calls.count("POST") >= 1 and "GET" not in calls
            elif lines[record.sid].accepted is not None:
                assert "GET" not in calls and calls.count("POST") <= 2 + (lines[record.sid].completed is None)
        sent = Counter(r.arrival.channel for r in created)
        at_emulator = Counter(e["event_data"]["TaskChannelUniqueName"] for e in events
                              if e["event_type"] == "task.created")
        assert sent == at_emulator and set(sent) <= {"voice", "chat", "sms"}
        # the achieved mix at the emulator is within tolerance of the configured portions
        n = sum(at_emulator.values())
        assert within_tolerance(at_emulator, {c.name: c.portion for c in config.channels()}, n)
        topic = config.task_instances("arrival")[0]
        assert topic.name == "topic"
        topics = Counter(json.loads(e["event_data"]["TaskAttributes"])["topic"] for e in events
                         if e["event_type"] == "task.created")
        assert within_tolerance(topics, dict(zip(topic.values, topic.portions)), n)


def test_faults_no_stuck_task_and_no_crash(tmp_path):
    speed = 40.0
    faults = dict(latency_ms=200, error_rate=0.10, server_error_rate=0.02)
    with workspace(tmp_path, agents=3, seed=8, **faults) as (srv, config, twilio, tr, events):
        sim, health = simulate(srv, config, twilio, tr, seconds=6.0, speed=speed, link=False)
        assert sim.summary.created > 5
        assert [t.sid for t in flexsim_tasks(srv) if t.assignment_status in LIVE] == []
        lines = task_timelines(events, marker="flexsim")
        assert all(line.completed is not None or line.canceled is not None for line in lines.values())
        assert tr.statuses[429] > 0 and tr.statuses[500] > 0   # the faults really were injected


def _custsim_cli(srv, cfgdir, seed, time_limit, speed, flag="--timeLim"):
    env = {k: v for k, v in os.environ.items() if k not in ("ACCOUNT_SID", "AUTH_TOKEN", "WRKSPC_SID")}
    env.update(ACCOUNT_SID=srv.account_sid, AUTH_TOKEN=srv.auth_token, WRKSPC_SID=srv.workspace_sid,
               TASKROUTER_URL=srv.url)
    cmd = [sys.executable, "-m", "flexsim", "custsim", "--cfgdir", str(cfgdir), "--seed", str(seed),
           flag, str(time_limit), "--speed", str(speed)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(cfgdir.parent))


def _sequence(srv, since_sids=frozenset()):
    with srv.engine.lock:
        tasks = [t for t in srv.engine.list_tasks() if t.attributes.get("flexsim") is True
                 and t.sid not in since_sids]
    tasks.sort(key=lambda t: t.date_created)
    return [(t.attributes["name"], t.attributes["topic"], t.task_channel_sid) for t in tasks], {t.sid for t in tasks}


def _run_to_end(proc, at_least):
    started = time.monotonic()
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert time.monotonic() - started >= at_least   # the time limit is wall seconds, not simulated ones
    return out


def test_cli_same_seed_same_task_sequence_and_sigterm_gives_summary(tmp_path):
    with workspace(tmp_path, agents=1) as (srv, config, twilio, tr, events):
        out = _run_to_end(_custsim_cli(srv, tmp_path / "config", seed=21, time_limit=2.5, speed=50), 2.5)
        assert "custsim: " in out and "tasks created" in out
        first, seen = _sequence(srv)
        out = _run_to_end(_custsim_cli(srv, tmp_path / "config", seed=21, time_limit=2.5, speed=50,
                                       flag="--time-limit"), 2.5)
        second, seen2 = _sequence(srv, seen)
        # 2.5 wall s at speed 50 with gaps of 5-10 simulated s: about 16 tasks per run
        assert min(len(first), len(second)) >= 8
        # Both runs draw the same sequence; one may stop a task or two later than the other.
        # Creates run concurrently (a slow create can land after the next one), so compare
        # the shorter run's tasks as a multiset within the longer one's.
        shorter, longer = sorted((first, second), key=len)
        assert not Counter(shorter) - Counter(longer)
        # SIGTERM: stops early, prints the summary, exits 0; another seed gives other customers
        proc = _custsim_cli(srv, tmp_path / "config", seed=22, time_limit=600, speed=50)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_sequence(srv, seen | seen2)[0]) < 3:
            time.sleep(0.05)
        third, _ = _sequence(srv, seen | seen2)
        assert len(third) >= 3
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "tasks created" in out and "abandoned" in out and "failed" in out
        assert Counter(third) - Counter(first)   # not the seed-21 customers


def test_custsim_without_deploy_fails_clearly(tmp_path, cli_runner):
    generate_config(tmp_path / "domain", tmp_path / "config", random.Random(1), 1)
    with EmulatorServer() as srv:
        from flexsim.cli import cli

        result = cli_runner.invoke(cli, [
            "custsim", "--cfgdir", str(tmp_path / "config"), "--acct", srv.account_sid, "--auth", srv.auth_token,
            "--wrkspc", srv.workspace_sid, "--taskrouter-url", srv.url, "--timeLim", "1"])
        assert result.exit_code == 1
        assert "Error: workflow 'Owl Industries Workflow' does not exist" in result.output
        assert "run flexsim deploy" in result.output
