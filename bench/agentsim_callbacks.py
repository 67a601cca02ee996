"""agentsim's /reservation latency: signed callbacks at 100/s for 60 s (target p99 < 20 ms).

Set-up: the emulator and ``flexsim agentsim`` (100 agents of the default domain, with a
talk time of 100-120 s so no task reaches wrap-up within the run, and ``--stay-online``
so shutdown makes no writes) run as subprocesses. The agents live their normal activity
life against the emulator meanwhile. This process then sends assignment callbacks,
signed with the account's auth token exactly as TaskRouter signs them, on a fixed
schedule (request *i* starts at ``i / rate`` s), each on a fresh connection, spread over
the agents, and times each request from connect to the end of the response.

    .venv/bin/python bench/agentsim_callbacks.py                   # 100/s for 60 s
    .venv/bin/python bench/agentsim_callbacks.py --rate 50 --duration 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).parent))
from agentsim_common import (cpu_seconds, make_config, peak_rss_mb, percentile, setup_workspace,  # noqa: E402
                             start_agentsim, start_emulator, wait_for, free_port)

from flexsim.taskrouter import TaskRouter  # noqa: E402


def post(port: int, body: str, signature: str) -> tuple[float, int, str]:
    """One callback on a new connection; returns (seconds, status, body)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/reservation", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
        reply = conn.getresponse()
        text = reply.read().decode()
        return time.perf_counter() - started, reply.status, text
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="callbacks per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--agents", type=int, default=100)
    args = parser.parse_args()

    emulator, settings = start_emulator()
    agentsim = None
    try:
        folder = Path(tempfile.mkdtemp(prefix="bench-agentsim-"))
        config = make_config(folder, {"agentCnt": args.agents, "props": {"talkTime": {"min": 100, "max": 120}}})
        port = free_port()
        url = f"http://127.0.0.1:{port}/reservation"
        with TaskRouter(settings) as tr:
            setup_workspace(tr, config, url)
            workers = [w.sid for w in tr.list_workers()]
        agentsim = start_agentsim(settings, folder / "cfg", port, "--stay-online")
        wait_for(lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/") or True,
                 60, "agentsim to listen")
        validator = RequestValidator(settings.auth_token)
        total = int(args.rate * args.duration)
        requests = []
        for i in range(total):
            params = {"AccountSid": settings.account_sid, "WorkspaceSid": settings.workspace_sid,
                      "WorkflowSid": "WW" + "0" * 32, "TaskQueueSid": "WQ" + "0" * 32,
                      "WorkerSid": workers[i % len(workers)], "WorkerAttributes": "{}",
                      "TaskSid": "WT" + secrets.token_hex(16), "ReservationSid": "WR" + secrets.token_hex(16),
                      "TaskAttributes": json.dumps({"flexsim": True, "topic": "Sales", "n": i}),
                      "TaskAge": "0", "TaskPriority": "0", "Timestamp": str(int(time.time()))}
            requests.append((urlencode(params), validator.compute_signature(url, params)))
        cpu_before = cpu_seconds(agentsim.pid)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = []
            for i, (body, signature) in enumerate(requests):
                delay = started + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(post, port, body, signature))
            results = [f.result() for f in futures]
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(agentsim.pid) - cpu_before
        latencies = [r[0] * 1000 for r in results]
        answers = Counter(f"{status} {json.loads(text)['instruction'] if text else 'empty'}"
                          for _, status, text in results)
        figures = {
            "callbacks": total, "rate_per_s": round(total / elapsed, 1), "seconds": round(elapsed, 1),
            "p50_ms": round(percentile(latencies, 50), 2), "p95_ms": round(percentile(latencies, 95), 2),
            "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(max(latencies), 2),
            "answers": dict(answers), "agentsim_cpu_percent": round(100 * cpu / elapsed, 1),
            "agentsim_peak_rss_mb": round(peak_rss_mb(agentsim.pid), 1),
        }
        print(json.dumps(figures))
        return 0 if figures["p99_ms"] < 20 else 1
    finally:
        if agentsim is not None:
            agentsim.send_signal(signal.SIGTERM)
            agentsim.wait(timeout=60)
        emulator.send_signal(signal.SIGINT)
        emulator.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
