"""The engine's method decorator: hold the lock, and settle routing once the outermost call ends."""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def locked(fn: F) -> F:
    """Run ``fn`` holding ``self.lock``; the outermost call then settles and notifies."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self._depth += 1
            try:
                return fn(self, *args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._settle_and_flush()

    return wrapper  # type: ignore[return-value]
