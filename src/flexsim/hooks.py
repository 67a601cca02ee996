"""A tiny publish/subscribe helper for lifecycle events (locust's EventHook)."""

from __future__ import annotations

from typing import Any, Callable


class EventHook:
    """Listeners added with ``add_listener`` are called, in order, by ``fire``."""

    def __init__(self) -> None:
        self._listeners: list[Callable[..., Any]] = []

    def add_listener(self, listener: Callable[..., Any]) -> Callable[..., Any]:
        """Register ``listener``; returns it, so this works as a decorator."""
        self._listeners.append(listener)
        return listener

    def remove_listener(self, listener: Callable[..., Any]) -> None:
        """Unregister ``listener``."""
        self._listeners.remove(listener)

    def fire(self, **kwargs: Any) -> None:
        """Call every listener with the keyword arguments."""
        for listener in list(self._listeners):
            listener(**kwargs)
