"""Shared command-line options, environment variables and their defaults.

Precedence, highest first: the command line, the environment, a ``.env`` file in the
working directory (loaded by the CLI only, never overriding the environment), defaults.
Library code never reads ``os.environ``: commands turn options into the frozen
dataclasses below and pass those down.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import click

ENV_ACCOUNT = ("ACCOUNT_SID", "TWILIO_ACCOUNT_SID")
ENV_TOKEN = ("AUTH_TOKEN", "TWILIO_AUTH_TOKEN")
ENV_WORKSPACE = ("WRKSPC_SID",)
ENV_API_KEY = ("TWILIO_API_KEY",)
ENV_API_SECRET = ("TWILIO_API_SECRET",)
ENV_TASKROUTER_URL = ("TASKROUTER_URL",)
ENV_SEED = ("RANDOM_SEED",)
DEFAULT_CFGDIR = "config"
DEFAULT_DOMAINDIR = "domain"
DEFAULT_CONCURRENCY = 8


def mask(value: str | None) -> str:
    """Return a printable mask of a SID or secret, e.g. ``AC…1234``; never the whole value."""
    if not value:
        return "(unset)"
    if len(value) <= 8:
        return "…" + "*" * min(len(value), 4)
    head = value[:2] if value[:2].isalpha() and value[:2].isupper() else ""
    return f"{head}…{value[-4:]}"


def is_sid(value: str, prefix: str) -> bool:
    """Whether ``value`` is ``prefix`` (e.g. ``AC``) followed by 32 hex digits."""
    return re.fullmatch(rf"{prefix}[0-9a-fA-F]{{32}}", value) is not None


@dataclass(frozen=True)
class TwilioSettings:
    """Credentials and endpoint for TaskRouter: an auth token or an API key pair."""

    account_sid: str | None = None
    auth_token: str | None = field(default=None, repr=False)
    workspace_sid: str | None = None
    api_key: str | None = None
    api_secret: str | None = field(default=None, repr=False)
    taskrouter_url: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY

    def problems(self) -> list[str]:
        """List what is missing or malformed, as messages naming the option and variable."""
        found = []
        if not self.account_sid:
            found.append("no account SID: pass --acct or set ACCOUNT_SID")
        elif not is_sid(self.account_sid, "AC"):
            found.append(f"account SID {mask(self.account_sid)} is not AC followed by 32 hex digits")
        if not self.workspace_sid:
            found.append("no workspace SID: pass --wrkspc or set WRKSPC_SID")
        elif not is_sid(self.workspace_sid, "WS"):
            found.append(f"workspace SID {mask(self.workspace_sid)} is not WS followed by 32 hex digits")
        if self.api_key or self.api_secret:
            if not (self.api_key and self.api_secret):
                found.append("API-key auth needs both TWILIO_API_KEY and TWILIO_API_SECRET")
            elif not self.api_key.startswith("SK"):
                found.append(f"API key {mask(self.api_key)} does not start with SK")
        elif not self.auth_token:
            found.append("no credentials: pass --auth or set AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)")
        return found

    def describe(self) -> str:
        """One line naming the account, workspace, auth method and endpoint, secrets masked."""
        auth = f"API key {mask(self.api_key)}" if self.api_key else f"auth token {mask(self.auth_token)}"
        where = self.taskrouter_url or "Twilio"
        return f"account {mask(self.account_sid)}, workspace {mask(self.workspace_sid)}, {auth}, via {where}"


def _env_help(names: tuple[str, ...]) -> str:
    return " or ".join(f"${n}" for n in names)


def twilio_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the credential options and pass them to the command as ``twilio: TwilioSettings``."""
    options = [
        click.option("--acct", envvar=list(ENV_ACCOUNT), metavar="AC…",
                     help=f"Twilio Account SID [env: {_env_help(ENV_ACCOUNT)}]."),
        click.option("--auth", envvar=list(ENV_TOKEN), metavar="TOKEN",
                     help=f"Auth Token; never printed [env: {_env_help(ENV_TOKEN)}]."),
        click.option("--wrkspc", envvar=list(ENV_WORKSPACE), metavar="WS…",
                     help=f"TaskRouter Workspace SID [env: {_env_help(ENV_WORKSPACE)}]."),
        click.option("--api-key", envvar=list(ENV_API_KEY), metavar="SK…",
                     help="API Key SID, instead of the Auth Token [env: $TWILIO_API_KEY]."),
        click.option("--api-secret", envvar=list(ENV_API_SECRET), metavar="SECRET",
                     help="API Key secret; never printed [env: $TWILIO_API_SECRET]."),
        click.option("--taskrouter-url", envvar=list(ENV_TASKROUTER_URL), metavar="URL",
                     help="Send TaskRouter calls here, e.g. a local emulator "
                          "(http://127.0.0.1:8090) [env: $TASKROUTER_URL]."),
        click.option("--concurrency", type=click.IntRange(1, 64), default=DEFAULT_CONCURRENCY,
                     show_default=True, help="Most TaskRouter requests in flight at once."),
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, acct: Any, auth: Any, wrkspc: Any, api_key: Any, api_secret: Any,
                taskrouter_url: Any, concurrency: int, **kwargs: Any) -> Any:
        kwargs["twilio"] = TwilioSettings(
            account_sid=acct or None, auth_token=auth or None, workspace_sid=wrkspc or None,
            api_key=api_key or None, api_secret=api_secret or None,
            taskrouter_url=(taskrouter_url or "").rstrip("/") or None, concurrency=concurrency,
        )
        return func(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


cfgdir_option = click.option(
    "--cfgdir", default=DEFAULT_CFGDIR, show_default=True, type=click.Path(file_okay=False),
    help="Folder of the generated config files.")

domaindir_option = click.option(
    "--domaindir", default=DEFAULT_DOMAINDIR, show_default=True, type=click.Path(file_okay=False),
    help="Folder holding domain.json (optional) and any custom <locale>.json files.")

seed_option = click.option(
    "--seed", type=int, envvar=list(ENV_SEED), default=None,
    help="Seed for every random draw; the same seed gives the same run [env: $RANDOM_SEED].")


def positive_float(ctx: Any, param: Any, value: float | None) -> float | None:
    """Click callback: refuse zero and negative numbers."""
    if value is not None and value <= 0:
        raise click.BadParameter("must be greater than 0")
    return value


speed_option = click.option(
    "--speed", type=float, default=1.0, show_default=True, callback=positive_float,
    help="Divide every simulated duration by this factor (for fast local runs).")


def make_rng(seed: int | None) -> tuple[random.Random, int]:
    """Return a generator and the seed it uses, choosing one when ``seed`` is None."""
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    return random.Random(seed), seed


_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s)")


def parse_timespan(text: str | float | int) -> float:
    """Parse ``90``, ``90s``, ``1h30m`` or ``2.5m`` into seconds; raise ValueError otherwise."""
    if isinstance(text, (int, float)):
        return float(text)
    stripped = text.strip().lower()
    try:
        return float(stripped)
    except ValueError:
        pass
    parts = _SPAN.findall(stripped)
    if not parts or "".join(n + u for n, u in parts) != stripped.replace(" ", ""):
        raise ValueError(f"{text!r} is not a duration such as 90, 90s or 1h30m")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0}
    return sum(float(n) * scale[u] for n, u in parts)


class Timespan(click.ParamType):
    """A Click type for durations in seconds: ``90``, ``90s``, ``1h30m``."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        try:
            seconds = parse_timespan(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail("must be greater than 0", param, ctx)
        return seconds
