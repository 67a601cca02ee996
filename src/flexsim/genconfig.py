"""Turn a domain into the four config files, and write them all or none.

The files are pretty-printed JSON (indent 2, keys sorted, UTF-8, trailing newline), so
with the same domain, seed and Faker version the output is byte-identical.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from flexsim.config import (DEFAULT_QUEUE, FLEXSIM_MARKER_KEY, FLEXSIM_MARKER_VALUE, Prop,
                            PropInstance, props_from_dict)
from flexsim.domain import DEFAULT_LOCALE, Domain, load_domain
from flexsim.errors import FlexsimError
from flexsim.names import name_maker
from flexsim.values import draw_attributes

FILTER_TIMEOUT = 300
"""Seconds a task waits in its topic queue before the workflow gives up on it."""
AGENT_PREFIX = "Agent_"


@dataclass(frozen=True)
class GenconfigResult:
    """What ``generate_config`` did: the files written, the seed and the domain's sources."""

    files: tuple[Path, ...]
    seed: int
    domain: Domain


def agent_names(count: int) -> list[str]:
    """``Agent_000``, ``Agent_001``…: zero-padded to 3 digits, or wider when ``count`` needs it."""
    width = max(3, len(str(count - 1)))
    return [f"{AGENT_PREFIX}{i:0{width}d}" for i in range(count)]


def _literal(value: Any) -> str:
    """A value as a TaskRouter expression constant."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return f"'{value}'"


def _worker_instance(props: dict[str, Prop], name: str) -> PropInstance:
    return next(i for p in props.values() for i in p.instances if i.target == "worker" and i.name == name)


def _instances(props: dict[str, Prop], target: str) -> Iterator[PropInstance]:
    return (i for p in props.values() for i in p.instances if i.target == target)


def build_metadata(domain: Domain, seed: int) -> dict[str, Any]:
    """``metadata.json``: the merged domain plus the derived attribute lists."""
    data = domain.data
    props = props_from_dict(data["props"])
    return {
        "brand": data["brand"], "agentCnt": data["agentCnt"], "locale": domain.locale,
        "fakerLocale": data["fakerLocale"], "queueFilterProp": data["queueFilterProp"],
        "queueWorkerProps": data["queueWorkerProps"], "props": data["props"], "seed": seed,
        "taskAttributes": [{"name": i.name, "prop": i.prop, "phase": i.phase} for i in _instances(props, "task")],
        "workerAttributes": [{"name": i.name, "prop": i.prop} for i in _instances(props, "worker")],
    }


def build_workers(domain: Domain, rng: random.Random) -> list[dict[str, Any]]:
    """``workers.json``: one entry per agent with marker, contact URI, Faker name and drawn attributes."""
    data = domain.data
    props = props_from_dict(data["props"])
    instances = list(_instances(props, "worker"))
    full_name = name_maker(data["fakerLocale"], rng)
    workers = []
    for name in agent_names(data["agentCnt"]):
        attributes: dict[str, Any] = {FLEXSIM_MARKER_KEY: FLEXSIM_MARKER_VALUE, "contact_uri": f"client:{name}",
                                      "full_name": full_name()}
        draw_attributes(instances, rng, attributes)
        routing = attributes.get("routing")
        if isinstance(routing, dict) and "skills" in routing:
            routing["levels"] = {}
        workers.append({"friendlyName": name, "attributes": attributes})
    return workers


def build_queues(domain: Domain) -> list[dict[str, Any]]:
    """``queues.json``: one queue per value of the first queueWorkerProps attribute."""
    props = props_from_dict(domain.data["props"])
    inst = _worker_instance(props, domain.data["queueWorkerProps"][0])
    operator = "HAS" if inst.value_cnt > 1 else "=="
    return [{"friendlyName": str(value), "targetWorkers": f"{inst.name} {operator} {_literal(value)}"}
            for value in inst.values]


def build_workflow(domain: Domain) -> dict[str, Any]:
    """``workflow.json``: a filter per queueFilterProp value, then the default queue."""
    props = props_from_dict(domain.data["props"])
    prop = props[domain.data["queueFilterProp"]]
    inst = next(i for i in prop.instances if i.target == "task")
    filters = []
    for value in prop.values:
        expression = (f"{inst.name} HAS {_literal(value)}" if inst.value_cnt > 1
                      else f"{inst.name}=={_literal(value)}")
        filters.append({"filterFriendlyName": str(value), "expression": expression,
                        "targets": [{"queue": str(value), "timeout": FILTER_TIMEOUT}]})
    return {"friendlyName": f"{domain.data['brand']} Workflow", "filters": filters,
            "defaultFilter": {"queue": DEFAULT_QUEUE}}


def build_config(domain: Domain, rng: random.Random, seed: int) -> dict[str, Any]:
    """All four documents, keyed by file name."""
    return {
        "metadata.json": build_metadata(domain, seed),
        "workers.json": build_workers(domain, rng),
        "queues.json": build_queues(domain),
        "workflow.json": build_workflow(domain),
    }


def dump(doc: Any) -> str:
    """The on-disk form: indent 2, sorted keys, UTF-8 text, trailing newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_config(docs: dict[str, Any], cfgdir: str | Path) -> tuple[Path, ...]:
    """Write every document into ``cfgdir`` (created if missing): all of them, or none.

    Files are staged in a temporary folder beside ``cfgdir`` and moved in with
    ``os.replace``; if a move fails, the files already moved are put back as they were.
    Other files in ``cfgdir`` are left alone.
    """
    target = Path(cfgdir)
    target.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".flexsim-", dir=target.parent))
    done: list[tuple[Path, Path | None]] = []
    try:
        for name, doc in docs.items():
            (stage / name).write_text(dump(doc), encoding="utf-8")
        for name in docs:
            final = target / name
            backup = None
            if final.exists():
                backup = stage / f"{name}.old"
                shutil.copy2(final, backup)
            os.replace(stage / name, final)
            done.append((final, backup))
    except BaseException:
        for final, backup in reversed(done):
            if backup is None:
                final.unlink(missing_ok=True)
            else:
                os.replace(backup, final)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return tuple(final for final, _ in done)


