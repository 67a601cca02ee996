"""Workflow ``Configuration`` JSON: validated once at submission into frozen dataclasses.

The shape is ``{"task_routing": {"filters": [...], "default_filter": {...}}}`` (see
taskrouter.md section 10). Every problem is reported as a :class:`WorkflowConfigError` whose
message starts with the JSON path (``task_routing.filters[1].targets[0].timeout: ...``), because
TaskRouter refuses an invalid configuration when it is submitted, never at routing time.

Choices where the docs are silent (the emulator's README repeats them):

- Unknown keys are rejected at every level, and so is a ``timeout`` in ``default_filter``
  (the docs define the default filter as a target without one).
- ``task_routing`` needs a non-empty ``filters`` list or a ``default_filter`` (or both).
- An optional key whose value is JSON ``null`` counts as absent, and so does an empty string
  for a target's ``expression`` or ``skip_if`` (a filter's ``expression`` is required).
- ``filter_friendly_name`` defaults to ``Filter <n>`` (1-based); ``friendly_name`` is accepted
  as an alias because older Twilio examples use it.
- ``priority`` is an integer 0..2,147,483,647, or a string holding one; ``timeout`` is a
  positive integer, or a string holding one.
- ``queue`` must look like a TaskQueue SID (``WQ`` + 32 hex digits); whether it exists is the
  engine's business (:func:`validate_queue_refs`).
- ``order_by`` is a comma-separated list of ``worker.<path> [ASC|DESC]`` (ASC by default).
- The configuration may be up to 1,048,576 bytes of UTF-8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flexsim.emulator.expressions import Expression, ExpressionError, parse

__all__ = ["Filter", "RoutingConfig", "Target", "WorkflowConfigError", "MAX_CONFIG_BYTES",
           "parse_routing_config", "validate_queue_refs"]

MAX_CONFIG_BYTES = 1_048_576
MAX_PRIORITY = 2_147_483_647

_QUEUE_SID = re.compile(r"WQ[0-9a-fA-F]{32}")
_KEY_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_TARGET_KEYS = frozenset({"queue", "expression", "priority", "timeout", "order_by", "skip_if",
                          "known_worker_sid", "known_worker_friendly_name"})
_FILTER_KEYS = frozenset({"filter_friendly_name", "friendly_name", "expression", "targets"})


class WorkflowConfigError(ValueError):
    """An invalid workflow configuration; the message starts with the JSON path at fault."""


@dataclass(frozen=True)
class Target:
    """One routing step: a queue plus optional conditions, priority and timeout.

    ``order_by`` holds ``(worker attribute path without 'worker.', descending)`` pairs;
    ``known_worker_sid`` / ``known_worker_friendly_name`` hold the task attribute path named
    (``"task.agent_sid"`` is stored as ``"agent_sid"``).
    """

    queue_sid: str
    expression: Expression | None = None
    priority: int | None = None
    timeout: int | None = None
    order_by: tuple[tuple[str, bool], ...] = ()
    skip_if: Expression | None = None
    known_worker_sid: str | None = None
    known_worker_friendly_name: str | None = None


@dataclass(frozen=True)
class Filter:
    """A named task-attribute condition and the targets tried, in order, when it matches."""

    name: str
    expression: Expression
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class RoutingConfig:
    """A whole workflow configuration: filters tried top to bottom, then the default filter."""

    filters: tuple[Filter, ...]
    default_filter: Target | None

    def queue_sids(self) -> frozenset[str]:
        """Every TaskQueue SID the configuration routes to."""
        sids = {t.queue_sid for f in self.filters for t in f.targets}
        if self.default_filter is not None:
            sids.add(self.default_filter.queue_sid)
        return frozenset(sids)


def parse_routing_config(text: str) -> RoutingConfig:
    """Parse and validate a workflow ``Configuration`` string, or raise WorkflowConfigError."""
    if not isinstance(text, str):
        raise WorkflowConfigError(f"configuration: must be a JSON string, not {type(text).__name__}")
    size = len(text.encode("utf-8"))
    if size > MAX_CONFIG_BYTES:
        raise WorkflowConfigError(
            f"configuration: {size} bytes is over the limit of {MAX_CONFIG_BYTES} bytes")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowConfigError(
            f"configuration: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    _require_object(doc, "configuration", frozenset({"task_routing"}))
    if "task_routing" not in doc:
        raise WorkflowConfigError("task_routing: is required")
    routing = doc["task_routing"]
    _require_object(routing, "task_routing", frozenset({"filters", "default_filter"}))
    filters = _parse_filters(routing.get("filters"))
    default = routing.get("default_filter")
    default_target = None
    if default is not None:
        default_target = _parse_target(default, "task_routing.default_filter", None,
                                       allow_timeout=False)
    if not filters and default_target is None:
        raise WorkflowConfigError("task_routing: needs at least one filter or a default_filter")
    return RoutingConfig(filters=filters, default_filter=default_target)


def validate_queue_refs(config: RoutingConfig, known_queue_sids: Iterable[str]) -> list[str]:
    """The queue SIDs ``config`` references that are not in ``known_queue_sids``, sorted."""
    known = set(known_queue_sids)
    return sorted(sid for sid in config.queue_sids() if sid not in known)


def _require_object(value: Any, path: str, allowed: frozenset[str]) -> None:
    if not isinstance(value, dict):
        raise WorkflowConfigError(f"{path}: must be a JSON object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        where = f"{path}.{unknown[0]}" if path != "configuration" else unknown[0]
        raise WorkflowConfigError(f"{where}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _parse_filters(value: Any) -> tuple[Filter, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise WorkflowConfigError("task_routing.filters: must be a list")
    return tuple(_parse_filter(item, n) for n, item in enumerate(value))


def _parse_filter(value: Any, n: int) -> Filter:
    path = f"task_routing.filters[{n}]"
    _require_object(value, path, _FILTER_KEYS)
    if "filter_friendly_name" in value and "friendly_name" in value:
        raise WorkflowConfigError(f"{path}: give filter_friendly_name or friendly_name, not both")
    name_key = "friendly_name" if "friendly_name" in value else "filter_friendly_name"
    name = value.get(name_key)
    if name is None:
        name = f"Filter {n + 1}"
    elif not isinstance(name, str) or not name.strip():
        raise WorkflowConfigError(f"{path}.{name_key}: must be a non-empty string")
    if value.get("expression") is None:
        raise WorkflowConfigError(f"{path}.expression: is required")
    expression = _expression(value["expression"], f"{path}.expression")
    targets = value.get("targets")
    if not isinstance(targets, list) or not targets:
        raise WorkflowConfigError(f"{path}.targets: must be a non-empty list")
    parsed: list[Target] = []
    for i, item in enumerate(targets):
        inherited = parsed[-1].queue_sid if parsed else None
        parsed.append(_parse_target(item, f"{path}.targets[{i}]", inherited, allow_timeout=True))
    return Filter(name=name, expression=expression, targets=tuple(parsed))


def _parse_target(value: Any, path: str, inherited_queue: str | None, *,
                  allow_timeout: bool) -> Target:
    allowed = _TARGET_KEYS if allow_timeout else _TARGET_KEYS - {"timeout"}
    if not allow_timeout and isinstance(value, dict) and "timeout" in value:
        raise WorkflowConfigError(f"{path}.timeout: is not allowed in default_filter")
    _require_object(value, path, allowed)
    # null, and an empty string for the optional expressions, count as absent
    opt = {k: v for k, v in value.items()
           if v is not None and not (k in ("expression", "skip_if") and v == "")}
    queue = opt.get("queue", inherited_queue)
    if queue is None:
        raise WorkflowConfigError(f"{path}.queue: is required")
    if not isinstance(queue, str) or not _QUEUE_SID.fullmatch(queue):
        raise WorkflowConfigError(f"{path}.queue: must be a TaskQueue SID (WQ followed by "
                                  f"32 hex digits), got {queue!r}")
    if "known_worker_sid" in opt and "known_worker_friendly_name" in opt:
        raise WorkflowConfigError(
            f"{path}: give known_worker_sid or known_worker_friendly_name, not both")
    return Target(
        queue_sid=queue,
        expression=_optional(opt, "expression", path,
                             lambda v, p: _expression(v, p, require_prefix=True)),
        priority=_optional(opt, "priority", path, _priority),
        timeout=_optional(opt, "timeout", path, _timeout),
        order_by=_optional(opt, "order_by", path, _order_by) or (),
        skip_if=_optional(opt, "skip_if", path,
                          lambda v, p: _expression(v, p, prefixes=("workers",))),
        known_worker_sid=_optional(opt, "known_worker_sid", path, _task_path),
        known_worker_friendly_name=_optional(opt, "known_worker_friendly_name", path, _task_path),
    )


def _optional(opt: dict[str, Any], key: str, path: str, convert: Any) -> Any:
    return convert(opt[key], f"{path}.{key}") if key in opt else None


def _expression(value: Any, path: str, **options: Any) -> Expression:
    if not isinstance(value, str):
        raise WorkflowConfigError(f"{path}: must be a string")
    try:
        return parse(value, **options)
    except ExpressionError as exc:
        raise WorkflowConfigError(f"{path}: {exc}") from None


def _integer(value: Any) -> int | None:
    """An int, or a string holding one; None for anything else (bools and floats included)."""
    if type(value) is int:
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return None


def _priority(value: Any, path: str) -> int:
    number = _integer(value)
    if number is None or not 0 <= number <= MAX_PRIORITY:
        raise WorkflowConfigError(f"{path}: must be an integer from 0 to {MAX_PRIORITY}")
    return number


def _timeout(value: Any, path: str) -> int:
    number = _integer(value)
    if number is None or number <= 0:
        raise WorkflowConfigError(f"{path}: must be a positive integer")
    return number


def _order_by(value: Any, path: str) -> tuple[tuple[str, bool], ...]:
    if not isinstance(value, str) or not value.strip():
        raise WorkflowConfigError(f"{path}: must be a string like 'worker.level DESC'")
    keys: list[tuple[str, bool]] = []
    for part in value.split(","):
        words = part.split()
        if not 1 <= len(words) <= 2:
            raise WorkflowConfigError(f"{path}: cannot read {part.strip()!r}; expected "
                                      f"'worker.<attribute> [ASC|DESC]'")
        key = words[0]
        if not key.startswith("worker.") or not _KEY_PATH.fullmatch(key):
            raise WorkflowConfigError(f"{path}: {key!r} must be a key starting with 'worker.'")
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise WorkflowConfigError(f"{path}: direction {words[1]!r} must be ASC or DESC")
        keys.append((key[len("worker."):], direction == "DESC"))
    return tuple(keys)


def _task_path(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.startswith("task.") \
            or not _KEY_PATH.fullmatch(value):
        raise WorkflowConfigError(f"{path}: must name a task attribute, like 'task.agent_sid'")
    return value[len("task."):]
