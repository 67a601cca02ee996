"""The rules a merged domain must obey beyond its JSON Schema.

``check_domain`` runs on a schema-valid document with defaults filled in (a merged
domain, or the ``metadata.json`` genconfig wrote) and returns every broken rule as a
``(json path parts, message)`` pair; the callers add the file name.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from flexsim.validation import did_you_mean

RANGE_PROPS = ("arrivalGap", "abandonTime", "talkTime", "wrapTime")
ENUM_PROPS = ("channel", "activity")
STANDARD_PROPS = RANGE_PROPS + ENUM_PROPS
REQUIRED_KEYS = ("brand", "agentCnt", "queueFilterProp", "queueWorkerProps", "props")

FLEXSIM_MARKER_KEY = "flexsim"
"""Attribute that marks Workers and Tasks flexsim owns; its value is ``FLEXSIM_MARKER_VALUE``."""
FLEXSIM_MARKER_VALUE = True
DEFAULT_QUEUE = "Everyone"
"""The match-all TaskQueue Flex creates; the workflow's default filter targets it."""
RESERVED_WORKER_ATTRIBUTES = (FLEXSIM_MARKER_KEY, "contact_uri", "full_name", "routing.levels")
RESERVED_TASK_ATTRIBUTES = (FLEXSIM_MARKER_KEY, "name")
PORTION_TOLERANCE = 0.001

ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
CHANNEL_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                       "boolean": (bool,)}

Problem = tuple[list[Any], str]


def instance_name(prop_name: str, inst: dict[str, Any]) -> str:
    """The attribute path an instance writes: its ``name``, or the prop's name."""
    return inst.get("name") or prop_name


def fits_type(value: Any, data_type: str) -> bool:
    """Whether ``value`` is a JSON value of ``data_type`` (booleans are not numbers)."""
    if isinstance(value, bool) and data_type != "boolean":
        return False
    return isinstance(value, _TYPES[data_type])


def check_domain(doc: dict[str, Any]) -> list[Problem]:
    """Return every rule the document breaks; an empty list means it is usable."""
    found: list[Problem] = [([], f"missing required key '{key}'") for key in REQUIRED_KEYS if key not in doc]
    props = doc.get("props", {})
    for name in STANDARD_PROPS:
        if name not in props:
            found.append((["props"], f"standard prop '{name}' is missing"))
    for name, prop in props.items():
        found += _check_prop(name, prop)
    found += _check_attribute_names(props)
    if all(key in doc for key in REQUIRED_KEYS):
        found += _check_queues(doc)
    return found


def _check_prop(name: str, prop: dict[str, Any]) -> list[Problem]:
    at = ["props", name]
    found: list[Problem] = []
    if name not in STANDARD_PROPS:
        close = difflib.get_close_matches(name, STANDARD_PROPS, n=1, cutoff=0.85)
        same = [s for s in STANDARD_PROPS if s.lower() == name.lower()]
        if same or close:
            found.append((at, f"'{name}' is not a standard prop (did you mean '{(same or close)[0]}'?)"))
    expr, data_type = prop.get("expr", "enum"), prop.get("dataType", "string")
    if name in RANGE_PROPS and expr != "range":
        found.append((at + ["expr"], f"'{name}' must be a range prop"))
    if name in ENUM_PROPS and expr != "enum":
        found.append((at + ["expr"], f"'{name}' must be an enum prop"))
    if expr == "range":
        found += _check_range(at, prop, data_type)
    else:
        found += _check_enum(at, prop, data_type)
    instances = prop.get("instances", [])
    if name in STANDARD_PROPS and not any(i.get("target", "system") == "system" for i in instances):
        found.append((at + ["instances"], f"'{name}' needs an instance with target 'system'"))
    for index, inst in enumerate(instances):
        found += _check_instance(name, prop, at + ["instances", index], inst)
    if name == "channel":
        for index, value in enumerate(prop.get("values", [])):
            if not (isinstance(value, str) and CHANNEL_NAME.match(value)):
                found.append((at + ["values", index], f"{value!r} is not a valid TaskChannel unique name "
                              "(letters, digits, _ and $, not starting with a digit)"))
    if name == "activity" and "Available" not in prop.get("values", []):
        found.append((at + ["values"], "activity values must include 'Available'"))
    return found


