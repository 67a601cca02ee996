"""Which tasks agentsim's agents answered, shared with a custsim in another process.

custsim abandons a task with one cancel call at the customer's patience; for a task an agent
already took, TaskRouter refuses it. agentsim records every task its agents accept
(:class:`AnswerFeed`) and serves the list at ``GET /answered`` (see ``flexsim.webhook``);
custsim's :class:`AnswerPoller` reads it just before it would cancel, so answered tasks get no
call at all. The feed is read with a bearer token derived from the account's auth token
(:func:`feed_token`), which both processes hold and which the token never reveals.
When agentsim cannot be reached, custsim simply sends the cancel, as before.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from typing import Any, Callable

import requests

log = logging.getLogger(__name__)

ANSWERED_PATH = "/answered"
FEED_SIZE = 10_000  # accepts kept; a reader further behind than this just sends some cancels


def feed_token(auth_token: str) -> str:
    """The bearer token for ``GET /answered``: a one-way hash of the account's auth token."""
    return hashlib.sha256(f"flexsim-answered:{auth_token}".encode()).hexdigest()


class AnswerFeed:
    """agentsim's side: the task SIDs its agents accepted, numbered so readers can resume."""

    def __init__(self, size: int = FEED_SIZE):
        self._items: deque[tuple[int, str]] = deque(maxlen=size)
        self._seq = 0
        self._lock = threading.Lock()

    def add(self, task_sid: str) -> None:
        """Record one accepted task."""
        with self._lock:
            self._seq += 1
            self._items.append((self._seq, task_sid))

    def since(self, after: int) -> tuple[int, list[str]]:
        """The SIDs recorded after number ``after``, and the number to ask from next time."""
        with self._lock:
            return self._seq, [sid for seq, sid in self._items if seq > after]


class AnswerPoller:
    """custsim's side: reads agentsim's feed and reports each answered task to ``on_answered``.

    ``refresh()`` reads at most once per ``min_interval`` wall seconds (abandonments due together
    share one read) and, after a failure, not again for ``retry_after`` seconds.
    """

    def __init__(self, base_url: str, token: str, on_answered: Callable[[str], None], *,
                 min_interval: float = 0.25, retry_after: float = 10.0, timeout: float = 2.0,
                 session: Any = None, monotonic: Callable[[], float] = time.monotonic):
        self.url = base_url.rstrip("/") + ANSWERED_PATH
        self._headers = {"Authorization": f"Bearer {token}"}
        self._on_answered = on_answered
        self._min_interval = min_interval
        self._retry_after = retry_after
        self._timeout = timeout
        self._session = session or requests.Session()
        self._monotonic = monotonic
        self._next_read = 0.0
        self._after = 0
        self._warned = False
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Read the accepts recorded since the last read, unless one happened a moment ago."""
        with self._lock:
            now = self._monotonic()
            if now < self._next_read:
                return
            try:
                reply = self._session.get(self.url, params={"after": self._after}, headers=self._headers,
                                          timeout=self._timeout)
                reply.raise_for_status()
                body = reply.json()
                after, tasks = int(body["next"]), [str(t) for t in body["tasks"]]
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                self._next_read = now + self._retry_after
                if not self._warned:
                    self._warned = True
                    log.warning("custsim: cannot read answered tasks from %s (%s); tasks agents took "
                                "will get a cancel that TaskRouter refuses", self.url, exc)
                return
            self._next_read = now + self._min_interval
            self._after = after
        for sid in tasks:
            self._on_answered(sid)
