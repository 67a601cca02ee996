"""How flexsim recognises the Workers, Tasks, TaskQueues and Workflows it owns.

TaskRouter has no tags, and flexsim keeps no local registry (it would be lost between machines), so
ownership is written into the resources themselves, in ways that never change routing:

- **Workers and Tasks** carry the attribute ``FLEXSIM_MARKER_KEY`` (``"flexsim": true``, see
  :mod:`flexsim.config`); genconfig puts it in every worker's attributes and custsim in every task's.
- **TaskQueues** get an inert clause OR-ed onto their TargetWorkers::

      (routing.skills HAS 'Sales') OR (flexsim_owner == 'flexsim')

  No worker has a ``flexsim_owner`` attribute, so the clause is always false and membership is
  exactly the config's expression; a human who matches it can still take flexsim tasks.
- **The Workflow** gets one extra filter, last in the list, whose expression is the same inert
  clause (no task has ``flexsim_owner``), so it never matches::

      {"filter_friendly_name": "flexsim ownership marker", "expression": "flexsim_owner == 'flexsim'",
       "targets": [{"queue": "<the Everyone queue>"}]}

Both markers are visible in the Console, survive redeploys, and need nobody's config to be found,
so cleansim works after the config has changed. Deleting a marker by hand disowns the resource;
deploy then reports a conflict and ``--adopt`` takes it back.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from flexsim.config import FLEXSIM_MARKER_KEY, FLEXSIM_MARKER_VALUE, is_flexsim

__all__ = ["FLEXSIM_MARKER_KEY", "FLEXSIM_MARKER_VALUE", "MARKER_FILTER_NAME", "OWNER_CLAUSE", "is_flexsim",
           "foreign_queue_sids", "is_flexsim_queue", "is_flexsim_workflow", "mark_target_workers",
           "marker_filter", "referenced_queue_sids", "unmark_target_workers"]

OWNER_ATTRIBUTE = "flexsim_owner"
OWNER_CLAUSE = f"{OWNER_ATTRIBUTE} == 'flexsim'"
MARKER_FILTER_NAME = "flexsim ownership marker"
_OWNER_CLAUSE = re.compile(r"\(\s*flexsim_owner\s*==?\s*(['\"])flexsim\1\s*\)")
_MARKED = re.compile(r"^\((?P<expr>.*)\)\s+OR\s+\(\s*flexsim_owner\s*==?\s*(['\"])flexsim\2\s*\)$", re.S)


def mark_target_workers(expression: str) -> str:
    """The TargetWorkers to store for a flexsim queue whose config expression is ``expression``."""
    return f"({expression}) OR ({OWNER_CLAUSE})"


def is_flexsim_queue(target_workers: str | None) -> bool:
    """True when a TaskQueue's TargetWorkers carries the ownership clause."""
    return bool(target_workers) and _OWNER_CLAUSE.search(target_workers or "") is not None


def unmark_target_workers(target_workers: str | None) -> str | None:
    """The expression without the ownership clause (for display); unchanged when unmarked."""
    match = _MARKED.match((target_workers or "").strip())
    return match.group("expr") if match else target_workers


def marker_filter(queue_sid: str) -> dict[str, Any]:
    """The inert Workflow filter that marks a workflow as flexsim's."""
    return {"filter_friendly_name": MARKER_FILTER_NAME, "expression": OWNER_CLAUSE,
            "targets": [{"queue": queue_sid}]}


def _routing(configuration: str | None) -> dict[str, Any]:
    try:
        value = json.loads(configuration or "{}")
    except ValueError:
        return {}
    routing = value.get("task_routing") if isinstance(value, dict) else None
    return routing if isinstance(routing, dict) else {}


def is_flexsim_workflow(configuration: str | None) -> bool:
    """True when a Workflow configuration holds the ownership marker filter."""
    filters = _routing(configuration).get("filters") or []
    return any(isinstance(f, dict) and _OWNER_CLAUSE.search(f"({f.get('expression', '')})")
               for f in filters)


def referenced_queue_sids(configuration: str | None) -> set[str]:
    """Every TaskQueue SID a Workflow configuration routes to, default filter included."""
    routing = _routing(configuration)
    sids: set[str] = set()
    for item in routing.get("filters") or []:
        for target in (item.get("targets") or []) if isinstance(item, dict) else []:
            if isinstance(target, dict) and target.get("queue"):
                sids.add(str(target["queue"]))
    default = routing.get("default_filter")
    if isinstance(default, dict) and default.get("queue"):
        sids.add(str(default["queue"]))
    return sids


def foreign_queue_sids(workflows: Iterable[Any]) -> set[str]:
    """The TaskQueue SIDs that Workflows flexsim does not own route to (such queues must stay)."""
    sids: set[str] = set()
    for workflow in workflows:
        if not is_flexsim_workflow(workflow.configuration):
            sids |= referenced_queue_sids(workflow.configuration)
    return sids