def _check_range(at: list[Any], prop: dict[str, Any], data_type: str) -> list[Problem]:
    found: list[Problem] = []
    if data_type not in ("integer", "number"):
        found.append((at + ["dataType"], "range props need dataType integer or number"))
    missing = [key for key in ("min", "max") if key not in prop]
    if missing:
        found.append((at, f"range props need min and max (missing {' and '.join(missing)})"))
    elif prop["min"] > prop["max"]:
        found.append((at, f"min ({prop['min']}) is greater than max ({prop['max']})"))
    if data_type == "integer":
        for key in ("min", "max"):
            if key in prop and prop[key] != int(prop[key]):
                found.append((at + [key], f"{prop[key]} is not a whole number, but dataType is integer"))
    if "values" in prop:
        found.append((at + ["values"], "values apply to enum props only; use min and max"))
    return found


def _check_enum(at: list[Any], prop: dict[str, Any], data_type: str) -> list[Problem]:
    found: list[Problem] = []
    if not prop.get("values"):
        found.append((at, "enum props need values"))
    for key in ("min", "max"):
        if key in prop:
            found.append((at + [key], f"{key} applies to range props only"))
    for index, value in enumerate(prop.get("values", [])):
        if not fits_type(value, data_type):
            found.append((at + ["values", index], f"{value!r} is not of dataType {data_type}"))
    return found


