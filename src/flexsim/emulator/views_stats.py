"""RealTimeStatistics, CumulativeStatistics and the combined Statistics endpoints.

The engine computes the payloads; these views parse the window parameters and add the
``account_sid``, ``workspace_sid``, ``url`` (and owning SID) fields of the wire format.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Response, request

from flexsim.emulator.errors import BadRequest
from flexsim.emulator.params import Params
from flexsim.emulator.views_common import engine, page, params, reply, wire, workspace_blueprint

bp = workspace_blueprint("stats")

WINDOW = ("Minutes", "StartDate", "EndDate", "TaskChannel", "SplitByWaitTime")


def _window(p: Params, split: bool = True) -> dict[str, Any]:
    window = {"minutes": p.integer("Minutes", 1), "start_date": p.date("StartDate"), "end_date": p.date("EndDate"),
              "task_channel": p.text("TaskChannel")}
    if split:
        window["split_by_wait_time"] = p.text("SplitByWaitTime")
    return window


def _stats(compute: Callable[[], dict[str, Any]], path: str, **owner: str) -> dict[str, Any]:
    eng = engine()
    with eng.lock:
        return wire().statistics({**owner, **compute()}, path)


# --- Workspace
@bp.route("/RealTimeStatistics", methods=["GET"])
def workspace_realtime() -> Response:
    p = params("TaskChannel")
    return reply(_stats(lambda: engine().realtime_workspace(p.text("TaskChannel")), "RealTimeStatistics"))


@bp.route("/CumulativeStatistics", methods=["GET"])
def workspace_cumulative() -> Response:
    p = params(*WINDOW)
    return reply(_stats(lambda: engine().cumulative_workspace(**_window(p)), "CumulativeStatistics"))


@bp.route("/Statistics", methods=["GET"])
def workspace_statistics() -> Response:
    p = params(*WINDOW)
    eng = engine()
    return reply(_stats(lambda: {"realtime": eng.realtime_workspace(p.text("TaskChannel")),
                                 "cumulative": eng.cumulative_workspace(**_window(p))}, "Statistics"))


# --- TaskQueues
@bp.route("/TaskQueues/<sid>/RealTimeStatistics", methods=["GET"])
def queue_realtime(sid: str) -> Response:
    p = params("TaskChannel")
    return reply(_stats(lambda: engine().realtime_queue(sid, p.text("TaskChannel")),
                        f"TaskQueues/{sid}/RealTimeStatistics", task_queue_sid=sid))


@bp.route("/TaskQueues/<sid>/CumulativeStatistics", methods=["GET"])
def queue_cumulative(sid: str) -> Response:
    p = params(*WINDOW)
    return reply(_stats(lambda: engine().cumulative_queue(sid, **_window(p)),
                        f"TaskQueues/{sid}/CumulativeStatistics", task_queue_sid=sid))


@bp.route("/TaskQueues/<sid>/Statistics", methods=["GET"])
def queue_statistics(sid: str) -> Response:
    p = params(*WINDOW)
    eng = engine()
    return reply(_stats(lambda: {"realtime": eng.realtime_queue(sid, p.text("TaskChannel")),
                                 "cumulative": eng.cumulative_queue(sid, **_window(p))},
                        f"TaskQueues/{sid}/Statistics", task_queue_sid=sid))


@bp.route("/TaskQueues/Statistics", methods=["GET"])
def list_queue_statistics() -> Response:
    p = params("FriendlyName", *WINDOW, paged=True)
    eng = engine()
    out = wire()
    channel, window = p.text("TaskChannel"), _window(p)

    def one(queue: Any) -> dict[str, Any]:
        return {"account_sid": out.account_sid, "workspace_sid": out.workspace_sid, "task_queue_sid": queue.sid,
                "realtime": eng.realtime_queue(queue.sid, channel),
                "cumulative": eng.cumulative_queue(queue.sid, **window)}

    with eng.lock:
        return page(eng.list_task_queues(friendly_name=p.text("FriendlyName")), "task_queues_statistics", one)


@bp.route("/TaskQueues/RealTimeStatistics", methods=["POST"])
def bulk_queue_realtime() -> Response:
    # The SDK sends a JSON body here; the spec leaves its schema empty, so accept
    # a list of SIDs under any of the plausible keys, at most 50 as Twilio documents.
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object with TaskQueueSids")
    sids = body.get("TaskQueueSids") or body.get("task_queue_sids") or body.get("TaskQueueSid") or []
    if isinstance(sids, str):
        sids = [sids]
    if not isinstance(sids, list) or not all(isinstance(sid, str) for sid in sids):
        raise BadRequest("TaskQueueSids must be a list of TaskQueue SIDs")
    if len(sids) > 50:
        raise BadRequest("At most 50 TaskQueue SIDs per request")
    channel = body.get("TaskChannel") or body.get("task_channel")
    eng = engine()
    with eng.lock:
        data = [{"task_queue_sid": sid, **eng.realtime_queue(sid, channel)} for sid in sids]
        out = wire()
        return reply({"account_sid": out.account_sid, "workspace_sid": out.workspace_sid,
                      "task_queue_data": data, "task_queue_response_count": len(data),
                      "url": f"{out.ws_url}/TaskQueues/RealTimeStatistics"})


# --- Workers
@bp.route("/Workers/RealTimeStatistics", methods=["GET"])
def workers_realtime() -> Response:
    p = params("TaskChannel")
    return reply(_stats(lambda: engine().realtime_workers(p.text("TaskChannel")), "Workers/RealTimeStatistics"))


@bp.route("/Workers/CumulativeStatistics", methods=["GET"])
def workers_cumulative() -> Response:
    p = params("Minutes", "StartDate", "EndDate", "TaskChannel")
    return reply(_stats(lambda: engine().cumulative_workers(**_window(p, split=False)),
                        "Workers/CumulativeStatistics"))


@bp.route("/Workers/Statistics", methods=["GET"])
def workers_statistics() -> Response:
    p = params("Minutes", "StartDate", "EndDate", "TaskQueueSid", "TaskQueueName", "FriendlyName", "TaskChannel")
    eng = engine()
    # The queue and name filters are accepted; the figures cover every worker.
    return reply(_stats(lambda: {"realtime": eng.realtime_workers(p.text("TaskChannel")),
                                 "cumulative": eng.cumulative_workers(**_window(p, split=False))},
                        "Workers/Statistics"))


# --- Workflows
@bp.route("/Workflows/<sid>/RealTimeStatistics", methods=["GET"])
def workflow_realtime(sid: str) -> Response:
    p = params("TaskChannel")
    return reply(_stats(lambda: engine().realtime_workflow(sid, p.text("TaskChannel")),
                        f"Workflows/{sid}/RealTimeStatistics", workflow_sid=sid))


@bp.route("/Workflows/<sid>/CumulativeStatistics", methods=["GET"])
def workflow_cumulative(sid: str) -> Response:
    p = params(*WINDOW)
    return reply(_stats(lambda: engine().cumulative_workflow(sid, **_window(p)),
                        f"Workflows/{sid}/CumulativeStatistics", workflow_sid=sid))


@bp.route("/Workflows/<sid>/Statistics", methods=["GET"])
def workflow_statistics(sid: str) -> Response:
    p = params(*WINDOW)
    eng = engine()
    return reply(_stats(lambda: {"realtime": eng.realtime_workflow(sid, p.text("TaskChannel")),
                                 "cumulative": eng.cumulative_workflow(sid, **_window(p))},
                        f"Workflows/{sid}/Statistics", workflow_sid=sid))
