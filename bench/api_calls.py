"""API calls per task, counted at the emulator (``srv.requests``) during a whole simulation.

One run per mode, each on a fresh emulator with the default domain: genconfig, deploy,
agentsim and custsim in one process at ``--speed`` for ``--seconds`` wall seconds. Then every
request whose path names a task (``/Tasks/WT…``) is attributed to it, plus one create each.

- ``linked`` (what ``flexsim demo`` runs): agentsim's accepts reach custsim, which then
  never sends a cancel to an answered task.
- ``feed``: custsim as ``flexsim custsim`` beside a separate agentsim, reading the tasks agents
  took from agentsim's ``GET /answered`` before each cancel (the default ``--agentsim-url``).
- ``standalone``: the same without the feed (``--agentsim-url ''``); its abandonment cancel
  reaches answered tasks too (a 400, ignored).

Targets: at most 3 calls per handled task, at most 1 more per abandoned task (create + cancel).

    .venv/bin/python bench/api_calls.py
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from flexsim.agentsim_server import AgentSimServer, AgentSimSettings
from flexsim.config import load_config
from flexsim.customers import run_custsim
from flexsim.demo import link_answers
from flexsim.deploy import DeployOptions, deploy_config
from flexsim.emulator.server import EmulatorServer
from flexsim.genconfig import generate_config
from flexsim.kpi import task_timelines
from flexsim.options import TwilioSettings
from flexsim.taskrouter import TaskRouter

TASK_PATH = re.compile(r"/Tasks/(WT[0-9a-f]{32})$")


def run(mode: str, seconds: float, speed: float, agents: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        generate_config(Path(scratch) / "domain", Path(scratch) / "config", random.Random(seed), seed,
                        agent_cnt=agents)
        config = load_config(Path(scratch) / "config")
        with EmulatorServer(seed=seed) as srv:
            events: list[dict] = []
            srv.engine.on_event.add_listener(lambda event: events.append(
                {"event_type": event.event_type, "event_date": event.event_date, "event_data": event.event_data}))
            twilio = TwilioSettings(account_sid=srv.account_sid, auth_token=srv.auth_token,
                                    workspace_sid=srv.workspace_sid, taskrouter_url=srv.url)
            with TaskRouter(twilio) as tr:
                deploy_config(config, tr, DeployOptions(create_missing=True))
                sim_agents = AgentSimServer(config, twilio, AgentSimSettings(port=0, seed=seed, speed=speed),
                                            tr=tr).start()
                try:
                    deploy_config(config, tr, DeployOptions(assign_url=sim_agents.reservation_url))
                    first = len(srv.requests)
                    setup = (lambda sim: link_answers(sim_agents.sim.events, sim)) if mode == "linked" else None
                    feed = sim_agents.url if mode == "feed" else None
                    sim = run_custsim(config, tr, time_limit=seconds, speed=speed, rng=random.Random(seed),
                                      setup=setup, agentsim_url=feed)
                finally:
                    sim_agents.stop()
                requests = srv.requests[first:]
    per_task = Counter(m.group(1) for _, path in requests if (m := TASK_PATH.search(path)))
    creates = sum(1 for method, path in requests if method == "POST" and path.endswith("/Tasks"))
    lines = task_timelines(events, marker="flexsim")
    handled = [sid for sid, line in lines.items() if line.completed is not None]
    abandoned = [r.sid for r in sim.records if r.outcome == "abandoned"]
    calls = lambda sids: [1 + per_task[s] for s in sids]  # noqa: E731 - the create plus calls on the task
    h, a = calls(handled), calls(abandoned)
    return {
        "mode": mode, "tasks_created": sim.summary.created, "creates_seen": creates,
        "handled_completed": len(handled), "abandoned": len(abandoned),
        "calls_per_handled_mean": round(sum(h) / len(h), 3) if h else None, "calls_per_handled_max": max(h, default=None),
        "calls_per_abandoned_mean": round(sum(a) / len(a), 3) if a else None, "calls_per_abandoned_max": max(a, default=None),
        "task_fetches": sum(1 for method, path in requests if method == "GET" and TASK_PATH.search(path)),
        "refused_cancels": sum(1 for calls_made in h if calls_made > 3),
        "all_requests_during_run": len(requests),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    results = [run(mode, args.seconds, args.speed, args.agents, args.seed) for mode in ("linked", "feed", "standalone")]
    print(json.dumps(results, indent=2))
    ok = all((r["calls_per_handled_max"] or 0) <= 3 and (r["calls_per_abandoned_max"] or 0) <= 2
             for r in results[:2])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
