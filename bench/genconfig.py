"""Benchmark: `flexsim genconfig` for 10,000 agents, timed as a whole process.

Each run starts a fresh `flexsim` process (start-up, imports, validation, generation
and writing all count) and reads its wall time and peak RSS from os.wait4.
Targets: median wall < 1.0 s, peak RSS < 120 MB.

Usage: .venv/bin/python bench/genconfig.py [--agents 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WALL_TARGET_S = 1.0
RSS_TARGET_MB = 120.0


def run_once(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``command`` once; return (wall seconds, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    flexsim = Path(sys.executable).with_name("flexsim")
    with tempfile.TemporaryDirectory(prefix="flexsim-bench-") as tmp:
        work = Path(tmp)
        (work / "domain").mkdir()
        (work / "domain" / "domain.json").write_text(json.dumps({"agentCnt": args.agents}))
        command = [str(flexsim), "genconfig", "--domaindir", "domain", "--cfgdir", "config", "--seed", "1"]
        run_once(command, work)  # warm-up: fills the OS file cache and writes __pycache__
        results = [run_once(command, work) for _ in range(args.runs)]
        size = (work / "config" / "workers.json").stat().st_size
    walls = [w for w, _ in results]
    rss = max(r for _, r in results)
    median = statistics.median(walls)
    print(f"command: cd <tmp> && {' '.join(['flexsim', *command[1:]])}  (domain/domain.json: agentCnt {args.agents})")
    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}, {platform.system()}")
    print(f"runs: {args.runs} (after 1 warm-up); workers.json {size / 1e6:.1f} MB")
    print(f"wall: median {median:.3f} s, min {min(walls):.3f} s, max {max(walls):.3f} s "
          f"(target < {WALL_TARGET_S} s) {'OK' if median < WALL_TARGET_S else 'MISSED'}")
    print(f"peak RSS: {rss:.1f} MB (target < {RSS_TARGET_MB:.0f} MB) {'OK' if rss < RSS_TARGET_MB else 'MISSED'}")


if __name__ == "__main__":
    main()
