"""``flexsim demo`` end to end on the embedded emulator (short and fast)."""

from __future__ import annotations

import io
import re
import time

import pytest
from rich.console import Console

from flexsim.cli import cli
from flexsim.demo import DemoSettings, run_demo

pytestmark = pytest.mark.integration


def test_demo_cli_prints_status_lines_and_kpis_within_the_time_budget(cli_runner):
    started = time.monotonic()
    result = cli_runner.invoke(cli, ["demo", "--duration", "4", "--speed", "30", "--agents", "3",
                                     "--seed", "4", "--interval", "1"], catch_exceptions=False)
    wall = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert wall < 4 + 10
    out = result.output
    # without a terminal: plain periodic lines with the demo's counters
    assert re.search(r"^\d\d:\d\d:\d\d agents .* \| created \d+, completed \d+, abandoned \d+$", out, re.M)
    for label in ("tasks created:", "tasks handled:", "tasks abandoned:", "average speed of answer:",
                  "service level (answered within 20 s):", "agent occupancy:",
                  "computed from the emulator's TaskRouter events"):
        assert label in out
    created = int(re.search(r"tasks created: (\d+)", out).group(1))
    assert created > 5


def test_demo_kpis_agree_with_custsim_counts_and_keeps_a_given_cfgdir(tmp_path):
    cfgdir = tmp_path / "demo-config"
    result = run_demo(DemoSettings(duration=4, speed=30, agents=3, seed=9, interval=1, cfgdir=str(cfgdir)),
                      Console(file=io.StringIO()), live=False)
    assert sorted(p.name for p in cfgdir.glob("*.json")) == ["metadata.json", "queues.json", "workers.json",
                                                             "workflow.json"]
    kpis, custsim = result.kpis, result.custsim
    assert kpis.created == custsim.created
    assert kpis.abandoned == custsim.abandoned
    assert kpis.handled + kpis.abandoned + kpis.still_waiting == kpis.created
    assert kpis.asa is not None and kpis.asa >= 0
    assert 0 <= kpis.service_level <= 1 and 0 < kpis.occupancy <= 1
    assert result.cleanup and result.wall_seconds < 4 + 10


def test_demo_reports_a_bad_domain_as_an_error(cli_runner, tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "domain.json").write_text('{"brnad": "x"}')
    result = cli_runner.invoke(cli, ["demo", "--domaindir", str(tmp_path / "bad"), "--duration", "1"])
    assert result.exit_code == 2
    assert "brnad" in result.output and "did you mean 'brand'" in result.output


def test_sigint_ends_the_demo_early_with_its_summary(tmp_path):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "flexsim", "demo", "--duration", "120", "--speed", "30",
                             "--agents", "2", "--seed", "1", "--interval", "0.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 30
    first = proc.stdout.readline()          # the first status line: everything runs
    assert " agents " in first and time.monotonic() < deadline
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 10
    assert "KPI summary" in out and "tasks created:" in out
    # peak RSS of the largest child this process has waited for: the demo, unless a bigger one ran
    import resource

    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 300 * 1024   # KiB on Linux
