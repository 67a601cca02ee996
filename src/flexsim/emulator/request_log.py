"""``RequestLog``: the (method, path) of every authenticated request, bounded in memory.

A long-running ``flexsim emulator`` serves millions of requests, so only the most recent
``maxlen`` entries are kept, while ``len()`` counts every request ever logged. Indices are
absolute (the n-th request ever is index n), so the pattern tests use to count what a piece
of code did keeps working however long the server has run::

    before = len(srv.requests)
    do_something()
    writes = [p for m, p in srv.requests[before:] if m != "GET"]

Entries older than the retained window are gone: indexing one raises ``IndexError`` and a
slice starting before the window returns only what is still kept (``dropped`` says how many).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Iterator, overload

Entry = tuple[str, str]
DEFAULT_MAXLEN = 100_000  # about 25 MB of (method, path) tuples


class RequestLog:
    """A thread-safe, bounded, append-only log of ``(method, path)`` tuples.

    :param maxlen: how many of the most recent entries to keep.
    """

    def __init__(self, maxlen: int = DEFAULT_MAXLEN):
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, not {maxlen}")
        self._entries: deque[Entry] = deque(maxlen=maxlen)
        self._total = 0
        self._lock = threading.Lock()

    @property
    def maxlen(self) -> int:
        """How many entries are kept."""
        return self._entries.maxlen or 0

    @property
    def dropped(self) -> int:
        """How many of the oldest entries are no longer kept."""
        with self._lock:
            return self._total - len(self._entries)

    def append(self, entry: Entry) -> None:
        """Log one request."""
        with self._lock:
            self._entries.append(entry)
            self._total += 1

    def __len__(self) -> int:
        """Every request ever logged, kept or not."""
        return self._total

    def _snapshot(self) -> tuple[int, list[Entry]]:
        with self._lock:
            return self._total - len(self._entries), list(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        """The kept entries, oldest first (a snapshot: safe while requests arrive)."""
        return iter(self._snapshot()[1])

    def __contains__(self, entry: object) -> bool:
        with self._lock:
            return entry in self._entries

    @overload
    def __getitem__(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: slice) -> list[Entry]: ...

    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        """Absolute indexing and slicing over every request ever logged."""
        dropped, kept = self._snapshot()
        total = dropped + len(kept)
        if isinstance(index, slice):
            start, stop, step = index.indices(total)
            if step != 1:
                raise ValueError("RequestLog slices take no step")
            return kept[max(start - dropped, 0):max(stop - dropped, 0)]
        position = index + total if index < 0 else index
        if not 0 <= position < total:
            raise IndexError(f"request {index} out of range (0..{total - 1})")
        if position < dropped:
            raise IndexError(f"request {index} is older than the {len(kept)} kept")
        return kept[position - dropped]

    def __repr__(self) -> str:
        return f"RequestLog({len(self)} requests, {len(self._entries)} kept)"
