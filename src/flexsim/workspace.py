"""Reading a whole TaskRouter workspace at once, running bulk steps with progress, and the writes
deploy and cleansim share (signing a worker out, removing workflows and queues).

Shared by deploy and cleansim: both start from a :class:`Snapshot` (one list request per resource
type, pages of 1,000) and compare it with what they want, instead of asking TaskRouter resource by
resource.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

from flexsim.errors import FlexsimError, TwilioRequestFailed
from flexsim.plan import DELETE, Change, Plan, ProgressFactory
from flexsim.taskrouter import TaskRouter, describe

T = TypeVar("T")
R = TypeVar("R")


class WorkspaceNotFound(FlexsimError):
    """The workspace SID does not name a workspace this account can see."""


@dataclass
class Snapshot:
    """The workspace and its Activities, TaskChannels, TaskQueues, Workflows and Workers (SDK instances)."""

    workspace: Any
    activities: list[Any]
    channels: list[Any]
    queues: list[Any]
    workflows: list[Any]
    workers: list[Any]


def read_snapshot(tr: TaskRouter) -> Snapshot:
    """Read everything deploy and cleansim compare against, lists in parallel.

    :raises WorkspaceNotFound: when TaskRouter answers 404 for the workspace.
    """
    try:
        workspace = tr.fetch_workspace()
    except TwilioRequestFailed as exc:
        if exc.status == 404:
            raise WorkspaceNotFound(f"workspace {tr.settings.workspace_sid} was not found: check --wrkspc "
                                    "(WRKSPC_SID) and that the credentials belong to its account") from exc
        raise
    reads: list[Callable[[], list[Any]]] = [tr.list_activities, tr.list_task_channels, tr.list_task_queues,
                                            tr.list_workflows, tr.list_workers]
    return Snapshot(workspace, *tr.map(lambda read: read(), reads))


def offline_activity(snap: Snapshot) -> str | None:
    """The SID of the Activity to sign workers out to: ``Offline``, else any unavailable one."""
    unavailable = [a for a in snap.activities if not a.available]
    named = next((a for a in unavailable if a.friendly_name == "Offline"), None)
    default = next((a for a in unavailable if a.sid == getattr(snap.workspace, "default_activity_sid", None)), None)
    chosen = named or default or (unavailable[0] if unavailable else None)
    return chosen.sid if chosen is not None else None


def run_steps(tr: TaskRouter, label: str, fn: Callable[[T], R], items: Sequence[T],
              progress: ProgressFactory | None = None) -> list[R]:
    """``tr.map(fn, items)`` with a progress bar named ``label`` when ``progress`` is given."""
    if not items:
        return []
    if progress is None:
        return tr.map(fn, items)
    lock = threading.Lock()
    with progress(label, len(items)) as advance:
        def tick() -> None:
            with lock:  # progress bars are not thread-safe
                advance(1)

        return tr.map(fn, items, on_done=tick)


def sign_out_worker(tr: TaskRouter, change: Change, offline_sid: str) -> None:
    """Move the worker of ``change`` to the ``offline_sid`` Activity, so nothing new is routed to it.

    TaskRouter refuses the move to an unavailable Activity while reservations are pending unless
    they are rejected, which re-routes their tasks.
    """
    tr.call("update", describe("worker", change.name, change.sid),
            lambda: tr.workspace.workers(change.sid).update(activity_sid=offline_sid,
                                                            reject_pending_reservations=True))


def remove_routing(tr: TaskRouter, plan: Plan, progress: ProgressFactory | None = None) -> None:
    """Delete the plan's doomed Workflows, then its doomed TaskQueues (no longer routed to by then)."""
    ws = tr.workspace
    for change in plan.of("workflow", DELETE):
        tr.call("delete", describe("workflow", change.name, change.sid), ws.workflows(change.sid).delete)
    run_steps(tr, "Removing queues", lambda c: tr.call("delete", describe("queue", c.name, c.sid),
                                                       ws.task_queues(c.sid).delete),
              plan.of("queue", DELETE), progress)
