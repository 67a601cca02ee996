"""JSON reading and JSON Schema checking shared by the domain and config loaders.

Every problem is reported as one ``file: json.path: problem`` line, the format
``ConfigInvalid`` carries. Paths use dots for keys and ``[n]`` for array items;
the document root is ``$``.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Iterable

SCHEMA_NAMES = ("domain", "metadata", "workers", "queues", "workflow")
_SCHEMA_ID = "urn:flexsim:schema:{}"
_PLAIN_KEY = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def format_path(parts: Iterable[str | int]) -> str:
    """Render ``["props", "topic", "instances", 0]`` as ``props.topic.instances[0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "$"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A `` (did you mean 'x'?)`` hint for a misspelt key or value, or an empty string."""
    options = [c for c in choices if isinstance(c, str)]
    for option in options:  # case slips such as valueprops -> valueProps
        if option.lower() == str(word).lower():
            return f" (did you mean '{option}'?)"
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def read_json(path: Path | Any, label: str) -> tuple[Any, list[str]]:
    """Parse a JSON file; return ``(document, problems)``, the document None when unreadable.

    Invalid JSON is reported with its line and column; a key given twice in one object
    is a problem too, since JSON parsers silently keep only the last one.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [f"{label}: $: file not found"]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{label}: $: cannot read: {exc}"]
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        doc = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        return None, [f"{label}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"]
    return doc, [f"{label}: $: key '{key}' appears more than once" for key in duplicates]


def schema_text(name: str) -> str:
    """The packaged JSON Schema called ``name`` (one of ``SCHEMA_NAMES``), as text."""
    return (files("flexsim") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _schema(name: str) -> dict[str, Any]:
    return json.loads(schema_text(name))


@lru_cache(maxsize=None)
def _validator(name: str) -> Any:
    # Imported here: jsonschema costs ~0.1 s and `flexsim --help` does not need it.
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry: Registry = Registry().with_resources(
        (_SCHEMA_ID.format(other), Resource.from_contents(_schema(other))) for other in SCHEMA_NAMES
    )
    return Draft202012Validator(_schema(name), registry=registry)


def schema_problems(doc: Any, schema_name: str, label: str) -> list[str]:
    """Check ``doc`` against a packaged schema; unknown keys get a did-you-mean hint."""
    found: list[tuple[str, str]] = []
    for error in _validator(schema_name).iter_errors(doc):
        parts = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in known:
                    where = format_path([*parts, key])
                    found.append((where, f"unknown key{did_you_mean(key, known)}"))
        elif error.validator == "enum":
            allowed = ", ".join(json.dumps(v) for v in error.validator_value)
            hint = did_you_mean(error.instance, error.validator_value) if isinstance(error.instance, str) else ""
            found.append((format_path(parts), f"{json.dumps(error.instance)} is not one of {allowed}{hint}"))
        else:
            found.append((format_path(parts), error.message))
    return [f"{label}: {where}: {message}" for where, message in sorted(set(found))]


def fill_defaults(doc: Any, schema_name: str) -> Any:
    """Fill in, in place, every ``default`` the schema declares for a missing key; return ``doc``.

    jsonschema validates but never fills defaults, so this walks the schema alongside the
    document through ``properties``, ``additionalProperties``, ``items`` and local ``$ref``s.
    Call it on a document that is already valid.
    """
    root = _schema(schema_name)
    _fill(doc, root, root)
    return doc


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Follow ``$ref``s; a reference into another flexsim schema switches the root."""
    while "$ref" in node:
        prefix, _, pointer = node["$ref"].partition("#")
        if prefix:
            root = _schema(prefix.rsplit(":", 1)[-1])
        node = root
        for part in filter(None, pointer.split("/")):
            node = node[part]
    return node, root


def _fill(doc: Any, node: dict[str, Any], root: dict[str, Any]) -> None:
    node, root = _resolve(node, root)
    if isinstance(doc, dict):
        props = node.get("properties", {})
        for key, sub in props.items():
            if key not in doc:
                default_node, _ = _resolve(sub, root)
                if "default" in default_node:
                    doc[key] = copy.deepcopy(default_node["default"])
            if key in doc:
                _fill(doc[key], sub, root)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for key, value in doc.items():
                if key not in props:
                    _fill(value, extra, root)
    elif isinstance(doc, list) and isinstance(node.get("items"), dict):
        for item in doc:
            _fill(item, node["items"], root)
