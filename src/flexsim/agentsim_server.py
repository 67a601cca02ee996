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
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flexsim.agentsim import AgentSim
from flexsim.clock import Clock, WallClock
from flexsim.config import Config
from flexsim.errors import FlexsimError
from flexsim.options import TwilioSettings, make_rng
from flexsim.scheduler import Scheduler
from flexsim.stopping import stop_on_signals, wait_for
from flexsim.taskrouter import TaskRouter
from flexsim.webhook import RESERVATION_PATH, create_webhook_app
from flexsim.wsgi_server import BackgroundWSGIServer

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
        self._server: BackgroundWSGIServer | None = None
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
            self._server = BackgroundWSGIServer(create_webhook_app(self.sim), self.settings.host,
                                                self.settings.port, threads=self.settings.threads,
                                                name="flexsim-agentsim")
        except BaseException:
            self._release()
            raise
        self.port = self._server.port
        self._server.start()
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
            server.stop()
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


def run_agentsim(config: Config, twilio: TwilioSettings, settings: AgentSimSettings) -> dict[str, Any]:
    """Serve until SIGINT/SIGTERM, then stop gracefully; return the final health summary."""
    with stop_on_signals(threading.Event()) as stop:
        server = AgentSimServer(config, twilio, settings).start()
        try:
            wait_for(stop, float("inf"))
            log.info("stop signal received: stopping")
        finally:
            summary = server.stop()
    return summary
