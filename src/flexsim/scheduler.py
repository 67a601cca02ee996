"""One scheduler for agentsim: simulation callbacks on the clock, API calls on a pool.

Every agent timer lives on the injected clock's single heap (no thread or timer object
per agent). Simulation state is guarded by one lock: timer callbacks take it, and so do
the webhook views that hand over reservations, so an agent never sees two changes at
once. API calls never run under that lock or on the clock thread: they are submitted to
a bounded pool, so a slow TaskRouter never delays a timer or a callback answer. Jobs
submitted with the same ``key`` (one agent's writes) run one at a time in submission
order: two activity changes racing on the pool would otherwise reach TaskRouter swapped,
leaving the worker in an activity the agent has already left.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Hashable
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
        self._queues: dict[Hashable, deque[Callable[[], Any]]] = {}
        self._queues_lock = threading.Lock()

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

    def submit(self, job: Callable[[], Any], key: Hashable | None = None) -> None:
        """Run ``job`` on the pool (or inline); its errors are logged, never raised here.

        Jobs with the same ``key`` run one after another, in the order submitted.
        """
        if self._executor is None:
            self._run(job)
            return
        if key is not None:
            with self._queues_lock:
                queue = self._queues.get(key)
                if queue is not None:  # a job of this key is running: it runs this one next
                    queue.append(job)
                    return
                self._queues[key] = deque([job])
        try:
            if key is None:
                self._executor.submit(self._run, job)
            else:
                self._executor.submit(self._drain, key)
        except RuntimeError:  # the pool is shut down: we are stopping, drop late work
            log.debug("dropped an API job submitted after shutdown")
            if key is not None:
                with self._queues_lock:
                    self._queues.pop(key, None)

    def _drain(self, key: Hashable) -> None:
        while True:
            with self._queues_lock:
                queue = self._queues[key]
                if not queue:
                    del self._queues[key]
                    return
                job = queue.popleft()
            self._run(job)

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
