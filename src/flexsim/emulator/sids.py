"""Twilio-style SIDs (two-letter prefix + 32 hex digits) drawn from an injected generator."""

from __future__ import annotations

import random


class SidFactory:
    """Makes SIDs like ``WK`` + 32 hex digits; deterministic for a seeded ``rng``."""

    def __init__(self, rng: random.Random):
        self._rng = rng

    def new(self, prefix: str) -> str:
        """A fresh SID with ``prefix`` (e.g. ``"WT"``)."""
        return f"{prefix}{self._rng.getrandbits(128):032x}"
