"""Workers, their WorkerChannels and their Reservations."""

from __future__ import annotations

from functools import partial

from flask import Response

from flexsim.emulator.views_common import engine, etag_of, if_match, page, params, reply, wire, workspace_blueprint
from flexsim.emulator.views_tasks import INSTRUCTION_PARAMS, update_reservation

bp = workspace_blueprint("workers")

WORKER_FILTERS = ("ActivityName", "ActivitySid", "Available", "FriendlyName", "TargetWorkersExpression",
                  "TaskQueueName", "TaskQueueSid", "Ordering")


@bp.route("/Workers", methods=["GET"])
def list_workers() -> Response:
    p = params(*WORKER_FILTERS, paged=True)
    eng = engine()
    with eng.lock:
        found = eng.list_workers(
            activity_name=p.text("ActivityName"), activity_sid=p.text("ActivitySid"),
            available=p.boolean("Available"), friendly_name=p.text("FriendlyName"),
            target_workers_expression=p.text("TargetWorkersExpression"), task_queue_sid=p.text("TaskQueueSid"),
            task_queue_name=p.text("TaskQueueName"), ordering=p.text("Ordering"))
        return page(found, "workers", wire().worker, versioned=True)


@bp.route("/Workers", methods=["POST"])
def create_worker() -> Response:
    p = params("FriendlyName", "ActivitySid", "Attributes")
    eng = engine()
    with eng.lock:
        worker = eng.create_worker(p.required("FriendlyName"), activity_sid=p.text("ActivitySid"),
                                   attributes=p.text("Attributes"))
        return reply(wire().worker(worker), 201, etag=etag_of(worker.version))


@bp.route("/Workers/<sid>", methods=["GET"])
def fetch_worker(sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        worker = eng.get_worker(sid)
        return reply(wire().worker(worker), etag=etag_of(worker.version))


@bp.route("/Workers/<sid>", methods=["POST"])
def update_worker(sid: str) -> Response:
    p = params("ActivitySid", "Attributes", "FriendlyName", "RejectPendingReservations")
    eng = engine()
    with eng.lock:
        worker = eng.update_worker(
            sid, activity_sid=p.text("ActivitySid"), attributes=p.text("Attributes"),
            friendly_name=p.text("FriendlyName"),
            reject_pending_reservations=bool(p.boolean("RejectPendingReservations")), if_match=if_match())
        return reply(wire().worker(worker), etag=etag_of(worker.version))


@bp.route("/Workers/<sid>", methods=["DELETE"])
def delete_worker(sid: str) -> Response:
    params()
    engine().delete_worker(sid, if_match=if_match())
    return reply(None, 204)


# --- WorkerChannels (addressed by WC SID or by the channel's unique name)
@bp.route("/Workers/<worker_sid>/Channels", methods=["GET"])
def list_worker_channels(worker_sid: str) -> Response:
    params(paged=True)
    eng = engine()
    with eng.lock:
        return page(eng.list_worker_channels(worker_sid), "channels", wire().worker_channel)


@bp.route("/Workers/<worker_sid>/Channels/<sid>", methods=["GET"])
def fetch_worker_channel(worker_sid: str, sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        return reply(wire().worker_channel(eng.get_worker_channel(worker_sid, sid)))


@bp.route("/Workers/<worker_sid>/Channels/<sid>", methods=["POST"])
def update_worker_channel(worker_sid: str, sid: str) -> Response:
    p = params("Capacity", "Available")
    eng = engine()
    with eng.lock:
        channel = eng.update_worker_channel(worker_sid, sid, capacity=p.integer("Capacity"),
                                            available=p.boolean("Available"))
        return reply(wire().worker_channel(channel))


# --- Worker Reservations
@bp.route("/Workers/<worker_sid>/Reservations", methods=["GET"])
def list_worker_reservations(worker_sid: str) -> Response:
    p = params("ReservationStatus", paged=True)
    eng = engine()
    with eng.lock:
        eng.get_worker(worker_sid)  # 404 for an unknown worker rather than an empty list
        found = eng.list_reservations(worker_sid=worker_sid, reservation_status=p.text("ReservationStatus"))
        return page(found, "reservations", partial(wire().reservation, scope="worker"), versioned=True)


@bp.route("/Workers/<worker_sid>/Reservations/<sid>", methods=["GET"])
def fetch_worker_reservation(worker_sid: str, sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        reservation = eng.get_reservation(sid, worker_sid=worker_sid)
        return reply(wire().reservation(reservation, "worker"), etag=etag_of(reservation.version))


@bp.route("/Workers/<worker_sid>/Reservations/<sid>", methods=["POST"])
def update_worker_reservation(worker_sid: str, sid: str) -> Response:
    p = params("ReservationStatus", "WorkerActivitySid", *INSTRUCTION_PARAMS)
    return update_reservation(p, sid, worker_sid=worker_sid, scope="worker")
