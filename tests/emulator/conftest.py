"""Fixtures for the emulator's over-HTTP tests: a server, an SDK client, a callback server."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from emulator_http import make_client
from flask import Flask, Response, request
from twilio.rest import Client

from flexsim.emulator.server import EmulatorServer
from flexsim.wsgi_server import BackgroundWSGIServer


def pytest_collection_modifyitems(config, items):
    """Run the contract test last, after the HTTP tests have filled ``EXCHANGES``."""
    items.sort(key=lambda item: item.fspath.basename == "test_contract.py")


@pytest.fixture
def srv():
    """An emulator on a free port with the filtered-list rate limit out of the way."""
    with EmulatorServer(port=0, seed=7, filtered_list_rps=1000) as server:
        yield server


@pytest.fixture
def client(srv) -> Client:
    """The official SDK, talking to ``srv``."""
    return make_client(srv)


@pytest.fixture
def ws(client, srv):
    """The emulator's workspace context (``client.taskrouter.v1.workspaces(WS)``)."""
    return client.taskrouter.v1.workspaces(srv.workspace_sid)


@dataclass
class CallbackServer:
    """A tiny Flask app recording the callbacks it receives and answering as told."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    answer: Callable[[str], Response] = lambda path: Response(json.dumps({"instruction": "accept"}),
                                                               mimetype="application/json")
    lock: threading.Lock = field(default_factory=threading.Lock)

    def posts(self, path: str) -> list[dict[str, Any]]:
        """What was POSTed to ``path`` so far."""
        with self.lock:
            return [r for r in self.received if r["path"] == path]


def _callback_app(cb: CallbackServer) -> Flask:
    app = Flask("callbacks")

    @app.route("/<path:path>", methods=["POST"])
    def receive(path: str) -> Response:
        with cb.lock:
            cb.received.append({"path": "/" + path, "url": request.url, "form": request.form.to_dict(),
                                "signature": request.headers.get("X-Twilio-Signature")})
        return cb.answer("/" + path)

    return app


@pytest.fixture
def callback_server():
    """A callback receiver on another free port; ``callback_server.url`` has no trailing slash."""
    cb = CallbackServer()
    server = BackgroundWSGIServer(_callback_app(cb), "127.0.0.1", 0, threads=4, name="test-callbacks").start()
    cb.url = f"http://127.0.0.1:{server.port}"
    yield cb
    server.stop()
