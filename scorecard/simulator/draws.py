"""Drawing single events from a plan: fields and ids, the trouble producers cause, business hours.

``draw_event`` draws one event of a unit and type from its ``Profile``; ``broken_copy`` and ``unused_event`` are the
invalid and the ignored events ``Trouble`` asks for; ``season`` is the relative activity of a moment (busy 8:00-18:00
in the scorecard timezone, quiet at night, half as busy at weekends) and ``poisson`` the count drawn for an hour.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Final

from scorecard.core.timeutil import format_time
from scorecard.simulator.plan import Profile

# Relative activity per local hour: busy office hours, a shoulder morning and evening, a quiet night.
_HOURS: Final = [0.2] * 6 + [1.0, 1.0] + [3.0] * 10 + [1.0, 1.0, 1.0] + [0.2] * 3
_HOUR_WEIGHT: Final = [w * 24 / sum(_HOURS) for w in _HOURS]  # mean 1 over a day
_WEEKDAY_WEIGHT: Final = [1.15] * 5 + [0.625] * 2  # mean 1 over a week
_IGNORED_TYPES: Final = ("page_viewed", "badge_scanned", "email_opened")
_OTHER_TEXT: Final = {"online": "store", "urgent": "normal", "high": "normal", "low": "normal", "yes": "no"}


@dataclass(frozen=True)
class Trouble:
    """Probabilities per regular event of adding a duplicate, making it late, adding an invalid or an unused event."""

    duplicate: float = 0.0
    late: float = 0.0
    invalid: float = 0.0
    ignored: float = 0.0


@dataclass(frozen=True, slots=True)
class SimulatedEvent:
    """One event of a simulation: ``at`` is the time it was generated for (in live mode: when to send it)."""

    at: float
    kind: str  # regular, late, duplicate, invalid (ignored in batch mode only)
    event: dict[str, Any]


def draw_event(rng: random.Random, unit: str, event_type: str, time: float, profile: Profile) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for where, p in profile.conditions:
        if any(key in fields for key in where):
            continue
        if rng.random() < p:
            fields.update(where)
        else:
            first, *rest = where.items()
            fields[first[0]] = other_value(first[1])
            fields.update(rest)
    for name in dict.fromkeys(name for _, name, _ in profile.dists):
        chosen = next(
            (d for where, n, d in profile.dists if n == name and where and _matches(where, fields)),
            profile.dist({}, name),
        )
        if chosen is not None:
            fields[name] = chosen.draw(rng)
    event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return {"id": event_id, "type": event_type, "unit": unit, "time": format_time(time), "fields": fields}


def _matches(where: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    return all(key in fields and fields[key] == value for key, value in where.items())


def broken_copy(rng: random.Random, event: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """A broken copy of ``event`` (with a fresh id), broken in one of the ways producers break events."""
    broken: dict[str, Any] = {**event, "fields": dict(event["fields"])}
    broken["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    numeric = [name for _, name, dist in profile.dists if dist.kind != "nps"]
    nps = [name for _, name, dist in profile.dists if dist.kind == "nps"]
    kinds = ["missing_id", "bad_time", "unknown_unit", "missing_type"]
    if numeric:
        kinds += ["not_a_number", "missing_field"]
    if nps:
        kinds.append("nps_out_of_range")
    kind = rng.choice(kinds)
    if kind == "missing_id":
        del broken["id"]
    elif kind == "bad_time":
        broken["time"] = rng.choice(["yesterday", "27/11/2026 10:15", "2026-11-27 10:15:00"])
    elif kind == "unknown_unit":
        broken["unit"] = broken["unit"] + "-old"
    elif kind == "missing_type":
        broken["type"] = ""
    elif kind == "not_a_number":
        broken["fields"][rng.choice(numeric)] = rng.choice(["n/a", "12,5", None, True])
    elif kind == "missing_field":
        broken["fields"].pop(rng.choice(numeric), None)
    else:
        broken["fields"][rng.choice(nps)] = rng.choice([11, -1, 42])
    return broken


def unused_event(rng: random.Random, leaves: Sequence[str], time: float) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": rng.choice(_IGNORED_TYPES),
        "unit": rng.choice(list(leaves)),
        "time": format_time(time),
        "fields": {},
    }


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def other_value(value: Any) -> Any:
    """A plausible value that does *not* match a ``where`` condition."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return _OTHER_TEXT.get(str(value), "other")


def season(moment: float, tz: tzinfo) -> float:
    """Relative activity at ``moment`` (mean 1 over a week): business hours on weekdays, quiet nights and weekends."""
    local = datetime.fromtimestamp(moment, tz)
    return _HOUR_WEIGHT[local.hour] * _WEEKDAY_WEIGHT[local.weekday()]
