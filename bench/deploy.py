"""Deploy throughput: 1,000 workers into the emulator with 100 ms injected latency per request.

Each mode deploys the same generated config into a fresh emulator workspace; the concurrent mode
(the default pool of 8) is compared with our own sequential mode (``--concurrency 1``), measured in
the same run as the baseline. A second, idempotent deploy is timed too (reads only, zero writes).

    .venv/bin/python bench/deploy.py                          # 1,000 workers, 100 ms, 8 vs 1
    .venv/bin/python bench/deploy.py --also 16                # ... and a pool of 16 as well
    .venv/bin/python bench/deploy.py --workers 200 --skip-sequential
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from flexsim.config import load_config
from flexsim.deploy import DeployOptions, deploy_config
from flexsim.emulator.server import EmulatorServer
from flexsim.genconfig import generate_config
from flexsim.options import DEFAULT_CONCURRENCY, TwilioSettings
from flexsim.taskrouter import TaskRouter


def run_mode(config, concurrency: int, latency_ms: float) -> dict[str, float]:
    """Deploy into a fresh emulator twice; return wall times and request counts."""
    with EmulatorServer(port=0, seed=1, latency_ms=latency_ms) as srv:
        settings = TwilioSettings(account_sid=srv.account_sid, auth_token=srv.auth_token,
                                  workspace_sid=srv.workspace_sid, taskrouter_url=srv.url, concurrency=concurrency)
        with TaskRouter(settings) as tr:
            options = DeployOptions(assign_url="http://127.0.0.1:9/reservation", create_missing=True)
            started = time.perf_counter()
            first = deploy_config(config, tr, options)
            wall = time.perf_counter() - started
            started = time.perf_counter()
            second = deploy_config(config, tr, options)
            again = time.perf_counter() - started
    return {"wall": wall, "requests": first.requests, "writes": first.writes, "again": again,
            "again_requests": second.requests, "again_writes": second.writes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--also", type=int, action="append", default=[], metavar="N",
                        help="Also measure concurrency N (repeatable).")
    parser.add_argument("--skip-sequential", action="store_true", help="Measure the concurrent mode only.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "domain").mkdir()
        generate_config(Path(tmp) / "domain", Path(tmp) / "cfg", random.Random(1), 1, agent_cnt=args.workers)
        config = load_config(Path(tmp) / "cfg")
    modes = [args.concurrency, *args.also] + ([] if args.skip_sequential else [1])
    results = {}
    for concurrency in modes:
        results[concurrency] = r = run_mode(config, concurrency, args.latency_ms)
        print(f"concurrency {concurrency:>2}: first deploy {r['wall']:7.1f} s ({r['requests']:.0f} requests, "
              f"{r['writes']:.0f} writes); second deploy {r['again']:6.1f} s ({r['again_requests']:.0f} requests, "
              f"{r['again_writes']:.0f} writes)", flush=True)
    for concurrency in (m for m in modes if m != 1 and 1 in results):
        ratio = results[1]["wall"] / results[concurrency]["wall"]
        print(f"sequential / concurrency {concurrency}: {ratio:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
