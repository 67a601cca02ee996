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
                 "TWILIO_API_KEY", "TWILIO_API_SECRET", "TASKROUTER_URL", "RANDOM_SEED", "ASSIGN_URL",
                 "AGENTSIM_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()
