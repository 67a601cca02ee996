"""Contract: every response body the HTTP tests received matches Twilio's OpenAPI spec.

The spec is read from ../shared/reference (never copied into the project). For each
recorded exchange the operation is found by path template and method; its response
schema is converted to JSON Schema (``nullable`` -> ``null`` allowed, ``$ref`` resolved),
every property the spec lists is required, and dates must be ``YYYY-MM-DDTHH:MM:SSZ``.
Error bodies must be ``{code, message, more_info, status}``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from emulator_http import EXCHANGES, make_client

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "twilio_taskrouter_v1.json"
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

pytestmark = pytest.mark.skipif(not SPEC.exists(), reason=f"Twilio's TaskRouter spec not found at {SPEC}")


def _convert(node: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: resolve refs, allow null where nullable, require all properties."""
    if isinstance(node, list):
        return [_convert(n, components) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _convert(components[node["$ref"].rsplit("/", 1)[1]], components)
    out = {k: _convert(v, components) for k, v in node.items()
           if k not in ("nullable", "example", "examples", "description", "x-twilio")}
    if node.get("format") == "date-time":
        out["format"] = "flexsim-date"
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if isinstance(out.get("properties"), dict):
        out["required"] = sorted(out["properties"])
    return out


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The parsed OpenAPI document."""
    return json.loads(SPEC.read_text())


@pytest.fixture(scope="module")
def operations(spec) -> list[tuple[re.Pattern[str], int, str, dict[str, Any]]]:
    """(path regex, literal segment count, method, operation) for every spec operation."""
    found = []
    for template, ops in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
        literals = sum(1 for part in template.split("/") if part and not part.startswith("{"))
        for method, op in ops.items():
            if method in ("get", "post", "delete"):
                found.append((pattern, literals, method.upper(), op))
    return found


def _operation(operations, method: str, path: str) -> dict[str, Any]:
    candidates = [(lit, op) for pattern, lit, m, op in operations if m == method and pattern.match(path)]
    assert candidates, f"no spec operation for {method} {path}"
    return max(candidates, key=lambda c: c[0])[1]


def _checker() -> FormatChecker:
    checker = FormatChecker()
    checker.checks("flexsim-date")(lambda value: not isinstance(value, str) or bool(DATE.match(value)))
    return checker


def _tour(client, workspace_sid: str) -> None:
    """A short walk over the API, for when this file runs on its own."""
    ws = client.taskrouter.v1.workspaces(workspace_sid)
    ws.fetch()
    available = next(a.sid for a in ws.activities.list(friendly_name="Available"))
    worker = ws.workers.create(friendly_name="tour", activity_sid=available)
    ws.workers(worker.sid).worker_channels.list()
    task = ws.tasks.create(attributes="{}")
    ws.tasks(task.sid).reservations.list()
    ws.workers(worker.sid).reservations.list()
    ws.task_queues.list()
    ws.workflows.list()
    ws.events.list()
    ws.real_time_statistics().fetch()
    ws.cumulative_statistics().fetch()
    try:
        ws.workers("WK" + "0" * 32).fetch()
    except Exception:  # the 404 itself is what gets recorded
        pass


def test_every_recorded_response_matches_the_spec(spec, operations):
    if not EXCHANGES:
        from flexsim.emulator.server import EmulatorServer

        with EmulatorServer(port=0) as srv:
            _tour(make_client(srv), srv.workspace_sid)
    components = spec["components"]["schemas"]
    checker = _checker()
    problems, checked, seen_ops = [], 0, set()
    for ex in EXCHANGES:
        if ex.status >= 400:
            body = json.loads(ex.text)
            if set(body) != {"code", "message", "more_info", "status"} or body["status"] != ex.status:
                problems.append(f"{ex.method} {ex.path} -> {ex.status}: error body {body}")
            continue
        op = _operation(operations, ex.method, ex.path)
        response = op["responses"].get(str(ex.status))
        if response is None:
            problems.append(f"{ex.method} {ex.path}: status {ex.status} not in spec {list(op['responses'])}")
            continue
        seen_ops.add(op["operationId"])
        if "content" not in response:
            if ex.text:
                problems.append(f"{ex.method} {ex.path}: expected an empty body for {ex.status}")
            continue
        schema = _convert(response["content"]["application/json"]["schema"], components)
        errors = sorted(Draft202012Validator(schema, format_checker=checker).iter_errors(json.loads(ex.text)),
                        key=lambda e: list(e.path))
        problems += [f"{op['operationId']} {ex.path}: {'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]]
        checked += 1
    assert not problems, "\n".join(problems[:40])
    assert checked > 0
    print(f"contract: {checked} bodies of {len(seen_ops)} operations checked; not seen:",
          sorted({op["operationId"] for _, _, _, op in operations} - seen_ops))


def test_the_checker_catches_wrong_bodies(spec, operations):
    op = _operation(operations, "GET", "/v1/Workspaces/WS1/Workers/WK1")
    schema = _convert(op["responses"]["200"]["content"]["application/json"]["schema"], spec["components"]["schemas"])
    validator = Draft202012Validator(schema, format_checker=_checker())
    good = op["responses"]["200"]["content"]["application/json"]["examples"]["fetch"]["value"]
    assert list(validator.iter_errors(good)) == []
    for broken in ({k: v for k, v in good.items() if k != "links"}, {**good, "available": "yes"},
                   {**good, "date_created": "2017-05-30T23:32:39.123+00:00"}):
        assert list(validator.iter_errors(broken)), broken
