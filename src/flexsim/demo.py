"""``flexsim demo``: a whole simulation on the local emulator, no Twilio account needed.

Steps: start the TaskRouter emulator in-process on a free loopback port; genconfig into the
given or a temporary cfgdir; deploy with create-missing; start agentsim in-process on a free
port and point the workflow's AssignmentCallbackUrl at it (callbacks are signed with the
emulator's token and validated); run custsim for the duration (wall seconds) while the
status view shows the workspace; then stop custsim, sign the agents out, optionally clean up,
and summarise the KPIs.

KPIs come from the emulator's own event stream (collected live from the engine's event
hook), not from the simulators' beliefs; see :mod:`flexsim.kpi` for the definitions.
Emulator times are wall-clock, so durations are multiplied by ``speed`` into simulated seconds.
"""

from __future__ import annotations

import logging
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from flexsim.agentsim_server import AgentSimServer, AgentSimSettings
from flexsim.cleanup import clean_workspace
from flexsim.config import FLEXSIM_MARKER_KEY, load_config
from flexsim.customers import CustomerSim, CustsimSummary, run_custsim
from flexsim.deploy import DeployOptions, deploy_config
from flexsim.emulator.server import EmulatorServer
from flexsim.genconfig import generate_config
from flexsim.hooks import EventHook
from flexsim.kpi import KpiSummary, compute_kpis
from flexsim.options import TwilioSettings, make_rng
from flexsim.status import StatusReader, TaskRouterStatistics, watch
from flexsim.taskrouter import TaskRouter

log = logging.getLogger("flexsim.demo")


@dataclass(frozen=True)
class DemoSettings:
    """Choices for one demo run.

    :param cfgdir: where genconfig writes; None = a temporary folder removed afterwards.
    :param duration: how long custsim runs, in wall-clock seconds.
    :param speed: simulated seconds per wall second, for agents and customers alike.
    :param agents: overrides the domain's ``agentCnt``.
    :param clean: run cleansim at the end (cancel or complete what is left, sign agents out).
    :param interval: seconds between status refreshes.
    """

    domaindir: str = "domain"
    cfgdir: str | None = None
    duration: float = 60.0
    speed: float = 10.0
    agents: int | None = None
    seed: int | None = None
    locale: str = "en-us"
    clean: bool = True
    interval: float = 2.0
    emulator: dict[str, Any] = field(default_factory=dict)  # extra EmulatorServer arguments (fault injection)


