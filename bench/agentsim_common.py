"""Shared set-up for the agentsim benchmarks: an emulator, a config, a workspace, agentsim.

Both the emulator and agentsim run as subprocesses started the way a user starts them,
so their CPU time and peak memory can be read from /proc on their own.
"""

from __future__ import annotations

import json
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from flexsim.config import Config, load_config
from flexsim.genconfig import generate_config
from flexsim.options import TwilioSettings
from flexsim.taskrouter import TaskRouter

FLEXSIM = str(Path(sys.executable).with_name("flexsim"))


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator() -> tuple[subprocess.Popen, TwilioSettings]:
    """Run ``flexsim emulator`` on a free port; return the process and settings pointing at it."""
    account, workspace, token = "AC" + secrets.token_hex(16), "WS" + secrets.token_hex(16), secrets.token_hex(16)
    proc = subprocess.Popen(
        [FLEXSIM, "emulator", "--port", "0", "--account-sid", account, "--auth-token", token,
         "--workspace-sid", workspace, "--filtered-list-rps", "0", "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.startswith("TASKROUTER_URL="):
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # type: ignore[union-attr]
            url = line.strip().split("=", 1)[1]
            return proc, TwilioSettings(account_sid=account, auth_token=token, workspace_sid=workspace,
                                        taskrouter_url=url, concurrency=16)
    raise RuntimeError("the emulator exited before printing its URL")


def make_config(folder: Path, domain: dict[str, Any]) -> Config:
    """genconfig for ``domain`` (merged over en-us) into ``folder/cfg``."""
    domaindir = folder / "domain"
    domaindir.mkdir(parents=True, exist_ok=True)
    (domaindir / "domain.json").write_text(json.dumps(domain))
    generate_config(domaindir, folder / "cfg", random.Random(1), 1)
    return load_config(folder / "cfg")


def setup_workspace(tr: TaskRouter, config: Config, callback_url: str) -> str:
    """Create the config's activities and workers, a queue of them and a workflow; return its SID."""
    ws = tr.workspace
    names = {a.friendly_name for a in tr.list_activities()}
    for activity in config.activities():
        if activity.name not in names:
            ws.activities.create(friendly_name=activity.name, available=activity.name == "Available")
    tr.map(lambda spec: tr.call("create", spec.friendly_name, lambda: ws.workers.create(
        friendly_name=spec.friendly_name, attributes=json.dumps(spec.attributes))), config.workers)
    queue = ws.task_queues.create(friendly_name="Agents", target_workers="flexsim == true").sid
    routing = {"task_routing": {"filters": [], "default_filter": {"queue": queue}}}
    return ws.workflows.create(friendly_name="Bench Workflow", configuration=json.dumps(routing),
                               assignment_callback_url=callback_url).sid


def start_agentsim(settings: TwilioSettings, cfgdir: Path, port: int, *extra: str) -> subprocess.Popen:
    """Run ``flexsim agentsim`` as a user would; its log goes to ``cfgdir/../agentsim.log``."""
    log = open(cfgdir.parent / "agentsim.log", "w")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [FLEXSIM, "agentsim", "--cfgdir", str(cfgdir), "--port", str(port), "--acct", str(settings.account_sid),
         "--auth", str(settings.auth_token), "--wrkspc", str(settings.workspace_sid),
         "--taskrouter-url", str(settings.taskrouter_url), "--seed", "1", *extra],
        stdout=log, stderr=subprocess.STDOUT)


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    """Poll ``predicate`` until it is truthy or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - not up yet
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    import os

    return ticks / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered))) - 1))]
