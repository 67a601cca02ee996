"""Reading a whole TaskRouter workspace at once, and running bulk steps with progress.

Shared by deploy and cleansim: both start from a :class:`Snapshot` (one list request per resource
type, pages of 1,000) and compare it with what they want, instead of asking TaskRouter resource by
resource.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

from flexsim.errors import FlexsimError, TwilioRequestFailed
from flexsim.plan import ProgressFactory
from flexsim.taskrouter import TaskRouter

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


def read_snapshot(tr: TaskRouter, workers: bool = True) -> Snapshot:
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
                                            tr.list_workflows]
    if workers:
        reads.append(tr.list_workers)
    lists = tr.map(lambda read: read(), reads)
    if not workers:
        lists.append([])
    return Snapshot(workspace, *lists)


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