@dataclass
class DemoResult:
    """What a demo run produced."""

    seed: int
    kpis: KpiSummary
    custsim: CustsimSummary
    agents: dict[str, Any]
    wall_seconds: float
    emulator_requests: int
    cleanup: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The closing summary."""
        return ["KPI summary", *(f"  {line}" for line in self.kpis.lines()),
                self.custsim.text(),
                f"agentsim: {self.agents.get('tasks_handled', 0)} tasks completed, "
                f"{self.agents.get('api_failures', 0)} API failures",
                f"{self.emulator_requests} TaskRouter requests; wall time {self.wall_seconds:.1f} s; "
                f"seed {self.seed}"]


def _event_dict(event: Any) -> dict[str, Any]:
    return {"event_type": event.event_type, "event_date": event.event_date, "event_data": event.event_data}


class Demo:
    """One demo run; ``run()`` does everything. Attributes are exposed for tests.

    :param console: where the status view goes (live on a terminal, plain lines otherwise).
    :param stop: set it to end the customer phase early (the CLI sets it on SIGINT/SIGTERM).
    :param on_ready: called with the demo once everything runs (tests inspect ``srv``).
    """

    def __init__(self, settings: DemoSettings, console: Console, stop: threading.Event | None = None,
                 on_ready: Callable[[Demo], None] | None = None, live: bool | None = None):
        self.settings = settings
        self.console = console
        self.stop = stop or threading.Event()
        self.on_ready = on_ready
        self.live = live
        self.srv: EmulatorServer | None = None
        self.agentsim: AgentSimServer | None = None
        self.customers: CustomerSim | None = None
        self.events: list[dict[str, Any]] = []
        self.cfgdir: Path | None = None
        self._events_lock = threading.Lock()

    def _collect(self, event: Any) -> None:
        with self._events_lock:
            self.events.append(_event_dict(event))

    def run(self) -> DemoResult:
        """Run the demo from start to finish; everything started is stopped, even on errors."""
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="flexsim-demo-") as scratch:
            self.cfgdir = Path(self.settings.cfgdir or scratch)
            rng, seed = make_rng(self.settings.seed)
            generate_config(self.settings.domaindir, self.cfgdir, rng, seed, locale=self.settings.locale,
                            agent_cnt=self.settings.agents)
            config = load_config(self.cfgdir)
            self.srv = EmulatorServer(seed=seed, **self.settings.emulator).start()
            try:
                self.srv.engine.on_event.add_listener(self._collect)
                twilio = TwilioSettings(account_sid=self.srv.account_sid, auth_token=self.srv.auth_token,
                                        workspace_sid=self.srv.workspace_sid, taskrouter_url=self.srv.url)
                with TaskRouter(twilio) as tr:
                    return self._simulate(config, twilio, tr, seed, started)
            finally:
                self.srv.stop()

    def _simulate(self, config: Any, twilio: TwilioSettings, tr: TaskRouter, seed: int,
                  started: float) -> DemoResult:
        s = self.settings
        deploy_config(config, tr, DeployOptions(create_missing=True))
        self.agentsim = AgentSimServer(config, twilio, AgentSimSettings(port=0, seed=seed, speed=s.speed),
                                       tr=tr).start()
        try:
            # Now that agentsim listens on its port, route the workflow's callbacks to it.
            deploy_config(config, tr, DeployOptions(assign_url=self.agentsim.reservation_url))
            custsim = self._customer_phase(config, tr, seed)
            end = self.srv.clock.now() if self.srv and self.srv.clock else time.time()
        finally:
            agents = self.agentsim.stop()
        with self._events_lock:
            events = [e for e in self.events if e["event_date"] <= end]
        kpis = compute_kpis(events, speed=s.speed, end=end, marker=FLEXSIM_MARKER_KEY,
                            source="the emulator's TaskRouter events")
        cleanup = self._clean(tr) if s.clean else []
        return DemoResult(seed, kpis, custsim, agents, time.monotonic() - started,
                          len(self.srv.requests) if self.srv else 0, cleanup)

    def _customer_phase(self, config: Any, tr: TaskRouter, seed: int) -> CustsimSummary:
        s = self.settings
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def customers() -> None:
            try:
                outcome["sim"] = run_custsim(config, tr, time_limit=s.duration, speed=s.speed,
                                             rng=random.Random(f"{seed}:custsim"), stop=self.stop,
                                             setup=self._attach, drain=3.0)
            except Exception as exc:  # re-raised in the main thread below
                outcome["error"] = exc
            finally:
                done.set()

        thread = threading.Thread(target=customers, name="flexsim-custsim", daemon=True)
        thread.start()
        if self.on_ready:
            self.on_ready(self)
        reader = StatusReader(TaskRouterStatistics(tr), interval=s.interval, extra=self._extra)
        began = time.monotonic()

        def title() -> str:
            elapsed = min(time.monotonic() - began, s.duration)
            return (f"flexsim demo: {elapsed:.0f} of {s.duration:g} s at speed {s.speed:g}, seed {seed} "
                    f"(Ctrl-C ends it early)")

        watch(reader, self.console, done, live=self.live, title=title, final_refresh=True,
              on_error=lambda exc: log.warning("status refresh failed: %s", exc))
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["sim"].summary

    def _attach(self, sim: CustomerSim) -> None:
        self.customers = sim
        if self.agentsim and self.agentsim.sim:
            link_answers(self.agentsim.sim.events, sim)

    def _extra(self) -> dict[str, int]:
        handled = self.agentsim.sim.health()["tasks_handled"] if self.agentsim and self.agentsim.sim else 0
        summary = self.customers.summary if self.customers else CustsimSummary()
        return {"created": summary.created, "completed": handled, "abandoned": summary.abandoned}

    @staticmethod
    def _clean(tr: TaskRouter) -> list[str]:
        return clean_workspace(tr).summary()


def link_answers(agent_events: EventHook, customers: CustomerSim) -> None:
    """Feed agentsim's accepts to custsim, so answered tasks are never sent a cancel."""

    def on_agent_event(event: Any) -> None:
        task_sid = event.answered_task()
        if task_sid:
            customers.answered(task_sid)

    agent_events.add_listener(on_agent_event)


def run_demo(settings: DemoSettings, console: Console, stop: threading.Event | None = None,
             live: bool | None = None) -> DemoResult:
    """Run a whole local simulation (see the module docstring) and return its result."""
    return Demo(settings, console, stop, live=live).run()
