"""Who the simulated customers are: arrival gaps, channel, task attributes and patience.

Everything is drawn from the config's props (``arrivalGap``, ``channel``, ``abandonTime``
and the task attributes whose phase is ``arrival``) with generators derived from one seed,
plus a customer name from Faker, so the same seed gives the same customers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from faker import Faker

from flexsim.config import FLEXSIM_MARKER_KEY, FLEXSIM_MARKER_VALUE, Config
from flexsim.values import draw_attributes


@dataclass(frozen=True)
class Arrival:
    """One customer: when it is due (clock time), its channel, task attributes and patience."""

    seq: int
    due: float
    channel: str
    attributes: dict[str, Any]
    abandon_after: float


def faker_locale(locale: str) -> str:
    """Faker's spelling of a locale: ``es-es`` and ``es_ES`` both give ``es_ES``."""
    parts = locale.replace("-", "_").split("_")
    return "_".join([parts[0].lower()] + [p.upper() for p in parts[1:]])


class ArrivalDraws:
    """Draws customers from the config: gaps, channel, attributes and patience.

    Three generators derived from ``rng`` keep the streams apart: gaps, task draws and
    Faker's names, so the sequence of task attributes depends only on the seed.

    :param config: the loaded config (``flexsim.config.Config``).
    :param locale: a Faker locale overriding the config's ``fakerLocale``.
    """

    def __init__(self, config: Config, rng: random.Random, locale: str | None = None):
        base = rng.getrandbits(64)
        self._gaps = random.Random(f"{base}:gaps")
        self._tasks = random.Random(f"{base}:tasks")
        self.faker = Faker(faker_locale(locale or config.metadata.faker_locale))
        self.faker.seed_instance(base)
        self.workflow_name = config.workflow.friendly_name
        self.channels = [c.name for c in config.channels()]
        self._gap = config.prop("arrivalGap")
        self._abandon = config.prop("abandonTime")
        self._channel = config.prop("channel")
        self._instances = config.task_instances("arrival")

    def gap(self) -> float:
        """Seconds until the next arrival."""
        return float(self._gap.draw(self._gaps))

    def arrival(self, seq: int, due: float) -> Arrival:
        """The ``seq``-th customer, due at ``due``."""
        channel = str(self._channel.draw(self._tasks))
        attributes: dict[str, Any] = {FLEXSIM_MARKER_KEY: FLEXSIM_MARKER_VALUE, "name": self.faker.name()}
        draw_attributes(self._instances, self._tasks, into=attributes)
        return Arrival(seq, due, channel, attributes, float(self._abandon.draw(self._tasks)))