def generate_config(domaindir: str | Path, cfgdir: str | Path, rng: random.Random, seed: int,
                    locale: str = DEFAULT_LOCALE, agent_cnt: int | None = None) -> GenconfigResult:
    """Load and validate the domain, then write the config files; nothing is written on error.

    Raises ConfigInvalid for a bad domain, FlexsimError when the files cannot be written.

    :param rng: the generator for every draw, made from ``seed`` (``options.make_rng``).
    :param seed: recorded in metadata.json so the run can be replayed.
    :param agent_cnt: overrides the domain's ``agentCnt`` when given.
    """
    overrides = {"agentCnt": agent_cnt} if agent_cnt is not None else None
    domain = load_domain(domaindir, locale, overrides)
    docs = build_config(domain, rng, seed)
    try:
        files = write_config(docs, cfgdir)
    except OSError as exc:
        raise FlexsimError(f"cannot write the config files to {cfgdir}: {exc.strerror or exc}") from exc
    return GenconfigResult(files, seed, domain)


def summary(result: GenconfigResult, seed_given: bool) -> str:
    """Lines telling the user what ``generate_config`` read and wrote."""
    data = result.domain.data
    counts = {"workers.json": f"{data['agentCnt']} agents"}
    lines = [f"domain: {' + '.join(result.domain.sources)}"]
    for path in result.files:
        lines.append(f"wrote {path}" + (f" ({counts[path.name]})" if path.name in counts else ""))
    if not seed_given:
        lines.append(f"seed: {result.seed} (pass --seed {result.seed} to generate the same files again)")
    return "\n".join(lines)
