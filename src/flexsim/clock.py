"""Time for simulations: a virtual clock for tests and a scaled wall clock for real runs.

Both keep a heap of ``(due, seq, timer)``; the sequence number breaks ties so that timers
due at the same instant fire in the order they were scheduled (SimPy's event ids).
Simulation code only ever calls ``now``, ``call_at`` and ``call_later``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable, Protocol

log = logging.getLogger(__name__)


class Timer:
    """A scheduled callback; ``cancel()`` stops it from firing."""

    __slots__ = ("due", "fn", "args", "cancelled")

    def __init__(self, due: float, fn: Callable[..., Any], args: tuple[Any, ...]):
        self.due = due
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        """Prevent the callback from running (harmless if it already ran)."""
        self.cancelled = True


class Clock(Protocol):
    """What simulation code may ask of time."""

    def now(self) -> float: ...

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any) -> Timer: ...

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer: ...


def _report(timer: Timer, exc: BaseException) -> None:
    log.error("scheduled callback %r due at %.3f failed", timer.fn, timer.due, exc_info=exc)


class VirtualClock:
    """Simulated time that moves only when ``run`` or ``advance`` is called.

    :param start: the initial value of ``now()``, in seconds (an epoch time works too).
    """

    def __init__(self, start: float = 0.0):
        self._now = float(start)
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        """The current simulated time."""
        return self._now

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` at simulated time ``when`` (at once, in order, if already past)."""
        timer = Timer(max(float(when), self._now), fn, args)
        heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
        return timer

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` after ``delay`` simulated seconds."""
        return self.call_at(self._now + max(0.0, delay), fn, *args)

    def pending(self) -> int:
        """How many timers are scheduled and not cancelled."""
        return sum(1 for _, _, t in self._heap if not t.cancelled)

    def run(self, until: float | None = None) -> None:
        """Fire due timers in order; stop when none is left or the next is after ``until``.

        With ``until`` given, ``now()`` equals ``until`` afterwards. Errors raised by a
        callback propagate: in tests a failing callback should fail the test.
        """
        while self._heap:
            due, _, timer = self._heap[0]
            if until is not None and due > until:
                break
            heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._now = due
            timer.fn(*timer.args)
        if until is not None and until > self._now:
            self._now = until

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing what falls due."""
        self.run(until=self._now + seconds)


class WallClock:
    """Real time, optionally sped up, with a runner thread that fires timers.

    ``now()`` starts at the wall-clock epoch time and runs ``speed`` times faster than
    real time, so a 60 s simulated wait takes 6 s at speed 10. Callbacks run one at a
    time on the runner thread and must not block; a callback that raises is logged with
    its due time and the clock goes on.
    """

    def __init__(self, speed: float = 1.0, on_error: Callable[[Timer, BaseException], None] = _report):
        if speed <= 0:
            raise ValueError(f"speed must be greater than 0, not {speed}")
        self.speed = float(speed)
        self._origin_wall = time.time()
        self._origin_mono = time.monotonic()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._on_error = on_error

    def now(self) -> float:
        """Simulated seconds since the epoch."""
        return self._origin_wall + (time.monotonic() - self._origin_mono) * self.speed

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` on the runner thread at simulated time ``when``. Thread-safe."""
        timer = Timer(float(when), fn, args)
        with self._cond:
            heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
            self._cond.notify()
        return timer

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` after ``delay`` simulated seconds. Thread-safe."""
        return self.call_at(self.now() + max(0.0, delay), fn, *args)

    def start(self) -> WallClock:
        """Fire timers on a daemon thread until ``stop()``."""
        self._thread = threading.Thread(target=self.run, name="flexsim-clock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the runner; timers not yet due are dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def run(self, until: float | None = None) -> None:
        """Fire timers in the calling thread until ``stop()`` or simulated time ``until``."""
        while True:
            with self._cond:
                timer = None
                while not self._stopping:
                    now = self.now()
                    if until is not None and now >= until:
                        return
                    if self._heap and self._heap[0][0] <= now:
                        timer = heapq.heappop(self._heap)[2]
                        break
                    limit = until if until is not None else float("inf")
                    next_due = min(self._heap[0][0] if self._heap else limit, limit)
                    wait = None if next_due == float("inf") else (next_due - now) / self.speed
                    self._cond.wait(timeout=None if wait is None else max(wait, 0.0005))
                if self._stopping:
                    return
            if timer is not None and not timer.cancelled:
                try:
                    timer.fn(*timer.args)
                except Exception as exc:  # a broken callback must not stop the clock
                    self._on_error(timer, exc)
