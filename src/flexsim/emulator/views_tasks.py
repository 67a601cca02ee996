"""Tasks and Reservations (task-scoped here; the worker-scoped views reuse the helpers)."""

from __future__ import annotations

from flask import Response

from flexsim.emulator.params import Params, snake_case
from flexsim.emulator.views_common import engine, etag_of, if_match, page, params, reply, wire, workspace_blueprint

bp = workspace_blueprint("tasks")

# Instruction options of a reservation update: accepted and passed to the engine, which
# carries out accept/reject/wrapping/completed and logs what it cannot (call, dequeue, ...).
INSTRUCTION_PARAMS = (
    "Instruction", "DequeuePostWorkActivitySid", "DequeueFrom", "DequeueRecord", "DequeueTimeout", "DequeueTo",
    "DequeueStatusCallbackUrl", "CallFrom", "CallRecord", "CallTimeout", "CallTo", "CallUrl",
    "CallStatusCallbackUrl", "CallAccept", "RedirectCallSid", "RedirectAccept", "RedirectUrl", "To", "From",
    "StatusCallback", "StatusCallbackMethod", "StatusCallbackEvent", "Timeout", "Record", "Muted", "Beep",
    "StartConferenceOnEnter", "EndConferenceOnExit", "WaitUrl", "WaitMethod", "EarlyMedia", "MaxParticipants",
    "ConferenceStatusCallback", "ConferenceStatusCallbackMethod", "ConferenceStatusCallbackEvent",
    "ConferenceRecord", "ConferenceTrim", "RecordingChannels", "RecordingStatusCallback",
    "RecordingStatusCallbackMethod", "ConferenceRecordingStatusCallback",
    "ConferenceRecordingStatusCallbackMethod", "Region", "SipAuthUsername", "SipAuthPassword",
    "DequeueStatusCallbackEvent", "PostWorkActivitySid", "EndConferenceOnCustomerExit",
    "BeepOnCustomerEntrance", "JitterBufferSize",
)
TASK_FILTERS = ("Priority", "AssignmentStatus", "WorkflowSid", "WorkflowName", "TaskQueueSid", "TaskQueueName",
                "EvaluateTaskAttributes", "RoutingTarget", "Ordering", "HasAddons")


def update_reservation(p: Params, sid: str, *, task_sid: str | None = None, worker_sid: str | None = None,
                       scope: str = "task") -> Response:
    """Apply a reservation update (status and/or instruction) and answer the reservation."""
    extra = {snake_case(name): value for name, value in p.present().items()
             if name not in ("ReservationStatus", "WorkerActivitySid", "Instruction")}
    eng = engine()
    with eng.lock:
        reservation = eng.update_reservation(
            sid, task_sid=task_sid, worker_sid=worker_sid, reservation_status=p.text("ReservationStatus"),
            worker_activity_sid=p.text("WorkerActivitySid"), instruction=p.text("Instruction"),
            if_match=if_match(), **extra)
        return reply(wire().reservation(reservation, scope), etag=etag_of(reservation.version))


# --- Tasks
@bp.route("/Tasks", methods=["GET"])
def list_tasks() -> Response:
    p = params(*TASK_FILTERS, paged=True)
    has_addons = p.boolean("HasAddons")
    eng = engine()
    with eng.lock:
        found = eng.list_tasks(
            assignment_status=p.multi("AssignmentStatus"), workflow_sid=p.text("WorkflowSid"),
            workflow_name=p.text("WorkflowName"), task_queue_sid=p.text("TaskQueueSid"),
            task_queue_name=p.text("TaskQueueName"), evaluate_task_attributes=p.text("EvaluateTaskAttributes"),
            ordering=p.text("Ordering"), priority=p.integer("Priority"), routing_target=p.text("RoutingTarget"))
        if has_addons:
            found = []  # emulated tasks never carry add-ons
        return page(found, "tasks", wire().task, versioned=True)


@bp.route("/Tasks", methods=["POST"])
def create_task() -> Response:
    p = params("Timeout", "Priority", "TaskChannel", "WorkflowSid", "Attributes", "VirtualStartTime",
               "RoutingTarget", "IgnoreCapacity", "TaskQueueSid")
    eng = engine()
    with eng.lock:
        task = eng.create_task(
            attributes=p.text("Attributes"), workflow_sid=p.text("WorkflowSid"), task_channel=p.text("TaskChannel"),
            priority=p.integer("Priority", 0, 2_147_483_647), timeout=p.integer("Timeout", 1, 1_209_600),
            task_queue_sid=p.text("TaskQueueSid"), virtual_start_time=p.date("VirtualStartTime"),
            routing_target=p.text("RoutingTarget"), ignore_capacity=bool(p.boolean("IgnoreCapacity")))
        return reply(wire().task(task), 201, etag=etag_of(task.version))


@bp.route("/Tasks/<sid>", methods=["GET"])
def fetch_task(sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        task = eng.get_task(sid)
        return reply(wire().task(task), etag=etag_of(task.version))


@bp.route("/Tasks/<sid>", methods=["POST"])
def update_task(sid: str) -> Response:
    p = params("Attributes", "AssignmentStatus", "Reason", "Priority", "TaskChannel", "VirtualStartTime")
    eng = engine()
    with eng.lock:
        task = eng.update_task(
            sid, attributes=p.text("Attributes"), assignment_status=p.text("AssignmentStatus"),
            reason=p.text("Reason"), priority=p.integer("Priority", 0, 2_147_483_647),
            task_channel=p.text("TaskChannel"), virtual_start_time=p.date("VirtualStartTime"), if_match=if_match())
        return reply(wire().task(task), etag=etag_of(task.version))


@bp.route("/Tasks/<sid>", methods=["DELETE"])
def delete_task(sid: str) -> Response:
    params()
    engine().delete_task(sid, if_match=if_match())
    return reply(None, 204)


# --- Task Reservations
@bp.route("/Tasks/<task_sid>/Reservations", methods=["GET"])
def list_task_reservations(task_sid: str) -> Response:
    p = params("ReservationStatus", "WorkerSid", paged=True)
    eng = engine()
    with eng.lock:
        eng.get_task(task_sid)  # 404 for an unknown task rather than an empty list
        found = eng.list_reservations(task_sid=task_sid, worker_sid=p.text("WorkerSid"),
                                      reservation_status=p.text("ReservationStatus"))
        return page(found, "reservations", wire().reservation, versioned=True)


@bp.route("/Tasks/<task_sid>/Reservations/<sid>", methods=["GET"])
def fetch_task_reservation(task_sid: str, sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        reservation = eng.get_reservation(sid, task_sid=task_sid)
        return reply(wire().reservation(reservation), etag=etag_of(reservation.version))


@bp.route("/Tasks/<task_sid>/Reservations/<sid>", methods=["POST"])
def update_task_reservation(task_sid: str, sid: str) -> Response:
    p = params("ReservationStatus", "WorkerActivitySid", "SupervisorMode", "Supervisor", *INSTRUCTION_PARAMS)
    return update_reservation(p, sid, task_sid=task_sid)
