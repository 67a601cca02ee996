"""The config files genconfig writes, and the one loader every other command uses.

``load_config(cfgdir)`` reads ``metadata.json``, ``workers.json``, ``queues.json`` and
``workflow.json``, checks each against its schema (``schemas/<name>.schema.json``) and
the rules tying them together, and returns frozen dataclasses. Problems are raised
together as ``ConfigInvalid`` in the ``file: json.path: problem`` style; a missing
folder or file raises ``ConfigMissing`` ("run flexsim genconfig first").

Ownership: every flexsim Worker carries the attribute ``FLEXSIM_MARKER_KEY`` (``"flexsim"``)
with the value ``FLEXSIM_MARKER_VALUE`` (``true``); flexsim Tasks carry the same pair.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from flexsim.errors import ConfigInvalid, FlexsimError
from flexsim.rules import (DEFAULT_QUEUE, FLEXSIM_MARKER_KEY, FLEXSIM_MARKER_VALUE, RESERVED_TASK_ATTRIBUTES,
                           RESERVED_WORKER_ATTRIBUTES, check_domain)
from flexsim.validation import fill_defaults, format_path, read_json, schema_problems

__all__ = [
    "CONFIG_FILES", "DEFAULT_QUEUE", "FLEXSIM_MARKER_KEY", "FLEXSIM_MARKER_VALUE", "PHASES",
    "RESERVED_TASK_ATTRIBUTES", "RESERVED_WORKER_ATTRIBUTES", "Activity", "Channel", "Config", "ConfigMissing",
    "FilterSpec", "Metadata", "Prop", "PropInstance", "QueueSpec", "TargetSpec", "WorkerSpec", "WorkflowSpec",
    "is_flexsim",
    "load_config", "props_from_dict",
]

CONFIG_FILES = ("metadata.json", "workers.json", "queues.json", "workflow.json")
PHASES = ("arrival", "assignment", "completion")


class ConfigMissing(FlexsimError):
    """The config folder or one of its files does not exist."""


def is_flexsim(attributes: Mapping[str, Any] | None) -> bool:
    """Whether Worker or Task attributes carry the flexsim ownership marker."""
    return bool(attributes) and attributes.get(FLEXSIM_MARKER_KEY) is FLEXSIM_MARKER_VALUE  # type: ignore[union-attr]


@dataclass(frozen=True)
class PropInstance:
    """One use of a prop, carrying what is needed to draw its values (see ``flexsim.values``).

    ``value_props`` holds the raw ``valueProps`` entries (``portion``, ``baseDur``,
    ``baseCapacity``), one per value of an enum prop.
    """

    prop: str
    target: str
    name: str
    phase: str | None
    curve: str
    value_cnt: int
    data_type: str
    expr: str
    min: float | None
    max: float | None
    values: tuple[Any, ...]
    value_props: tuple[Mapping[str, Any], ...]

    @property
    def portions(self) -> tuple[float, ...]:
        """Each value's share of draws."""
        return tuple(entry["portion"] for entry in self.value_props)

    def draw(self, rng: random.Random) -> Any:
        """Draw one value (a list when ``value_cnt`` > 1)."""
        from flexsim.values import draw

        return draw(self, rng)


@dataclass(frozen=True)
class Prop:
    """A domain prop with its instances."""

    name: str
    data_type: str
    expr: str
    min: float | None
    max: float | None
    values: tuple[Any, ...]
    instances: tuple[PropInstance, ...]

    @property
    def system(self) -> PropInstance:
        """The first instance with target ``system``: the one the simulators draw from."""
        for inst in self.instances:
            if inst.target == "system":
                return inst
        raise KeyError(f"prop {self.name!r} has no system instance")

    def draw(self, rng: random.Random) -> Any:
        """Draw a value from the system instance (e.g. a talk time in seconds)."""
        return self.system.draw(rng)


@dataclass(frozen=True)
class Channel:
    """A TaskChannel from the ``channel`` prop: its share of tasks and agents' capacity."""

    name: str
    portion: float
    base_capacity: int


@dataclass(frozen=True)
class Activity:
    """An Activity from the ``activity`` prop: its share of agent time and typical stay in seconds."""

    name: str
    portion: float
    base_dur: float


