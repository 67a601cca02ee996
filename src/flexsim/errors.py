"""The exceptions flexsim raises for expected failures."""

from __future__ import annotations


class FlexsimError(Exception):
    """Base class: an expected failure the CLI turns into a one-line message."""

    exit_code = 1


class ConfigInvalid(FlexsimError):
    """A domain or config file failed validation.

    ``problems`` holds one ``file: json.path: problem`` line per error found.
    """

    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class NotDeployed(FlexsimError):
    """The workspace lacks something the config expects; run deploy first."""


class TwilioRequestFailed(FlexsimError):
    """A TaskRouter call failed after retries, or with a non-retryable error."""

    def __init__(self, operation: str, resource: str, status: int | None, code: int | None, message: str):
        self.operation = operation
        self.resource = resource
        self.status = status
        self.code = code
        self.twilio_message = message
        detail = f"Twilio error {code}" if code else f"HTTP {status}" if status else "no response"
        super().__init__(f"{operation} {resource} failed: {detail}: {message}")