def _check_instance(name: str, prop: dict[str, Any], at: list[Any], inst: dict[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    target = inst.get("target", "system")
    if target != "task" and "phase" in inst:
        found.append((at + ["phase"], "phase applies to task instances only"))
    if target != "system":
        attr = instance_name(name, inst)
        if not ATTRIBUTE_NAME.match(attr):
            found.append((at + (["name"] if "name" in inst else []),
                          f"'{attr}' is not a valid TaskRouter attribute name "
                          "(letters, digits and _, dots between parts; no hyphens)"))
        reserved = RESERVED_WORKER_ATTRIBUTES if target == "worker" else RESERVED_TASK_ATTRIBUTES
        if attr in reserved:
            found.append((at, f"'{attr}' is reserved: flexsim sets that {target} attribute itself"))
    count = inst.get("valueCnt", 1)
    if prop.get("expr", "enum") == "range":
        if "valueProps" in inst:
            found.append((at + ["valueProps"], "valueProps apply to enum props only"))
        if count > 1 and prop.get("dataType") == "integer" and "min" in prop and "max" in prop:
            span = int(prop["max"]) - int(prop["min"]) + 1
            if count > span:
                found.append((at + ["valueCnt"], f"valueCnt {count} exceeds the {span} whole numbers in range"))
        return found
    found += _check_value_props(name, prop, at, inst)
    return found


def _check_value_props(name: str, prop: dict[str, Any], at: list[Any], inst: dict[str, Any]) -> list[Problem]:
    values = prop.get("values", [])
    entries = inst.get("valueProps")
    if entries is None:
        return [(at, "enum instances need valueProps, one per value")]
    found: list[Problem] = []
    if len(entries) != len(values):
        found.append((at + ["valueProps"], f"has {len(entries)} entries but the prop has {len(values)} values"))
    portions = [entry["portion"] for entry in entries]
    total = sum(portions)
    if any(p < 0 for p in portions):
        found.append((at + ["valueProps"], "portions must not be negative"))
    if abs(total - 1) > PORTION_TOLERANCE:
        found.append((at + ["valueProps"], f"portions sum to {round(total, 6)}, not 1"))
    possible = sum(1 for p in portions if p > 0)
    count = inst.get("valueCnt", 1)
    if count > possible:
        found.append((at + ["valueCnt"], f"valueCnt {count} exceeds the {possible} values with a portion above 0"))
    for index, entry in enumerate(entries):
        if "baseDur" in entry and name != "activity":
            found.append((at + ["valueProps", index, "baseDur"], "baseDur applies to the activity prop only"))
        if "baseCapacity" in entry and name != "channel":
            found.append((at + ["valueProps", index, "baseCapacity"], "baseCapacity applies to the channel prop only"))
        if name == "activity" and inst.get("target", "system") == "system" and "baseDur" not in entry:
            found.append((at + ["valueProps", index], "activity values need baseDur (seconds)"))
    return found


def _check_attribute_names(props: dict[str, Any]) -> list[Problem]:
    """No two instances may write the same attribute, or a value and an object at one path."""
    found: list[Problem] = []
    for target in ("task", "worker"):
        seen: dict[str, list[Any]] = {}
        reserved = RESERVED_WORKER_ATTRIBUTES if target == "worker" else RESERVED_TASK_ATTRIBUTES
        for name, prop in props.items():
            for index, inst in enumerate(prop.get("instances", [])):
                if inst.get("target", "system") != target:
                    continue
                attr, at = instance_name(name, inst), ["props", name, "instances", index]
                if attr in seen:
                    found.append((at, f"{target} attribute '{attr}' is also set by {_where(seen[attr])}"))
                    continue
                for other in [*seen, *reserved]:
                    if attr.startswith(other + ".") or other.startswith(attr + "."):
                        found.append((at, f"{target} attribute '{attr}' clashes with '{other}'"))
                seen[attr] = at
    return found


def _where(parts: list[Any]) -> str:
    return f"props.{parts[1]}.instances[{parts[3]}]"


def _check_queues(doc: dict[str, Any]) -> list[Problem]:
    """Rules tying queueFilterProp and queueWorkerProps to props; run only when props are sound."""
    props = doc["props"]
    found: list[Problem] = []
    workers: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, prop in props.items():
        for inst in prop.get("instances", []):
            if inst.get("target") == "worker":  # the first one wins, as in genconfig
                workers.setdefault(instance_name(name, inst), (name, inst))
    for index, attr in enumerate(doc["queueWorkerProps"]):
        if attr not in workers:
            found.append((["queueWorkerProps", index], f"'{attr}' is not a worker attribute"
                          f"{did_you_mean(attr, workers)}"))
    filter_name = doc["queueFilterProp"]
    filter_prop = props.get(filter_name)
    if filter_prop is None or not any(i.get("target") == "task" for i in filter_prop.get("instances", [])):
        found.append((["queueFilterProp"], f"'{filter_name}' is not a prop with a task instance"
                      f"{did_you_mean(filter_name, [p for p in props if p != filter_name])}"))
    if found:
        return found
    queue_name = workers[doc["queueWorkerProps"][0]][0]
    checked: set[str] = set()
    for key, name in (("queueFilterProp", filter_name), ("queueWorkerProps", queue_name)):
        if name in checked:
            continue
        checked.add(name)
        prop = props[name]
        if prop.get("expr", "enum") != "enum":
            found.append(([key], f"must name an enum prop: it gives one {_ROLE[key]} per value"))
            continue
        for index, value in enumerate(prop.get("values", [])):
            if isinstance(value, str) and ("'" in value or '"' in value or "-" in value):
                found.append((["props", name, "values", index], f"{value!r} cannot go in a TaskRouter "
                              f"expression (no quotes or hyphens), yet {key} makes a {_ROLE[key]} of it"))
    if found:
        return found
    queue_values = props[queue_name].get("values", [])
    if DEFAULT_QUEUE in queue_values:
        found.append((["props", queue_name, "values", queue_values.index(DEFAULT_QUEUE)],
                      f"'{DEFAULT_QUEUE}' cannot be a queue value: that name is kept for the default queue"))
    for index, value in enumerate(props[filter_name].get("values", [])):
        if value not in queue_values:
            found.append((["props", filter_name, "values", index], f"filter value {value!r} has no queue: "
                          f"it is not a value of worker attribute '{doc['queueWorkerProps'][0]}'"))
    return found


_ROLE = {"queueFilterProp": "workflow filter", "queueWorkerProps": "queue"}
