"""One scheduler for agentsim: simulation callbacks on the clock, API calls on a pool.

Every agent timer lives on the injected clock's single heap (no thread or timer object
per agent). Simulation state is guarded by one lock: timer callbacks take it, and so do
the webhook views that hand over reservations, so an agent never sees two changes at
once. API calls never run under that lock or on the clock thread: they are submitted to
a bounded pool, so a slow TaskRouter never delays a timer or a callback answer.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Callable

from flexsim.clock import Clock, Timer

log = logging.getLogger(__name__)


class Scheduler:
    """Run simulation callbacks under one lock on ``clock`` and API jobs on a pool.

    :param clock: a ``VirtualClock`` (tests) or a running ``WallClock``.
    :param executor: where API jobs run; ``None`` runs them inline, which is what
        tests on a ``VirtualClock`` want (deterministic, single-threaded).
    """

    def __init__(self, clock: Clock, executor: Executor | None = None):
        self.clock = clock
        self.lock = threading.RLock()
        self._executor = executor

    @classmethod
    def with_pool(cls, clock: Clock, workers: int) -> Scheduler:
        """A scheduler whose API jobs run on a new pool of ``workers`` threads."""
        return cls(clock, ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flexsim-api"))

    def now(self) -> float:
        """The clock's current (simulated) time."""
        return self.clock.now()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` under the lock after ``delay`` simulated seconds."""
        return self.clock.call_later(delay, self._locked, fn, args)

    def _locked(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        with self.lock:
            fn(*args)

    def submit(self, job: Callable[[], Any]) -> None:
        """Run ``job`` on the pool (or inline); its errors are logged, never raised here."""
        if self._executor is None:
            self._run(job)
            return
        try:
            self._executor.submit(self._run, job)
        except RuntimeError:  # the pool is shut down: we are stopping, drop late work
            log.debug("dropped an API job submitted after shutdown")

    @staticmethod
    def _run(job: Callable[[], Any]) -> None:
        try:
            job()
        except Exception:  # a failed job must not kill the pool thread silently
            log.exception("API job failed")

    def shutdown(self, wait: bool = True) -> None:
        """Finish queued API jobs (when ``wait``) and stop the pool."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=not wait)
