"""Form and query parameters as the SDK sends them: PascalCase names, everything a string.

``Params`` checks the names against what the operation accepts (unknown names answer
400/20001, Twilio's "Unknown parameters" code) and converts values: booleans are
case-insensitive ``true/1/yes`` and ``false/0/no`` (the SDK sends some as Python's
``True``), integers are base-10, dates are ``YYYY-MM-DDTHH:MM:SSZ``, and multi-valued
filters may be repeated or comma-joined. An absent parameter reads as None: "leave unchanged".
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from werkzeug.datastructures import MultiDict

from flexsim.emulator.errors import BadRequest

PAGING = ("PageSize", "Page", "PageToken")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class Params:
    """The parameters of one request, restricted to ``allowed`` names.

    :param values: the request's query and form values.
    :param allowed: every name the operation accepts; anything else raises ``BadRequest``.
    """

    def __init__(self, values: MultiDict, allowed: Iterable[str]):
        self.values = values
        unknown = sorted(set(values.keys()) - set(allowed))
        if unknown:
            raise BadRequest(f"Unknown parameter(s): {', '.join(unknown)}")

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str) -> str | None:
        """The value as sent, or None when absent."""
        return self.values.get(name)

    def required(self, name: str) -> str:
        """The value; a missing or empty one answers 400."""
        value = self.values.get(name)
        if value is None or value == "":
            raise BadRequest(f"Missing required parameter {name} in the post body")
        return value

    def boolean(self, name: str) -> bool | None:
        """``true``/``1``/``yes`` or ``false``/``0``/``no``, any case; None when absent."""
        value = self.values.get(name)
        if value is None:
            return None
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise BadRequest(f"Invalid value for {name}: {value!r} is not a boolean")

    def integer(self, name: str, low: int | None = None, high: int | None = None) -> int | None:
        """A base-10 integer within ``[low, high]``; None when absent."""
        value = self.values.get(name)
        if value is None:
            return None
        try:
            number = int(value.strip())
        except ValueError:
            raise BadRequest(f"Invalid value for {name}: {value!r} is not an integer") from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise BadRequest(f"Invalid value for {name}: {number} is outside {low}..{high}")
        return number

    def date(self, name: str) -> float | None:
        """An ISO 8601 date (``YYYY-MM-DDTHH:MM:SSZ``, UTC if no zone) as epoch seconds."""
        value = self.values.get(name)
        if value is None:
            return None
        return parse_date(name, value)

    def multi(self, name: str) -> list[str] | None:
        """Every value of a repeated or comma-joined parameter, trimmed; None when absent."""
        raw = self.values.getlist(name)
        if not raw:
            return None
        return [part.strip() for value in raw for part in value.split(",") if part.strip()]

    def present(self, prefix: str = "") -> dict[str, str]:
        """Every parameter whose name starts with ``prefix``, first value each."""
        return {k: self.values.get(k) for k in self.values.keys() if k.startswith(prefix)}


def parse_date(name: str, value: str) -> float:
    """Parse TaskRouter's date format (and other ISO 8601 forms) into epoch seconds."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"Invalid value for {name}: {value!r} is not an ISO 8601 date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def snake_case(name: str) -> str:
    """``DequeueStatusCallbackUrl`` -> ``dequeue_status_callback_url``."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
