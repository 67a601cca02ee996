"""Load the simulation domain: locale defaults overlaid with the user's ``domain.json``.

Merge rules, applied in this one place:

1. The locale file (``<locale>.json``) gives the defaults. A locale file may say
   ``"extends": "en-us"`` and list only what differs; it is deep-merged over its parent.
2. ``domain.json`` (optional) replaces top-level keys and deep-merges ``props``: objects
   merge key by key, anything else (numbers, strings, arrays such as ``values`` or
   ``instances``) is replaced whole.
3. If ``domain.json`` defines any prop that is not standard (``arrivalGap``,
   ``abandonTime``, ``talkTime``, ``wrapTime``, ``channel``, ``activity``), the defaults'
   non-standard props are dropped first, so a custom domain replaces the default topics.
4. Overrides from the command line (e.g. ``agentCnt``) replace top-level keys last.

Each file is checked against the domain schema on its own, then the merged result gets
its defaults and the semantic rules of :mod:`flexsim.rules`. Every problem is collected
and raised together as one :class:`~flexsim.errors.ConfigInvalid`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Mapping

from flexsim.errors import ConfigInvalid
from flexsim.rules import STANDARD_PROPS, check_domain
from flexsim.validation import fill_defaults, format_path, read_json, schema_problems

DEFAULT_LOCALE = "en-us"
DOMAIN_FILE = "domain.json"
_LOCALE_NAME = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]+)*$")
_MAX_EXTENDS = 8


@dataclass(frozen=True)
class Source:
    """One file that contributed to the domain, with the label used in messages."""

    label: str
    doc: dict[str, Any]


@dataclass(frozen=True)
class Domain:
    """A merged, validated domain with every default filled in.

    :param data: the merged document (``brand``, ``agentCnt``, ``props``, …).
    :param locale: the locale name or file given with ``--locale``.
    :param sources: labels of the files merged, lowest precedence first.
    """

    data: dict[str, Any]
    locale: str
    sources: tuple[str, ...]


def builtin_locales() -> list[str]:
    """Names of the locale files shipped inside the package."""
    folder = files("flexsim") / "domain"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def locale_file(locale: str, domaindir: str | Path) -> tuple[Any, str]:
    """Find the file for ``locale``: a path, ``<domaindir>/<locale>.json`` or the packaged one.

    Returns ``(path, label)``; raises ConfigInvalid when there is no such locale.
    """
    if locale.endswith(".json") or "/" in locale or "\\" in locale:
        return Path(locale), locale
    if not _LOCALE_NAME.match(locale):
        raise ConfigInvalid([f"--locale: $: {locale!r} is neither a locale name such as en-us nor a .json file"])
    local = Path(domaindir) / f"{locale}.json"
    if local.is_file():
        return local, str(local)
    packaged = files("flexsim") / "domain" / f"{locale}.json"
    if packaged.is_file():
        return packaged, f"{locale}.json (built-in)"
    known = ", ".join(builtin_locales())
    raise ConfigInvalid([f"{locale}.json: $: no such locale in {domaindir} nor built in (built-in: {known})"])


def deep_merge(base: Any, over: Any) -> Any:
    """Merge ``over`` onto ``base``: objects key by key, anything else replaced. Inputs are not changed."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = {key: copy.deepcopy(value) for key, value in base.items()}
        for key, value in over.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(over)


def merge_domain(defaults: dict[str, Any], domain: dict[str, Any]) -> dict[str, Any]:
    """Apply rules 2 and 3 above: ``domain`` over the locale ``defaults``."""
    base = dict(defaults)
    custom = domain.get("props", {})
    if any(name not in STANDARD_PROPS for name in custom):
        base["props"] = {n: p for n, p in defaults.get("props", {}).items() if n in STANDARD_PROPS}
    return deep_merge(base, domain)


def load_domain(domaindir: str | Path = "domain", locale: str = DEFAULT_LOCALE,
                overrides: Mapping[str, Any] | None = None) -> Domain:
    """Read, merge and validate the domain; raise ConfigInvalid listing every problem.

    :param domaindir: folder with an optional ``domain.json`` and optional locale files.
    :param locale: a locale name (``en-us``) or a path to a locale JSON file.
    :param overrides: top-level keys set on the command line, applied last.
    """
    problems: list[str] = []
    chain = _read_locale_chain(locale, domaindir, problems)
    user_path = Path(domaindir) / DOMAIN_FILE
    sources = list(chain)
    if user_path.is_file():
        doc, found = read_json(user_path, str(user_path))
        problems += found
        if doc is not None:
            problems += _check_file(doc, str(user_path))
            if isinstance(doc, dict) and "extends" in doc:
                problems.append(f"{user_path}: extends: only locale files may extend a locale")
            sources.append(Source(str(user_path), doc if isinstance(doc, dict) else {}))
    if overrides:
        sources.append(Source("command line", dict(overrides)))
        problems += _check_file(dict(overrides), "command line")
    if problems:
        raise ConfigInvalid(problems)

    merged: dict[str, Any] = {}
    for source in chain:
        merged = deep_merge(merged, source.doc)
    for source in sources[len(chain):]:
        merged = merge_domain(merged, source.doc)
    merged.pop("extends", None)
    merged.pop("$schema", None)
    fill_instance_defaults(fill_defaults(merged, "domain"))
    found_rules = check_domain(merged)
    if found_rules:
        raise ConfigInvalid([f"{_origin(path, sources)}: {format_path(path)}: {message}"
                             for path, message in found_rules])
    return Domain(merged, locale, tuple(s.label for s in sources))


def fill_instance_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    """Fill the defaults that depend on context, which a schema cannot express.

    Each instance's ``name`` defaults to its prop's name; task instances get phase
    ``arrival``; channel valueProps get ``baseCapacity`` 1.
    """
    for name, prop in doc.get("props", {}).items():
        for inst in prop.get("instances", []):
            inst.setdefault("name", name)
            if inst.get("target") == "task":
                inst.setdefault("phase", "arrival")
            if name == "channel":
                for entry in inst.get("valueProps", []):
                    entry.setdefault("baseCapacity", 1)
    return doc


def _check_file(doc: Any, label: str) -> list[str]:
    return schema_problems(doc, "domain", label)


def _read_locale_chain(locale: str, domaindir: str | Path, problems: list[str]) -> list[Source]:
    """The locale file and the files it extends, base first."""
    chain: list[Source] = []
    seen: set[str] = set()
    name: str | None = locale
    while name is not None:
        try:
            path, label = locale_file(name, domaindir)
        except ConfigInvalid as exc:
            problems += exc.problems
            break
        if label in seen or len(chain) >= _MAX_EXTENDS:
            problems.append(f"{label}: extends: locale files extend each other in a loop")
            break
        seen.add(label)
        doc, found = read_json(path, label)
        problems += found
        if doc is None:
            break
        problems += _check_file(doc, label)
        if not isinstance(doc, dict):
            break
        chain.insert(0, Source(label, doc))
        name = doc.get("extends") if isinstance(doc.get("extends"), str) else None
    return chain


def _origin(path: list[Any], sources: list[Source]) -> str:
    """The file a merged value came from: the one holding the longest part of ``path``.

    Ties go to the file merged last, since its value won; a problem with the whole
    document (a missing key) belongs to the base locale file.
    """
    if not path and sources:
        return sources[0].label
    best, best_depth = sources[-1].label if sources else "domain", -1
    for source in reversed(sources):
        node: Any = source.doc
        depth = 0
        for part in path:
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                break
            depth += 1
        if depth > best_depth:
            best, best_depth = source.label, depth
    return best
