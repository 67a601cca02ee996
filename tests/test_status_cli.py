"""``flexsim status`` against the emulator over real HTTP."""

from __future__ import annotations

import random
import threading

import pytest

from flexsim.cli import cli
from flexsim.config import load_config
from flexsim.deploy import DeployOptions, deploy_config
from flexsim.emulator.server import EmulatorServer
from flexsim.genconfig import generate_config
from flexsim.options import TwilioSettings
from flexsim.status import StatusReader, TaskRouterStatistics
from flexsim.taskrouter import TaskRouter

pytestmark = pytest.mark.integration


@pytest.fixture
def deployed(tmp_path):
    generate_config(tmp_path / "domain", tmp_path / "config", random.Random(2), 2, agent_cnt=4)
    config = load_config(tmp_path / "config")
    with EmulatorServer(seed=2) as srv:
        twilio = TwilioSettings(account_sid=srv.account_sid, auth_token=srv.auth_token,
                                workspace_sid=srv.workspace_sid, taskrouter_url=srv.url)
        with TaskRouter(twilio) as tr:
            deploy_config(config, tr, DeployOptions(create_missing=True))
            flow = next(w for w in tr.list_workflows() if w.friendly_name == config.workflow.friendly_name)
            for topic in ("Sales", "Sales", "Support"):
                tr.workspace.tasks.create(workflow_sid=flow.sid, task_channel="voice",
                                          attributes=f'{{"topic": "{topic}"}}')
            yield srv, twilio, tr


def args(srv):
    return ["--acct", srv.account_sid, "--auth", srv.auth_token, "--wrkspc", srv.workspace_sid,
            "--taskrouter-url", srv.url]


def test_once_prints_one_snapshot_from_realtime_statistics(deployed, cli_runner):
    srv, _, _ = deployed
    before = len(srv.requests)
    result = cli_runner.invoke(cli, ["status", "--once", *args(srv)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("workspace at ") and "4 agents; tasks waiting 3, reserved 0" in lines[0]
    assert lines[1].startswith("agents by activity: Offline 4")
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    assert rows["Sales"][:4] == ["2", "0", "0", "0"]
    assert rows["Support"][:4] == ["1", "0", "0", "0"]
    assert rows["Everyone"][-1] == "4"   # eligible: every agent matches 1==1
    paths = [path for _, path in srv.requests[before:]]
    assert all(p.endswith("/RealTimeStatistics") or p.endswith("/TaskQueues") for p in paths)


def test_status_without_credentials_is_a_one_line_error(cli_runner):
    result = cli_runner.invoke(cli, ["status", "--once"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: no account SID")


def test_reader_over_the_access_layer_caches_between_refreshes(deployed):
    srv, _, tr = deployed
    now = [1000.0]
    reader = StatusReader(TaskRouterStatistics(tr), interval=2.0, now=lambda: now[0])
    before = len(srv.requests)
    first = reader.snapshot()
    calls = len(srv.requests) - before
    assert calls == 1 + 1 + len(first.queues)   # queue list, workspace, one per queue
    reader.snapshot()
    assert len(srv.requests) - before == calls
    now[0] += 2.0
    reader.snapshot()
    assert len(srv.requests) - before == 2 * calls - 1   # the queue list is not re-read


def test_live_view_stops_on_the_event(deployed):
    srv, twilio, tr = deployed
    import io

    from rich.console import Console

    from flexsim.status import run_status

    out = io.StringIO()
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    run_status(tr, Console(file=out, width=200), stop, interval=0.1)
    assert "waiting 3" in out.getvalue()


def test_without_a_terminal_prints_a_plain_line_per_interval_until_sigint(deployed):
    import os
    import queue
    import re
    import signal
    import subprocess
    import sys
    import time

    srv, _, _ = deployed
    env = {k: v for k, v in os.environ.items() if k not in ("ACCOUNT_SID", "AUTH_TOKEN", "WRKSPC_SID")}
    env.update(ACCOUNT_SID=srv.account_sid, AUTH_TOKEN=srv.auth_token, WRKSPC_SID=srv.workspace_sid,
               TASKROUTER_URL=srv.url)
    proc = subprocess.Popen([sys.executable, "-m", "flexsim", "status", "--interval", "0.3"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        got = [lines.get(timeout=30) for _ in range(3)]
    finally:
        proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read()
    assert time.monotonic() - started < 10
    for line in got:   # plain periodic lines, no terminal control codes
        assert re.fullmatch(r"\d\d:\d\d:\d\d agents Offline=4 Available=0 [^|]*\| "
                            r"waiting 3 reserved 0 assigned 0 wrapping 0 \| longest \d+s\n", line), line
