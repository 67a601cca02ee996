"""The emulator's Flask app: TaskRouter v1 over HTTP, as the official SDK expects it.

Every request passes, in order: Basic auth (401/20003), the injected latency, the request
log, injected faults (429/20429 with ``Retry-After``, or 500), and the rate limit of the
expression-filtered list endpoints (429/20429). Errors are Twilio-shaped
``{code, message, more_info, status}``; an unexpected exception answers 500 and is logged,
so no request can take the server down.
"""

from __future__ import annotations

import base64
import hmac
import logging
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from flexsim.emulator.errors import EmulatorError
from flexsim.emulator.faults import Faults, RateLimiter
from flexsim.emulator.request_log import RequestLog
from flexsim.emulator.views_common import STATE_KEY, reply, state

log = logging.getLogger(__name__)

# (path suffix, query parameter) of the list endpoints TaskRouter limits to 3 requests/second.
FILTERED_LISTS = (("/Tasks", "EvaluateTaskAttributes"), ("/Workers", "TargetWorkersExpression"),
                  ("/TaskQueues", "EvaluateWorkerAttributes"))


@dataclass
class EmulatorState:
    """What the views need: the engine, the accepted credentials, faults and the request log."""

    engine: Any
    account_sid: str
    auth_token: str
    api_key: str | None = None
    api_secret: str | None = None
    faults: Faults = field(default_factory=Faults)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(3.0))
    requests: RequestLog = field(default_factory=RequestLog)

    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries the account or API-key credentials."""
        if not header or not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        pairs = [(self.account_sid, self.auth_token)]
        if self.api_key and self.api_secret:
            pairs.append((self.api_key, self.api_secret))
        return any(hmac.compare_digest(user, u) and hmac.compare_digest(password, p) for u, p in pairs)


def error_reply(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A Twilio error body (never both ``type`` and ``title``: the SDK would misread it)."""
    response = reply({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                      "status": status}, status=status)
    response.headers.update(headers or {})
    return response


def _filtered_list_key() -> str | None:
    if request.method != "GET":
        return None
    for suffix, name in FILTERED_LISTS:
        if request.path.endswith(suffix) and name in request.args:
            return suffix
    return None


def _before() -> Response | None:
    st: EmulatorState = state()
    if not st.authorized(request.headers.get("Authorization")):
        return error_reply(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
    st.faults.delay()
    st.requests.append((request.method, request.path))
    injected = st.faults.draw()
    if injected == 429:
        return error_reply(429, 20429, "Too Many Requests (injected fault)", {"Retry-After": "1"})
    if injected == 500:
        return error_reply(500, 20500, "Internal Server Error (injected fault)")
    key = _filtered_list_key()
    if key is not None:
        allowed, remaining = st.limiter.allow(key)
        g.rate_headers = {"X-Rate-Limit-Limit": str(st.limiter.limit), "X-Rate-Limit-Remaining": str(remaining),
                          "X-Rate-Limit-Config": f"{key.strip('/')}-filtered"}
        if not allowed:
            return error_reply(429, 20429, f"Too Many Requests: at most {st.limiter.limit} filtered "
                               f"{key.strip('/')} lists per second", {"Retry-After": "1", **g.rate_headers})
    return None


def _after(response: Response) -> Response:
    response.headers.update(getattr(g, "rate_headers", {}))
    return response


def _emulator_error(exc: EmulatorError) -> Response:
    return error_reply(exc.status, exc.code, exc.message)


def _http_error(exc: HTTPException) -> Response:
    if exc.code == 404:
        below = request.path[3:] if request.path.startswith("/v1/") else request.path
        return error_reply(404, 20404, f"The requested resource {below} was not found")
    if exc.code == 405:
        return error_reply(405, 20004, f"Method {request.method} not allowed on {request.path}")
    return error_reply(exc.code or 500, exc.code or 20500, exc.description or exc.name)


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error serving %s %s", request.method, request.path)
    return error_reply(500, 20500, f"Internal Server Error: {type(exc).__name__}")


def create_app(state: EmulatorState) -> Flask:
    """Build the Flask app serving TaskRouter v1 for ``state``'s engine and credentials."""
    from flexsim.emulator import views_routing, views_stats, views_tasks, views_workers, views_workspace

    app = Flask("flexsim.emulator")
    app.extensions[STATE_KEY] = state
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(EmulatorError, _emulator_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    for module in (views_workspace, views_workers, views_routing, views_tasks, views_stats):
        app.register_blueprint(module.bp)
        if hasattr(module, "top"):
            app.register_blueprint(module.top)
    return app
