"""``flexsim demo`` with default settings: wall time and peak RSS of the whole process.

Runs ``flexsim demo`` (duration 60 s, speed 10, the default domain) as a child process with
its output piped (so the status view prints plain lines), then reads the child's peak RSS
from ``getrusage(RUSAGE_CHILDREN)``. Targets: wall time within duration + 10 s, RSS < 300 MB.

    .venv/bin/python bench/demo.py                     # flexsim demo with defaults
    .venv/bin/python bench/demo.py -- --duration 20    # extra arguments go to flexsim demo
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    extra = sys.argv[1:]
    if extra[:1] == ["--"]:
        extra = extra[1:]
    flexsim = Path(sys.executable).with_name("flexsim")
    cmd = [str(flexsim), "demo", *extra]
    duration = float(extra[extra.index("--duration") + 1]) if "--duration" in extra else 60.0
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = [line for line in proc.stdout.splitlines() if line.startswith("  ")]
    result = {"command": " ".join(["flexsim", "demo", *extra]), "exit_code": proc.returncode,
              "duration_s": duration, "wall_s": round(wall, 2), "peak_rss_mb": round(peak_mb, 1),
              "kpis": [line.strip() for line in summary]}
    print(json.dumps(result, indent=2))
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
    return 0 if proc.returncode == 0 and wall <= duration + 10 and peak_mb < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
