"""agentsim's web app: the workflow's assignment callback and a health page.

Behind ngrok the app is internet-facing, so every request is treated as hostile: the
``X-Twilio-Signature`` of ``POST /reservation`` is checked against the *public* URL
TaskRouter called (ngrok turns https into http and may rewrite Host, so the URL the app
sees would not match), using the form parameters exactly as received. A view never
sleeps or calls TaskRouter: it hands the reservation to the simulation, which answers
at once and schedules the handling on its clock.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from twilio.request_validator import RequestValidator

from flexsim.answers import ANSWERED_PATH, AnswerFeed, feed_token

log = logging.getLogger(__name__)
RESERVATION_PATH = "/reservation"
REQUIRED = ("TaskSid", "WorkerSid", "ReservationSid")

bp = Blueprint("agentsim", __name__)


@dataclass(frozen=True)
class Offer:
    """The parts of an assignment callback the simulation needs."""

    task_sid: str
    worker_sid: str
    reservation_sid: str
    task_attributes: dict[str, Any]


class ReservationHandler(Protocol):
    """What the app needs from the simulation (``flexsim.agentsim.AgentSim`` provides it)."""

    #: the account's auth token for signature checks; None disables them (``--skip-signature-check``).
    signature_token: str | None
    #: the URL TaskRouter calls (the workflow's AssignmentCallbackUrl); None = the URL as received.
    public_url: str | None

    #: the tasks the agents accepted, served at ``GET /answered`` for custsim.
    answers: AnswerFeed

    def offer(self, offer: Offer) -> dict[str, Any] | None:
        """Return the instruction for a flexsim agent's reservation, or None for other workers."""

    def health(self) -> dict[str, Any]:
        """The health page's JSON."""


def create_webhook_app(sim: ReservationHandler) -> Flask:
    """Build the Flask app serving ``sim``: ``POST /reservation``, ``GET /answered`` and ``GET /``."""
    app = Flask(__name__)
    app.extensions["agentsim"] = sim
    app.register_blueprint(bp)
    return app


def _sim() -> ReservationHandler:
    return current_app.extensions["agentsim"]  # type: ignore[no-any-return]


@bp.get("/")
def health() -> Response:
    """Agents by activity, tasks in progress and handled, uptime."""
    return jsonify(_sim().health())


@bp.get(ANSWERED_PATH)
def answered() -> Response | tuple[str, int]:
    """Tasks the agents accepted after number ``after``, for custsim (bearer token required)."""
    sim = _sim()
    if sim.signature_token is None:
        return "", 404  # no auth token to derive the bearer token from: the feed is off
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given, feed_token(sim.signature_token)):
        log.warning("refused %s from %s: wrong or missing bearer token", request.path, request.remote_addr)
        return "", 403
    try:
        after = int(request.args.get("after", "0"))
    except ValueError:
        return "", 400
    following, tasks = sim.answers.since(after)
    return jsonify({"next": following, "tasks": tasks})


@bp.post(RESERVATION_PATH)
def reservation() -> Response | tuple[str, int]:
    """The assignment callback: accept for flexsim agents, an empty 200 for anyone else."""
    sim = _sim()
    if not _signature_ok(sim):
        return "", 403
    offer = _parse_offer()
    if offer is None:
        return "", 400
    try:
        instruction = sim.offer(offer)
    except Exception:  # never crash on a request; TaskRouter will time the reservation out
        log.exception("reservation %s for task %s could not be handled", offer.reservation_sid, offer.task_sid)
        return "", 500
    if instruction is None:
        return "", 200
    return jsonify(instruction)


def _signature_ok(sim: ReservationHandler) -> bool:
    if sim.signature_token is None:
        return True
    signature = request.headers.get("X-Twilio-Signature", "")
    url = sim.public_url or request.url
    if signature and RequestValidator(sim.signature_token).validate(url, request.form, signature):
        return True
    log.warning("refused %s from %s: %s X-Twilio-Signature for %s", request.path, request.remote_addr,
                "wrong" if signature else "missing", url)
    return False


def _parse_offer() -> Offer | None:
    form = request.form
    missing = [name for name in REQUIRED if not form.get(name)]
    if missing:
        log.warning("refused a reservation callback without %s", ", ".join(missing))
        return None
    try:
        attributes = json.loads(form.get("TaskAttributes") or "{}")
    except ValueError:
        attributes = None
    if not isinstance(attributes, dict):
        log.warning("refused reservation %s: TaskAttributes is not a JSON object", form["ReservationSid"])
        return None
    return Offer(form["TaskSid"], form["WorkerSid"], form["ReservationSid"], attributes)
