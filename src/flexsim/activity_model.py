"""How simulated agents move between activities over a working day.

The model is an *alternating renewal process*. An agent alternates between Available
and one "away" activity at a time (Break, Lunch, …)::

    Available --(choose a with probability q_a)--> a --> Available --> b --> …

Given the ``activity`` prop's portions ``p_a`` (the share of agent time a dashboard
should show in ``a``; Available includes time spent handling tasks) and mean stays
``d_a`` (``baseDur``) for every away activity, set::

    r    = Σ_b p_b / d_b            (away visits per second of agent time)
    q_a  = (p_a / d_a) / r          (which away activity comes next)
    D    = p_Available / r          (mean Available stay)

A full cycle lasts on average ``D + Σ_a q_a d_a = (p_Available + Σ_a p_a) / r = 1 / r``,
so the long-run share of ``a`` is ``q_a d_a r = p_a`` and that of Available is
``D r = p_Available`` — exactly the portions, whatever the stay distributions are.

Stays are exponential with those means, so agents drift apart instead of moving in
lockstep, and the steady state is easy to sample: an agent starts in activity ``a`` with
probability ``p_a`` and, exponentials being memoryless, with a residual stay drawn from
the same exponential. A dashboard therefore looks settled from the first minute.

Activities with portion 0 are never visited. With ``p_Available == 1`` agents never
leave; with ``p_Available == 0`` the Available stays are zero.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

AVAILABLE = "Available"


class ActivityModel:
    """The alternating renewal model above, for one set of portions and mean stays.

    :param portions: share of time per activity name; must include ``available`` and sum to 1.
    :param mean_stays: mean stay in seconds for each away activity with a positive portion.
    :param available: the name of the activity in which agents take work.
    """

    def __init__(self, portions: Mapping[str, float], mean_stays: Mapping[str, float],
                 available: str = AVAILABLE):
        if available not in portions:
            raise ValueError(f"the activity portions must include {available!r}")
        if any(p < 0 for p in portions.values()) or abs(sum(portions.values()) - 1.0) > 0.001:
            raise ValueError(f"activity portions must be non-negative and sum to 1, not {dict(portions)}")
        self.available = available
        self.portions = dict(portions)
        self.away = tuple(a for a, p in portions.items() if a != available and p > 0)
        for name in self.away:
            if not mean_stays.get(name, 0) > 0:
                raise ValueError(f"activity {name!r} needs a mean stay (baseDur) greater than 0")
        self.mean_stays = {a: float(mean_stays[a]) for a in self.away}
        rate = sum(portions[a] / self.mean_stays[a] for a in self.away)
        self.rate = rate
        self.mean_stays[available] = portions[available] / rate if rate else math.inf
        self._next_weights = [portions[a] / self.mean_stays[a] / rate for a in self.away] if rate else []
        self._initial = [(a, p) for a, p in portions.items() if p > 0]

    def next_away(self, rng: random.Random) -> str:
        """Pick the away activity an agent leaving Available goes to (probability ``q_a``)."""
        return rng.choices(self.away, weights=self._next_weights)[0]

    def draw_stay(self, activity: str, rng: random.Random) -> float:
        """Draw a stay in ``activity``: exponential with its mean; inf if agents never leave it."""
        mean = self.mean_stays[activity]
        if mean == 0 or math.isinf(mean):
            return mean
        return rng.expovariate(1.0 / mean)

    def initial(self, rng: random.Random) -> tuple[str, float]:
        """Draw a steady-state starting point: an activity (probability ``p_a``) and its residual stay."""
        names = [a for a, _ in self._initial]
        activity = rng.choices(names, weights=[p for _, p in self._initial])[0]
        return activity, self.draw_stay(activity, rng)
