"""Localized person names from Faker, seeded from an injected ``random.Random``."""

from __future__ import annotations

import random
from typing import Callable

# Locales whose names put the family name first.
_FAMILY_FIRST = ("ja", "zh", "ko", "hu", "vi")


def name_maker(faker_locale: str, rng: random.Random) -> Callable[[], str]:
    """Return a function giving a new "first last" name (family name first where customary).

    The Faker instance is seeded from ``rng``, so the names repeat for the same seed and
    Faker version. Names are picked uniformly from Faker's lists (``use_weighting=False``)
    without titles or suffixes: weighted picks cost several times more for en_US, and
    "Dr." or "DDS" look odd on an agent roster.
    """
    # Imported here: Faker is the slowest import flexsim has and most commands never need it.
    from faker import Faker

    faker = Faker(faker_locale, use_weighting=False)
    faker.seed_instance(rng.getrandbits(32))
    first, last = faker.first_name, faker.last_name
    if faker_locale.split("_")[0] in _FAMILY_FIRST:
        return lambda: f"{last()} {first()}"
    return lambda: f"{first()} {last()}"
