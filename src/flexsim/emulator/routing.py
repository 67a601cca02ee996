"""Indexes that make routing cheap: queue membership, ready workers and waiting tasks.

Nothing here rescans every worker for a task. Per (queue, channel) the index keeps the workers
ready to take a task on that channel in two insertion-ordered tiers, *idle* (no work) and
*busy* (some work, capacity left), each sorted by its key (a time: oldest first = idle
longest). Keys come from the clock, so a change almost always appends at the end (O(1));
an out-of-order append (a worker joining a queue) marks the tier for one sort when next read. Waiting tasks are kept
per (queue, channel) in a sorted list of ``(order_key, task_sid)``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any

IDLE, BUSY = 0, 1
Tier = tuple[int, float]  # (IDLE or BUSY, key)


def _sorted(d: dict[str, float]) -> dict[str, float]:
    """``d`` re-ordered by key; the sort is stable, so equal keys keep their order."""
    return dict(sorted(d.items(), key=lambda item: item[1]))


class QueueIndex:
    """Membership (queue <-> workers), ready tiers and waiting tasks, all by SID."""

    def __init__(self) -> None:
        self.members: dict[str, set[str]] = {}
        self.worker_queues: dict[str, set[str]] = {}
        self.tiers: dict[str, dict[str, Tier]] = {}  # worker -> channel -> tier
        self._ready: dict[tuple[str, str], tuple[dict[str, float], dict[str, float]]] = {}
        self._waiting: dict[tuple[str, str], list[tuple[Any, str]]] = {}
        self._task_slot: dict[str, tuple[tuple[str, str], Any]] = {}
        self._unsorted: set[tuple[str, str]] = set()  # tiers appended out of order, sorted on read

    # --- queues and workers --------------------------------------------------------------
    def add_queue(self, queue_sid: str) -> None:
        """Register an empty queue."""
        self.members.setdefault(queue_sid, set())

    def remove_queue(self, queue_sid: str) -> None:
        """Forget a queue, its ready tiers and its waiting lists."""
        for wsid in self.members.pop(queue_sid, set()):
            self.worker_queues.get(wsid, set()).discard(queue_sid)
        for key in [k for k in self._ready if k[0] == queue_sid]:
            del self._ready[key]
        for key in [k for k in self._waiting if k[0] == queue_sid]:
            for _, tsid in self._waiting.pop(key):
                self._task_slot.pop(tsid, None)

    def add_worker(self, worker_sid: str) -> None:
        """Register a worker that belongs to no queue and is ready nowhere."""
        self.worker_queues.setdefault(worker_sid, set())
        self.tiers.setdefault(worker_sid, {})

    def remove_worker(self, worker_sid: str) -> None:
        """Forget a worker everywhere."""
        self.set_membership(worker_sid, set())
        self.worker_queues.pop(worker_sid, None)
        self.tiers.pop(worker_sid, None)

    def set_membership(self, worker_sid: str, queue_sids: Iterable[str]) -> set[str]:
        """Make the worker a member of exactly ``queue_sids``; returns the queues it joined."""
        new = set(queue_sids)
        old = self.worker_queues.setdefault(worker_sid, set())
        tiers = self.tiers.get(worker_sid, {})
        for q in old - new:
            self.members[q].discard(worker_sid)
            for (ch, _tier) in tiers.items():
                self._unready(q, ch, worker_sid)
        joined = new - old
        for q in joined:
            self.members[q].add(worker_sid)
            for ch, tier in tiers.items():
                self._ready_in(q, ch, worker_sid, tier)
        self.worker_queues[worker_sid] = new
        return joined

    def set_tiers(self, worker_sid: str, tiers: dict[str, Tier]) -> bool:
        """Record where the worker is ready (channel -> tier); True if anything changed."""
        old = self.tiers.get(worker_sid, {})
        if old == tiers:
            return False
        queues = self.worker_queues.get(worker_sid, ())
        for ch in set(old) | set(tiers):
            before, after = old.get(ch), tiers.get(ch)
            if before == after:
                continue
            for q in queues:
                if before is not None:
                    self._unready(q, ch, worker_sid)
                if after is not None:
                    self._ready_in(q, ch, worker_sid, after)
        self.tiers[worker_sid] = dict(tiers)
        return True

    def drop_channel(self, channel_sid: str) -> None:
        """Forget a deleted TaskChannel."""
        for tiers in self.tiers.values():
            tiers.pop(channel_sid, None)
        for key in [k for k in self._ready if k[1] == channel_sid]:
            del self._ready[key]

    def _ready_in(self, q: str, ch: str, wsid: str, tier: Tier) -> None:
        pair = self._ready.setdefault((q, ch), ({}, {}))
        which, key = tier
        d = pair[which]
        if d and key < next(reversed(d.values())):
            self._unsorted.add((q, ch))  # rare (a worker joining a queue): sort once, when read
        d[wsid] = key

    def _unready(self, q: str, ch: str, wsid: str) -> None:
        pair = self._ready.get((q, ch))
        if pair:
            pair[0].pop(wsid, None)
            pair[1].pop(wsid, None)

    def ready(self, queue_sid: str, channel_sid: str) -> Iterator[str]:
        """Ready workers of a queue on a channel, idle longest first, then the busy ones."""
        slot = (queue_sid, channel_sid)
        pair = self._ready.get(slot)
        if pair and slot in self._unsorted:
            self._unsorted.discard(slot)
            pair = self._ready[slot] = (_sorted(pair[0]), _sorted(pair[1]))
        if pair:
            yield from pair[0]
            yield from pair[1]

    # --- waiting tasks -------------------------------------------------------------------
    def add_waiting(self, task_sid: str, queue_sid: str, channel_sid: str, order_key: Any) -> None:
        """Make the task wait in ``(queue, channel)`` at ``order_key`` (smaller first)."""
        slot = (queue_sid, channel_sid)
        if self._task_slot.get(task_sid) == (slot, order_key):
            return
        self.remove_waiting(task_sid)
        bisect.insort(self._waiting.setdefault(slot, []), (order_key, task_sid))
        self._task_slot[task_sid] = (slot, order_key)

    def remove_waiting(self, task_sid: str) -> None:
        """Stop the task waiting anywhere (harmless if it was not waiting)."""
        found = self._task_slot.pop(task_sid, None)
        if found is None:
            return
        slot, order_key = found
        lst = self._waiting.get(slot, [])
        i = bisect.bisect_left(lst, (order_key, task_sid))
        if i < len(lst) and lst[i][1] == task_sid:
            del lst[i]

    def waiting(self, queue_sid: str, channel_sid: str) -> list[tuple[Any, str]]:
        """The (order_key, task_sid) waiting in ``(queue, channel)``, first to serve first."""
        return self._waiting.get((queue_sid, channel_sid), [])

    def waiting_in_queue(self, queue_sid: str) -> list[str]:
        """Task SIDs waiting in a queue, any channel."""
        return [t for (q, _), lst in self._waiting.items() if q == queue_sid for _, t in lst]
