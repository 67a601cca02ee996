"""A plan of changes to a TaskRouter workspace: what deploy and cleansim will do, or did.

A :class:`Plan` is a list of :class:`Change` records (one per resource: create, update, delete or
unchanged, with the fields that change). ``--dry-run`` prints :meth:`Plan.describe`; after a run
:meth:`Plan.summary` gives the counts per resource type. Each command reports a :class:`RunReport`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

CREATE, UPDATE, DELETE, UNCHANGED = "create", "update", "delete", "unchanged"
_PAST = {CREATE: "created", UPDATE: "updated", DELETE: "removed", UNCHANGED: "unchanged"}
_SYMBOL = {CREATE: "+", UPDATE: "~", DELETE: "-", UNCHANGED: "="}

#: ``progress(label, total)`` returns a context manager yielding ``advance(n)``; the CLI passes one
#: built on ``click.progressbar``, library code stays silent without it.
ProgressFactory = Callable[[str, int], ContextManager[Callable[[int], None]]]


@dataclass
class Change:
    """One resource and what happens to it.

    :param kind: the resource type, e.g. ``"worker"``, ``"queue"``, ``"task"``.
    :param name: its friendly name (or SID when it has none).
    :param action: ``create``, ``update``, ``delete`` or ``unchanged``.
    :param sid: its SID, when it exists.
    :param fields: for updates, ``{field: (old, new)}``; for other actions, notes to show.
    :param data: what applying the change needs (not shown).
    """

    kind: str
    name: str
    action: str
    sid: str | None = None
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        """One line such as ``~ queue 'Sales' (WQ…): target_workers: 'a' -> 'b'``."""
        where = f" ({self.sid})" if self.sid else ""
        text = f"{_SYMBOL[self.action]} {self.action} {self.kind} {self.name!r}{where}"
        if self.fields:
            text += ": " + "; ".join(f"{key}: {_short(old)} -> {_short(new)}"
                                     for key, (old, new) in self.fields.items())
        return text


@dataclass
class Plan:
    """The changes for one run, in the order they are applied."""

    changes: list[Change] = field(default_factory=list)

    def add(self, change: Change) -> Change:
        """Append ``change`` and return it."""
        self.changes.append(change)
        return change

    def of(self, kind: str, *actions: str) -> list[Change]:
        """The changes to resources of ``kind``, optionally only those with one of ``actions``."""
        return [c for c in self.changes if c.kind == kind and (not actions or c.action in actions)]

    @property
    def writes(self) -> int:
        """How many changes are not ``unchanged``."""
        return sum(1 for c in self.changes if c.action != UNCHANGED)

    def counts(self) -> dict[str, Counter[str]]:
        """``{kind: Counter(action)}`` in first-seen order of kinds."""
        result: dict[str, Counter[str]] = {}
        for change in self.changes:
            result.setdefault(change.kind, Counter())[change.action] += 1
        return result

    def describe(self, show_unchanged: int = 5) -> list[str]:
        """The plan, one line per change; unchanged resources are grouped, naming at most ``show_unchanged``."""
        lines = [c.describe() for c in self.changes if c.action != UNCHANGED]
        for kind in self.counts():
            same = [c.name for c in self.of(kind, UNCHANGED)]
            if same:
                shown = ", ".join(same[:show_unchanged]) + (", …" if len(same) > show_unchanged else "")
                lines.append(f"= unchanged {_plural(kind, len(same))}: {shown}")
        return lines or ["nothing to do"]

    def summary(self) -> list[str]:
        """One line per resource type: ``workers: 3 created, 1 updated, 0 removed, 6 unchanged``."""
        lines = []
        for kind, counter in self.counts().items():
            parts = ", ".join(f"{counter[a]} {_PAST[a]}" for a in (CREATE, UPDATE, DELETE, UNCHANGED))
            lines.append(f"{_plural(kind, 2)}: {parts}")
        return lines


@dataclass
class RunReport:
    """What a deploy or cleansim run planned and (unless a dry run) did, with its request counts."""

    plan: Plan
    dry_run: bool
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    writes: int = 0

    def summary(self) -> list[str]:
        """The lines to print after the run."""
        raise NotImplementedError


def _plural(kind: str, n: int) -> str:
    if n == 1:
        return kind
    return kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


def _short(value: Any, limit: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = "(none)" if value is None else repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"
