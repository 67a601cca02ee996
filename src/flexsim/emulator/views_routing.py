"""TaskQueues and Workflows."""

from __future__ import annotations

from typing import Any

from flask import Response

from flexsim.emulator.params import Params
from flexsim.emulator.views_common import engine, page, params, reply, wire, workspace_blueprint

bp = workspace_blueprint("routing")

QUEUE_FIELDS = ("FriendlyName", "TargetWorkers", "MaxReservedWorkers", "TaskOrder", "ReservationActivitySid",
                "AssignmentActivitySid")


def _queue_fields(p: Params) -> dict[str, Any]:
    return {"target_workers": p.text("TargetWorkers"),
            "max_reserved_workers": p.integer("MaxReservedWorkers", 1, 50), "task_order": p.text("TaskOrder"), "reservation_activity_sid": p.text("ReservationActivitySid"),
            "assignment_activity_sid": p.text("AssignmentActivitySid")}


# --- TaskQueues
@bp.route("/TaskQueues", methods=["GET"])
def list_task_queues() -> Response:
    p = params("FriendlyName", "EvaluateWorkerAttributes", "WorkerSid", "Ordering", paged=True)
    eng = engine()
    with eng.lock:
        found = eng.list_task_queues(friendly_name=p.text("FriendlyName"),
                                     evaluate_worker_attributes=p.text("EvaluateWorkerAttributes"),
                                     worker_sid=p.text("WorkerSid"), ordering=p.text("Ordering"))
        return page(found, "task_queues", wire().task_queue)


@bp.route("/TaskQueues", methods=["POST"])
def create_task_queue() -> Response:
    p = params(*QUEUE_FIELDS)
    eng = engine()
    with eng.lock:
        queue = eng.create_task_queue(p.required("FriendlyName"), **_queue_fields(p))
        return reply(wire().task_queue(queue), 201)


@bp.route("/TaskQueues/<sid>", methods=["GET"])
def fetch_task_queue(sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        return reply(wire().task_queue(eng.get_task_queue(sid)))


@bp.route("/TaskQueues/<sid>", methods=["POST"])
def update_task_queue(sid: str) -> Response:
    p = params(*QUEUE_FIELDS)
    eng = engine()
    with eng.lock:
        queue = eng.update_task_queue(sid, friendly_name=p.text("FriendlyName"), **_queue_fields(p))
        return reply(wire().task_queue(queue))


@bp.route("/TaskQueues/<sid>", methods=["DELETE"])
def delete_task_queue(sid: str) -> Response:
    params()
    engine().delete_task_queue(sid)
    return reply(None, 204)


# --- Workflows
@bp.route("/Workflows", methods=["GET"])
def list_workflows() -> Response:
    p = params("FriendlyName", paged=True)
    eng = engine()
    with eng.lock:
        return page(eng.list_workflows(friendly_name=p.text("FriendlyName")), "workflows", wire().workflow)


@bp.route("/Workflows", methods=["POST"])
def create_workflow() -> Response:
    p = params("FriendlyName", "Configuration", "AssignmentCallbackUrl", "FallbackAssignmentCallbackUrl",
               "TaskReservationTimeout")
    eng = engine()
    with eng.lock:
        flow = eng.create_workflow(
            p.required("FriendlyName"), p.required("Configuration"),
            assignment_callback_url=p.text("AssignmentCallbackUrl"),
            fallback_assignment_callback_url=p.text("FallbackAssignmentCallbackUrl"),
            task_reservation_timeout=p.integer("TaskReservationTimeout", 1, 86_400))
        return reply(wire().workflow(flow), 201)


@bp.route("/Workflows/<sid>", methods=["GET"])
def fetch_workflow(sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        return reply(wire().workflow(eng.get_workflow(sid)))


@bp.route("/Workflows/<sid>", methods=["POST"])
def update_workflow(sid: str) -> Response:
    p = params("FriendlyName", "Configuration", "AssignmentCallbackUrl", "FallbackAssignmentCallbackUrl",
               "TaskReservationTimeout", "ReEvaluateTasks")
    eng = engine()
    with eng.lock:
        flow = eng.update_workflow(
            sid, friendly_name=p.text("FriendlyName"), configuration=p.text("Configuration"),
            assignment_callback_url=p.text("AssignmentCallbackUrl"),
            fallback_assignment_callback_url=p.text("FallbackAssignmentCallbackUrl"),
            task_reservation_timeout=p.integer("TaskReservationTimeout", 1, 86_400),
            re_evaluate_tasks=bool(p.boolean("ReEvaluateTasks")))
        return reply(wire().workflow(flow))


@bp.route("/Workflows/<sid>", methods=["DELETE"])
def delete_workflow(sid: str) -> Response:
    params()
    engine().delete_workflow(sid)
    return reply(None, 204)
