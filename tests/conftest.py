"""Shared fixtures."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

from flexsim.clock import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock starting at a fixed epoch time."""
    return VirtualClock(start=1_700_000_000.0)


@pytest.fixture
def rng() -> random.Random:
    """A seeded generator."""
    return random.Random(1234)


@pytest.fixture
def cli_runner(tmp_path, monkeypatch) -> CliRunner:
    """A CliRunner working in an empty temporary directory with no Twilio variables set."""
    for name in ("ACCOUNT_SID", "AUTH_TOKEN", "WRKSPC_SID", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                 "TWILIO_API_KEY", "TWILIO_API_SECRET", "TASKROUTER_URL", "RANDOM_SEED", "ASSIGN_URL", "AGENTSIM_URL",
                 "AGENTSIM_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def emulator():
    """A started TaskRouter emulator on a free loopback port (stopped afterwards).

    Point flexsim at it with ``TwilioSettings(account_sid=emulator.account_sid,
    auth_token=emulator.auth_token, workspace_sid=emulator.workspace_sid, taskrouter_url=emulator.url)``.
    """
    from flexsim.emulator.server import EmulatorServer

    with EmulatorServer(port=0, seed=1) as srv:
        yield srv


@pytest.fixture
def cfg_dir(tmp_path):
    """A folder holding the config genconfig writes for the default domain with seed 7."""
    from flexsim.genconfig import generate_config

    folder = tmp_path / "config"
    generate_config(tmp_path / "no-domain", folder, random.Random(7), 7)
    return folder


@pytest.fixture
def engine(clock):
    """A TaskRouter emulator engine (Flex-like workspace) on the virtual clock, seeded SIDs."""
    from flexsim.emulator.engine import Engine

    return Engine(clock, account_sid="AC" + "a" * 32, workspace_sid="WS" + "b" * 32, rng=random.Random(99))