def props_from_dict(props: Mapping[str, Any]) -> dict[str, Prop]:
    """Turn validated, default-filled ``props`` (as in metadata.json) into ``Prop`` objects."""
    result = {}
    for name, raw in props.items():
        common = dict(data_type=raw.get("dataType", "string"), expr=raw.get("expr", "enum"),
                      min=raw.get("min"), max=raw.get("max"), values=tuple(raw.get("values", ())))
        instances = tuple(
            PropInstance(prop=name, target=inst.get("target", "system"), name=inst.get("name", name),
                         phase=inst.get("phase"), curve=inst.get("curve", "uniform"),
                         value_cnt=inst.get("valueCnt", 1),
                         value_props=tuple(dict(e) for e in inst.get("valueProps", ())), **common)
            for inst in raw.get("instances", ())
        )
        result[name] = Prop(name=name, instances=instances, **common)
    return result


@dataclass(frozen=True)
class Metadata:
    """``metadata.json``: the merged domain and what was derived from it."""

    brand: str
    agent_cnt: int
    locale: str
    faker_locale: str
    queue_filter_prop: str
    queue_worker_props: tuple[str, ...]
    props: Mapping[str, Prop]
    seed: int


@dataclass(frozen=True)
class WorkerSpec:
    """One simulated agent: a Worker's friendly name and attributes (treat as read-only)."""

    friendly_name: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class QueueSpec:
    """A TaskQueue: friendly name and TargetWorkers expression."""

    friendly_name: str
    target_workers: str


@dataclass(frozen=True)
class TargetSpec:
    """A workflow filter target: a queue friendly name and an optional timeout in seconds."""

    queue: str
    timeout: int | None = None


@dataclass(frozen=True)
class FilterSpec:
    """A workflow filter: tasks matching ``expression`` go to its targets in turn."""

    friendly_name: str
    expression: str
    targets: tuple[TargetSpec, ...]

    @property
    def queue(self) -> str:
        """The first target's queue (genconfig writes one target per filter)."""
        return self.targets[0].queue


@dataclass(frozen=True)
class WorkflowSpec:
    """The flexsim Workflow, with queues named by friendly name."""

    friendly_name: str
    filters: tuple[FilterSpec, ...]
    default_queue: str

    def configuration(self, queue_sids: Mapping[str, str]) -> dict[str, Any]:
        """TaskRouter's workflow configuration JSON, with queue names replaced by ``queue_sids``.

        Raises KeyError naming a queue missing from ``queue_sids``.
        """
        filters = []
        for flt in self.filters:
            targets = []
            for tgt in flt.targets:
                target: dict[str, Any] = {"queue": queue_sids[tgt.queue]}
                if tgt.timeout is not None:
                    target["timeout"] = tgt.timeout
                targets.append(target)
            filters.append({"filter_friendly_name": flt.friendly_name, "expression": flt.expression,
                            "targets": targets})
        return {"task_routing": {"filters": filters,
                                 "default_filter": {"queue": queue_sids[self.default_queue]}}}


@dataclass(frozen=True)
class Config:
    """Everything genconfig wrote, validated."""

    cfgdir: Path
    metadata: Metadata
    workers: tuple[WorkerSpec, ...]
    queues: tuple[QueueSpec, ...]
    workflow: WorkflowSpec

    def prop(self, name: str) -> Prop:
        """The prop called ``name``; KeyError if there is none."""
        return self.metadata.props[name]

    def task_instances(self, phase: str) -> list[PropInstance]:
        """Task-attribute instances set in ``phase`` (``arrival``, ``assignment`` or ``completion``)."""
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {', '.join(PHASES)}, not {phase!r}")
        return [i for p in self.metadata.props.values() for i in p.instances
                if i.target == "task" and i.phase == phase]

    def worker_instances(self) -> list[PropInstance]:
        """Worker-attribute instances (already drawn into ``workers``; listed for reference)."""
        return [i for p in self.metadata.props.values() for i in p.instances if i.target == "worker"]

    def channels(self) -> list[Channel]:
        """The TaskChannels, with their task share and per-agent capacity."""
        inst = self.prop("channel").system
        return [Channel(str(v), e["portion"], e.get("baseCapacity", 1)) for v, e in zip(inst.values, inst.value_props)]

    def channel_capacities(self) -> dict[str, int]:
        """``{channel unique name: baseCapacity}``, what deploy sets on each WorkerChannel."""
        return {c.name: c.base_capacity for c in self.channels()}

    def activities(self) -> list[Activity]:
        """The Activities agents move between, with time shares and base durations."""
        inst = self.prop("activity").system
        return [Activity(str(v), e["portion"], e["baseDur"]) for v, e in zip(inst.values, inst.value_props)]

    def worker(self, friendly_name: str) -> WorkerSpec | None:
        """The worker with this friendly name, or None."""
        return next((w for w in self.workers if w.friendly_name == friendly_name), None)


