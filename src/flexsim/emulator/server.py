"""``EmulatorServer``: the TaskRouter emulator served by waitress in a background thread.

Used by ``flexsim emulator`` and importable by tests and the demo::

    with EmulatorServer(port=0) as srv:
        client.taskrouter.base_url = srv.url
"""

from __future__ import annotations

import logging
import random
import secrets
from typing import IO, Any

from flexsim.clock import WallClock
from flexsim.emulator.app import EmulatorState, create_app
from flexsim.emulator.dispatch import CallbackDispatcher
from flexsim.emulator.faults import Faults, RateLimiter
from flexsim.emulator.request_log import DEFAULT_MAXLEN, RequestLog
from flexsim.emulator.sids import SidFactory
from flexsim.wsgi_server import BackgroundWSGIServer

log = logging.getLogger(__name__)

class EmulatorServer:
    """A TaskRouter v1 emulator on ``host:port`` (port 0 picks a free one).

    Credentials left as None are generated: valid-looking SIDs and a random 32-hex token.
    ``api_key``/``api_secret`` add a second accepted Basic-auth pair. Fault injection
    (``latency_ms``, ``error_rate``, ``server_error_rate``) draws from a generator seeded
    with ``seed``; ``filtered_list_rps`` limits the expression-filtered lists (0 = off).
    ``events_file`` receives every event as a JSON line; ``purge_after`` is how long
    completed/canceled tasks stay. After ``start()``: ``url``, ``engine`` and ``requests``, a
    :class:`~flexsim.emulator.request_log.RequestLog` of every authenticated (method, path):
    ``len()`` counts them all, iteration and absolute slices see the last ``request_log_size``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, account_sid: str | None = None,
                 auth_token: str | None = None, workspace_sid: str | None = None, api_key: str | None = None,
                 api_secret: str | None = None, latency_ms: float = 0, error_rate: float = 0.0,
                 server_error_rate: float = 0.0, seed: int | None = None, events_file: str | None = None,
                 filtered_list_rps: float = 3.0, purge_after: float = 300.0,
                 request_log_size: int = DEFAULT_MAXLEN):
        self.host = host
        self.port = port
        unpredictable = SidFactory(random.SystemRandom())
        self.account_sid = account_sid or unpredictable.new("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.workspace_sid = workspace_sid or unpredictable.new("WS")
        self.api_key = api_key
        self.api_secret = api_secret
        self.seed = seed
        self.events_file = events_file
        self.purge_after = purge_after
        self.faults = Faults(latency_ms=latency_ms, error_rate=error_rate, server_error_rate=server_error_rate,
                             rng=random.Random(f"{seed}:faults") if seed is not None else random.Random())
        self.limiter = RateLimiter(filtered_list_rps)
        self.requests = RequestLog(request_log_size)
        self.engine: Any = None
        self.clock: WallClock | None = None
        self._dispatcher: CallbackDispatcher | None = None
        self._server: Any = None
        self._events_fh: IO[str] | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` with no trailing slash (loopback when bound to all interfaces)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> EmulatorServer:
        """Create the engine, bind the socket and serve in a background thread; returns self.

        If any step fails (a busy port, an unwritable events file), what was started is stopped.
        """
        from flexsim.emulator.engine import Engine

        try:
            if self.events_file:
                self._events_fh = open(self.events_file, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
            self.clock = WallClock().start()
            self.engine = Engine(self.clock, account_sid=self.account_sid, workspace_sid=self.workspace_sid,
                                 rng=random.Random(self.seed), purge_after=self.purge_after)
            state = EmulatorState(engine=self.engine, account_sid=self.account_sid, auth_token=self.auth_token,
                                  api_key=self.api_key, api_secret=self.api_secret, faults=self.faults,
                                  limiter=self.limiter, requests=self.requests)
            self._server = BackgroundWSGIServer(create_app(state), self.host, self.port, name="flexsim-emulator")
            self.port = self._server.port
            self._dispatcher = CallbackDispatcher(self.engine, auth_token=self.auth_token, base_url=self.url,
                                                  events_file=self._events_fh).start()
            self._server.start()
        except BaseException:
            self.stop()
            raise
        log.info("TaskRouter emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, then the callback dispatcher and the clock; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None
        if self.clock is not None:
            self.clock.stop()
        if self._events_fh is not None:
            self._events_fh.close()
            self._events_fh = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def env_lines(srv: EmulatorServer) -> list[str]:
    """The ``.env`` lines that point flexsim at ``srv`` (the token is the user's own local one)."""
    return [f"ACCOUNT_SID={srv.account_sid}", f"AUTH_TOKEN={srv.auth_token}",
            f"WRKSPC_SID={srv.workspace_sid}", f"TASKROUTER_URL={srv.url}"]
