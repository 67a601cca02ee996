"""Fault injection and rate limits, so clients can test their retries against the emulator.

``Faults`` draws from its own seeded ``random.Random`` (one draw per request, under a lock),
so the same seed and the same request sequence give the same injected failures.
``RateLimiter`` enforces TaskRouter's per-endpoint limit on expression-filtered lists over a
sliding one-second window.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from typing import Callable


class Faults:
    """What to inject into each request.

    :param latency_ms: delay added to every authenticated response.
    :param error_rate: share of requests answered 429/20429 without being executed.
    :param server_error_rate: share of requests answered 500 without being executed.
    :param rng: the generator deciding which requests fail.
    :param sleep: how to wait (injected so tests need not wait).
    """

    def __init__(self, *, latency_ms: float = 0.0, error_rate: float = 0.0, server_error_rate: float = 0.0,
                 rng: random.Random | None = None, sleep: Callable[[float], None] = time.sleep):
        for name, rate in (("error_rate", error_rate), ("server_error_rate", server_error_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        if latency_ms < 0:
            raise ValueError(f"latency_ms must not be negative, not {latency_ms}")
        self.latency_ms = latency_ms
        self.error_rate = error_rate
        self.server_error_rate = server_error_rate
        self._rng = rng or random.Random(0)
        self._sleep = sleep
        self._lock = threading.Lock()

    def delay(self) -> None:
        """Wait the configured latency (no-op when zero)."""
        if self.latency_ms > 0:
            self._sleep(self.latency_ms / 1000.0)

    def draw(self) -> int | None:
        """The HTTP status to inject for this request (429 or 500), or None to serve it."""
        if self.error_rate <= 0 and self.server_error_rate <= 0:
            return None
        with self._lock:
            roll = self._rng.random()
        if roll < self.error_rate:
            return 429
        if roll < self.error_rate + self.server_error_rate:
            return 500
        return None


class RateLimiter:
    """At most ``rate`` requests per second for each key (0 or less disables the limit).

    :param clock: a monotonic time source in seconds (injected for tests).
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self._clock = clock
        self._hits: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        """Requests allowed per one-second window."""
        return max(1, int(self.rate)) if self.rate > 0 else 0

    def allow(self, key: str) -> tuple[bool, int]:
        """Count one request on ``key``; return (allowed, remaining in the current window)."""
        if self.rate <= 0:
            return True, 0
        now = self._clock()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - 1.0:
                hits.popleft()
            if len(hits) >= self.limit:
                return False, 0
            hits.append(now)
            return True, self.limit - len(hits)