def load_config(cfgdir: str | Path = "config") -> Config:
    """Read and validate the four config files in ``cfgdir``.

    Raises ConfigMissing when the folder or a file is absent, ConfigInvalid listing every
    problem otherwise.
    """
    folder = Path(cfgdir)
    missing = [name for name in CONFIG_FILES if not (folder / name).is_file()]
    if missing:
        what = f"{folder} does not exist" if not folder.is_dir() else f"{folder} has no {', '.join(missing)}"
        raise ConfigMissing(f"{what}: run flexsim genconfig first (or pass --cfgdir)")
    docs: dict[str, Any] = {}
    problems: list[str] = []
    for name in CONFIG_FILES:
        label = str(folder / name)
        doc, found = read_json(folder / name, label)
        problems += found
        if doc is not None:
            found = schema_problems(doc, name[:-5], label)
            problems += found
            if not found:
                docs[name] = doc
    if "metadata.json" in docs:
        meta = fill_defaults(docs["metadata.json"], "metadata")
        label = str(folder / "metadata.json")
        problems += [f"{label}: {format_path(p)}: {m}" for p, m in check_domain(meta)]
    if problems:
        raise ConfigInvalid(problems)
    problems += _cross_check(folder, docs)
    if problems:
        raise ConfigInvalid(problems)
    return _build(folder, docs)


def _cross_check(folder: Path, docs: dict[str, Any]) -> list[str]:
    """Rules between files: names unique, the marker present, queues the workflow names exist."""
    found = []
    meta, workers, queues, workflow = (docs[name] for name in CONFIG_FILES)
    wlabel, qlabel, flabel = (str(folder / name) for name in CONFIG_FILES[1:])
    declared = {a["name"].split(".")[0] for a in meta["workerAttributes"]}
    allowed = declared | {k.split(".")[0] for k in RESERVED_WORKER_ATTRIBUTES}
    seen: set[str] = set()
    for index, worker in enumerate(workers):
        if worker["friendlyName"] in seen:
            found.append(f"{wlabel}: [{index}].friendlyName: {worker['friendlyName']!r} appears more than once")
        seen.add(worker["friendlyName"])
        for key in worker["attributes"]:
            if key not in allowed:
                found.append(f"{wlabel}: [{index}].attributes.{key}: not a worker attribute in metadata.json")
    if len(workers) != meta["agentCnt"]:
        found.append(f"{wlabel}: $: has {len(workers)} workers but metadata.json says agentCnt {meta['agentCnt']}")
    names = [q["friendlyName"] for q in queues]
    for index, name in enumerate(names):
        if names.index(name) != index:
            found.append(f"{qlabel}: [{index}].friendlyName: {name!r} appears more than once")
    for index, flt in enumerate(workflow["filters"]):
        for tindex, target in enumerate(flt["targets"]):
            if target["queue"] not in names:
                found.append(f"{flabel}: filters[{index}].targets[{tindex}].queue: "
                             f"{target['queue']!r} is not in queues.json")
    return found


def _build(folder: Path, docs: dict[str, Any]) -> Config:
    meta = docs["metadata.json"]
    metadata = Metadata(
        brand=meta["brand"], agent_cnt=meta["agentCnt"], locale=meta["locale"], faker_locale=meta["fakerLocale"],
        queue_filter_prop=meta["queueFilterProp"], queue_worker_props=tuple(meta["queueWorkerProps"]),
        props=props_from_dict(meta["props"]), seed=meta["seed"],
    )
    workers = tuple(WorkerSpec(w["friendlyName"], w["attributes"]) for w in docs["workers.json"])
    queues = tuple(QueueSpec(q["friendlyName"], q["targetWorkers"]) for q in docs["queues.json"])
    flow = docs["workflow.json"]
    filters = tuple(FilterSpec(f["filterFriendlyName"], f["expression"],
                               tuple(TargetSpec(t["queue"], t.get("timeout")) for t in f["targets"]))
                    for f in flow["filters"])
    workflow = WorkflowSpec(flow["friendlyName"], filters, flow["defaultFilter"]["queue"])
    return Config(folder, metadata, workers, queues, workflow)
