"""Helpers shared by the engine tests (``engine`` is the conftest fixture on a virtual clock)."""

from __future__ import annotations

import json


def act(engine, name):
    """The SID of the activity called ``name``."""
    return engine.list_activities(friendly_name=name)[0].sid


def worker(engine, name, available=True, **attrs):
    """A new worker with ``attrs``, moved to Available unless ``available`` is False."""
    w = engine.create_worker(name, attributes=json.dumps(attrs))
    if available:
        engine.update_worker(w.sid, activity_sid=act(engine, "Available"))
    return w
