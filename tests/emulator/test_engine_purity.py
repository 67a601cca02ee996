"""The routing engine does no I/O and reads no wall clock: time comes from the injected clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import flexsim.emulator

ENGINE_MODULES = ("engine", "workers", "queues", "tasks", "lifecycle", "assignment", "routing", "statistics",
                  "stats_views", "events", "sids", "locking", "model", "errors", "expressions",
                  "expression_semantics", "routing_config")
FORBIDDEN_IMPORTS = {"time", "datetime", "requests", "urllib", "http", "socket", "flask", "werkzeug", "waitress",
                     "twilio", "asyncio", "subprocess"}
FORBIDDEN_CALLS = {"time", "monotonic", "perf_counter", "sleep", "now", "utcnow", "today"}
PACKAGE = Path(flexsim.emulator.__file__).parent


def _problems(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_IMPORTS]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in FORBIDDEN_IMPORTS:
                found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in FORBIDDEN_CALLS and isinstance(node.func.value, ast.Name) and \
                    node.func.value.id in ("time", "datetime", "date"):
                found.append(f"{node.func.value.id}.{node.func.attr}()")
    return found


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_engine_module_has_no_http_and_no_wall_clock(name):
    assert _problems((PACKAGE / f"{name}.py").read_text()) == []


def test_the_check_catches_offenders():
    assert _problems("import time\nx = time.time()") == ["import time", "time.time()"]
    assert _problems("from datetime import datetime\nd = datetime.now()") == ["from datetime import ...",
                                                                                "datetime.now()"]
    assert _problems("import requests") == ["import requests"]
