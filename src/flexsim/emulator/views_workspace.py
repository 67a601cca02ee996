"""Workspaces, Activities, TaskChannels and Events."""

from __future__ import annotations

from flask import Blueprint, Response

from flexsim.emulator.views_common import engine, page, params, reply, wire, workspace_blueprint

bp = workspace_blueprint("workspace")
top = Blueprint("workspaces", __name__)


# --- Workspaces (the emulator serves exactly one)
@top.route("/v1/Workspaces", methods=["GET"])
def list_workspaces() -> Response:
    p = params("FriendlyName", paged=True)
    eng = engine()
    with eng.lock:
        name = p.text("FriendlyName")
        found = [eng.workspace] if name is None or name == eng.workspace.friendly_name else []
        return page(found, "workspaces", wire().workspace)


@bp.route("", methods=["GET"])
def fetch_workspace() -> Response:
    params()
    eng = engine()
    with eng.lock:
        return reply(wire().workspace(eng.workspace))


@bp.route("", methods=["POST"])
def update_workspace() -> Response:
    p = params("DefaultActivitySid", "EventCallbackUrl", "EventsFilter", "FriendlyName", "MultiTaskEnabled",
               "TimeoutActivitySid", "PrioritizeQueueOrder")
    eng = engine()
    with eng.lock:
        ws = eng.update_workspace(
            friendly_name=p.text("FriendlyName"), event_callback_url=p.text("EventCallbackUrl"),
            events_filter=p.text("EventsFilter"), default_activity_sid=p.text("DefaultActivitySid"),
            timeout_activity_sid=p.text("TimeoutActivitySid"), multi_task_enabled=p.boolean("MultiTaskEnabled"),
            prioritize_queue_order=p.text("PrioritizeQueueOrder"))
        return reply(wire().workspace(ws))


# --- Activities
@bp.route("/Activities", methods=["GET"])
def list_activities() -> Response:
    p = params("FriendlyName", "Available", paged=True)
    eng = engine()
    with eng.lock:
        found = eng.list_activities(friendly_name=p.text("FriendlyName"), available=p.boolean("Available"))
        return page(found, "activities", wire().activity)


@bp.route("/Activities", methods=["POST"])
def create_activity() -> Response:
    p = params("FriendlyName", "Available")
    available = p.boolean("Available")
    eng = engine()
    with eng.lock:
        activity = eng.create_activity(p.required("FriendlyName"), True if available is None else available)
        return reply(wire().activity(activity), 201)


@bp.route("/Activities/<sid>", methods=["GET"])
def fetch_activity(sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        return reply(wire().activity(eng.get_activity(sid)))


@bp.route("/Activities/<sid>", methods=["POST"])
def update_activity(sid: str) -> Response:
    p = params("FriendlyName")
    eng = engine()
    with eng.lock:
        return reply(wire().activity(eng.update_activity(sid, friendly_name=p.text("FriendlyName"))))


@bp.route("/Activities/<sid>", methods=["DELETE"])
def delete_activity(sid: str) -> Response:
    params()
    engine().delete_activity(sid)
    return reply(None, 204)


# --- TaskChannels
@bp.route("/TaskChannels", methods=["GET"])
def list_task_channels() -> Response:
    params(paged=True)
    eng = engine()
    with eng.lock:
        return page(eng.list_task_channels(), "channels", wire().task_channel)


@bp.route("/TaskChannels", methods=["POST"])
def create_task_channel() -> Response:
    p = params("FriendlyName", "UniqueName", "ChannelOptimizedRouting")
    eng = engine()
    with eng.lock:
        channel = eng.create_task_channel(p.required("FriendlyName"), p.required("UniqueName"),
                                          bool(p.boolean("ChannelOptimizedRouting")))
        return reply(wire().task_channel(channel), 201)


@bp.route("/TaskChannels/<sid>", methods=["GET"])
def fetch_task_channel(sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        return reply(wire().task_channel(eng.get_task_channel(sid)))


@bp.route("/TaskChannels/<sid>", methods=["POST"])
def update_task_channel(sid: str) -> Response:
    p = params("FriendlyName", "ChannelOptimizedRouting")
    eng = engine()
    with eng.lock:
        channel = eng.update_task_channel(sid, friendly_name=p.text("FriendlyName"),
                                          channel_optimized_routing=p.boolean("ChannelOptimizedRouting"))
        return reply(wire().task_channel(channel))


@bp.route("/TaskChannels/<sid>", methods=["DELETE"])
def delete_task_channel(sid: str) -> Response:
    params()
    engine().delete_task_channel(sid)
    return reply(None, 204)


# --- Events
EVENT_FILTERS = ("EndDate", "EventType", "Minutes", "ReservationSid", "StartDate", "TaskQueueSid", "TaskSid",
                 "WorkerSid", "WorkflowSid", "TaskChannel", "Sid")


@bp.route("/Events", methods=["GET"])
def list_events() -> Response:
    p = params(*EVENT_FILTERS, paged=True)
    eng = engine()
    with eng.lock:
        found = eng.list_events(
            event_type=p.text("EventType"), minutes=p.integer("Minutes", 1), start_date=p.date("StartDate"),
            end_date=p.date("EndDate"), task_sid=p.text("TaskSid"), worker_sid=p.text("WorkerSid"),
            reservation_sid=p.text("ReservationSid"), task_queue_sid=p.text("TaskQueueSid"),
            workflow_sid=p.text("WorkflowSid"), task_channel=p.text("TaskChannel"))
        if p.text("Sid"):
            found = [e for e in found if e.sid == p.text("Sid")]
        return page(found, "events", wire().event)


@bp.route("/Events/<sid>", methods=["GET"])
def fetch_event(sid: str) -> Response:
    params()
    eng = engine()
    with eng.lock:
        return reply(wire().event(eng.get_event(sid)))
