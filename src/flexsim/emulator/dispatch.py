"""Outgoing HTTP: assignment callbacks, event callbacks and the events file.

The engine fires ``on_assignment`` and ``on_event`` while holding its lock; the listeners
here only copy what they need and hand the work to thread pools, so a slow or dead
callback server never stalls routing. Every POST is form-encoded and signed with
``X-Twilio-Signature`` exactly as ``twilio.request_validator.RequestValidator`` computes it.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import requests
from twilio.request_validator import RequestValidator

from flexsim.emulator.errors import EmulatorError
from flexsim.emulator.wire import Wire

log = logging.getLogger(__name__)

ASSIGNMENT_TIMEOUT = 5.0   # TaskRouter's documented limit before the fallback URL
EVENT_TIMEOUT = 15.0       # the documented limit for event callbacks


def form_value(value: Any) -> str:
    """How a parameter value goes on the wire: JSON for objects, lower-case booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def wanted(event_type: str, events_filter: str | None) -> bool:
    """Whether a workspace's EventsFilter (comma list, spaces allowed; unset = all) passes ``event_type``."""
    if not events_filter:
        return True
    return event_type in {part.strip() for part in events_filter.split(",") if part.strip()}


class CallbackDispatcher:
    """Delivers the engine's callbacks over HTTP and writes its events to a JSON-lines file.

    :param engine: the routing engine (its ``on_assignment``/``on_event`` hooks are used).
    :param auth_token: the account's auth token, the signing key.
    :param base_url: the emulator's own URL, for ``url`` fields in the events file.
    :param events_file: an open text file to append one JSON event per line to, or None.
    :param threads: concurrent assignment callbacks.
    """

    def __init__(self, engine: Any, *, auth_token: str, base_url: str, events_file: IO[str] | None = None,
                 threads: int = 16, assignment_timeout: float = ASSIGNMENT_TIMEOUT,
                 event_timeout: float = EVENT_TIMEOUT):
        self.engine = engine
        self.validator = RequestValidator(auth_token)
        self.wire = Wire(engine, base_url)
        self.events_file = events_file
        self.assignment_timeout = assignment_timeout
        self.event_timeout = event_timeout
        self._assignments = ThreadPoolExecutor(threads, thread_name_prefix="flexsim-callback")
        # One thread keeps events in order, in the file and at the EventCallbackUrl.
        self._events = ThreadPoolExecutor(1, thread_name_prefix="flexsim-events")
        self._local = threading.local()
        self._stopping = False

    def start(self) -> CallbackDispatcher:
        """Subscribe to the engine's hooks."""
        self.engine.on_assignment.add_listener(self._on_assignment)
        self.engine.on_event.add_listener(self._on_event)
        return self

    def stop(self) -> None:
        """Unsubscribe, drop queued assignment callbacks and finish writing queued events."""
        self._stopping = True
        for hook, listener in ((self.engine.on_assignment, self._on_assignment),
                               (self.engine.on_event, self._on_event)):
            try:
                hook.remove_listener(listener)
            except ValueError:
                pass
        self._assignments.shutdown(wait=False, cancel_futures=True)
        self._events.shutdown(wait=True)

    # --- signing and posting
    def sign(self, url: str, params: dict[str, str]) -> str:
        """The ``X-Twilio-Signature`` for a form POST of ``params`` to the exact ``url``."""
        return self.validator.compute_signature(url, params)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _post(self, url: str, params: dict[str, str], timeout: float) -> requests.Response:
        headers = {"X-Twilio-Signature": self.sign(url, params), "User-Agent": "TwilioProxy/1.1 (flexsim emulator)"}
        return self._session().post(url, data=params, headers=headers, timeout=timeout)

    # --- assignment callbacks
    def _on_assignment(self, callback: Any) -> None:
        if not self._stopping:
            self._assignments.submit(self._deliver_assignment, callback)

    def _deliver_assignment(self, callback: Any) -> None:
        rsid = callback.reservation_sid
        response = None
        for url in (callback.url, callback.fallback_url):
            if not url:
                continue
            try:
                response = self._post(url, callback.params, self.assignment_timeout)
            except Exception as exc:  # noqa: BLE001 - a failed POST (even a body that cannot be encoded) is a miss
                log.warning("assignment callback for %s to %s failed: %s", rsid, url, exc)
                continue
            if response.status_code == 200:
                break
            log.warning("assignment callback for %s to %s answered HTTP %s", rsid, url, response.status_code)
            response = None
        instruction = self._instruction(rsid, response) if response is not None else None
        try:
            self.engine.handle_assignment_response(rsid, instruction)
        except EmulatorError as exc:
            log.warning("assignment instruction for %s not carried out (40135-style): %s", rsid, exc.message)
        except Exception:  # a broken engine call must not kill the pool thread silently
            log.exception("handling the assignment response for %s failed", rsid)

    @staticmethod
    def _instruction(rsid: str, response: requests.Response) -> dict[str, Any] | None:
        """The JSON instruction in a 200 reply, or None (and a logged Twilio-style alert)."""
        body = response.text
        if not body.strip():
            return None  # the documented "I'll update the reservation myself" answer
        if "json" not in response.headers.get("Content-Type", "").lower():
            log.warning("40000: assignment response for %s lacks a JSON Content-Type; nothing done", rsid)
            return None
        try:
            parsed = json.loads(body)
        except ValueError:
            log.warning("40001: assignment response for %s is not parseable JSON: %.200s", rsid, body)
            return None
        if not isinstance(parsed, dict) or "instruction" not in parsed:
            log.warning("40005: assignment response for %s has no instruction; nothing done", rsid)
            return None
        return parsed

    # --- events
    def _on_event(self, event: Any) -> None:
        ws = self.engine.workspace  # read under the engine's lock, where the hook fires
        target = ws.event_callback_url if wanted(event.event_type, ws.events_filter) else ""
        if (target or self.events_file is not None) and not self._stopping:
            self._events.submit(self._deliver_event, event, target or "")

    @staticmethod
    def event_params(event: Any) -> dict[str, str]:
        """The form parameters of an event callback: the event's data (the engine already
        names it as the callback does, common fields included), without null values."""
        return {key: form_value(value) for key, value in event.event_data.items() if value is not None}

    def _deliver_event(self, event: Any, url: str) -> None:
        try:
            if self.events_file is not None:
                self.events_file.write(json.dumps(self.wire.event(event), separators=(",", ":")) + "\n")
                self.events_file.flush()
            if url and not self._stopping:
                response = self._post(url, self.event_params(event), self.event_timeout)
                if response.status_code >= 400:
                    log.warning("event callback %s to %s answered HTTP %s", event.event_type, url,
                                response.status_code)
        except requests.RequestException as exc:
            log.warning("event callback %s to %s failed: %s", event.event_type, url, exc)
        except Exception:
            log.exception("delivering event %s failed", event.sid)
