"""Shared options: masking, precedence (CLI > environment > .env > defaults), durations, seeds."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from flexsim.cli import cli
from flexsim.options import (Timespan, TwilioSettings, make_rng, mask, parse_timespan, seed_option, speed_option,
                             twilio_options)

ACCOUNT = "AC" + "a" * 28 + "1234"
OTHER_ACCOUNT = "AC" + "b" * 28 + "5678"
WORKSPACE = "WS" + "c" * 28 + "9999"
VARIABLES = ("ACCOUNT_SID", "AUTH_TOKEN", "WRKSPC_SID", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
             "TWILIO_API_KEY", "TWILIO_API_SECRET", "TASKROUTER_URL", "RANDOM_SEED")


@pytest.fixture
def show(cli_runner, monkeypatch):
    """Register a throwaway subcommand echoing its settings; undo what .env loading sets."""
    for name in VARIABLES:  # setenv then delenv makes monkeypatch restore "unset" afterwards
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)

    @cli.command("_show")
    @twilio_options
    @seed_option
    @speed_option
    def _show(twilio: TwilioSettings, seed: int | None, speed: float) -> None:
        click.echo(f"{twilio.account_sid} {twilio.auth_token} {twilio.workspace_sid} {seed} {speed}")

    yield lambda *args, **kw: cli_runner.invoke(cli, ["_show", *args], catch_exceptions=False, **kw)
    cli.commands.pop("_show")


def test_mask_never_shows_the_whole_secret():
    assert mask(ACCOUNT) == "AC…1234"
    assert mask("abcdef0123456789") == "…6789"
    assert mask("short") == "…****"
    assert mask(None) == "(unset)" and mask("") == "(unset)"


def test_describe_masks_every_secret():
    settings = TwilioSettings(account_sid=ACCOUNT, auth_token="supersecrettoken99", workspace_sid=WORKSPACE)
    text = settings.describe()
    assert text == "account AC…1234, workspace WS…9999, auth token …en99, via Twilio"
    assert "supersecret" not in text and "supersecret" not in repr(settings)


def test_problems_name_the_option_and_variable():
    assert TwilioSettings().problems() == [
        "no account SID: pass --acct or set ACCOUNT_SID",
        "no workspace SID: pass --wrkspc or set WRKSPC_SID",
        "no credentials: pass --auth or set AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)",
    ]
    assert TwilioSettings(account_sid="AC12", workspace_sid=WORKSPACE, api_key="SKx").problems() == [
        "account SID …**** is not AC followed by 32 hex digits",
        "API-key auth needs both TWILIO_API_KEY and TWILIO_API_SECRET",
    ]
    assert TwilioSettings(account_sid=ACCOUNT, workspace_sid=WORKSPACE, auth_token="t").problems() == []


def test_dotenv_is_loaded_from_the_working_directory(show):
    Path(".env").write_text(f"ACCOUNT_SID={ACCOUNT}\nAUTH_TOKEN=fromdotenv\nWRKSPC_SID={WORKSPACE}\nRANDOM_SEED=5\n")
    assert show().output == f"{ACCOUNT} fromdotenv {WORKSPACE} 5 1.0\n"


def test_environment_beats_dotenv(show, monkeypatch):
    Path(".env").write_text(f"ACCOUNT_SID={ACCOUNT}\nAUTH_TOKEN=fromdotenv\n")
    monkeypatch.setenv("ACCOUNT_SID", OTHER_ACCOUNT)
    assert show().output == f"{OTHER_ACCOUNT} fromdotenv None None 1.0\n"


def test_command_line_beats_environment_and_dotenv(show, monkeypatch):
    Path(".env").write_text("AUTH_TOKEN=fromdotenv\nRANDOM_SEED=5\n")
    monkeypatch.setenv("AUTH_TOKEN", "fromenv")
    monkeypatch.setenv("RANDOM_SEED", "6")
    assert show("--auth", "fromcli", "--seed", "7", "--speed", "4").output == "None fromcli None 7 4.0\n"


def test_twilio_conventional_names_are_a_fallback(show, monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", OTHER_ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "twiliotoken")
    assert show().output == f"{OTHER_ACCOUNT} twiliotoken None None 1.0\n"
    monkeypatch.setenv("ACCOUNT_SID", ACCOUNT)
    assert show().output.startswith(ACCOUNT)


def test_speed_must_be_positive(show):
    result = show("--speed", "0")
    assert result.exit_code == 2 and "must be greater than 0" in result.output


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("90s", 90.0), ("1h30m", 5400.0), ("2.5m", 150.0), ("1h 2m 3s", 3723.0), (45, 45.0)])
def test_parse_timespan(text, seconds):
    assert parse_timespan(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "1h30", "m5"])
def test_parse_timespan_rejects_garbage(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_timespan(text)


def test_timespan_type_refuses_zero_and_garbage():
    kind = Timespan()
    assert kind.convert("2m", None, None) == 120.0
    with pytest.raises(click.BadParameter, match="must be greater than 0"):
        kind.convert("0s", None, None)
    with pytest.raises(click.BadParameter, match="is not a duration"):
        kind.convert("soon", None, None)


def test_make_rng_uses_or_chooses_a_seed():
    rng, seed = make_rng(42)
    assert seed == 42 and rng.random() == make_rng(42)[0].random()
    rng, seed = make_rng(None)
    assert isinstance(seed, int) and 0 <= seed < 2**31
    assert rng.random() == make_rng(seed)[0].random()
