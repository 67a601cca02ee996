"""``flexsim emulator`` as a user runs it: .env lines, real requests, a clean stop on signals."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from flexsim.cli import cli

from emulator_http import wait_for

pytestmark = pytest.mark.integration


def start(*args: str) -> tuple[subprocess.Popen, dict[str, str]]:
    exe = Path(sys.executable).with_name("flexsim")
    proc = subprocess.Popen([str(exe), "emulator", "--port", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    env: dict[str, str] = {}
    for line in proc.stdout:  # type: ignore[union-attr]
        if "=" in line:
            key, value = line.strip().split("=", 1)
            env[key] = value
        if "TASKROUTER_URL" in env:
            break
    return proc, env


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_env_lines_serves_and_stops_cleanly(sig):
    proc, env = start("--account-sid", "AC" + "a" * 32, "--workspace-sid", "WS" + "b" * 32, "--seed", "3")
    try:
        assert env["ACCOUNT_SID"] == "AC" + "a" * 32
        assert env["WRKSPC_SID"] == "WS" + "b" * 32
        assert len(env["AUTH_TOKEN"]) == 32
        assert env["TASKROUTER_URL"].startswith("http://127.0.0.1:")
        response = requests.get(f"{env['TASKROUTER_URL']}/v1/Workspaces/{env['WRKSPC_SID']}",
                                auth=(env["ACCOUNT_SID"], env["AUTH_TOKEN"]), timeout=10)
        assert response.status_code == 200
        assert response.json()["friendly_name"] == "Flex Task Assignment"
    finally:
        proc.send_signal(sig)
        out = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0
    assert "Emulator stopped after 1 request." in out


def test_generated_credentials_look_like_twilio_ones():
    proc, env = start()
    try:
        assert env["ACCOUNT_SID"].startswith("AC") and len(env["ACCOUNT_SID"]) == 34
        assert env["WRKSPC_SID"].startswith("WS") and len(env["WRKSPC_SID"]) == 34
        int(env["AUTH_TOKEN"], 16)
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_bad_options_are_refused(cli_runner):
    result = cli_runner.invoke(cli, ["emulator", "--account-sid", "nope"])
    assert result.exit_code == 2
    assert "must be AC followed by 32 hex digits" in result.output
    result = cli_runner.invoke(cli, ["emulator", "--api-key", "SK" + "1" * 32])
    assert result.exit_code == 2
    assert "--api-key and --api-secret go together" in result.output


def test_rate_limit_and_purge_delay_are_configurable():
    proc, env = start("--filtered-list-rps", "1", "--purge-after", "1")
    auth = (env["ACCOUNT_SID"], env["AUTH_TOKEN"])
    base = f"{env['TASKROUTER_URL']}/v1/Workspaces/{env['WRKSPC_SID']}"
    try:
        filtered = [requests.get(f"{base}/Tasks", params={"EvaluateTaskAttributes": "1==1"}, auth=auth, timeout=10)
                    for _ in range(2)]
        assert [r.status_code for r in filtered] == [200, 429]
        assert filtered[1].json()["code"] == 20429 and filtered[1].headers["Retry-After"]
        sid = requests.post(f"{base}/Tasks", data={"Attributes": "{}"}, auth=auth, timeout=10).json()["sid"]
        canceled = requests.post(f"{base}/Tasks/{sid}", data={"AssignmentStatus": "canceled"}, auth=auth, timeout=10)
        assert canceled.json()["assignment_status"] == "canceled"
        wait_for(lambda: requests.get(f"{base}/Tasks/{sid}", auth=auth, timeout=10).status_code == 404,
                 timeout=10, what="the canceled task to be purged after 1 s")
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert proc.returncode == 0
