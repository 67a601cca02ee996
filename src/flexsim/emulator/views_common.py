"""Helpers shared by the emulator's view modules: state lookup, parameters, JSON replies."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterable, Sequence

from flask import Blueprint, Response, current_app, request

from flexsim.emulator.errors import NotFound
from flexsim.emulator.paging import page_envelope
from flexsim.emulator.params import PAGING, Params
from flexsim.emulator.wire import Wire

STATE_KEY = "flexsim_emulator"


def state() -> Any:
    """The ``EmulatorState`` of the running app."""
    return current_app.extensions[STATE_KEY]


def engine() -> Any:
    """The routing engine."""
    return state().engine


def wire() -> Wire:
    """A serializer for this request's base URL."""
    return Wire(engine(), request.host_url)


def params(*allowed: str, paged: bool = False) -> Params:
    """The request's parameters, refusing names outside ``allowed`` (plus paging for lists)."""
    names: Iterable[str] = (*allowed, *PAGING) if paged else allowed
    return Params(request.values, names)


def if_match() -> str | None:
    """The ``If-Match`` header, if sent."""
    return request.headers.get("If-Match")


def etag_of(version: int) -> str:
    """A record's ETag header value (quoted, as HTTP wants; the engine strips quotes)."""
    return f'"{version}"'


def reply(body: Any, status: int = 200, etag: str | None = None) -> Response:
    """A JSON response; ``body=None`` gives an empty body (for 204)."""
    text = "" if body is None else json.dumps(body, separators=(",", ":"))
    response = Response(text, status=status, mimetype="application/json")
    if etag is not None:
        response.headers["ETag"] = etag
    return response


def page(items: Sequence[Any], key: str, serialize: Callable[[Any], dict[str, Any]],
         versioned: bool = False) -> Response:
    """One page of ``items`` in the list envelope; ``versioned`` adds an ETag over the page."""
    body = page_envelope(items, key=key, serialize=serialize, base_url=request.host_url.rstrip("/"),
                         path=request.path, args=request.args)
    etag = None
    if versioned:
        stamp = ",".join(f"{r['sid']}@{r.get('date_updated')}" for r in body[key])
        digest = hashlib.sha1(stamp.encode()).hexdigest()[:16]
        etag = f'W/"{digest}"'
    return reply(body, etag=etag)


def workspace_blueprint(name: str) -> Blueprint:
    """A blueprint below ``/v1/Workspaces/<WS>``; any other workspace SID answers 404/20404."""
    bp = Blueprint(name, __name__, url_prefix="/v1/Workspaces/<workspace_sid>")

    @bp.url_value_preprocessor
    def _check_workspace(endpoint: str | None, values: dict[str, Any] | None) -> None:
        sid = (values or {}).pop("workspace_sid", None)
        if sid != engine().workspace.sid:
            raise NotFound(f"The requested resource /Workspaces/{sid} was not found")

    return bp
