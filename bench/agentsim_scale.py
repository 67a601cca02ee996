"""agentsim with 15,000 agents against the emulator at speed 1: peak RSS and steady-state CPU.

Targets: agentsim's peak RSS under 500 MB and steady-state CPU under 50% of one core.

Set-up: the emulator and ``flexsim agentsim`` run as subprocesses. The workspace gets the
default domain's activities and 15,000 flexsim workers behind one queue whose workflow
calls agentsim. The bench then waits until every agent is signed in (no worker left
Offline in the emulator's real-time statistics), measures agentsim's CPU time over a
steady-state window while this process creates tasks at a modest rate (default 5/s,
handled end to end by the agents), and finally sends SIGTERM and times the sign-out.
CPU is read from /proc/<pid>/stat (user + system, all threads), peak RSS from VmHWM.

    .venv/bin/python bench/agentsim_scale.py                       # 15,000 agents, 60 s window
    .venv/bin/python bench/agentsim_scale.py --agents 2000 --window 20
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from agentsim_common import (cpu_seconds, free_port, make_config, peak_rss_mb, setup_workspace,  # noqa: E402
                             start_agentsim, start_emulator, wait_for)

from flexsim.taskrouter import TaskRouter  # noqa: E402


def offline_count(tr: TaskRouter) -> int:
    """Workers in Offline, from the workspace's real-time statistics."""
    stats = tr.workspace.real_time_statistics().fetch()
    return sum(a["workers"] for a in stats.activity_statistics if a["friendly_name"] == "Offline")


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
        return json.loads(reply.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=15_000)
    parser.add_argument("--window", type=float, default=60.0, help="steady-state measuring window, seconds")
    parser.add_argument("--task-rate", type=float, default=5.0, help="tasks created per second meanwhile")
    args = parser.parse_args()

    emulator, settings = start_emulator()
    agentsim = None
    figures: dict = {"agents": args.agents}
    try:
        folder = Path(tempfile.mkdtemp(prefix="bench-agentsim-scale-"))
        config = make_config(folder, {"agentCnt": args.agents})
        port = free_port()
        with TaskRouter(settings) as tr:
            t0 = time.monotonic()
            workflow = setup_workspace(tr, config, f"http://127.0.0.1:{port}/reservation")
            figures["setup_s"] = round(time.monotonic() - t0, 1)
            t0 = time.monotonic()
            agentsim = start_agentsim(settings, folder / "cfg", port)
            wait_for(lambda: health(port), 600, "agentsim to listen")
            figures["start_to_listen_s"] = round(time.monotonic() - t0, 1)
            wait_for(lambda: offline_count(tr) == 0, 900, "every agent to sign in")
            figures["start_to_all_signed_in_s"] = round(time.monotonic() - t0, 1)
            figures["rss_after_sign_in_mb"] = round(peak_rss_mb(agentsim.pid), 1)

            before = health(port)["tasks_handled"]
            cpu0, wall0 = cpu_seconds(agentsim.pid), time.monotonic()
            created = 0
            while time.monotonic() - wall0 < args.window:
                due = wall0 + created / args.task_rate if args.task_rate else wall0 + args.window
                if due > time.monotonic():
                    time.sleep(min(due, wall0 + args.window) - time.monotonic())
                    continue
                tr.workspace.tasks.create(workflow_sid=workflow, task_channel="voice",
                                          attributes=json.dumps({"flexsim": True, "topic": "Sales"}))
                created += 1
            cpu = cpu_seconds(agentsim.pid) - cpu0
            wall = time.monotonic() - wall0
            after = health(port)
            figures.update({
                "window_s": round(wall, 1), "tasks_created": created,
                "tasks_handled_in_window": after["tasks_handled"] - before,
                "reservations_offered": after["reservations_offered"],
                "api_failures": after["api_failures"],
                "agents_by_activity": after["agents"],
                "steady_cpu_percent_of_one_core": round(100 * cpu / wall, 1),
                "peak_rss_mb": round(peak_rss_mb(agentsim.pid), 1),
            })
        t0 = time.monotonic()
        agentsim.send_signal(signal.SIGTERM)
        figures["exit_code"] = agentsim.wait(timeout=600)
        figures["sigterm_to_exit_s"] = round(time.monotonic() - t0, 1)
        with TaskRouter(settings) as tr:
            figures["offline_after_exit"] = offline_count(tr)
        print(json.dumps(figures))
        ok = figures["peak_rss_mb"] < 500 and figures["steady_cpu_percent_of_one_core"] < 50
        return 0 if ok and figures["exit_code"] == 0 else 1
    finally:
        if agentsim is not None and agentsim.poll() is None:
            agentsim.kill()
        emulator.send_signal(signal.SIGINT)
        emulator.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
