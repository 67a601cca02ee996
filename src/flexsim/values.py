"""Draw values for a prop instance from an injected ``random.Random``.

The distributions, exactly:

* **enum**: value *i* is drawn with probability ``portion[i]`` (``rng.choices`` with the
  portions as weights). With ``valueCnt`` = *k* > 1, *k* distinct values are drawn one
  after another, each time by the portions of the values not drawn yet (weighted sampling
  without replacement); the result lists them in the prop's ``values`` order.
* **range, uniform**: ``integer`` props give each whole number in ``[min, max]`` the same
  chance (``rng.randint``); ``number`` props draw ``rng.uniform(min, max)``.
* **range, bell**: a normal distribution centred on ``(min + max) / 2`` with
  σ = ``(max - min) / 6`` (so 99.7 % of draws fall inside naturally), clipped to
  ``[min, max]``; ``integer`` props then round to the nearest whole number (ties to even).
* ``number`` values are rounded to 3 decimal places, so config files stay readable.
* range with ``valueCnt`` > 1: *k* distinct values, sorted ascending.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from flexsim.config import PropInstance

NUMBER_DIGITS = 3
_MAX_TRIES = 1000


def draw_enum(values: Sequence[Any], portions: Sequence[float], rng: random.Random, count: int = 1) -> Any:
    """One value chosen by ``portions``; a list of ``count`` distinct values when ``count`` > 1."""
    if len(values) != len(portions):
        raise ValueError(f"{len(values)} values but {len(portions)} portions")
    if count == 1:
        return rng.choices(values, weights=portions)[0]
    remaining = list(range(len(values)))
    picked: list[int] = []
    for _ in range(count):
        weights = [portions[i] for i in remaining]
        if not remaining or sum(weights) <= 0:
            raise ValueError(f"cannot draw {count} distinct values from {list(values)!r} with portions above 0")
        index = rng.choices(remaining, weights=weights)[0]
        remaining.remove(index)
        picked.append(index)
    return [values[i] for i in sorted(picked)]


def draw_range(low: float, high: float, rng: random.Random, curve: str = "uniform",
               data_type: str = "number", count: int = 1) -> Any:
    """One value between ``low`` and ``high`` (inclusive) on ``curve``; ``count`` > 1 gives a sorted list."""
    if low > high:
        raise ValueError(f"min {low} is greater than max {high}")
    if count == 1:
        return _one(low, high, rng, curve, data_type)
    found: set[Any] = set()
    for _ in range(_MAX_TRIES * count):
        found.add(_one(low, high, rng, curve, data_type))
        if len(found) == count:
            return sorted(found)
    raise ValueError(f"cannot draw {count} distinct values between {low} and {high}")


def _one(low: float, high: float, rng: random.Random, curve: str, data_type: str) -> Any:
    if curve == "bell":
        value = min(max(rng.gauss((low + high) / 2, (high - low) / 6), low), high)
        return int(round(value)) if data_type == "integer" else round(value, NUMBER_DIGITS)
    if curve != "uniform":
        raise ValueError(f"unknown curve {curve!r}")
    if data_type == "integer":
        return rng.randint(int(low), int(high))
    return round(rng.uniform(low, high), NUMBER_DIGITS)


def draw(inst: PropInstance, rng: random.Random) -> Any:
    """A value for one prop instance, following the rules in this module's docstring."""
    if inst.expr == "range":
        assert inst.min is not None and inst.max is not None  # guaranteed by validation
        return draw_range(inst.min, inst.max, rng, inst.curve, inst.data_type, inst.value_cnt)
    return draw_enum(inst.values, inst.portions, rng, inst.value_cnt)


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted ``path``, creating nested objects: ``a.b`` -> ``{"a": {"b": …}}``."""
    *parents, last = path.split(".")
    node = target
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def draw_attributes(instances: Sequence[PropInstance], rng: random.Random,
                    into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Draw every instance in order and set it at its (possibly nested) attribute name."""
    attributes: dict[str, Any] = {} if into is None else into
    for inst in instances:
        set_path(attributes, inst.name, draw(inst, rng))
    return attributes
