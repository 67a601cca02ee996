"""Emulator routing latency and memory: 15,000 workers, 10 queues, 50 task creations/s for 60 s.

The emulator runs as a subprocess (``flexsim emulator``), exactly as a user starts it. The
bench creates 15,000 available workers spread over 10 queues (one workflow filter per
queue) through the SDK, points the workflow at a local callback server that answers
``{"instruction": "accept"}`` at once, then creates tasks at a steady rate with the SDK.
For each task it measures, on this process's monotonic clock, the time from the start of
the create request to the arrival of the assignment callback (= reservation created and
delivered). Peak RSS is the emulator process's VmHWM from /proc.

    .venv/bin/python bench/emulator.py                         # 15,000 workers, 50/s for 60 s
    .venv/bin/python bench/emulator.py --workers 2000 --duration 10 --markdown BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from flask import Flask, Response, request
from twilio.rest import Client

from flexsim.wsgi_server import BackgroundWSGIServer

QUEUES = 10


def start_emulator(account: str, token: str, workspace: str) -> tuple[subprocess.Popen, str]:
    """Run ``flexsim emulator`` on a free port; return the process and its URL."""
    exe = Path(sys.executable).with_name("flexsim")
    proc = subprocess.Popen(
        [str(exe), "emulator", "--port", "0", "--account-sid", account, "--auth-token", token,
         "--workspace-sid", workspace, "--filtered-list-rps", "0", "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.startswith("TASKROUTER_URL="):
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # type: ignore[union-attr]
            return proc, line.strip().split("=", 1)[1]
    raise RuntimeError("the emulator exited before printing its URL")


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def callback_app(arrivals: dict[str, float]) -> Flask:
    """Accept every reservation at once and note when each task's callback arrived."""
    app = Flask("bench-callbacks")
    answer = json.dumps({"instruction": "accept"})

    @app.route("/assign", methods=["POST"])
    def assign() -> Response:
        arrivals.setdefault(request.form["TaskSid"], time.monotonic())
        return Response(answer, mimetype="application/json")

    return app


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered))) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=15_000)
    parser.add_argument("--rate", type=float, default=50.0, help="task creations per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--threads", type=int, default=4, help="concurrent task-creating SDK clients")
    parser.add_argument("--markdown", help="append a results section to this file")
    args = parser.parse_args()

    account, token, workspace = "AC" + secrets.token_hex(16), secrets.token_hex(16), "WS" + secrets.token_hex(16)
    proc, url = start_emulator(account, token, workspace)
    arrivals: dict[str, float] = {}
    callbacks = BackgroundWSGIServer(callback_app(arrivals), "127.0.0.1", 0, threads=8, name="bench-cb").start()
    local = threading.local()

    def ws():
        if not hasattr(local, "ws"):
            client = Client(account, token, environment={"FLEXSIM_BENCH": "1"})
            client.taskrouter.base_url = url
            local.ws = client.taskrouter.v1.workspaces(workspace)
        return local.ws

    try:
        setup_start = time.monotonic()
        available = next(a.sid for a in ws().activities.list(friendly_name="Available"))
        queues = [ws().task_queues.create(friendly_name=f"Q{i}", target_workers=f"queue == 'q{i}'").sid
                  for i in range(QUEUES)]
        config = {"task_routing": {"filters": [
            {"filter_friendly_name": f"q{i}", "expression": f"queue == 'q{i}'", "targets": [{"queue": sid}]}
            for i, sid in enumerate(queues)], "default_filter": {"queue": queues[0]}}}
        flow = ws().workflows.create(friendly_name="Bench", configuration=json.dumps(config),
                                     assignment_callback_url=f"http://127.0.0.1:{callbacks.port}/assign").sid
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: ws().workers.create(
                friendly_name=f"agent{i:05d}", activity_sid=available,
                attributes=json.dumps({"queue": f"q{i % QUEUES}"})), range(args.workers)))
        setup = time.monotonic() - setup_start
        rss_setup = peak_rss_mb(proc.pid)
        print(f"setup: {args.workers} workers, {QUEUES} queues in {setup:.1f} s; "
              f"emulator peak RSS {rss_setup:.0f} MiB", flush=True)

        total = int(args.rate * args.duration)
        starts: dict[str, float] = {}
        create_times: list[float] = []
        t0 = time.monotonic() + 0.5

        def create(n: int) -> None:
            time.sleep(max(0.0, t0 + n / args.rate - time.monotonic()))
            began = time.monotonic()
            attributes = json.dumps({"queue": f"q{n % QUEUES}"})
            task = ws().tasks.create(workflow_sid=flow, attributes=attributes)
            create_times.append(time.monotonic() - began)
            starts[task.sid] = began

        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(create, range(total)))
        achieved = total / (time.monotonic() - t0)
        deadline = time.monotonic() + 10
        while len(arrivals) < total and time.monotonic() < deadline:
            time.sleep(0.05)
        latencies = [(arrivals[sid] - began) * 1000 for sid, began in starts.items() if sid in arrivals]
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        code = proc.wait(timeout=15)
        callbacks.stop()

    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    lines = [
        f"- tasks created: {total} at {achieved:.1f}/s (target {args.rate:g}/s for {args.duration:g} s); "
        f"callbacks received: {len(latencies)}",
        f"- creation → reservation callback: p50 {p50:.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(latencies):.1f} ms (target p99 < 50 ms)",
        f"- create request alone: p50 {percentile([t * 1000 for t in create_times], 50):.1f} ms, "
        f"p99 {percentile([t * 1000 for t in create_times], 99):.1f} ms",
        f"- emulator peak RSS (VmHWM): {rss:.0f} MiB (after setup {rss_setup:.0f} MiB; target < 1024 MiB)",
        f"- setup ({args.workers} workers over HTTP, 8 threads): {setup:.1f} s; "
        f"emulator exit code on SIGTERM: {code}",
    ]
    print("\n".join(lines))
    if args.markdown:
        command = ".venv/bin/python bench/emulator.py" + "".join(f" {a}" for a in sys.argv[1:])
        section = (f"\n## Emulator: routing latency and memory (bench/emulator.py)\n\n"
                   f"{args.workers:,} workers in {QUEUES} queues, immediate-accept callbacks, {args.threads} "
                   f"task-creating SDK threads, on {os.cpu_count()} CPUs; the emulator is a `flexsim emulator` "
                   f"subprocess, the bench and its callback server share the other process.\n"
                   f"Command: `{command}`\n\n" + "\n".join(lines) + "\n")
        with open(args.markdown, "a", encoding="utf-8") as fh:
            fh.write(section)
    return 0 if latencies and p99 < 50 and rss < 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
