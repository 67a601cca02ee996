"""Helpers for the emulator's over-HTTP tests: a recording SDK client and polling.

Every response the SDK receives is recorded in ``EXCHANGES`` so that ``test_contract.py``
(run last) can validate each body against Twilio's OpenAPI spec.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlparse

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from flexsim.emulator.server import EmulatorServer


@dataclass
class Exchange:
    """One request the SDK made and the response it got."""

    method: str
    path: str
    status: int
    text: str


EXCHANGES: list[Exchange] = []


class RecordingHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, recording every exchange for the contract test."""

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        response = super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                   timeout=timeout, allow_redirects=allow_redirects)
        EXCHANGES.append(Exchange(method.upper(), urlparse(url).path, response.status_code, response.text))
        return response


def make_client(srv: EmulatorServer, username: str | None = None, password: str | None = None) -> Client:
    """An SDK client pointed at ``srv``; a non-empty ``environment`` keeps TWILIO_REGION/EDGE out."""
    client = Client(username or srv.account_sid, password or srv.auth_token, account_sid=srv.account_sid,
                    environment={"FLEXSIM_TEST": "1"}, http_client=RecordingHttpClient())
    client.taskrouter.base_url = srv.url
    return client


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)
