"""The emulator's records: plain mutable dataclasses owned by the engine.

Times are floats in seconds from the engine's clock (epoch-based); the HTTP layer formats
them. JSON-valued fields keep both the parsed value and the exact text the client sent,
because TaskRouter echoes attributes back as the string it received.
Derived wire fields (activity names, queue names, counts) are computed by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flexsim.emulator.expressions import Expression
from flexsim.emulator.routing_config import RoutingConfig


@dataclass
class Workspace:
    sid: str
    account_sid: str
    friendly_name: str
    default_activity_sid: str
    timeout_activity_sid: str
    date_created: float
    date_updated: float
    event_callback_url: str = ""
    events_filter: str | None = None
    multi_task_enabled: bool = True
    prioritize_queue_order: str = "FIFO"


@dataclass
class Activity:
    sid: str
    friendly_name: str
    available: bool
    date_created: float
    date_updated: float


@dataclass
class TaskChannel:
    sid: str
    friendly_name: str
    unique_name: str
    date_created: float
    date_updated: float
    channel_optimized_routing: bool = False


@dataclass
class WorkerChannel:
    sid: str
    worker_sid: str
    task_channel_sid: str
    date_created: float
    date_updated: float
    configured_capacity: int = 1
    available: bool = True
    # Engine bookkeeping: pending reservations and accepted/wrapping tasks on this channel,
    # and when the channel last had no work (orders channel-optimized routing).
    reserved: int = 0
    assigned: int = 0
    last_idle: float = 0.0


@dataclass
class Worker:
    sid: str
    friendly_name: str
    activity_sid: str
    attributes: dict[str, Any]
    attributes_json: str
    date_created: float
    date_updated: float
    date_status_changed: float
    version: int = 0
    channels: dict[str, WorkerChannel] = field(default_factory=dict)  # by TaskChannel SID
    last_idle: float = 0.0  # when the worker last became free of work; orders "idle longest"
    work: int = 0  # pending reservations plus accepted/wrapping tasks, over all channels
    last_work_change: float = 0.0  # orders workers that already have some work


@dataclass
class TaskQueue:
    sid: str
    friendly_name: str
    target_workers: str | None
    target_expression: Expression | None
    date_created: float
    date_updated: float
    max_reserved_workers: int = 1
    task_order: str = "FIFO"
    reservation_activity_sid: str | None = None
    assignment_activity_sid: str | None = None


@dataclass
class Workflow:
    sid: str
    friendly_name: str
    configuration: str
    routing: RoutingConfig
    date_created: float
    date_updated: float
    assignment_callback_url: str | None = None
    fallback_assignment_callback_url: str | None = None
    task_reservation_timeout: int = 120


#: Task states that hold a task in routing or with a worker (statistics' "active" tasks).
ACTIVE_STATUSES = ("pending", "reserved", "assigned", "wrapping")


@dataclass
class Task:
    sid: str
    attributes: dict[str, Any]
    attributes_json: str
    assignment_status: str
    priority: int
    timeout: int
    task_channel_sid: str
    workflow_sid: str | None
    date_created: float
    date_updated: float
    virtual_start_time: float
    reason: str | None = None
    task_queue_sid: str | None = None
    task_queue_entered_date: float | None = None
    routing_target: str | None = None
    ignore_capacity: bool = False
    version: int = 0
    # Routing position inside the workflow: filter index (-1 = default filter) and target
    # index, plus the task age at which the current target times out (None = no timeout).
    filter_index: int | None = None
    target_index: int = 0
    target_deadline_age: float | None = None
    reservation_sids: list[str] = field(default_factory=list)
    assignment_count: int = 0  # moves from pending to reserved (Max Assignment Count 1,000)
    ended_at: float | None = None  # when the task became completed or canceled
    assigned_at: float | None = None


@dataclass
class Reservation:
    sid: str
    task_sid: str
    worker_sid: str
    task_queue_sid: str
    reservation_status: str
    date_created: float
    date_updated: float
    version: int = 0
    workflow_sid: str | None = None
    instruction: str | None = None  # an instruction the emulator could not carry out (logged)


@dataclass
class Event:
    sid: str
    event_type: str
    event_date: float
    description: str
    resource_type: str
    resource_sid: str
    event_data: dict[str, Any]
    actor_type: str = "account"
    actor_sid: str | None = None
    source: str = "twilio"
    source_ip_address: str | None = None
