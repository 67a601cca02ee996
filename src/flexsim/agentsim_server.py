"""Run agentsim: the simulation, its clock and pool, and the waitress server, as one unit.

``AgentSimServer`` is what ``flexsim agentsim`` and ``flexsim demo`` use::

    with AgentSimServer(config, twilio, AgentSimSettings(port=0, speed=10)) as server:
        deploy(..., assign_url=server.reservation_url)   # e.g. in the demo
        ...
    # leaving the block signs the agents out (unless stay_online)

Start-up order matters: the workspace is checked and left-over tasks are taken over
before the server listens, and agents sign in only once it listens, because an
Available agent gets its first assignment callback at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from waitress import wasyncore
from waitress.server import create_server

from flexsim.agentsim import AgentSim
from flexsim.clock import Clock, WallClock
from flexsim.config import Config
from flexsim.errors import FlexsimError
from flexsim.options import TwilioSettings, make_rng
from flexsim.scheduler import Scheduler
from flexsim.taskrouter import TaskRouter
from flexsim.webhook import RESERVATION_PATH, create_webhook_app

log = logging.getLogger(__name__)
DEFAULT_PORT = 3000
SERVER_THREADS = 8


class SignatureCheckImpossible(FlexsimError):
    """API-key credentials without the auth token: callbacks cannot be validated."""


@dataclass(frozen=True)
class AgentSimSettings:
    """How to run agentsim (everything but the config and the Twilio credentials).

    :param public_url: the URL TaskRouter calls (the workflow's AssignmentCallbackUrl); a
        bare origin such as ``https://abc.ngrok.app`` gets ``/reservation`` appended.
    :param skip_signature_check: accept unsigned callbacks (needed with API-key credentials).
    :param stay_online: on stop, leave agents and their tasks as they are.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    public_url: str | None = None
    seed: int | None = None
    speed: float = 1.0
    skip_signature_check: bool = False
    stay_online: bool = False
    threads: int = SERVER_THREADS


def callback_url(public_url: str | None) -> str | None:
    """The full public callback URL: ``public_url``, with ``/reservation`` added to a bare origin."""
    if not public_url:
        return None
    parts = urlsplit(public_url.strip())
    if parts.path in ("", "/"):
        parts = parts._replace(path=RESERVATION_PATH)
    return urlunsplit(parts)


def signature_token(twilio: TwilioSettings, skip: bool) -> str | None:
    """The token that validates callbacks; None when skipped. Raises SignatureCheckImpossible."""
    if skip:
        log.warning("!!! --skip-signature-check: ANYONE who can reach this server can make the "
                    "simulated agents accept tasks. Use it only on a trusted network. !!!")
        return None
    if not twilio.auth_token:
        raise SignatureCheckImpossible(
            "cannot validate X-Twilio-Signature without the account's auth token (API-key credentials "
            "cannot sign): pass --auth / AUTH_TOKEN as well, or --skip-signature-check on a trusted network")
    return twilio.auth_token


class AgentSimServer:
    """agentsim in a background thread: ``start()``, ``url``, ``reservation_url``, ``stop()``.

    :param clock: a clock to run on (default: a new ``WallClock(speed)``, started and stopped here).
    :param tr: an access layer to use (default: a new one from ``twilio``, closed on stop).
    """

    def __init__(self, config: Config, twilio: TwilioSettings, settings: AgentSimSettings, *,
                 clock: Clock | None = None, tr: TaskRouter | None = None):
        self.config = config
        self.twilio = twilio
        self.settings = settings
        self.seed = settings.seed if settings.seed is not None else make_rng(None)[1]
        self._own_clock = clock is None
        self._clock = clock
        self._own_tr = tr is None
        self.tr = tr
        self.sim: AgentSim | None = None
        self.sched: Scheduler | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = settings.port

    @property
    def url(self) -> str:
        """``http://host:port`` of the local server (loopback when bound to all interfaces)."""
        host = "127.0.0.1" if self.settings.host in ("", "0.0.0.0") else self.settings.host
        return f"http://{host}:{self.port}"

    @property
    def reservation_url(self) -> str:
        """The local URL of the assignment callback."""
        return self.url + RESERVATION_PATH

    def start(self) -> AgentSimServer:
        """Check the workspace, take over left-over tasks, listen, then sign the agents in."""
        if self.tr is None:
            self.tr = TaskRouter(self.twilio)  # raises first when credentials are missing
        token = signature_token(self.twilio, self.settings.skip_signature_check)
        if self._clock is None:
            self._clock = WallClock(speed=self.settings.speed).start()
        self.sched = Scheduler.with_pool(self._clock, self.tr.concurrency)
        self.sim = AgentSim(self.config, self.tr, self.sched, seed=self.seed, signature_token=token,
                            public_url=callback_url(self.settings.public_url), speed=self.settings.speed)
        try:
            self.sim.prepare()
            self._server = create_server(create_webhook_app(self.sim), host=self.settings.host,
                                         port=self.settings.port, threads=self.settings.threads,
                                         ident="flexsim-agentsim", clear_untrusted_proxy_headers=True)
        except BaseException:
            self._release()
            raise
        self.port = int(self._server.effective_port)
        self._thread = threading.Thread(target=self._server.run, name="flexsim-agentsim", daemon=True)
        self._thread.start()
        log.info("agentsim listening on %s (seed %d, speed %g)", self.url, self.seed, self.settings.speed)
        self.sim.sign_in()
        return self

    def stop(self, sign_out: bool | None = None) -> dict[str, Any]:
        """Stop new work, sign out (unless ``stay_online``/``sign_out=False``), stop serving.

        Returns the final health summary. Safe to call twice.
        """
        summary: dict[str, Any] = {}
        if self.sim is not None and not self.sim.stopping:
            self.sim.stop(sign_out=not self.settings.stay_online if sign_out is None else sign_out)
        if self.sched is not None:
            self.sched.shutdown(wait=True)  # the sign-out writes go out before we return
        if self.sim is not None:
            summary = self.sim.health()
        server, self._server = self._server, None
        if server is not None:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            if self._thread is not None:
                self._thread.join(timeout=5)
            server.task_dispatcher.shutdown(timeout=5)
        self._release()
        return summary

    def _release(self) -> None:
        if self.sched is not None:
            self.sched.shutdown(wait=False)
        if self._own_clock and isinstance(self._clock, WallClock):
            self._clock.stop()
        if self._own_tr and self.tr is not None:
            self.tr.close()

    def __enter__(self) -> AgentSimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ShutdownSignal:
    """While entered, SIGINT and SIGTERM set a flag instead of killing the process (main thread only)."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.name: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> ShutdownSignal:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.name = signal.Signals(signum).name
        self.received.set()

    def wait(self) -> str:
        """Block until a signal arrives; return its name."""
        while not self.received.wait(timeout=1.0):
            pass
        return self.name or "signal"

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)


def run_agentsim(config: Config, twilio: TwilioSettings, settings: AgentSimSettings) -> dict[str, Any]:
    """Serve until SIGINT/SIGTERM, then stop gracefully; return the final health summary."""
    with ShutdownSignal() as shutdown:
        server = AgentSimServer(config, twilio, settings).start()
        try:
            log.info("%s received: stopping", shutdown.wait())
        finally:
            summary = server.stop()
    return summary
