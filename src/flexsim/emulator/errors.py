"""Errors the emulator answers with, carrying Twilio's HTTP status and error code."""

from __future__ import annotations


class EmulatorError(Exception):
    """A refused request: HTTP ``status``, Twilio ``code`` and a Twilio-like ``message``."""

    status = 400
    code = 20001

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class NotFound(EmulatorError):
    """404 / 20404: an unknown SID or path."""

    status = 404
    code = 20404


class BadRequest(EmulatorError):
    """400 / 20001: a missing, malformed or unknown parameter, or an invalid expression."""


class IllegalTransition(EmulatorError):
    """400 / 20001: a state change TaskRouter refuses (e.g. cancel an assigned task)."""


class PreconditionFailed(EmulatorError):
    """412: the ``If-Match`` header does not match the resource's current ETag."""

    status = 412
    code = 412


class Conflict(EmulatorError):
    """409 / 35002-style duplicate: a unique name or friendly name already taken."""

    status = 409
    code = 35002
